/**
 * Health per context with several clusters shown: one context failing makes its own health stale (data kept) or down
 * (none yet), never another's; the cluster source as a whole follows only once no context answers.
 */
import fc from 'fast-check';
import {expect, it} from 'vitest';
import type {Model} from '../../../source/domain/types.ts';
import {clusterProblem} from '../../../source/console/cluster-health.ts';
import {reducer} from '../../../source/console/reducer.ts';
import {initialState, type AppState} from '../../../source/state/state.ts';

function start(clusters: string[]): AppState {
	return initialState({
		demo: false,
		readOnly: false,
		context: clusters.join(','),
		namespace: undefined,
		weightStep: 10,
		refreshSeconds: 2,
		now: 0,
		clusters,
		agentExpected: false,
	});
}

function model(cluster: string): Model {
	return {namespace: 'ml', name: 'fraud', cluster, router: 'replicas', versions: []};
}

type Event = {kind: 'ok' | 'error' | 'models'; cluster: number};

it("a context's events change its own health only; the whole is ok while any context is", () => {
	fc.assert(
		fc.property(
			fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), {minLength: 2, maxLength: 4}),
			fc.array(fc.record({kind: fc.constantFrom('ok' as const, 'error' as const, 'models' as const), cluster: fc.nat()}), {maxLength: 30}),
			(clusters, events: Event[]) => {
				let state = start(clusters);
				const seen = new Set<string>();
				const last = new Map<string, 'ok' | 'error'>();
				let now = 0;
				for (const event of events) {
					const cluster = clusters[event.cluster % clusters.length]!;
					now += 1000;
					if (event.kind === 'models') {
						// Models from a context are an answer from it (the merged source says so at once).
						seen.add(cluster);
						last.set(cluster, 'ok');
						state = reducer(state, {type: 'cluster/models', models: [...seen].map(model), now});
						state = reducer(state, {type: 'source/ok', source: 'cluster', cluster, now});
					} else if (event.kind === 'ok') {
						last.set(cluster, 'ok');
						state = reducer(state, {type: 'source/ok', source: 'cluster', cluster, now});
					} else {
						last.set(cluster, 'error');
						state = reducer(state, {type: 'source/error', source: 'cluster', cluster, message: `${cluster} refused`, now});
					}
				}

				for (const cluster of clusters) {
					const health = state.clusters[cluster]!;
					const expected =
						last.get(cluster) === 'ok' ? 'ok' : last.get(cluster) === 'error' ? (seen.has(cluster) ? 'stale' : 'down') : 'connecting';
					expect(health.status).toBe(expected);
					expect(clusterProblem(state, cluster)).toBe(expected === 'stale' || expected === 'down' ? `${cluster} refused` : undefined);
				}

				const anyOk = clusters.some((cluster) => state.clusters[cluster]!.status === 'ok');
				if (anyOk && [...last.values()].includes('ok')) expect(['ok']).toContain(state.health.cluster.status);
				if (!anyOk && [...last.values()].includes('error')) expect(['stale', 'down']).toContain(state.health.cluster.status);
			},
		),
	);
});

it('says which context failed when none answers', () => {
	let state = start(['prod-us', 'prod-eu']);
	state = reducer(state, {type: 'source/error', source: 'cluster', cluster: 'prod-eu', message: 'connect ECONNREFUSED', now: 1});
	expect(state.health.cluster).toMatchObject({status: 'down', message: 'prod-eu: connect ECONNREFUSED'});
	state = reducer(state, {type: 'source/ok', source: 'cluster', cluster: 'prod-us', now: 2});
	expect(state.health.cluster.status).toBe('ok');
	expect(state.clusters['prod-eu']).toMatchObject({status: 'down', message: 'connect ECONNREFUSED'});
	expect(state.health.agent.message).toBe('several contexts shown; start with one --context to use its agent');
});
