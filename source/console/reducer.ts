/** The one reducer. Pure: (state, action) → state. */
import type {StoreAction} from '../state/actions.ts';
import {sortColumns} from '../state/actions.ts';
import {clusterError, clusterOk, clustersWithData} from './cluster-health.ts';
import {currentRow, fleetRows} from '../state/selectors.ts';
import type {SourceName} from '../domain/ports.ts';
import {LOG_CAPACITY, type AppState, type SourceHealth, type Task, type View} from '../state/state.ts';

const TOAST_SECONDS = 6;
const TASKS_KEPT = 20;
/** Screens remembered for `esc`: more than anyone goes deep, few enough to stay small. */
const BACK_KEPT = 20;

let nextToastId = 1;

export function reducer(state: AppState, action: StoreAction): AppState {
	switch (action.type) {
		case 'tick': {
			// The clock, and toasts that have had their time, in one change.
			const toasts = state.toasts.filter((toast) => action.now - toast.time < TOAST_SECONDS * 1000);
			return {...state, now: action.now, ...(toasts.length === state.toasts.length ? {} : {toasts})};
		}

		case 'cluster/models': {
			const next = {
				...state,
				models: action.models,
				health: withData(state.health, 'cluster'),
				clusters: clustersWithData(state.clusters, action.models),
			};
			return clampSelection(next);
		}

		case 'cluster/contexts': {
			return {...state, contexts: action.contexts, context: action.current};
		}

		case 'cluster/namespaces': {
			return {...state, namespaces: action.namespaces};
		}

		case 'source/ok': {
			if (action.cluster !== undefined && action.source === 'cluster') return clusterOk(state, action.cluster, action.now);
			// Also a heartbeat: an ok source only moves its last healthy moment on.
			const previous = state.health[action.source];
			return {
				...state,
				health: {
					...state.health,
					[action.source]: {
						status: 'ok',
						lastOk: action.now,
						since: previous.status === 'ok' ? previous.since : action.now,
						...(previous.hasData ? {hasData: true} : {}),
					},
				},
			};
		}

		case 'source/error': {
			if (action.cluster !== undefined && action.source === 'cluster')
				return clusterError(state, action.cluster, action.message, action.now);
			const previous = state.health[action.source];
			// With data on screen the source is stale (last data kept); without any it is down, whether or not it
			// once answered (a Prometheus asked nothing yet has answered nothing).
			const status = previous.hasData ? 'stale' : 'down';
			return {
				...state,
				health: {
					...state.health,
					[action.source]: {
						status,
						...(previous.lastOk === undefined ? {} : {lastOk: previous.lastOk}),
						since: previous.status === status ? previous.since : action.now,
						message: action.message,
						...(previous.hasData ? {hasData: true} : {}),
					},
				},
			};
		}

		case 'source/connecting': {
			return {...state, health: {...state.health, [action.source]: {status: 'connecting', since: action.now}}};
		}

		case 'source/absent': {
			return {
				...state,
				health: {...state.health, [action.source]: {status: 'absent', since: action.now, message: action.message}},
			};
		}

		case 'metrics/refreshed': {
			return {
				...state,
				samples: action.samples,
				...(action.history ? {history: action.history} : {}),
				flags: action.flags,
				verdicts: action.verdicts,
				...(action.found ? {metricsFound: action.found} : {}),
				...(action.clusterProblems ? {clusterMetrics: action.clusterProblems} : {}),
				health: {
					...state.health,
					metrics: {
						status: 'ok',
						lastOk: action.now,
						since: state.health.metrics.status === 'ok' ? state.health.metrics.since : action.now,
						hasData: true,
					},
				},
			};
		}

		case 'log/set': {
			// A paused log keeps what it shows; the counters go on.
			if (state.log.paused) return {...state, log: {...state.log, received: action.received, ratePerSecond: action.ratePerSecond}};
			const entries = action.entries.length > LOG_CAPACITY ? action.entries.slice(-LOG_CAPACITY) : action.entries;
			const health = entries.length > 0 ? withData(state.health, 'agent') : state.health;
			return {...state, health, log: {...state.log, entries, received: action.received, ratePerSecond: action.ratePerSecond}};
		}

		case 'log/gap': {
			return {...state, log: {...state.log, dropped: state.log.dropped + action.dropped}};
		}

		case 'log/toggle-pause': {
			// Resuming the tail lets go of the picked line.
			const {cursor: _cursor, ...log} = state.log;
			return {...state, log: state.log.paused ? {...log, paused: false} : {...state.log, paused: true}};
		}

		case 'log/filter': {
			const {cursor: _cursor, ...log} = state.log;
			return {...state, log: {...log, filter: action.filter}};
		}

		case 'audit/set': {
			return {...state, audit: action.entries, health: withData(state.health, 'agent')};
		}

		case 'audit/append': {
			return {...state, audit: [action.entry, ...state.audit].slice(0, 200), health: withData(state.health, 'agent')};
		}

		case 'nav/move': {
			return clampSelection({...state, selection: state.selection + action.delta});
		}

		case 'nav/top': {
			return {...state, selection: 0};
		}

		case 'nav/bottom': {
			return clampSelection({...state, selection: Number.MAX_SAFE_INTEGER});
		}

		case 'view/open': {
			if (sameView(state.view, action.view)) return {...state, overlay: undefined};
			return {...state, view: action.view, back: [...state.back, state.view].slice(-BACK_KEPT), overlay: undefined};
		}

		case 'view/back': {
			const view = state.back.at(-1) ?? {screen: 'fleet'};
			return {...state, view, back: state.back.slice(0, -1), overlay: undefined};
		}

		case 'nav/select': {
			return clampSelection({...state, selection: action.index});
		}

		case 'log/cursor': {
			const last = Math.max(0, action.visible - 1);
			const cursor = Math.max(0, Math.min(last, (state.log.cursor ?? -1) + action.delta));
			return {...state, log: {...state.log, cursor, paused: true}};
		}

		case 'overlay/open': {
			return {...state, overlay: action.overlay};
		}

		case 'overlay/close': {
			return {...state, overlay: undefined};
		}

		case 'filter/set': {
			return keepRow(state, {...state, filter: action.text});
		}

		case 'sort/cycle': {
			const index = sortColumns.indexOf(state.sort.column);
			const column = sortColumns[(index + 1) % sortColumns.length]!;
			return keepRow(state, {...state, sort: {column, descending: false}});
		}

		case 'toast/add': {
			const toast = {...action.toast, id: nextToastId++};
			return {...state, toasts: [...state.toasts, toast].slice(-4)};
		}

		case 'task/start': {
			const task: Task = {
				id: action.id,
				action: action.action,
				title: action.title,
				fraction: 0,
				message: 'starting…',
				checks: [],
				state: 'running',
				started: action.now,
			};
			return {...state, tasks: [...state.tasks, task].slice(-TASKS_KEPT)};
		}

		case 'task/progress': {
			return {
				...state,
				tasks: state.tasks.map((task) => (task.id === action.id ? applyProgress(task, action.progress, action.now) : task)),
			};
		}

		case 'context/set': {
			const {readOnlyReason: _previous, metricsFound: _found, ...rest} = state;
			return {
				...rest,
				...(action.readOnlyReason ? {readOnlyReason: action.readOnlyReason} : {}),
				readOnly: action.readOnlyReason !== undefined,
				context: action.context,
				models: [],
				samples: {},
				history: {},
				flags: {},
				verdicts: {},
				selection: 0,
				view: {screen: 'fleet'},
				back: [],
				overlay: undefined,
				// The figures went with the models: a failing Prometheus is down now, not stale with data kept.
				health: {...state.health, cluster: {status: 'connecting', since: state.now}, metrics: withoutData(state.health.metrics)},
			};
		}

		case 'namespace/set': {
			return {...state, namespace: action.namespace, selection: 0, view: {screen: 'fleet'}, back: [], overlay: undefined};
		}

		case 'quit': {
			return {...state, quitting: true};
		}
	}
}

function applyProgress(task: Task, progress: import('../domain/types.ts').ActionProgress, now: number): Task {
	switch (progress.kind) {
		case 'progress': {
			return {...task, fraction: progress.fraction, message: progress.message};
		}

		case 'check': {
			return {...task, checks: [...task.checks, progress.check], message: progress.check.name};
		}

		case 'load-result': {
			return {...task, results: progress.results};
		}

		case 'done': {
			return {...task, state: 'done', fraction: 1, message: progress.message, finished: now};
		}

		case 'failed': {
			return {...task, state: 'failed', message: progress.message, finished: now};
		}
	}
}

function withData(health: AppState['health'], source: SourceName): AppState['health'] {
	return health[source].hasData ? health : {...health, [source]: {...health[source], hasData: true}};
}

function withoutData(health: SourceHealth): SourceHealth {
	if (!health.hasData) return health;
	const {hasData: _dropped, ...rest} = health;
	return rest.status === 'stale' ? {...rest, status: 'down'} : rest;
}

function clampSelection(state: AppState): AppState {
	const count = fleetRows(state).length;
	const selection = Math.max(0, Math.min(state.selection, count - 1));
	return selection === state.selection ? state : {...state, selection};
}

function sameView(a: View, b: View): boolean {
	return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The cursor stays on its row when the rows are sorted or filtered again: the same version if it is still shown, else
 * another row of the same model, else the first row.
 */
function keepRow(before: AppState, after: AppState): AppState {
	const row = currentRow(before);
	const rows = fleetRows(after);
	let index = row ? rows.findIndex((candidate) => candidate.key === row.key) : -1;
	if (index === -1 && row) index = rows.findIndex((candidate) => candidate.modelKey === row.modelKey);
	return clampSelection({...after, selection: Math.max(0, index)});
}
