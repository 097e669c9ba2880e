/**
 * Flagger (flagger.app/v1beta1): Canaries, and the Events Flagger records on them, as the API server sends them.
 * Only the fields modeldeck reads; everything is optional (outside input).
 */
import type {KubeObject} from '../objects.ts';

export interface FlaggerMetric {
	name?: string;
	/** Legacy single bound: a minimum for `request-success-rate`, a maximum for everything else. */
	threshold?: number;
	thresholdRange?: {min?: number; max?: number};
	interval?: string;
}

export interface FlaggerWebhook {
	name?: string;
	/** `pre-rollout`, `rollout`, `post-rollout`, `confirm-rollout`, `confirm-traffic-increase`, `confirm-promotion`, `rollback`, `event`. */
	type?: string;
	url?: string;
}

export interface FlaggerAnalysis {
	interval?: string;
	/** Failed checks before Flagger rolls back. */
	threshold?: number;
	maxWeight?: number;
	stepWeight?: number;
	stepWeights?: number[];
	/** A/B testing and Blue/Green: a fixed number of iterations instead of weights. */
	iterations?: number;
	metrics?: FlaggerMetric[];
	webhooks?: FlaggerWebhook[];
}

export interface FlaggerCanaryCondition {
	type?: string;
	status?: string;
	reason?: string;
	message?: string;
}

export interface FlaggerCanary extends KubeObject {
	spec?: {
		provider?: string;
		targetRef?: {apiVersion?: string; kind?: string; name?: string};
		service?: {name?: string; port?: number};
		skipAnalysis?: boolean;
		suspend?: boolean;
		analysis?: FlaggerAnalysis;
		/** Before v1, `canaryAnalysis` (Flagger still reads it). */
		canaryAnalysis?: FlaggerAnalysis;
	};
	status?: {
		phase?: string;
		failedChecks?: number;
		canaryWeight?: number;
		iterations?: number;
		lastTransitionTime?: string;
		conditions?: FlaggerCanaryCondition[];
	};
}

/** A core/v1 Event about a Canary (`involvedObject.kind=Canary`): where Flagger writes the metric values it judged. */
export interface CanaryEvent extends KubeObject {
	involvedObject?: {kind?: string; name?: string; namespace?: string};
	type?: string;
	reason?: string;
	message?: string;
	lastTimestamp?: string;
	eventTime?: string;
	count?: number;
}
