/** Application state: one immutable object, changed only by the reducer. */
import type {Verdict} from '../domain/analysis.ts';
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

export type View =
	| {screen: 'fleet'}
	| {screen: 'model'; model: string}
	| {screen: 'log'}
	| {screen: 'audit'};

export type Overlay =
	| {kind: 'help'}
	| {kind: 'palette'; query: string; index: number}
	| {kind: 'confirm'; action: Action; summary: string[]; title: string}
	| {kind: 'weight-input'; model: string; canary: string; current: number; text: string; error?: string}
	| {kind: 'filter'; text: string}
	| {kind: 'explain'; title: string; lines: string[]}
	| {kind: 'pick'; purpose: 'context' | 'namespace'; options: string[]; index: number}
	| {kind: 'lookup'; text: string; results?: Prediction[]; error?: string; searching?: boolean};

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
	view: View;
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
					? {status: 'absent', since: options.now, message: 'none configured'}
					: {status: 'connecting', since: options.now},
		},
		view: {screen: 'fleet'},
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
