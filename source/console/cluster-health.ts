/**
 * Health per context when several clusters are shown at once: each context's watch fails on its own, so its models are
 * marked stale (with the reason) while the others stay live. The cluster source as a whole is ok while any context is,
 * and takes a context's problem as its own only once no context is ok.
 */
import type {Model} from '../domain/types.ts';
import type {AppState, SourceHealth} from '../state/state.ts';

export function healthOk(previous: SourceHealth | undefined, now: number): SourceHealth {
	return {
		status: 'ok',
		lastOk: now,
		since: previous?.status === 'ok' ? (previous.since ?? now) : now,
		...(previous?.hasData ? {hasData: true} : {}),
	};
}

/** With data on screen the source is stale (last data kept); without any it is down. */
export function healthError(previous: SourceHealth | undefined, message: string, now: number): SourceHealth {
	const status = previous?.hasData ? 'stale' : 'down';
	return {
		status,
		...(previous?.lastOk === undefined ? {} : {lastOk: previous.lastOk}),
		since: previous?.status === status ? (previous.since ?? now) : now,
		message,
		...(previous?.hasData ? {hasData: true} : {}),
	};
}

/** A context answered: it is ok, and so is the cluster source. */
export function clusterOk(state: AppState, cluster: string, now: number): AppState {
	return {
		...state,
		clusters: {...state.clusters, [cluster]: healthOk(state.clusters[cluster], now)},
		health: {...state.health, cluster: healthOk(state.health.cluster, now)},
	};
}

/** A context failed: it is stale or down; the cluster source too once no context is ok. */
export function clusterError(state: AppState, cluster: string, message: string, now: number): AppState {
	const clusters = {...state.clusters, [cluster]: healthError(state.clusters[cluster], message, now)};
	const anyOk = Object.values(clusters).some((health) => health.status === 'ok');
	return {
		...state,
		clusters,
		...(anyOk ? {} : {health: {...state.health, cluster: healthError(state.health.cluster, `${cluster}: ${message}`, now)}}),
	};
}

/** New models arrived: the contexts they come from have data on screen. */
export function clustersWithData(clusters: AppState['clusters'], models: readonly Model[]): AppState['clusters'] {
	let next = clusters;
	for (const model of models) {
		const cluster = model.cluster;
		if (cluster === undefined || next[cluster]?.hasData) continue;
		if (next === clusters) next = {...clusters};
		next[cluster] = {...(next[cluster] ?? {status: 'connecting'}), hasData: true};
	}

	return next;
}

/** Why a context's rows are stale (or its source down), or undefined while it is live. */
export function clusterProblem(state: AppState, cluster: string | undefined): string | undefined {
	if (cluster === undefined) return undefined;
	const health = state.clusters[cluster];
	if (!health || (health.status !== 'stale' && health.status !== 'down')) return undefined;
	return health.message ?? health.status;
}
