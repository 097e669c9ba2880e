/**
 * The simulated fleet: what exists in each demo context. Static descriptions only; `simulation.ts` brings them to
 * life. Figures are chosen to look like a real production cluster: a few hundred requests/s per model, tens of ms
 * per prediction, pods sized with requests below limits, canaries small and autoscaled.
 */
import type {Context, Resources, RouterKind, Track} from '../domain/types.ts';
import {DAY, GiB, HOUR, latency, MiB, model, productionModels, stagingModels, type VersionLine} from './fleet-models.ts';
import type {LatencyProfile} from './latency.ts';

/** What a model's predictions look like in the log (inputs, outputs, and the value used for drift). */
export type OutputKind =
	| 'fraud-score'
	| 'recommendations'
	| 'churn-score'
	| 'image-class'
	| 'sentiment-class'
	| 'ranking'
	| 'summary'
	| 'score';

export interface AutoscalerSpec {
	min: number;
	max: number;
	/** Requests/s per pod the autoscaler aims for. */
	targetRpsPerPod: number;
}

export interface VersionSpec {
	name: string;
	track: Track;
	/** Share of traffic 0–100. Ignored for the `replicas` router, where it follows the ready pods. */
	weight: number;
	replicas: number;
	autoscaler?: AutoscalerSpec;
	image: string;
	/** How long before launch the version was created. */
	ageMs: number;
	resources: Resources;
	latency: LatencyProfile;
	/** Baseline share of failed requests. */
	errorRatio: number;
	/** Requests/s one pod serves before queueing makes it slower. */
	capacityRpsPerPod: number;
	cpuIdleCores: number;
	cpuSecondsPerRequest: number;
	memoryBaseBytes: number;
	object: string;
	service?: string;
	/** A version whose pods do not come up: how many are ready, restarts so far, and the pod problem shown. */
	stuck?: {readyReplicas: number; restarts: number; problem: string};
}

export interface ModelSpec {
	namespace: string;
	name: string;
	router: RouterKind;
	routerObject: string;
	runtime: string;
	/** Requests/s reaching the model across all versions, before the slow daily-like swing. */
	baseRps: number;
	output: OutputKind;
	versions: VersionSpec[];
	warnings?: string[];
}

export interface ContextSpec {
	context: Context;
	models: ModelSpec[];
}

function generatedModels(count: number): ModelSpec[] {
	const models: ModelSpec[] = [];
	for (let index = 1; index <= count; index++) {
		const name = `scorer-${String(index).padStart(2, '0')}`;
		const threeVersions = index % 3 === 0;
		const versions: VersionLine[] = [
			{
				name: 'v1',
				track: 'stable',
				weight: threeVersions ? 85 : 90,
				replicas: 2,
				image: `registry.local/ml/${name}:1.0.${index}`,
				ageMs: (5 + index) * DAY,
			},
			{
				name: 'v2',
				track: 'canary',
				weight: 10,
				replicas: 1,
				image: `registry.local/ml/${name}:2.0.0`,
				ageMs: (1 + index) * HOUR,
				latencyFactor: 1.03,
			},
		];
		if (threeVersions) {
			versions.push({
				name: 'v2-int8',
				track: 'canary',
				weight: 5,
				replicas: 1,
				image: `registry.local/ml/${name}:2.0.0-int8`,
				ageMs: (1 + index) * HOUR,
				latencyFactor: 0.7,
			});
		}

		models.push(
			model({
				namespace: 'ml-batch',
				name,
				router: 'httproute',
				runtime: 'generic',
				baseRps: 40 + ((index * 37) % 160),
				output: 'score',
				defaults: {
					resources: {cpuRequestCores: 0.5, cpuLimitCores: 1, memoryRequestBytes: 512 * MiB, memoryLimitBytes: 1 * GiB},
					latency: latency(12 + (index % 7) * 4, 0.33),
					errorRatio: 0.001,
					capacityRpsPerPod: 200,
					cpuIdleCores: 0.02,
					cpuSecondsPerRequest: 0.002,
					memoryBaseBytes: 480 * MiB,
				},
				versions,
			}),
		);
	}

	return models;
}

export const PRODUCTION_CONTEXT = 'demo-prod';
export const STAGING_CONTEXT = 'demo-staging';

/** The demo's contexts. `extraModels` pads production with generated models (benchmarks: 12 give 41 versions). */
export function demoContexts(extraModels = 0): ContextSpec[] {
	return [
		{
			context: {name: PRODUCTION_CONTEXT, cluster: 'demo-prod (simulated)', user: 'demo-operator'},
			models: [...productionModels, ...generatedModels(Math.max(0, Math.floor(extraModels)))],
		},
		{
			context: {name: STAGING_CONTEXT, cluster: 'demo-staging (simulated)', user: 'demo-operator'},
			models: stagingModels,
		},
	];
}
