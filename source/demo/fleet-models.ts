/**
 * The demo fleet's models, context by context (data), and the helpers that describe them in a few lines each: a
 * model's line, its versions' lines, latency profiles.
 */
import type {RouterKind, Track} from '../domain/types.ts';
import type {AutoscalerSpec, ModelSpec, VersionSpec} from './fleet.ts';
import type {LatencyProfile} from './latency.ts';

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type ModelDefaults = Pick<
	VersionSpec,
	'resources' | 'latency' | 'errorRatio' | 'capacityRpsPerPod' | 'cpuIdleCores' | 'cpuSecondsPerRequest' | 'memoryBaseBytes'
>;

export interface VersionLine {
	name: string;
	track: Track;
	weight: number;
	replicas: number;
	image: string;
	ageMs: number;
	autoscaler?: AutoscalerSpec;
	/** Multiplies the model's median latency: versions of one model are close but not identical. */
	latencyFactor?: number;
	memoryFactor?: number;
	/** KServe revision number, when the router is `kserve`. */
	revision?: number;
	stuck?: VersionSpec['stuck'];
}

export interface ModelLine extends Omit<ModelSpec, 'versions' | 'routerObject'> {
	routerObject?: string;
	defaults: ModelDefaults;
	versions: VersionLine[];
}

function routerObjectFor(router: RouterKind, name: string): string {
	switch (router) {
		case 'httproute': {
			return `HTTPRoute/${name}`;
		}

		case 'virtualservice': {
			return `VirtualService/${name}`;
		}

		case 'kserve': {
			return `InferenceService/${name}`;
		}

		default: {
			return `Service/${name}`;
		}
	}
}

export function model(line: ModelLine): ModelSpec {
	const {defaults, versions, routerObject, ...rest} = line;
	return {
		...rest,
		routerObject: routerObject ?? routerObjectFor(line.router, line.name),
		versions: versions.map((version) => {
			const spec: VersionSpec = {
				...defaults,
				name: version.name,
				track: version.track,
				weight: version.weight,
				replicas: version.replicas,
				image: version.image,
				ageMs: version.ageMs,
				latency: {...defaults.latency, medianMs: defaults.latency.medianMs * (version.latencyFactor ?? 1)},
				memoryBaseBytes: defaults.memoryBaseBytes * (version.memoryFactor ?? 1),
				object:
					line.router === 'kserve'
						? `InferenceService/${line.name} (revision ${line.name}-predictor-${String(version.revision ?? 1).padStart(5, '0')})`
						: `Deployment/${line.name}-${version.name}`,
				service: line.router === 'kserve' ? `${line.name}-predictor` : `${line.name}-${version.name}`,
			};
			if (version.autoscaler) spec.autoscaler = version.autoscaler;
			if (version.stuck) spec.stuck = version.stuck;
			return spec;
		}),
	};
}

/**
 * A latency distribution: a log-normal body and a rare Pareto tail that starts at three times the median. The tail is
 * kept rare (0.3 %) so that p99 sits at the edge of the body and is steady for a healthy version even at a few dozen
 * requests/s; an incident makes the tail common, which is what pushes p99 up.
 */
export function latency(medianMs: number, sigma: number, tailProbability = 0.003, tailScale = 3, tailAlpha = 1.6): LatencyProfile {
	return {medianMs, sigma, tailProbability, tailScale, tailAlpha};
}

export const productionModels: ModelSpec[] = [
	model({
		namespace: 'payments',
		name: 'fraud-detector',
		router: 'kserve',
		runtime: 'kserve',
		baseRps: 420,
		output: 'fraud-score',
		defaults: {
			resources: {cpuRequestCores: 0.5, cpuLimitCores: 1, memoryRequestBytes: 512 * MiB, memoryLimitBytes: 1 * GiB},
			latency: latency(18, 0.35),
			errorRatio: 0.0015,
			capacityRpsPerPod: 260,
			cpuIdleCores: 0.03,
			cpuSecondsPerRequest: 0.0038,
			memoryBaseBytes: 610 * MiB,
		},
		versions: [
			{
				name: 'v12',
				track: 'stable',
				weight: 90,
				replicas: 4,
				revision: 12,
				image: 'gs://models/fraud/v12',
				ageMs: 12 * DAY + 3 * HOUR,
				autoscaler: {min: 3, max: 8, targetRpsPerPod: 120},
			},
			{
				name: 'v13',
				track: 'canary',
				weight: 10,
				replicas: 1,
				revision: 13,
				image: 'gs://models/fraud/v13',
				ageMs: 42 * MINUTE,
				autoscaler: {min: 1, max: 8, targetRpsPerPod: 120},
				latencyFactor: 0.97,
			},
		],
	}),
	model({
		namespace: 'payments',
		name: 'churn-predictor',
		router: 'httproute',
		runtime: 'generic',
		baseRps: 120,
		output: 'churn-score',
		defaults: {
			resources: {cpuRequestCores: 0.25, cpuLimitCores: 0.5, memoryRequestBytes: 256 * MiB, memoryLimitBytes: 512 * MiB},
			latency: latency(42, 0.3),
			errorRatio: 0.0008,
			capacityRpsPerPod: 150,
			cpuIdleCores: 0.01,
			cpuSecondsPerRequest: 0.006,
			memoryBaseBytes: 290 * MiB,
		},
		versions: [
			{
				name: 'v8',
				track: 'stable',
				weight: 75,
				replicas: 2,
				image: 'registry.local/ml/churn-predictor:1.8.2',
				ageMs: 34 * DAY,
			},
			{
				name: 'v9',
				track: 'canary',
				weight: 25,
				replicas: 1,
				image: 'registry.local/ml/churn-predictor:1.9.0',
				ageMs: 2 * HOUR + 10 * MINUTE,
				memoryFactor: 1.06,
			},
		],
	}),
	model({
		namespace: 'ml-serving',
		name: 'recommender',
		router: 'virtualservice',
		runtime: 'seldon',
		baseRps: 860,
		output: 'recommendations',
		defaults: {
			resources: {cpuRequestCores: 1, cpuLimitCores: 2, memoryRequestBytes: 2 * GiB, memoryLimitBytes: 3 * GiB},
			latency: latency(34, 0.38),
			errorRatio: 0.002,
			capacityRpsPerPod: 320,
			cpuIdleCores: 0.06,
			cpuSecondsPerRequest: 0.0052,
			memoryBaseBytes: 1.9 * GiB,
		},
		versions: [
			{
				name: '2.4.1',
				track: 'stable',
				weight: 90,
				replicas: 5,
				image: 'registry.local/recommender:2.4.1',
				ageMs: 9 * DAY + 5 * HOUR,
				autoscaler: {min: 3, max: 12, targetRpsPerPod: 180},
			},
			{
				name: '2.5.0',
				track: 'canary',
				weight: 10,
				replicas: 1,
				image: 'registry.local/recommender:2.5.0',
				ageMs: 1 * HOUR + 25 * MINUTE,
				autoscaler: {min: 1, max: 12, targetRpsPerPod: 180},
			},
		],
	}),
	model({
		namespace: 'ml-serving',
		name: 'search-ranker',
		router: 'httproute',
		runtime: 'torchserve',
		baseRps: 640,
		output: 'ranking',
		defaults: {
			resources: {cpuRequestCores: 1, cpuLimitCores: 2, memoryRequestBytes: 1 * GiB, memoryLimitBytes: 2 * GiB},
			latency: latency(26, 0.32),
			errorRatio: 0.001,
			capacityRpsPerPod: 300,
			cpuIdleCores: 0.05,
			cpuSecondsPerRequest: 0.0045,
			memoryBaseBytes: 1.15 * GiB,
		},
		versions: [
			{
				name: 'v7',
				track: 'stable',
				weight: 80,
				replicas: 4,
				image: 'registry.local/ml/search-ranker:7.3.0',
				ageMs: 21 * DAY,
				autoscaler: {min: 2, max: 10, targetRpsPerPod: 160},
			},
			{
				name: 'v8',
				track: 'canary',
				weight: 15,
				replicas: 1,
				image: 'registry.local/ml/search-ranker:8.0.1',
				ageMs: 3 * HOUR + 40 * MINUTE,
				autoscaler: {min: 1, max: 10, targetRpsPerPod: 160},
				latencyFactor: 1.01,
			},
			{
				name: 'v8-distilled',
				track: 'canary',
				weight: 5,
				replicas: 1,
				image: 'registry.local/ml/search-ranker:8.0.1-distilled',
				ageMs: 3 * HOUR + 35 * MINUTE,
				latencyFactor: 0.62,
				memoryFactor: 0.55,
			},
		],
	}),
	model({
		namespace: 'ml-serving',
		name: 'sentiment',
		router: 'kserve',
		runtime: 'kserve',
		baseRps: 240,
		output: 'sentiment-class',
		defaults: {
			resources: {cpuRequestCores: 1, cpuLimitCores: 2, memoryRequestBytes: 1536 * MiB, memoryLimitBytes: 2 * GiB},
			latency: latency(48, 0.3),
			errorRatio: 0.001,
			capacityRpsPerPod: 120,
			cpuIdleCores: 0.04,
			cpuSecondsPerRequest: 0.0085,
			memoryBaseBytes: 1.3 * GiB,
		},
		versions: [
			{
				name: 'v3',
				track: 'stable',
				weight: 75,
				replicas: 3,
				revision: 3,
				image: 'hf://acme-ml/sentiment-distilbert@v3',
				ageMs: 16 * DAY,
				autoscaler: {min: 2, max: 6, targetRpsPerPod: 80},
			},
			{
				name: 'v4',
				track: 'canary',
				weight: 25,
				replicas: 1,
				revision: 4,
				image: 'hf://acme-ml/sentiment-distilbert@v4',
				ageMs: 55 * MINUTE,
				autoscaler: {min: 1, max: 6, targetRpsPerPod: 80},
				latencyFactor: 0.98,
			},
		],
	}),
	model({
		namespace: 'vision',
		name: 'image-classifier',
		router: 'replicas',
		routerObject: 'Service/image-classifier',
		runtime: 'triton',
		baseRps: 150,
		output: 'image-class',
		defaults: {
			resources: {cpuRequestCores: 2, cpuLimitCores: 4, memoryRequestBytes: 3 * GiB, memoryLimitBytes: 4 * GiB},
			latency: latency(65, 0.28),
			errorRatio: 0.0012,
			capacityRpsPerPod: 45,
			cpuIdleCores: 0.12,
			cpuSecondsPerRequest: 0.06,
			memoryBaseBytes: 2.4 * GiB,
		},
		versions: [
			{
				name: 'resnet50-v3',
				track: 'stable',
				weight: 80,
				replicas: 8,
				image: 'gs://models/vision/resnet50-v3',
				ageMs: 47 * DAY,
			},
			{
				name: 'effnet-v4',
				track: 'canary',
				weight: 20,
				replicas: 2,
				image: 'gs://models/vision/effnet-v4',
				ageMs: 6 * HOUR,
				latencyFactor: 0.9,
				memoryFactor: 1.08,
			},
		],
	}),
];

export const stagingModels: ModelSpec[] = [
	model({
		namespace: 'staging',
		name: 'fraud-detector',
		router: 'kserve',
		runtime: 'kserve',
		baseRps: 14,
		output: 'fraud-score',
		defaults: {
			resources: {cpuRequestCores: 0.25, cpuLimitCores: 1, memoryRequestBytes: 512 * MiB, memoryLimitBytes: 1 * GiB},
			latency: latency(19, 0.36),
			errorRatio: 0.002,
			capacityRpsPerPod: 260,
			cpuIdleCores: 0.02,
			cpuSecondsPerRequest: 0.0038,
			memoryBaseBytes: 600 * MiB,
		},
		versions: [
			{name: 'v13', track: 'stable', weight: 50, replicas: 1, revision: 13, image: 'gs://models/fraud/v13', ageMs: 2 * DAY},
			{name: 'v14', track: 'canary', weight: 50, replicas: 1, revision: 14, image: 'gs://models/fraud/v14', ageMs: 3 * HOUR},
		],
	}),
	model({
		namespace: 'staging',
		name: 'recommender',
		router: 'virtualservice',
		runtime: 'seldon',
		baseRps: 22,
		output: 'recommendations',
		defaults: {
			resources: {cpuRequestCores: 0.5, cpuLimitCores: 2, memoryRequestBytes: 2 * GiB, memoryLimitBytes: 3 * GiB},
			latency: latency(36, 0.4, 0.005, 3, 1.5),
			errorRatio: 0.003,
			capacityRpsPerPod: 320,
			cpuIdleCores: 0.05,
			cpuSecondsPerRequest: 0.0052,
			memoryBaseBytes: 1.8 * GiB,
		},
		versions: [
			{name: '2.5.0', track: 'stable', weight: 70, replicas: 1, image: 'registry.local/recommender:2.5.0', ageMs: 4 * DAY},
			{
				name: '2.6.0-rc1',
				track: 'canary',
				weight: 30,
				replicas: 1,
				image: 'registry.local/recommender:2.6.0-rc1',
				ageMs: 5 * HOUR,
				latencyFactor: 1.08,
			},
		],
	}),
	model({
		namespace: 'ml-sandbox',
		name: 'llm-summarizer',
		router: 'httproute',
		runtime: 'generic',
		baseRps: 3,
		output: 'summary',
		defaults: {
			resources: {cpuRequestCores: 4, cpuLimitCores: 8, memoryRequestBytes: 12 * GiB, memoryLimitBytes: 16 * GiB},
			latency: latency(850, 0.45, 0.03, 2, 2.2),
			errorRatio: 0.004,
			capacityRpsPerPod: 6,
			cpuIdleCores: 0.3,
			cpuSecondsPerRequest: 0.9,
			memoryBaseBytes: 10.5 * GiB,
		},
		versions: [
			{
				name: 'v1',
				track: 'stable',
				weight: 100,
				replicas: 2,
				image: 'registry.local/ml/llm-summarizer:0.9.4',
				ageMs: 8 * DAY,
			},
			{
				name: 'v2',
				track: 'canary',
				weight: 0,
				replicas: 1,
				image: 'registry.local/ml/llm-summarizer:1.0.0-rc2',
				ageMs: 35 * MINUTE,
				stuck: {readyReplicas: 0, restarts: 14, problem: 'CrashLoopBackOff'},
			},
		],
		warnings: ['HTTPRoute/llm-summarizer sends 0% to llm-summarizer-v2, whose pods are crash-looping'],
	}),
];

/** Extra generated models for benchmarks (`extraModels`), 2–3 versions each, in namespace `ml-batch`. */
