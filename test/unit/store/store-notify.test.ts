import {expect, it} from 'vitest';
import {initialState} from '../../../source/state/state.ts';
import {Store} from '../../../source/console/store.ts';

function storeWithCounter() {
	const store = new Store(
		initialState({demo: false, readOnly: false, context: 'c', namespace: undefined, weightStep: 10, refreshSeconds: 2, now: 1000}),
	);
	let told = 0;
	store.subscribe(() => told++);
	return {store, told: () => told};
}

it('dispatch tells listeners at once, each time', () => {
	const {store, told} = storeWithCounter();
	store.dispatch({type: 'tick', now: 2000});
	expect(told()).toBe(1);
	store.dispatch({type: 'filter/set', text: 'fraud'});
	expect(told()).toBe(2);
});

it('a batch tells listeners once for several changes', () => {
	const {store, told} = storeWithCounter();
	store.batch(() => {
		store.dispatch({type: 'tick', now: 2000});
		store.dispatch({type: 'filter/set', text: 'fraud'});
	});
	expect(told()).toBe(1);
	expect(store.getState().filter).toBe('fraud');
});

it('a deferred change is in the state at once but told with the next batch or dispatch', () => {
	const {store, told} = storeWithCounter();
	store.defer({type: 'filter/set', text: 'fraud'});
	expect(store.getState().filter).toBe('fraud');
	expect(told()).toBe(0);
	// The clock's tick: a batch that changes nothing itself still delivers what was deferred.
	store.batch(() => store.dispatch({type: 'tick', now: 1000}));
	expect(told()).toBe(1);
	store.defer({type: 'filter/set', text: 'rank'});
	store.dispatch({type: 'tick', now: 3000});
	expect(told()).toBe(2);
	store.batch(() => undefined);
	expect(told()).toBe(2);
});
