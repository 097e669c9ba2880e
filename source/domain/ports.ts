/**
 * Ports: the small interfaces every source implements. Real adapters live in `source/adapters/`, the
 * simulated fleet in `source/demo/`. The store and the UI only ever see these.
 */
import type {
	Action,
	ActionProgress,
	Context,
	MetricName,
	Model,
	ModelRef,
	Prediction,
	Sample,
	Series,
	Unsubscribe,
	VersionKey,
	VersionRef,
} from './types.ts';
import type {ChangePlan, TrafficAction} from './plan.ts';
import type {DeliveryPlan, DeliverySpec} from './delivery.ts';

export type SourceName = 'cluster' | 'metrics' | 'agent';

/** A failure a source reports without stopping; the screen shows it and keeps the last data marked stale. */
export interface SourceError {
	source: SourceName;
	/** Said for people: what failed and, where known, how to fix it. */
	message: string;
	/**
	 * The source got no answer in time (rather than a refusal or an error): worth waiting for by a caller whose own
	 * deadline is later, such as a command with a longer --timeout.
	 */
	timedOut?: boolean;
	/** With several clusters shown: the context that failed (the others may be fine). */
	cluster?: string;
}

/** Thrown by an action when the object changed between the console's read and its write. */
export class ConflictError extends Error {
	override name = 'ConflictError';
}

/** Thrown by an action the caller is not allowed to do. */
export class ForbiddenError extends Error {
	override name = 'ForbiddenError';
}

/** Thrown by a source that is not there (none configured, none found): shown as off, with why, not as a failure. */
export class SourceAbsentError extends Error {
	override name = 'SourceAbsentError';
}

export interface ClusterPort {
	/** Name shown in the header, e.g. the kubeconfig context or `demo`. */
	readonly label: string;
	contexts(): Context[];
	currentContext(): string;
	/** Point later watches and actions at another context. */
	switchContext(name: string): Promise<void>;
	namespaces(): Promise<string[]>;
	/**
	 * Watch the models of one namespace (or all when undefined). `onChange` gets the full list each time it changes.
	 * `onError` reports problems; the watch keeps retrying by itself. `onAlive`, for sources that can tell, marks each
	 * healthy moment (a heartbeat answered, every watch running), so that staleness counts from the last of them; with
	 * several clusters shown it names the context that is alive.
	 */
	watchModels(
		namespace: string | undefined,
		onChange: (models: Model[]) => void,
		onError: (error: SourceError) => void,
		onAlive?: (cluster?: string) => void,
	): Unsubscribe;
	/** With several clusters shown at once: their contexts, in order (each model's `cluster` is one of them). */
	shownContexts?(): string[];
	/** Set the canary's weight. `expectedWeight` is what the caller saw: a different current value is a ConflictError. */
	setCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number): Promise<void>;
	/** All traffic to the canary, which becomes stable. */
	promote(model: ModelRef, canary: string): Promise<void>;
	/** Canary to 0 (and, for a Deployment whose template changed, the previous template restored). */
	rollback(model: ModelRef, canary: string): Promise<void>;
	/** Blue-green: all traffic from one version to the other in one write. */
	switchTraffic(model: ModelRef, to: string): Promise<void>;
	/**
	 * What the action would change now, from a fresh read: every version before → after and every object written.
	 * Throws a PlanRefusal when it cannot be done. Nothing is written.
	 */
	plan(action: TrafficAction): Promise<ChangePlan>;
	/**
	 * Carries out a traffic action. When it carries `expected` (the plan's weights), a model that no longer has exactly
	 * those is a ConflictError and nothing is written.
	 */
	act(action: TrafficAction): Promise<void>;
	/**
	 * What starting a progressive delivery would write, from a fresh read (domain/delivery.ts). Absent on a source that
	 * cannot deliver: the console says so instead of offering the key.
	 */
	planDelivery?(spec: DeliverySpec): Promise<DeliveryPlan>;
}

/** A version to query, with the serving runtime that chooses its PromQL profile. */
export interface MetricTarget extends VersionRef {
	runtime?: string;
}

export interface TimeRange {
	/** Epoch ms. */
	start: number;
	end: number;
	stepSeconds: number;
}

export interface MetricsPort {
	readonly label: string;
	/** One query per metric for all versions at once, never one per version. Missing data is absent, not zero. */
	sample(targets: MetricTarget[], windowSeconds: number): Promise<Map<VersionKey, Sample>>;
	history(targets: MetricTarget[], range: TimeRange): Promise<Map<VersionKey, Series>>;
	/** The query behind a figure, copyable. */
	explain(target: MetricTarget, metric: MetricName): string;
	/** Which Prometheus and how it was found, when it was looked for in the cluster (not given by flag or settings). */
	readonly found?: string | undefined;
	/** The cluster context changed: from now on query that context's Prometheus (configured for it, or found in it). */
	switchContext?(context: string): void;
	/**
	 * With several clusters shown: the contexts whose Prometheus failed in the last answers while others answered (each
	 * error names its `cluster`); their versions have no figures.
	 */
	problems?(): SourceError[];
}

export interface PredictionFilter {
	namespace?: string;
	model?: string;
	version?: string;
	status?: 'ok' | 'error';
	minLatencyMs?: number;
}

export interface AuditEntry {
	time: number;
	user: string;
	action: string;
	target: string;
	before: string;
	after: string;
	result: 'ok' | 'refused' | 'failed';
	message: string;
}

export type AgentEvent =
	| {type: 'prediction'; seq: number; prediction: Prediction}
	| {type: 'gap'; seq: number; dropped: number; reason: string}
	| {type: 'audit'; seq: number; entry: AuditEntry}
	| {type: 'guard'; seq: number; model: ModelRef; verdict: string; message: string; rolledBack: boolean}
	/** `absent`: there is no agent to connect to (not installed), as opposed to a connection that dropped. */
	| {type: 'connection'; connected: boolean; reason?: string; absent?: boolean}
	/** The connection answered a heartbeat: a healthy moment, from which staleness counts. */
	| {type: 'alive'};

export interface AgentPort {
	readonly label: string;
	predictions(filter: PredictionFilter, fromSeq: number | undefined, onEvent: (event: AgentEvent) => void): Unsubscribe;
	act(action: Action): AsyncIterable<ActionProgress>;
	/** Predictions whose request id equals the text or, from 4 characters on, starts with it: exact matches first, at most 20 by prefix. */
	lookup(text: string): Promise<Prediction[]>;
	audit(limit: number): Promise<AuditEntry[]>;
	/**
	 * The cluster context changed: from now on talk to that cluster's agent (if it has one). Subscriptions made
	 * before belong to the old agent; the caller ends them and subscribes again.
	 */
	switchContext?(context: string): void;
}

/** Everything the console is connected to. `agent` and `metrics` are optional: the console works without them. */
export interface Sources {
	cluster: ClusterPort;
	metrics?: MetricsPort;
	agent?: AgentPort;
	/** True only for the simulated fleet; the screen shows a DEMO badge. */
	demo: boolean;
}
