/**
 * Source health as the header shows it: the age of a stale source counts from its last healthy moment, and "last
 * data kept" is said only when there is data on screen.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {SourceName} from '../../../source/domain/ports.ts';
import type {StoreAction} from '../../../source/state/actions.ts';
import {reducer} from '../../../source/console/reducer.ts';
import {type AppState, initialState} from '../../../source/state/state.ts';
import {healthLabel} from '../../../source/ui/Header.tsx';
import {fixtureModels} from '../../support/fake-sources.ts';

const start = 1_000_000;
const base = initialState({
	demo: false,
	readOnly: false,
	context: 'c',
	namespace: undefined,
	weightStep: 10,
	refreshSeconds: 2,
	now: start,
});

function run(state: AppState, actions: StoreAction[]): AppState {
	return actions.reduce(reducer, state);
}

describe('source health', () => {
	it('counts a stale source’s age from its last heartbeat, not from its last change of data', () => {
		// Models listed once at the start, then heartbeats for 70 s with nothing changing, then the connection is cut.
		const heartbeats: StoreAction[] = Array.from({length: 35}, (_, index) => ({
			type: 'source/ok',
			source: 'cluster',
			now: start + 2000 * (index + 1),
		}));
		const state = run(base, [
			{type: 'cluster/models', models: fixtureModels(), now: start},
			{type: 'source/ok', source: 'cluster', now: start},
			...heartbeats,
			{type: 'source/error', source: 'cluster', message: 'cannot reach the API server', now: start + 71_000},
			{type: 'tick', now: start + 73_000},
		]);
		expect(state.health.cluster).toMatchObject({status: 'stale', lastOk: start + 70_000, hasData: true});
		expect(healthLabel(state.health.cluster, state.now)).toBe('stale 3s');
	});

	it('a source that never delivered data is down, not stale, even after an answer with nothing in it', () => {
		// The first refresh has no models to ask about, so it "succeeds" without a query; then Prometheus fails.
		const state = run(base, [
			{type: 'source/ok', source: 'metrics', now: start + 100},
			{type: 'source/error', source: 'metrics', message: 'Cannot reach Prometheus', now: start + 2000},
		]);
		expect(state.health.metrics.status).toBe('down');
		expect(state.health.metrics.hasData).toBeUndefined();
		expect(healthLabel(state.health.metrics, start + 2000)).toBe('down');
	});

	it('keeps the data mark through heartbeats and errors, and drops the figures’ mark when the context changes', () => {
		let state = run(base, [
			{type: 'metrics/refreshed', samples: {}, flags: {}, verdicts: {}, now: start + 1000},
			{type: 'source/ok', source: 'metrics', now: start + 3000},
			{type: 'source/error', source: 'metrics', message: 'timeout', now: start + 5000},
		]);
		expect(state.health.metrics).toMatchObject({status: 'stale', hasData: true, lastOk: start + 3000});
		state = reducer(state, {type: 'context/set', context: 'other'});
		expect(state.health.metrics.status).toBe('down');
		expect(state.health.metrics.hasData).toBeUndefined();
	});

	it('holds for any order of events: stale only with data, and a stale age never older than the last healthy moment', () => {
		const sources: SourceName[] = ['cluster', 'metrics', 'agent'];
		const event = fc.oneof(
			fc.record({kind: fc.constant('ok' as const), source: fc.constantFrom(...sources)}),
			fc.record({kind: fc.constant('error' as const), source: fc.constantFrom(...sources)}),
			fc.record({kind: fc.constant('data' as const), source: fc.constantFrom(...sources)}),
			fc.record({kind: fc.constant('context' as const)}),
		);
		fc.assert(
			fc.property(fc.array(fc.tuple(event, fc.integer({min: 0, max: 5000})), {maxLength: 40}), (events) => {
				let state = base;
				let now = start;
				const lastHealthy: Partial<Record<SourceName, number>> = {};
				for (const [step, gap] of events) {
					now += gap;
					state = reducer(state, {type: 'tick', now});
					if (step.kind === 'ok') {
						state = reducer(state, {type: 'source/ok', source: step.source, now});
						lastHealthy[step.source] = now;
					} else if (step.kind === 'error') {
						state = reducer(state, {type: 'source/error', source: step.source, message: 'x', now});
					} else if (step.kind === 'data') {
						if (step.source === 'cluster') state = reducer(state, {type: 'cluster/models', models: fixtureModels(), now});
						else if (step.source === 'metrics')
							state = reducer(state, {type: 'metrics/refreshed', samples: {}, flags: {}, verdicts: {}, now});
						else state = reducer(state, {type: 'audit/set', entries: []});
						if (step.source === 'metrics') lastHealthy.metrics = now;
					} else {
						state = reducer(state, {type: 'context/set', context: `c${now}`});
						delete lastHealthy.cluster;
					}

					for (const source of sources) {
						const health = state.health[source];
						if (health.status === 'stale') {
							expect(health.hasData).toBe(true);
							expect(health.lastOk).toBe(lastHealthy[source]);
						}
					}
				}
			}),
		);
	});
});
