/** Derived views of the state. Pure; the UI reads state only through these and the state itself. */
import {modelKey, refOf, versionKey, type Flag, type Model, type Sample, type Severity, type Version} from '../domain/types.ts';
import type {AppState, LogFilter, SortColumn} from './state.ts';
import type {Prediction} from '../domain/types.ts';

export interface FleetRow {
	model: Model;
	version: Version;
	key: string;
	modelKey: string;
	sample: Sample | undefined;
	flags: Flag[];
	/** First row of its model group (the model name is printed once). */
	firstOfModel: boolean;
}

const severityRank: Record<Severity, number> = {info: 1, warning: 2, critical: 3};

export function worstSeverity(flags: Flag[]): Severity | undefined {
	let worst: Severity | undefined;
	for (const flag of flags) {
		if (!worst || severityRank[flag.severity] > severityRank[worst]) worst = flag.severity;
	}

	return worst;
}

function sortValue(state: AppState, model: Model, column: SortColumn): number | string {
	if (column === 'model') return `${model.name} ${model.namespace}`;
	let best = Number.NEGATIVE_INFINITY;
	for (const version of model.versions) {
		const key = versionKey({...refOf(model), version: version.name});
		if (column === 'flags') {
			const severity = worstSeverity(state.flags[key] ?? []);
			best = Math.max(best, severity ? severityRank[severity] : 0);
			continue;
		}

		const value = state.samples[key]?.[column];
		if (value !== null && value !== undefined) best = Math.max(best, value);
	}

	return best;
}

function matchesFilter(model: Model, version: Version, filter: string): boolean {
	if (!filter) return true;
	const needle = filter.toLowerCase();
	return [model.name, model.namespace, version.name, version.image, version.track, model.cluster ?? ''].some((text) =>
		text.toLowerCase().includes(needle),
	);
}

const trackOrder = {stable: 0, canary: 1} as const;

/**
 * Rows depend on a few parts of the state only; the footer's disabled reasons ask for them many times per frame,
 * so the last answer is kept while those parts are the same objects.
 */
let lastRowsKey: unknown[] = [];
let lastRows: FleetRow[] = [];

export function fleetRows(state: AppState): FleetRow[] {
	const key = [state.models, state.samples, state.flags, state.filter, state.sort];
	if (key.every((part, index) => part === lastRowsKey[index])) return lastRows;
	lastRows = computeFleetRows(state);
	lastRowsKey = key;
	return lastRows;
}

function computeFleetRows(state: AppState): FleetRow[] {
	const {column, descending} = state.sort;
	const models = [...state.models].sort((a, b) => {
		const left = sortValue(state, a, column);
		const right = sortValue(state, b, column);
		let order: number;
		if (typeof left === 'string' && typeof right === 'string') order = left.localeCompare(right);
		else order = (left as number) - (right as number);
		if (column !== 'model' && !descending) order = -order; // metrics: worst first by default
		if (column === 'model' && descending) order = -order;
		return (
			order || a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace) || (a.cluster ?? '').localeCompare(b.cluster ?? '')
		);
	});
	const rows: FleetRow[] = [];
	for (const model of models) {
		const versions = model.versions
			.filter((version) => matchesFilter(model, version, state.filter))
			.sort((a, b) => trackOrder[a.track] - trackOrder[b.track] || a.name.localeCompare(b.name));
		versions.forEach((version, index) => {
			const key = versionKey({...refOf(model), version: version.name});
			rows.push({
				model,
				version,
				key,
				modelKey: modelKey(model),
				sample: state.samples[key],
				flags: state.flags[key] ?? [],
				firstOfModel: index === 0,
			});
		});
	}

	return rows;
}

export function findModel(state: AppState, key: string): Model | undefined {
	return state.models.find((model) => modelKey(model) === key);
}

/** The model the keys act on: the open model, or the selected row's model in the fleet. */
export function currentModel(state: AppState): Model | undefined {
	if (state.view.screen === 'model') return findModel(state, state.view.model);
	const rows = fleetRows(state);
	return rows[Math.min(state.selection, rows.length - 1)]?.model;
}

export function currentRow(state: AppState): FleetRow | undefined {
	const rows = fleetRows(state);
	return rows[Math.min(state.selection, rows.length - 1)];
}

export function canaryOf(model: Model): Version | undefined {
	return model.versions.find((version) => version.track === 'canary');
}

/** A model's versions as the model view shows them (and `s` tests them): stable first, then canaries, by name. */
export function versionsInOrder(model: Model): Version[] {
	return [...model.versions].sort((a, b) => (a.track === b.track ? a.name.localeCompare(b.name) : a.track === 'stable' ? -1 : 1));
}

export function stableOf(model: Model): Version | undefined {
	return model.versions.find((version) => version.track === 'stable');
}

export function versionSample(state: AppState, model: Model, version: Version): Sample | undefined {
	return state.samples[versionKey({...refOf(model), version: version.name})];
}

export function runningTask(state: AppState, model: Model): boolean {
	return state.tasks.some(
		(task) =>
			task.state === 'running' &&
			('model' in task.action
				? modelKey(task.action.model) === modelKey(model)
				: task.action.kind === 'smoke-test'
					? modelKey(task.action.target) === modelKey(model)
					: task.action.targets.some((target) => modelKey(target) === modelKey(model))),
	);
}

export function logMatches(prediction: Prediction, filter: LogFilter): boolean {
	if (filter.version && prediction.version !== filter.version) return false;
	if (filter.status && prediction.status !== filter.status) return false;
	if (filter.minLatencyMs !== undefined && (prediction.latencyMs ?? 0) < filter.minLatencyMs) return false;
	return true;
}

/** The model the log shows alone (opened from a model view), as its key. */
export function logModel(state: AppState): string | undefined {
	return state.view.screen === 'log' ? state.view.model : undefined;
}

export function visibleLog(state: AppState): Prediction[] {
	const model = logModel(state);
	return state.log.entries.filter(
		(prediction) =>
			(model === undefined || modelKey({namespace: prediction.namespace, name: prediction.model}) === model) &&
			logMatches(prediction, state.log.filter),
	);
}

/** The prediction under the log's cursor (the newest shown when the cursor is not set), if any. */
export function selectedPrediction(state: AppState): Prediction | undefined {
	const entries = visibleLog(state);
	return entries[entries.length - 1 - (state.log.cursor ?? 0)];
}

/** Versions seen in the log, for the version filter. */
export function logVersions(state: AppState): string[] {
	const key = logModel(state);
	const model = key === undefined ? (state.view.screen === 'log' ? undefined : currentModel(state)) : findModel(state, key);
	if (model) return model.versions.map((version) => version.name);
	return [...new Set(state.log.entries.map((entry) => entry.version))].sort();
}

/** Models with a warning or a critical flag on any version: the header counts them, `!` jumps to them. */
export function flaggedModels(state: AppState): Model[] {
	return state.models.filter((model) =>
		model.versions.some((version) => {
			const severity = worstSeverity(state.flags[versionKey({...refOf(model), version: version.name})] ?? []);
			return severity === 'warning' || severity === 'critical';
		}),
	);
}

const sortWords: Record<SortColumn, string> = {
	model: 'model name',
	flags: 'flags, worst first',
	p99Ms: 'p99 latency, slowest first',
	errorRatio: 'error ratio, highest first',
	rps: 'requests per second, busiest first',
	cpuCores: 'CPU, highest first',
	memoryBytes: 'memory, highest first',
};

/** The fleet table's title: its sort and its filter in words, or '' when it is sorted by name and not filtered. */
export function fleetTitle(state: AppState): string {
	const parts: string[] = [];
	if (state.sort.column !== 'model' || state.sort.descending) {
		parts.push(`sorted by ${sortWords[state.sort.column]}${state.sort.column === 'model' && state.sort.descending ? ', Z to A' : ''}`);
	}

	if (state.filter) parts.push(`only rows matching "${state.filter}" (esc clears)`);
	return parts.join(' · ');
}

/** The request ids among lookup results, in the order first seen (a request served by two versions shows twice). */
export function requestIds(predictions: Prediction[]): string[] {
	return [...new Set(predictions.map((prediction) => prediction.requestId))];
}

/**
 * The canary a weight, promote or rollback key changes: the one whose row is selected, else the model's first
 * canary. A key names the version it changes rather than whichever a model's weights make look like a canary.
 */
export function selectedCanary(state: AppState, model: Model): Version | undefined {
	const row = state.view.screen === 'fleet' ? currentRow(state) : undefined;
	if (row && modelKey(row.model) === modelKey(model) && row.version.track === 'canary') return row.version;
	return canaryOf(model);
}
