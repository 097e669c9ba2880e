/**
 * The kinds discovery watches, and how each is listed: a module of its own, without the Kubernetes client, so that the
 * start-up can send the first lists (early-lists.ts) before the client has loaded.
 */
import type {ClusterSnapshot} from './build-models.ts';
import type {Conventions} from './conventions.ts';
import {type ResourceType, resourceTypes} from './http.ts';
import {trimDeployment, trimManagedFields, trimPod, trimReplicaSet} from './trim.ts';

export interface WatchedKind {
	/** The snapshot list this kind fills. */
	key: Exclude<keyof ClusterSnapshot, 'podsPending'>;
	type: ResourceType;
	labelSelector?: string;
	fieldSelector?: string;
	/** Optional kinds (custom resources, autoscalers) do not hold back the first list of models when they fail. */
	optional: boolean;
	/** Cuts each object to what discovery reads, on arrival (list and watch), to keep the cache small. */
	trim?: (object: unknown) => unknown;
}

/**
 * Deployments, ReplicaSets and Pods are watched whole (no label selector): models are also found without modeldeck's
 * labels, from routers' backends, name and version labels and KServe's Deployments. Each is trimmed on arrival to what
 * discovery reads (trim.ts); `conventions` no longer narrows the watch, only how objects are read.
 */
export function watchedKinds(_conventions?: Conventions): WatchedKind[] {
	return [
		{key: 'deployments', type: resourceTypes.deployments, optional: false, trim: trimDeployment},
		{key: 'replicaSets', type: resourceTypes.replicaSets, optional: false, trim: trimReplicaSet},
		{key: 'pods', type: resourceTypes.pods, optional: false, trim: trimPod},
		{key: 'services', type: resourceTypes.services, optional: false, trim: trimManagedFields},
		{key: 'autoscalers', type: resourceTypes.autoscalers, optional: true, trim: trimManagedFields},
		{key: 'httpRoutes', type: resourceTypes.httpRoutes, optional: true, trim: trimManagedFields},
		{key: 'virtualServices', type: resourceTypes.virtualServices, optional: true, trim: trimManagedFields},
		{key: 'destinationRules', type: resourceTypes.destinationRules, optional: true, trim: trimManagedFields},
		{key: 'inferenceServices', type: resourceTypes.inferenceServices, optional: true, trim: trimManagedFields},
		{key: 'trafficSplits', type: resourceTypes.trafficSplits, optional: true, trim: trimManagedFields},
		{key: 'seldonModels', type: resourceTypes.seldonModels, optional: true, trim: trimManagedFields},
		{key: 'seldonExperiments', type: resourceTypes.seldonExperiments, optional: true, trim: trimManagedFields},
		{key: 'rollouts', type: resourceTypes.rollouts, optional: true, trim: trimManagedFields},
		{key: 'analysisRuns', type: resourceTypes.analysisRuns, optional: true, trim: trimManagedFields},
		{key: 'canaries', type: resourceTypes.canaries, optional: true, trim: trimManagedFields},
		// Flagger writes the metric values it judged only in Events on the Canary.
		{key: 'canaryEvents', type: resourceTypes.events, fieldSelector: 'involvedObject.kind=Canary', optional: true},
		// modeldeck's Deliveries: the state of rollouts of KServe InferenceServices (see snapshot.ts).
		{key: 'deliveries', type: resourceTypes.deliveries, optional: true, trim: trimManagedFields},
	];
}
