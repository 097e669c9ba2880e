/** A source's healthy moments, as the store records them. */
import type {SourceName} from '../domain/ports.ts';
import type {Store} from './store.ts';

/** A healthy moment (a heartbeat answered): drawn at once when it ends a problem, otherwise with the clock's next tick. */
export function markAlive(store: Store, source: SourceName, now: number, cluster?: string): void {
	const action = {type: 'source/ok', source, now, ...(cluster === undefined ? {} : {cluster})} as const;
	const state = store.getState();
	const health = cluster === undefined ? state.health[source] : state.clusters[cluster];
	if (health?.status === 'ok' && state.health[source].status === 'ok') store.defer(action);
	else store.dispatch(action);
}
