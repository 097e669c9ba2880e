/** A minimal external store for React's useSyncExternalStore. */
import type {StoreAction} from '../state/actions.ts';
import {reducer} from './reducer.ts';
import type {AppState} from '../state/state.ts';

export class Store {
	#state: AppState;
	readonly #listeners = new Set<() => void>();

	constructor(initial: AppState) {
		this.#state = initial;
	}

	getState = (): AppState => this.#state;

	#batching = 0;
	/** The state changed since listeners were last told (inside a batch, or deferred). */
	#pending = false;

	/** Apply an action; true when the state changed. */
	#apply(action: StoreAction): boolean {
		const next = reducer(this.#state, action);
		if (next === this.#state) return false;
		this.#state = next;
		return true;
	}

	dispatch = (action: StoreAction): void => {
		if (!this.#apply(action)) return;
		if (this.#batching > 0) this.#pending = true;
		else this.#notify();
	};

	/**
	 * Apply an action now but tell listeners with the next dispatch or batch (the clock's tick, at most a second
	 * later): background data rides on the frame the clock draws anyway instead of drawing one of its own.
	 */
	defer = (action: StoreAction): void => {
		if (this.#apply(action)) this.#pending = true;
	};

	/** Dispatch several actions and tell listeners once: one frame instead of several. */
	batch = (run: () => void): void => {
		this.#batching++;
		try {
			run();
		} finally {
			this.#batching--;
			if (this.#batching === 0 && this.#pending) this.#notify();
		}
	};

	#notify(): void {
		this.#pending = false;
		for (const listener of this.#listeners) listener();
	}

	subscribe = (listener: () => void): (() => void) => {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	};
}
