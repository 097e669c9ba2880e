/**
 * A runbook: a walkthrough or game day as data. Steps say something, press keys or run the console's commands, wait
 * for what the console shows and check it. Parsed and validated by parse-runbook.ts; carried out by source/runbook.
 */
import type {VerdictResult} from '../analysis.ts';
import type {FlagKind, Severity} from '../types.ts';

/** A comparison against a number in the figure's own unit (ms, percent, cores, bytes, requests per second). */
export interface Bound {
	operator: '>' | '>=' | '<' | '<=' | '=';
	value: number;
	/** As written in the file, for reports: `above 500ms`. */
	text: string;
}

/** The figures a condition can compare, by the name a runbook uses. */
export type FigureName = 'rps' | 'errors' | 'p50' | 'p95' | 'p99' | 'cpu' | 'memory';

export const FIGURE_NAMES: readonly FigureName[] = ['rps', 'errors', 'p50', 'p95', 'p99', 'cpu', 'memory'];

export const FLAG_KINDS: readonly FlagKind[] = [
	'latency',
	'errors',
	'cpu',
	'memory',
	'canary',
	'anomaly',
	'drift',
	'readiness',
	'restarts',
];

export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export const VERDICTS: readonly VerdictResult[] = ['pass', 'marginal', 'fail', 'insufficient-data'];

export const SCREENS = ['fleet', 'model', 'log', 'audit'] as const;
export type ScreenName = (typeof SCREENS)[number];

/** The console's dialogs by kind, and `none`: a key that opens one may take a moment (a plan read from the cluster). */
export const DIALOGS = ['confirm', 'weight-input', 'filter', 'help', 'palette', 'explain', 'pick', 'lookup', 'prediction', 'none'] as const;
export type DialogName = (typeof DIALOGS)[number];

/** What a condition looks at. */
export type Subject =
	/** A flag of this kind (or any) on the version, at least this severity. */
	| {kind: 'flag'; flag: FlagKind | 'any'; severity?: Severity}
	/** The canary judge's verdict on the model. */
	| {kind: 'verdict'; verdict: VerdictResult}
	/** The version's share of traffic, in percent. */
	| {kind: 'weight'; bound: Bound}
	/** A figure of the version's latest sample. */
	| {kind: 'figure'; figure: FigureName; bound: Bound}
	/** The model (or the version, when named) is in the fleet. */
	| {kind: 'exists'}
	/** The screen on show. */
	| {kind: 'screen'; screen: ScreenName}
	/** The dialog open (or none). */
	| {kind: 'dialog'; dialog: DialogName}
	/** A toast whose message contains this text. */
	| {kind: 'toast'; text: string};

export interface Condition {
	/** `name` or `namespace/name`; absent for screen and toast conditions. */
	model?: string;
	/** A version's name, or `canary` / `stable` for the model's version on that track. */
	version?: string;
	subject: Subject;
	/** The condition holds when the subject does NOT (`not: true`). */
	negated: boolean;
}

export type Action =
	| {kind: 'keys'; keys: string[]}
	| {kind: 'type'; text: string}
	| {kind: 'command'; command: string}
	| {kind: 'open'; model: string}
	| {kind: 'select'; model: string; version?: string}
	| {kind: 'wait'; condition: Condition; timeoutMs: number}
	| {kind: 'check'; condition: Condition};

export interface Step {
	/** 1-based line of the step in the file, for reports. */
	line: number;
	/** The narration: what the step shows, said for the audience. */
	say?: string;
	/** What the step does; a step with only `say` narrates. */
	action?: Action;
}

export interface DemoSetup {
	scenario?: string;
	/** How far into the scenario the demo starts, ms (`--at`). */
	atMs?: number;
	seed?: number;
}

export interface Runbook {
	title: string;
	description?: string;
	demo: DemoSetup;
	steps: Step[];
}

export interface RunbookError {
	/** 1-based line in the file. */
	line: number;
	/** 1-based column. */
	column: number;
	/** What is wrong and how to fix it. */
	message: string;
}

/** What the validator must be told: names that live outside the domain (the keymap's, the demo's). */
export interface RunbookVocabulary {
	/** Key names a `keys` step may press: the keymap's keys and the named keys (enter, esc, …). */
	keyNames: ReadonlySet<string>;
	/** Command ids a `command` step may run (the palette's). */
	commandIds: readonly string[];
	/** Demo scenarios `demo.scenario` may name. */
	scenarios: readonly string[];
}

/** The default timeout of a `wait` without one. */
export const DEFAULT_WAIT_MS = 60_000;
/** The longest `wait` a runbook may ask for. */
export const MAX_WAIT_MS = 3_600_000;
