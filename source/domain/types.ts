/**
 * Core domain types. Pure data: no I/O, no React. Every source (real or demo) produces these and
 * every screen consumes them, so nothing above the sources knows where the data came from.
 */
import type {DeliveryCommand, DeliverySpec, DeliveryState} from './delivery.ts';

export type Track = 'stable' | 'canary';

/** How traffic is split between the versions of a model. */
export type RouterKind =
	| 'httproute'
	| 'virtualservice'
	| 'trafficsplit'
	| 'kserve'
	| 'seldon'
	| 'argo-rollouts'
	| 'flagger'
	| 'replicas'
	| 'demo';

/** Identifies a model: a model name is only unique within a namespace (and, with several clusters shown, a cluster). */
export interface ModelRef {
	namespace: string;
	name: string;
	/** The kubeconfig context the model lives in, set only when several clusters are shown at once. */
	cluster?: string;
}

export interface VersionRef extends ModelRef {
	/** Version label, e.g. `v13`. */
	version: string;
}

/** `namespace/model/version` — stable key for maps. */
export type VersionKey = string;

export function versionKey(ref: VersionRef): VersionKey {
	return `${clusterPrefix(ref)}${ref.namespace}/${ref.name}/${ref.version}`;
}

export function modelKey(ref: ModelRef): string {
	return `${clusterPrefix(ref)}${ref.namespace}/${ref.name}`;
}

/** The model's reference, its cluster kept (set only when several clusters are shown). */
export function refOf(model: ModelRef): ModelRef {
	return model.cluster
		? {namespace: model.namespace, name: model.name, cluster: model.cluster}
		: {namespace: model.namespace, name: model.name};
}

/** `context:` when several clusters are shown, else nothing (so single-cluster keys stay `namespace/name`). */
function clusterPrefix(ref: ModelRef): string {
	return ref.cluster ? `${ref.cluster}:` : '';
}

export interface Resources {
	cpuRequestCores?: number;
	cpuLimitCores?: number;
	memoryRequestBytes?: number;
	memoryLimitBytes?: number;
}

export interface Autoscaler {
	min: number;
	max: number;
	current: number;
}

export interface Version {
	/** Version label (`app.kubernetes.io/version`, or the KServe revision). */
	name: string;
	track: Track;
	/** Share of traffic, 0–100. */
	weight: number;
	replicasReady: number;
	replicasDesired: number;
	restarts: number;
	/** Container image or storage URI. */
	image: string;
	/** ISO 8601 creation time. */
	created: string;
	resources?: Resources;
	autoscaler?: Autoscaler;
	/** Pod-level problems worth showing: `CrashLoopBackOff`, `OOMKilled`, … */
	problems?: string[];
	/**
	 * The pods are not listed yet (the first rows at start-up, drawn before the pods list is in): `restarts` and
	 * `problems` are not known, and are shown as such rather than as none.
	 */
	podsPending?: boolean;
	/** The Kubernetes object behind this version (for messages and actions), e.g. `Deployment/fraud-v13`. */
	object?: string;
	/** The Service receiving this version's traffic (when there is one). */
	service?: string;
}

export interface Model {
	namespace: string;
	name: string;
	router: RouterKind;
	/** The object that splits traffic, e.g. `HTTPRoute/fraud`. */
	routerObject?: string;
	/** Serving runtime, chooses the PromQL profile (`generic`, `kserve`, `seldon`, …). */
	runtime?: string;
	/** Opaque token for optimistic concurrency: writes carry it and fail on a concurrent change. */
	resourceVersion?: string;
	versions: Version[];
	/** Problems in how the model is wired, e.g. a route naming a missing Service. */
	warnings?: string[];
	/**
	 * Annotations of the object that defines the model (its router, or the InferenceService), for settings kept in
	 * the cluster, e.g. `modeldeck.dev/guard: "true"` for the agent's canary guard.
	 */
	annotations?: Record<string, string>;
	/** Set only when several clusters are shown at once: the kubeconfig context the model lives in. */
	cluster?: string;
	/** How the model was found, for the detail view, e.g. `labels modeldeck.dev/model`, `HTTPRoute/fraud backends`. */
	discoveredBy?: string;
	/**
	 * The controller that owns the objects splitting this model's traffic (Argo Rollouts, Flagger, KServe, Knative).
	 * modeldeck never patches an owned object: it acts through the owner's API or refuses with the owner's command.
	 */
	owner?: ModelOwner;
	/** A canary run by a controller: its phase, step and analysis, as the controller reports them. */
	rollout?: ControllerRollout;
	/** A progressive delivery of a new version run by modeldeck (from the model's `modeldeck.dev/delivery` annotation). */
	delivery?: DeliveryState;
}

export interface ModelOwner {
	/** For people: `Argo Rollouts`, `Flagger`, `KServe`, `Knative`. */
	controller: string;
	/** The owning object, `Rollout/fraud`, `Canary/fraud`, `InferenceService/fraud`. */
	object: string;
	/** How the ownership was found: `ownerReferences`, `managedFields manager rollouts-controller`, an annotation. */
	evidence: string;
	/** The owner's own command for a change modeldeck does not make itself, e.g. `kubectl argo rollouts promote fraud -n ml`. */
	command?: string;
}

export interface ControllerRollout {
	controller: 'argo-rollouts' | 'flagger';
	/** As the controller says it: Progressing, Paused, Degraded, Healthy; Flagger's Initializing … Succeeded, Failed. */
	phase: string;
	/** 1-based current step and the number of steps (Argo Rollouts canary steps). */
	step?: number;
	totalSteps?: number;
	paused?: boolean;
	/** The controller's message, e.g. why it is paused or degraded. */
	message?: string;
	/** The analysis behind the controller's decision: Argo's AnalysisRun, Flagger's metric checks. */
	analysis?: {name: string; phase: string; failingMetric?: string; detail?: string};
	/** Flagger: checks failed so far out of the threshold that rolls back. */
	failedChecks?: number;
	failedChecksLimit?: number;
}

export interface Sample {
	/** Requests per second. */
	rps: number | null;
	/** Errors / requests, 0–1. */
	errorRatio: number | null;
	p50Ms: number | null;
	p95Ms: number | null;
	p99Ms: number | null;
	cpuCores: number | null;
	memoryBytes: number | null;
	/** Epoch milliseconds of the sample. */
	time: number;
}

export type MetricName = 'rps' | 'errorRatio' | 'p50Ms' | 'p95Ms' | 'p99Ms' | 'cpuCores' | 'memoryBytes';

export const METRIC_NAMES: readonly MetricName[] = ['rps', 'errorRatio', 'p50Ms', 'p95Ms', 'p99Ms', 'cpuCores', 'memoryBytes'];

export interface Point {
	/** Epoch milliseconds. */
	time: number;
	value: number;
}

/** History per metric for one version. A missing point is missing, never zero. */
export type Series = Partial<Record<MetricName, Point[]>>;

export type Severity = 'info' | 'warning' | 'critical';

export type FlagKind = 'latency' | 'errors' | 'cpu' | 'memory' | 'canary' | 'anomaly' | 'drift' | 'readiness' | 'restarts';

export interface Flag {
	kind: FlagKind;
	severity: Severity;
	/** Human explanation: which metric, how much, against what. */
	message: string;
	/** Epoch ms when the condition started. */
	since: number;
	metric?: MetricName;
	/**
	 * The rule that raised it, when it keeps its own state across refreshes (the canary margin counts how long it has
	 * held, so `since` is its own and another `canary` flag on the same metric must not lend it theirs).
	 */
	rule?: 'canary-margin';
	/** Epoch ms the condition was last observed: a pod problem counts as evidence for a while after it passed. */
	lastSeen?: number;
}

export type PredictionStatus = 'ok' | 'error';

export interface Prediction {
	requestId: string;
	namespace: string;
	model: string;
	version: string;
	/** Epoch ms. */
	time: number;
	latencyMs: number | null;
	status: PredictionStatus;
	/** HTTP status code when known. */
	code?: number;
	inputSummary: string;
	outputSummary: string;
	/** Numeric or class output used for drift, when it can be extracted. */
	output?: number | string;
}

/**
 * `expected`, on a change: the weight of every version in the plan the operator confirmed, by name. Execution refuses
 * (ConflictError) when the model no longer has exactly these, instead of carrying out a different change.
 */
export type Action =
	| {
			kind: 'set-weight';
			model: ModelRef;
			canary: string;
			from: number;
			to: number;
			resourceVersion?: string;
			expected?: Record<string, number>;
	  }
	| {kind: 'promote'; model: ModelRef; canary: string; stable: string; expected?: Record<string, number>}
	| {kind: 'rollback'; model: ModelRef; canary: string; expected?: Record<string, number>}
	| {kind: 'switch'; model: ModelRef; from: string; to: string; expected?: Record<string, number>}
	| {kind: 'rollout'; model: ModelRef; command: RolloutCommand; expected?: Record<string, number>}
	/** Start a progressive delivery of a new version (domain/delivery.ts); `model` is `spec.model`. */
	| {kind: 'deliver'; model: ModelRef; spec: DeliverySpec}
	/** Pause, resume or abort the model's running delivery. */
	| {kind: 'delivery'; model: ModelRef; command: DeliveryCommand}
	| {kind: 'smoke-test'; target: VersionRef}
	| {kind: 'load-test'; targets: VersionRef[]; rps: number; durationSeconds: number; warmupSeconds?: number};

export type ActionKind = Action['kind'];

/**
 * A step of a canary run by a controller, carried out through the controller's own API (Argo Rollouts: the patches of
 * `kubectl argo rollouts promote`, `promote --full`, `abort`, `retry rollout`).
 */
export type RolloutCommand = 'promote' | 'promote-full' | 'abort' | 'retry';

export const rolloutCommands: readonly RolloutCommand[] = ['promote', 'promote-full', 'abort', 'retry'];

export interface LoadTestResult {
	target: VersionRef;
	requests: number;
	errors: number;
	achievedRps: number;
	p50Ms: number;
	p95Ms: number;
	p99Ms: number;
	maxMs: number;
}

export interface SmokeCheck {
	name: string;
	ok: boolean;
	detail: string;
}

export type ActionProgress =
	| {kind: 'progress'; fraction: number; message: string}
	| {kind: 'check'; check: SmokeCheck}
	| {kind: 'load-result'; results: LoadTestResult[]}
	| {kind: 'done'; message: string}
	| {kind: 'failed'; message: string};

export interface Context {
	name: string;
	cluster: string;
	user?: string;
	namespace?: string;
}

export type Unsubscribe = () => void;
