/**
 * Argo Rollouts (argoproj.io/v1alpha1): Rollouts and their AnalysisRuns, as the API server sends them. Only the fields
 * modeldeck reads; everything is optional (outside input). Field names as in argo-rollouts v1.10
 * (pkg/apis/rollouts/v1alpha1/types.go, analysis_types.go).
 */
import type {KubeObject, LabelSelector, PodTemplate} from '../objects.ts';

/** One canary step: exactly one of its fields is set (`setWeight: 20`, `pause: {}`, `analysis: {…}`, …). */
export interface RolloutCanaryStep {
	setWeight?: number;
	pause?: {duration?: string | number};
	analysis?: unknown;
	experiment?: unknown;
	setCanaryScale?: unknown;
	setHeaderRoute?: unknown;
	setMirrorRoute?: unknown;
	plugin?: unknown;
}

export interface RolloutIstioVirtualService {
	name?: string;
	routes?: string[];
}

export interface RolloutTrafficRouting {
	istio?: {
		virtualService?: RolloutIstioVirtualService;
		virtualServices?: RolloutIstioVirtualService[];
		destinationRule?: {name?: string; canarySubsetName?: string; stableSubsetName?: string};
	};
	nginx?: {stableIngress?: string};
	smi?: {trafficSplitName?: string};
	plugins?: Record<string, unknown>;
	/** The total the weights are out of (default 100). */
	maxTrafficWeight?: number;
	[router: string]: unknown;
}

export interface RolloutCanaryStrategy {
	canaryService?: string;
	stableService?: string;
	steps?: RolloutCanaryStep[];
	trafficRouting?: RolloutTrafficRouting;
}

export interface RolloutPauseCondition {
	reason?: string;
	startTime?: string;
}

export interface RolloutWeight {
	weight?: number;
	podTemplateHash?: string;
	serviceName?: string;
}

export interface RolloutAnalysisRunStatus {
	name?: string;
	status?: string;
	message?: string;
}

export interface Rollout extends KubeObject {
	spec?: {
		replicas?: number;
		paused?: boolean;
		selector?: LabelSelector;
		template?: PodTemplate;
		/** A Rollout may point at a Deployment's template instead of carrying its own. */
		workloadRef?: {apiVersion?: string; kind?: string; name?: string};
		strategy?: {canary?: RolloutCanaryStrategy; blueGreen?: {activeService?: string; previewService?: string}};
	};
	status?: {
		phase?: string;
		message?: string;
		abort?: boolean;
		promoteFull?: boolean;
		controllerPause?: boolean;
		pauseConditions?: RolloutPauseCondition[] | null;
		currentStepIndex?: number;
		currentPodHash?: string;
		stableRS?: string;
		replicas?: number;
		readyReplicas?: number;
		canary?: {
			weights?: {canary?: RolloutWeight; stable?: RolloutWeight; additional?: RolloutWeight[]};
			currentStepAnalysisRunStatus?: RolloutAnalysisRunStatus;
			currentBackgroundAnalysisRunStatus?: RolloutAnalysisRunStatus;
		};
	};
}

export interface AnalysisMeasurement {
	phase?: string;
	value?: string;
	message?: string;
	finishedAt?: string;
}

export interface AnalysisMetricResult {
	name?: string;
	phase?: string;
	message?: string;
	count?: number;
	successful?: number;
	failed?: number;
	error?: number;
	inconclusive?: number;
	measurements?: AnalysisMeasurement[];
}

export interface AnalysisRun extends KubeObject {
	spec?: {metrics?: Array<{name?: string; successCondition?: string; failureCondition?: string}>};
	status?: {
		phase?: string;
		message?: string;
		startedAt?: string;
		metricResults?: AnalysisMetricResult[];
	};
}
