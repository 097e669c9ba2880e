/** Application state: one immutable object, changed only by the reducer. */
import type {Verdict} from '../domain/analysis.ts';
import type {DeliveryPlan} from '../domain/delivery.ts';
import type {ChangePlan} from '../domain/plan.ts';
import type {AuditEntry, SourceName} from '../domain/ports.ts';
import type {Action, Context, Flag, LoadTestResult, Model, Prediction, Sample, Series, SmokeCheck, VersionKey} from '../domain/types.ts';
import type {ThresholdSettings} from '../domain/thresholds.ts';

export type HealthStatus = 'connecting' | 'ok' | 'stale' | 'down' | 'absent';

export interface SourceHealth {
	status: HealthStatus;
	/**
	 * Epoch ms of the last healthy moment: an answer, a heartbeat, a watch event — not the last change of data, so the
	 * age a stale source shows is how long it has been silent.
	 */
	lastOk?: number;
	/** The source has delivered data (models, figures, the agent's log) that is still on screen: stale keeps it. */
	hasData?: boolean;
	/** Epoch ms since the current status holds. */
	since?: number;
	/** Why it is stale, down or absent — said for people. */
	message?: string;
}

export interface ClusterStyle {
	/** Shown instead of the context's name, e.g. `PROD`. */
	label?: string;
	/** A colour name (red, yellow, green, blue, magenta, cyan, white, gray): the badge's background. */
	color?: string;
}

export type View =
	| {screen: 'fleet'}
	| {screen: 'model'; model: string}
	/** The prediction log; opened from a model view, only that model's predictions (its key). */
	| {screen: 'log'; model?: string}
	| {screen: 'audit'};

export type Overlay =
	| {kind: 'help'}
	| {kind: 'palette'; query: string; index: number}
	| {
			kind: 'confirm';
			action: Action;
			summary: string[];
			title: string;
			/** The change's plan: what the dialog lists and what the audit and result are rendered from. */
			plan?: ChangePlan;
			/** A rollout's plan (domain/delivery.ts): what the dialog lists and what the result is said from. */
			deliveryPlan?: DeliveryPlan;
			/**
			 * The danger gate: the plan gives more traffic to a version flagged critical or judged fail. The evidence is
			 * shown first, and the change is carried out only once `confirmWith` (the model's name) has been typed.
			 */
			danger?: {lines: string[]; confirmWith: string; typed: string; error?: string};
	  }
	| {kind: 'weight-input'; model: string; canary: string; current: number; text: string; error?: string}
	/** A rollout of a new version (`d`): its fields as typed, the one being typed in, and what is wrong so far. */
	| DeliveryDialog
	| {kind: 'filter'; text: string}
	| {kind: 'explain'; title: string; lines: string[]}
	| {kind: 'pick'; purpose: 'context' | 'namespace'; options: string[]; index: number}
	/** Blue-green on a model with three or more versions: which version gets all traffic (`options` are version names). */
	| {kind: 'pick'; purpose: 'switch'; model: string; options: string[]; labels: string[]; index: number}
	/** Find by the start of a request id; `index` picks among several requests that match. */
	| {kind: 'lookup'; text: string; results?: Prediction[]; error?: string; searching?: boolean; index?: number}
	/** One request as every version that served it logged it: its request and its response. */
	| {kind: 'prediction'; predictions: Prediction[]};

export type DeliveryField = 'image' | 'version' | 'steps' | 'pause';

export interface DeliveryDialog {
	kind: 'deliver';
	/** The model's key. */
	model: string;
	field: DeliveryField;
	fields: Record<DeliveryField, string>;
	/** The version was typed: it no longer follows the image's tag. */
	versionTyped: boolean;
	/** What is wrong with the fields, each saying how to fix it (empty: ready to review). */
	problems: string[];
	/** The plan is being read from the cluster. */
	planning?: boolean;
}

export type SortColumn = 'model' | 'rps' | 'errorRatio' | 'p99Ms' | 'cpuCores' | 'memoryBytes' | 'flags';

export interface Toast {
	id: number;
	severity: 'info' | 'success' | 'warning' | 'error';
	message: string;
	time: number;
}

export interface Task {
	id: string;
	action: Action;
	title: string;
	fraction: number;
	message: string;
	checks: SmokeCheck[];
	results?: LoadTestResult[];
	state: 'running' | 'done' | 'failed';
	started: number;
	finished?: number;
}

export interface LogFilter {
	version?: string;
	status?: 'ok' | 'error';
	minLatencyMs?: number;
}

export interface LogState {
	paused: boolean;
	entries: Prediction[];
	filter: LogFilter;
	/** Predictions the agent told us we missed (gaps). */
	dropped: number;
	/** Predictions received since the console started (for the rate shown). */
	received: number;
	ratePerSecond: number;
	/** The line picked with the arrows, counted from the newest shown (0); moving it pauses the log. */
	cursor?: number;
}

export interface AppState {
	demo: boolean;
	readOnly: boolean;
	/** Why the console is read-only (flag, setting), shown in the footer. */
	readOnlyReason?: string;
	context: string;
	namespace: string | undefined;
	contexts: Context[];
	namespaces: string[];
	models: Model[];
	samples: Record<VersionKey, Sample>;
	history: Record<VersionKey, Series>;
	flags: Record<VersionKey, Flag[]>;
	verdicts: Record<string, Verdict>;
	health: Record<SourceName, SourceHealth>;
	/** The Prometheus found in the cluster and how, e.g. `monitoring/prometheus-operated (found: Prometheus Operator)`. */
	metricsFound?: string;
	/** With several clusters shown at once: each context's health (empty with one). */
	clusters: Record<string, SourceHealth>;
	/** Labels and colours of contexts from the settings: a `PROD` badge on their rows and in the header. */
	clusterStyles: Record<string, ClusterStyle>;
	/** Several clusters shown: the contexts whose Prometheus failed in the last refresh while others answered, and why. */
	clusterMetrics: Record<string, string>;
	view: View;
	/** The screens `esc` goes back to, the last one first to return to. */
	back: View[];
	overlay: Overlay | undefined;
	/** Index into the visible fleet rows. */
	selection: number;
	filter: string;
	sort: {column: SortColumn; descending: boolean};
	log: LogState;
	audit: AuditEntry[];
	toasts: Toast[];
	tasks: Task[];
	weightStep: number;
	refreshSeconds: number;
	thresholds: ThresholdSettings;
	now: number;
	quitting: boolean;
}

export const LOG_CAPACITY = 500;

export function initialState(options: {
	demo: boolean;
	readOnly: boolean;
	readOnlyReason?: string;
	context: string;
	namespace: string | undefined;
	weightStep: number;
	refreshSeconds: number;
	thresholds?: ThresholdSettings;
	now: number;
	agentExpected?: boolean;
	metricsExpected?: boolean;
	/** The contexts shown at once, when several are. */
	clusters?: readonly string[];
	clusterStyles?: Record<string, ClusterStyle>;
}): AppState {
	return {
		demo: options.demo,
		readOnly: options.readOnly,
		...(options.readOnlyReason ? {readOnlyReason: options.readOnlyReason} : {}),
		context: options.context,
		namespace: options.namespace,
		contexts: [],
		namespaces: [],
		models: [],
		samples: {},
		history: {},
		flags: {},
		verdicts: {},
		health: {
			cluster: {status: 'connecting', since: options.now},
			metrics:
				options.metricsExpected === false
					? {status: 'absent', since: options.now, message: 'no Prometheus configured (--prometheus URL)'}
					: {status: 'connecting', since: options.now},
			agent:
				options.agentExpected === false
					? {
							status: 'absent',
							since: options.now,
							// Several clusters shown: an agent acts in its own cluster only, so none is used.
							message:
								(options.clusters?.length ?? 0) > 1
									? 'several contexts shown; start with one --context to use its agent'
									: 'none configured',
						}
					: {status: 'connecting', since: options.now},
		},
		clusters: Object.fromEntries((options.clusters ?? []).map((cluster) => [cluster, {status: 'connecting' as const, since: options.now}])),
		clusterStyles: options.clusterStyles ?? {},
		clusterMetrics: {},
		view: {screen: 'fleet'},
		back: [],
		overlay: undefined,
		selection: 0,
		filter: '',
		sort: {column: 'model', descending: false},
		log: {paused: false, entries: [], filter: {}, dropped: 0, received: 0, ratePerSecond: 0},
		audit: [],
		toasts: [],
		tasks: [],
		weightStep: options.weightStep,
		refreshSeconds: options.refreshSeconds,
		thresholds: options.thresholds ?? {},
		now: options.now,
		quitting: false,
	};
}
