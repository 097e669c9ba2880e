/**
 * Who owns an object, before modeldeck writes it. A controller that owns a router or a workload reverts a write made
 * behind its back, and the two would fight; so an owned object is changed only through its owner's API, or the change
 * is refused with the owner's own command (plans check `ModelAnalysis.owned`).
 *
 * Evidence, strongest first:
 * 1. A Rollout naming the object in its strategy (its VirtualService, HTTPRoute, TrafficSplit, DestinationRule and
 *    canary/stable Services): Argo Rollouts writes their weights and selectors without owning them by reference.
 * 2. `ownerReferences` to a Rollout (argoproj.io), a Canary (flagger.app), an InferenceService (serving.kserve.io) or
 *    anything of Knative Serving (serving.knative.dev, networking.internal.knative.dev).
 * 3. The `managedFields` manager that wrote the object: `rollouts-controller`, `flagger`, KServe's `manager` on an
 *    object carrying KServe's labels, Knative's `controller` on one carrying Knative's.
 * 4. The controllers' own labels and annotations: `serving.kserve.io/inferenceservice`, `serving.knative.dev/route` or
 *    `/service`, `argo-rollouts.argoproj.io/managed-by-rollouts`, `app.kubernetes.io/managed-by: flagger`.
 */
import type {ModelOwner} from '../../../domain/types.ts';
import type {KubeObject} from '../objects.ts';
import type {Rollout} from '../objects/argo-rollouts.ts';
import {argoRolloutsCommand, rolloutReferences} from './argo-rollouts.ts';
import {type ClusterSnapshot, isRecord, listOf, namespaceOf} from './snapshot.ts';
import type {ModelAnalysis} from './traffic.ts';

type Controller = 'Argo Rollouts' | 'Flagger' | 'KServe' | 'Knative';

const kserveLabel = 'serving.kserve.io/inferenceservice';
const knativeRouteLabel = 'serving.knative.dev/route';
const knativeServiceLabel = 'serving.knative.dev/service';
const rolloutsManagedBy = 'argo-rollouts.argoproj.io/managed-by-rollouts';

/** The owner's own command for a change modeldeck will not make itself. */
export function ownerCommand(controller: Controller, kind: string, name: string, namespace: string): string {
	switch (controller) {
		case 'Argo Rollouts':
			return argoRolloutsCommand('promote', name, namespace);
		case 'Flagger':
			return `kubectl edit canary/${name} -n ${namespace} (Flagger shifts the weight by its analysis: spec.analysis.stepWeight, maxWeight)`;
		case 'KServe':
			return `kubectl patch inferenceservice ${name} -n ${namespace} --type merge -p '{"spec":{"predictor":{"canaryTrafficPercent":<percent>}}}'`;
		case 'Knative':
			return kind === 'Service'
				? `kn service update ${name} -n ${namespace} --traffic <revision>=<percent>`
				: `kubectl edit ${kind.toLowerCase()}/${name} -n ${namespace} (its spec.traffic)`;
	}
}

function owner(controller: Controller, kind: string, name: string, namespace: string, evidence: string): ModelOwner {
	return {controller, object: `${kind}/${name}`, evidence, command: ownerCommand(controller, kind, name, namespace)};
}

function controllerOfReference(apiVersion: string, kind: string): Controller | undefined {
	const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
	if (kind === 'Rollout' && group === 'argoproj.io') return 'Argo Rollouts';
	if (kind === 'Canary' && group === 'flagger.app') return 'Flagger';
	if (kind === 'InferenceService' && group === 'serving.kserve.io') return 'KServe';
	// Knative Serving's own objects, and net-istio's Ingresses that own the VirtualServices it writes.
	if (group === 'serving.knative.dev' || group === 'networking.internal.knative.dev') return 'Knative';
	return undefined;
}

/** Which controller wrote the object, from its managedFields managers (names as their controllers set them). */
function controllerOfManager(manager: string, labels: Record<string, string>): Controller | undefined {
	// The manager is the writer's binary name: `rollouts-controller` in Argo's image, with a suffix where renamed.
	if (manager === 'rollouts-controller' || manager.startsWith('rollouts-controller-') || manager === 'argo-rollouts')
		return 'Argo Rollouts';
	if (manager === 'flagger') return 'Flagger';
	if ((manager === 'manager' || manager === 'kserve-controller-manager') && labels[kserveLabel] !== undefined) return 'KServe';
	if (manager === 'controller' && (labels[knativeRouteLabel] !== undefined || labels[knativeServiceLabel] !== undefined)) return 'Knative';
	return undefined;
}

/**
 * The controller owning `object` (of `kind`, `HTTPRoute`, `Deployment`, …), or undefined. `rollouts` are the Rollouts
 * of the object's namespace (a Rollout names its router without owning it by reference). Outside input: any shape.
 */
export function findOwner(kind: string, object: KubeObject, rollouts: readonly Rollout[] = []): ModelOwner | undefined {
	const metadata: Record<string, unknown> = isRecord(object) && isRecord(object.metadata) ? object.metadata : {};
	const name = typeof metadata.name === 'string' ? metadata.name : '';
	const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
	const labels = isRecord(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
	const annotations = isRecord(metadata.annotations) ? (metadata.annotations as Record<string, string>) : {};

	for (const rollout of rollouts) {
		if (namespaceOf(rollout) !== namespace) continue;
		const rolloutName = rollout.metadata?.name ?? '';
		if (rolloutReferences(rollout).some((reference) => reference.kind === kind && reference.name === name)) {
			return owner('Argo Rollouts', 'Rollout', rolloutName, namespace, `named by Rollout/${rolloutName} spec.strategy`);
		}
	}

	for (const reference of listOf(metadata.ownerReferences as unknown[] | undefined)) {
		if (!isRecord(reference)) continue;
		const referenceKind = typeof reference.kind === 'string' ? reference.kind : '';
		const referenceName = typeof reference.name === 'string' ? reference.name : '';
		const controller = controllerOfReference(typeof reference.apiVersion === 'string' ? reference.apiVersion : '', referenceKind);
		if (controller && referenceName) {
			return owner(controller, referenceKind, referenceName, namespace, `ownerReferences ${referenceKind}/${referenceName}`);
		}
	}

	for (const entry of listOf(metadata.managedFields as unknown[] | undefined)) {
		if (!isRecord(entry) || typeof entry.manager !== 'string') continue;
		const controller = controllerOfManager(entry.manager, labels);
		if (!controller) continue;
		const [ownerKind, ownerName] = ownerGuess(controller, kind, name, labels, annotations);
		return owner(controller, ownerKind, ownerName, namespace, `managedFields manager ${entry.manager}`);
	}

	const managedByRollout = annotations[rolloutsManagedBy];
	if (typeof managedByRollout === 'string' && managedByRollout) {
		return owner('Argo Rollouts', 'Rollout', managedByRollout, namespace, `annotation ${rolloutsManagedBy}`);
	}

	if (typeof labels[kserveLabel] === 'string' && labels[kserveLabel]) {
		return owner('KServe', 'InferenceService', labels[kserveLabel], namespace, `label ${kserveLabel}`);
	}

	const knative = labels[knativeServiceLabel] ?? labels[knativeRouteLabel];
	if (typeof knative === 'string' && knative) {
		return owner(
			'Knative',
			labels[knativeServiceLabel] ? 'Service' : 'Route',
			knative,
			namespace,
			`label ${labels[knativeServiceLabel] ? knativeServiceLabel : knativeRouteLabel}`,
		);
	}

	if (labels['app.kubernetes.io/managed-by'] === 'flagger') {
		return owner('Flagger', 'Canary', name.replace(/-(primary|canary)$/, ''), namespace, 'label app.kubernetes.io/managed-by: flagger');
	}

	return undefined;
}

/** The owning object when only the writer is known: the controllers' labels name it, else the object's own name. */
function ownerGuess(
	controller: Controller,
	kind: string,
	name: string,
	labels: Record<string, string>,
	annotations: Record<string, string>,
): [string, string] {
	switch (controller) {
		case 'Argo Rollouts':
			return ['Rollout', annotations[rolloutsManagedBy] ?? name];
		case 'Flagger':
			return ['Canary', name.replace(/-(primary|canary)$/, '')];
		case 'KServe':
			return ['InferenceService', labels[kserveLabel] ?? name];
		case 'Knative':
			return labels[knativeServiceLabel]
				? ['Service', labels[knativeServiceLabel]]
				: [kind === 'Service' ? 'Service' : 'Route', labels[knativeRouteLabel] ?? name];
	}
}

const snapshotLists: Record<string, keyof ClusterSnapshot> = {
	HTTPRoute: 'httpRoutes',
	VirtualService: 'virtualServices',
	TrafficSplit: 'trafficSplits',
	Deployment: 'deployments',
	Service: 'services',
	DestinationRule: 'destinationRules',
};

/**
 * The ownership post-pass over every discovered model: each object it would write (its router and its Deployments)
 * that a controller owns is recorded in `owned`, and the model's `owner` is set from its router (else a workload)
 * unless the step that found it set one already (a Rollout, a Canary, an InferenceService own their models).
 */
export function markOwners(analyses: ModelAnalysis[], snapshot: ClusterSnapshot): void {
	// Each kind's objects by namespace and name, indexed when first asked for: a scan per candidate was quadratic in the
	// fleet (300 models against 600 Deployments: half a million comparisons at start-up).
	const indexes = new Map<string, Map<string, KubeObject>>();
	const find = (kind: string, namespace: string, name: string): KubeObject | undefined => {
		const list = snapshotLists[kind];
		if (!list) return undefined;
		let index = indexes.get(list);
		if (!index) {
			index = new Map();
			for (const object of (snapshot[list] as KubeObject[] | undefined) ?? []) {
				const key = `${namespaceOf(object)}/${object.metadata?.name}`;
				// The first of a name, as the scan found it.
				if (!index.has(key)) index.set(key, object);
			}
			indexes.set(list, index);
		}

		return index.get(`${namespace}/${name}`);
	};

	const rolloutsByNamespace = new Map<string, Rollout[]>();
	for (const rollout of snapshot.rollouts ?? []) {
		const namespace = namespaceOf(rollout);
		rolloutsByNamespace.set(namespace, [...(rolloutsByNamespace.get(namespace) ?? []), rollout]);
	}

	for (const analysis of analyses) {
		const {model} = analysis;
		const rollouts = rolloutsByNamespace.get(model.namespace) ?? [];
		const owned: Record<string, ModelOwner> = {...analysis.owned};
		const candidates: string[] = [];
		if (model.routerObject) candidates.push(model.routerObject);
		for (const deployment of Object.values(analysis.deployments)) candidates.push(`Deployment/${deployment}`);
		for (const label of candidates) {
			if (owned[label]) continue;
			const [kind, name] = splitLabel(label);
			const object = find(kind, model.namespace, name);
			const found = object ? findOwner(kind, object, rollouts) : undefined;
			if (found) owned[label] = found;
		}

		if (Object.keys(owned).length > 0) analysis.owned = owned;
		if (!model.owner) {
			const first = (model.routerObject ? owned[model.routerObject] : undefined) ?? candidates.map((label) => owned[label]).find(Boolean);
			if (first) model.owner = first;
		}
	}
}

function splitLabel(label: string): [string, string] {
	const slash = label.indexOf('/');
	return slash === -1 ? [label, ''] : [label.slice(0, slash), label.slice(slash + 1)];
}
