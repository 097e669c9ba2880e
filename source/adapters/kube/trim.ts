/**
 * What the watch keeps of each object. Deployments, ReplicaSets and Pods are watched in every namespace without a
 * label selector (models are found without modeldeck's labels), so at 600 Deployments and 1,100 pods their cached
 * copies are most of the process's memory: each is cut on arrival to the fields discovery reads. Services, routers
 * (HTTPRoute, VirtualService, TrafficSplit) and custom resources are kept whole but for their `managedFields`, of
 * which only the managers are kept (ownership is read from them).
 */

type Json = Record<string, unknown>;

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

function isRecord(value: unknown): value is Json {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(object: unknown, keys: readonly string[]): Json | undefined {
	if (!isRecord(object)) return undefined;
	const picked: Json = {};
	for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
	return picked;
}

/** Metadata without managedFields and the last-applied annotation (a full copy of the object as applied). */
export function lightMetadata(metadata: unknown): Json | undefined {
	if (!isRecord(metadata)) return undefined;
	const {managedFields: _managedFields, ...rest} = metadata;
	if (isRecord(rest.annotations) && lastApplied in rest.annotations) {
		const {[lastApplied]: _lastApplied, ...annotations} = rest.annotations;
		rest.annotations = annotations;
	}

	return rest;
}

/**
 * Any other kind (Services, routers, custom resources): whole, except that `managedFields` keep only who wrote the
 * object (ownership reads the managers, never the field sets, which are most of an object's size) and the
 * last-applied copy is dropped.
 */
export function trimManagedFields(object: unknown): unknown {
	if (!isRecord(object) || !isRecord(object.metadata)) return object;
	const metadata = lightMetadata(object.metadata)!;
	if (Array.isArray(object.metadata.managedFields)) {
		metadata.managedFields = object.metadata.managedFields.map((entry) => pick(entry, ['manager', 'operation', 'subresource']) ?? entry);
	}

	return {...object, metadata};
}

export function trimDeployment(object: unknown): unknown {
	if (!isRecord(object)) return object;
	return {...object, metadata: lightMetadata(object.metadata)};
}

/**
 * A ReplicaSet mostly links pods to their Deployment (ownerReferences): its template is not kept — except for an Argo
 * Rollouts ReplicaSet, which is a version itself (its labels, images and resources, cut to those).
 */
export function trimReplicaSet(object: unknown): unknown {
	if (!isRecord(object)) return object;
	const metadata = pick(lightMetadata(object.metadata), [
		'name',
		'namespace',
		'uid',
		'resourceVersion',
		'creationTimestamp',
		'labels',
		'ownerReferences',
	]);
	const trimmed: Json = {
		apiVersion: object.apiVersion,
		kind: object.kind,
		metadata,
		status: pick(object.status, ['replicas', 'readyReplicas', 'availableReplicas']),
	};
	const owners = isRecord(object.metadata) && Array.isArray(object.metadata.ownerReferences) ? object.metadata.ownerReferences : [];
	if (owners.some((owner) => isRecord(owner) && owner.kind === 'Rollout') && isRecord(object.spec)) {
		const template = isRecord(object.spec.template) ? object.spec.template : {};
		const podSpec = isRecord(template.spec) ? template.spec : {};
		trimmed.spec = {
			...pick(object.spec, ['replicas']),
			template: {
				metadata: pick(template.metadata, ['labels', 'annotations']),
				spec: {
					containers: Array.isArray(podSpec.containers)
						? podSpec.containers.map((container) => pick(container, ['name', 'image', 'resources']) ?? container)
						: [],
				},
			},
		};
	}

	return trimmed;
}

const containerStatusKeys = ['name', 'ready', 'restartCount', 'image', 'state', 'lastState'] as const;

/** A pod: its containers' images and resources, its readiness, restarts and the reasons it is unwell. */
export function trimPod(object: unknown): unknown {
	if (!isRecord(object)) return object;
	const spec =
		isRecord(object.spec) && Array.isArray(object.spec.containers)
			? {containers: object.spec.containers.map((container) => pick(container, ['name', 'image', 'resources']) ?? container)}
			: undefined;
	const status = isRecord(object.status)
		? {
				...pick(object.status, ['phase', 'reason']),
				...(Array.isArray(object.status.conditions)
					? {conditions: object.status.conditions.map((condition) => pick(condition, ['type', 'status']) ?? condition)}
					: {}),
				...(Array.isArray(object.status.containerStatuses)
					? {containerStatuses: object.status.containerStatuses.map((entry) => pick(entry, containerStatusKeys) ?? entry)}
					: {}),
				...(Array.isArray(object.status.initContainerStatuses)
					? {initContainerStatuses: object.status.initContainerStatuses.map((entry) => pick(entry, containerStatusKeys) ?? entry)}
					: {}),
			}
		: undefined;
	return {apiVersion: object.apiVersion, kind: object.kind, metadata: lightMetadata(object.metadata), spec, status};
}
