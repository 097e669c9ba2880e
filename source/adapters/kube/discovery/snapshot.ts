/**
 * The cluster's objects as discovery sees them: a snapshot of every watched list, cleaned of what no API server would
 * send (`sanitize`), and the lookups discovery needs over it (`SnapshotIndex`), built once per snapshot.
 */
import type {Autoscaler} from '../../../domain/types.ts';
import {labelSelectorMatches} from '../labels.ts';
import type {
	Deployment,
	DestinationRule,
	HorizontalPodAutoscaler,
	HttpRoute,
	InferenceService,
	KubeObject,
	Pod,
	ReplicaSet,
	Service,
	VirtualService,
} from '../objects.ts';
import type {AnalysisRun, Rollout} from '../objects/argo-rollouts.ts';
import type {CanaryEvent, FlaggerCanary} from '../objects/flagger.ts';
import type {SeldonExperiment, SeldonModel} from '../objects/seldon.ts';
import type {TrafficSplit} from '../objects/smi.ts';

/** Everything discovery watches. Missing lists are empty (a CRD that is not installed has no objects). */
export interface ClusterSnapshot {
	deployments?: Deployment[];
	replicaSets?: ReplicaSet[];
	pods?: Pod[];
	services?: Service[];
	autoscalers?: HorizontalPodAutoscaler[];
	httpRoutes?: HttpRoute[];
	virtualServices?: VirtualService[];
	destinationRules?: DestinationRule[];
	inferenceServices?: InferenceService[];
	trafficSplits?: TrafficSplit[];
	seldonModels?: SeldonModel[];
	seldonExperiments?: SeldonExperiment[];
	rollouts?: Rollout[];
	analysisRuns?: AnalysisRun[];
	canaries?: FlaggerCanary[];
	/** Events about Canaries (`involvedObject.kind=Canary`): Flagger's judged metric values. */
	canaryEvents?: CanaryEvent[];
	/**
	 * modeldeck's Delivery objects (deploy/base/delivery-crd.yaml): the state of a rollout of a KServe InferenceService,
	 * which cannot be its annotation — KServe copies an InferenceService's annotations into the predictor's revision
	 * template, so every write of the state would make Knative create a new revision.
	 */
	deliveries?: DeliveryObject[];
	/**
	 * The pods (and ReplicaSets) are not listed yet: the first models at start-up are made without them (early-lists.ts)
	 * and their versions say so (Version.podsPending).
	 */
	podsPending?: boolean;
}

/** A Delivery: named after its model, `spec.state` the JSON the `modeldeck.dev/delivery` annotation would hold. */
export interface DeliveryObject extends KubeObject {
	spec?: {model?: string; state?: string};
}

export const kserveRevisionLabel = 'serving.knative.dev/revision';

export const kserveInferenceServiceLabel = 'serving.kserve.io/inferenceservice';

export function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function listOf<T>(value: T[] | undefined): T[] {
	return Array.isArray(value) ? value : [];
}

/** Keeps objects with a name and well-formed labels and annotations; drops what no API server would send. */
export function sanitize(snapshot: ClusterSnapshot): ClusterSnapshot {
	const clean = <T extends KubeObject>(list: T[] | undefined): T[] =>
		listOf(list).filter((item) => {
			if (!isRecord(item) || !isRecord(item.metadata)) return false;
			const {name, namespace, labels, annotations, creationTimestamp} = item.metadata;
			const stringMap = (value: unknown) =>
				value === undefined || (isRecord(value) && Object.values(value).every((entry) => typeof entry === 'string'));
			return (
				typeof name === 'string' &&
				(namespace === undefined || typeof namespace === 'string') &&
				(creationTimestamp === undefined || typeof creationTimestamp === 'string') &&
				stringMap(labels) &&
				stringMap(annotations)
			);
		});
	return {
		deployments: clean(snapshot.deployments),
		replicaSets: clean(snapshot.replicaSets),
		pods: clean(snapshot.pods),
		services: clean(snapshot.services),
		autoscalers: clean(snapshot.autoscalers),
		httpRoutes: clean(snapshot.httpRoutes),
		virtualServices: clean(snapshot.virtualServices),
		destinationRules: clean(snapshot.destinationRules),
		inferenceServices: clean(snapshot.inferenceServices),
		trafficSplits: clean(snapshot.trafficSplits),
		seldonModels: clean(snapshot.seldonModels),
		seldonExperiments: clean(snapshot.seldonExperiments),
		rollouts: clean(snapshot.rollouts),
		analysisRuns: clean(snapshot.analysisRuns),
		canaries: clean(snapshot.canaries),
		canaryEvents: clean(snapshot.canaryEvents),
		deliveries: clean(snapshot.deliveries),
	};
}

/** `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` -> the Service it names. */
export function resolveHost(host: string, defaultNamespace: string): {name: string; namespace: string} | undefined {
	if (typeof host !== 'string' || !host || host.includes('*')) return undefined;
	const [name, namespace, third] = host.split('.');
	if (!name) return undefined;
	if (namespace !== undefined && third !== undefined && third !== 'svc') return undefined;
	return {name, namespace: namespace ?? defaultNamespace};
}

export function namespaceOf(object: KubeObject): string {
	return object.metadata?.namespace ?? 'default';
}

export function sortByName<T extends KubeObject>(objects: T[]): T[] {
	return [...objects].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** Lookups over a snapshot, built once per call. */
export class SnapshotIndex {
	private readonly services = new Map<string, Service>();
	private readonly servicesByNamespace = new Map<string, Service[]>();
	private readonly deploymentOfReplicaSet = new Map<string, string>();
	private readonly podsByDeployment = new Map<string, Pod[]>();
	private readonly unownedPods: Pod[] = [];
	private readonly autoscalers = new Map<string, Autoscaler>();
	private readonly subsets = new Map<string, Record<string, string>>();
	private readonly podsByRevision = new Map<string, Pod[]>();
	private readonly deliveryStates = new Map<string, string>();

	constructor(snapshot: ClusterSnapshot) {
		for (const delivery of snapshot.deliveries ?? []) {
			const {model, state} = delivery.spec ?? {};
			if (typeof model === 'string' && typeof state === 'string') this.deliveryStates.set(`${namespaceOf(delivery)}/${model}`, state);
		}

		for (const service of sortByName(snapshot.services ?? [])) {
			const namespace = namespaceOf(service);
			this.services.set(`${namespace}/${service.metadata?.name}`, service);
			this.servicesByNamespace.set(namespace, [...(this.servicesByNamespace.get(namespace) ?? []), service]);
		}

		for (const replicaSet of snapshot.replicaSets ?? []) {
			const owner = listOf(replicaSet.metadata?.ownerReferences).find((reference) => reference.kind === 'Deployment');
			if (owner?.name) this.deploymentOfReplicaSet.set(`${namespaceOf(replicaSet)}/${replicaSet.metadata?.name}`, owner.name);
		}

		for (const pod of snapshot.pods ?? []) {
			const namespace = namespaceOf(pod);
			const revision = pod.metadata?.labels?.[kserveRevisionLabel];
			const inferenceService = pod.metadata?.labels?.[kserveInferenceServiceLabel];
			if (revision && inferenceService) {
				const key = `${namespace}/${inferenceService}/${revision}`;
				this.podsByRevision.set(key, [...(this.podsByRevision.get(key) ?? []), pod]);
			}

			const owner = listOf(pod.metadata?.ownerReferences).find((reference) => reference.kind === 'ReplicaSet');
			const deployment = owner?.name ? this.deploymentOfReplicaSet.get(`${namespace}/${owner.name}`) : undefined;
			if (deployment) {
				const key = `${namespace}/${deployment}`;
				this.podsByDeployment.set(key, [...(this.podsByDeployment.get(key) ?? []), pod]);
			} else {
				this.unownedPods.push(pod);
			}
		}

		for (const autoscaler of snapshot.autoscalers ?? []) {
			const target = autoscaler.spec?.scaleTargetRef;
			if (target?.kind !== 'Deployment' || !target.name) continue;
			this.autoscalers.set(`${namespaceOf(autoscaler)}/${target.name}`, {
				min: autoscaler.spec?.minReplicas ?? 1,
				max: autoscaler.spec?.maxReplicas ?? 0,
				current: autoscaler.status?.currentReplicas ?? 0,
			});
		}

		for (const rule of sortByName(snapshot.destinationRules ?? [])) {
			const namespace = namespaceOf(rule);
			const host = resolveHost(rule.spec?.host ?? '', namespace);
			if (!host) continue;
			for (const subset of listOf(rule.spec?.subsets)) {
				const key = `${host.namespace}/${host.name}/${subset.name}`;
				if (subset.name && !this.subsets.has(key)) this.subsets.set(key, subset.labels ?? {});
			}
		}
	}

	service(namespace: string, name: string): Service | undefined {
		return this.services.get(`${namespace}/${name}`);
	}

	servicesIn(namespace: string): Service[] {
		return this.servicesByNamespace.get(namespace) ?? [];
	}

	subset(namespace: string, host: string, subset: string): Record<string, string> | undefined {
		return this.subsets.get(`${namespace}/${host}/${subset}`);
	}

	autoscalerFor(namespace: string, deployment: string): Autoscaler | undefined {
		return this.autoscalers.get(`${namespace}/${deployment}`);
	}

	/** The state of a rollout of InferenceService NAME in NAMESPACE (its Delivery's), as JSON text. */
	deliveryState(namespace: string, name: string): string | undefined {
		return this.deliveryStates.get(`${namespace}/${name}`);
	}

	podsOfRevision(namespace: string, inferenceService: string, revision: string): Pod[] {
		return this.podsByRevision.get(`${namespace}/${inferenceService}/${revision}`) ?? [];
	}

	/** Pods through their ReplicaSet owner; pods whose ReplicaSet is unknown by the Deployment's selector. */
	podsOfDeployment(deployment: Deployment): Pod[] {
		const namespace = namespaceOf(deployment);
		const owned = this.podsByDeployment.get(`${namespace}/${deployment.metadata?.name}`) ?? [];
		const selected = this.unownedPods.filter(
			(pod) =>
				namespaceOf(pod) === namespace &&
				!pod.metadata?.labels?.[kserveRevisionLabel] &&
				labelSelectorMatches(deployment.spec?.selector, pod.metadata?.labels),
		);
		return [...owned, ...selected];
	}
}
