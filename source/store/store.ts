/** A minimal external store for React's useSyncExternalStore. */
import type {StoreAction} from './actions.ts';
import {reducer} from './reducer.ts';
import type {AppState} from './state.ts';

export class Store {
	#state: AppState;
	readonly #listeners = new Set<() => void>();

	constructor(initial: AppState) {
		this.#state = initial;
	}

	getState = (): AppState => this.#state;

	dispatch = (action: StoreAction): void => {
		const next = reducer(this.#state, action);
		if (next === this.#state) return;
		this.#state = next;
		for (const listener of this.#listeners) listener();
	};

	subscribe = (listener: () => void): (() => void) => {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	};
}
