/** A source's healthy moments, as the store records them. */
import type {SourceName} from '../domain/ports.ts';
import type {Store} from './store.ts';

/** A healthy moment (a heartbeat answered): drawn at once when it ends a problem, otherwise with the clock's next tick. */
export function markAlive(store: Store, source: SourceName, now: number): void {
	const action = {type: 'source/ok', source, now} as const;
	if (store.getState().health[source].status === 'ok') store.defer(action);
	else store.dispatch(action);
}
