/**
 * Several clusters at once against TWO real control planes, merged into one kubeconfig with a context each: the console's
 * store, fed by the real composition (adapters/multi over the Kubernetes source), shows both fleets merged with each
 * model tagged by its context; a weight change made from a row lands in that row's cluster and not in the other (read
 * back from each API server); and with one control plane stopped, its models are marked stale with the reason while
 * the other's stay live and keep following their cluster.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {createConsole, type ConsoleHandle} from '../../source/app.tsx';
import {modelKey} from '../../source/domain/types.ts';
import {createMultiSources} from '../../source/adapters/multi/create-multi-sources.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {httpRouteScenario, istioScenario} from '../fixtures/kube/scenarios.ts';
import {applyScenario} from '../fixtures/kube/setup.ts';
import {consoleDefaults} from '../support/console-defaults.ts';
import {mergeKubeconfigs} from '../support/merged-kubeconfig.ts';

let us: Cluster;
let eu: Cluster;
let usApi: TestApi;
let euApi: TestApi;
let directory: string;
let kubeconfig: string;
let handle: ConsoleHandle | undefined;

beforeAll(async () => {
	us = await startCluster();
	eu = await startCluster();
	usApi = new TestApi(us.kubeconfig);
	euApi = new TestApi(eu.kubeconfig);
	// The same model (fraud-detector, 90/10 behind an HTTPRoute) in both clusters; prod-eu has the Istio models too.
	await Promise.all([
		applyScenario(usApi, httpRouteScenario),
		applyScenario(euApi, httpRouteScenario).then(() => applyScenario(euApi, istioScenario)),
	]);
	directory = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-multi-'));
	kubeconfig = path.join(directory, 'kubeconfig');
	mergeKubeconfigs(kubeconfig, [
		{context: 'prod-us', kubeconfig: us.kubeconfig},
		{context: 'prod-eu', kubeconfig: eu.kubeconfig},
	]);
}, 300_000);

afterAll(async () => {
	handle?.controller.stop();
	await Promise.all([us?.stop(), eu?.stop()]);
	if (directory) rmSync(directory, {recursive: true, force: true});
});

/** Poll the console's state until CHECK holds. */
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = check();
		if (value !== undefined && value !== false) return value;
		if (Date.now() > deadline)
			throw new Error(
				`timed out waiting for ${what}; state: ${JSON.stringify({clusters: handle?.store.getState().clusters, models: handle?.store.getState().models.map((model) => modelKey(model))})}`,
			);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

async function routeWeights(api: TestApi): Promise<number[]> {
	const route = await api.get('HTTPRoute', httpRouteScenario.namespace, 'fraud-detector');
	return route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);
}

it("shows both fleets merged, sends a change to its row's cluster only, and marks a stopped cluster's models stale while the other stays live", async () => {
	const sources = createMultiSources({
		kubeconfigPath: kubeconfig,
		contexts: ['prod-us', 'prod-eu'],
		known: [],
		namespace: undefined,
		promoteKeepsOldStable: false,
		prometheusUrl: () => undefined,
		profiles: {},
		readOnly: () => undefined,
	});
	handle = createConsole({sources, ...consoleDefaults}, {width: 200, height: 50});
	handle.controller.start();
	const state = () => handle!.store.getState();

	// Both fleets, merged: the same fraud-detector once per cluster, keys carrying the context.
	await until(
		'both fleets',
		() => state().models.length === 4 && state().clusters['prod-us']?.status === 'ok' && state().clusters['prod-eu']?.status === 'ok',
	);
	expect(
		state()
			.models.map((model) => modelKey(model))
			.sort(),
	).toEqual([
		'prod-eu:shapes-httproute/fraud-detector',
		'prod-eu:shapes-istio/ranker',
		'prod-eu:shapes-istio/recommender',
		'prod-us:shapes-httproute/fraud-detector',
	]);
	expect(state().health.cluster.status).toBe('ok');

	// A weight change on prod-eu's fraud-detector: planned, confirmed, carried out there and only there.
	const target = state().models.find((model) => model.cluster === 'prod-eu' && model.name === 'fraud-detector')!;
	handle.controller.askToConfirm({
		kind: 'set-weight',
		model: {namespace: target.namespace, name: target.name, cluster: 'prod-eu'},
		canary: 'v13',
		from: 10,
		to: 35,
	});
	const overlay = await until('the confirmation', () => (state().overlay?.kind === 'confirm' ? state().overlay : undefined));
	expect(overlay.kind === 'confirm' && overlay.title).toBe('Set fraud-detector v13 weight to 35% in prod-eu');
	expect(overlay.kind === 'confirm' && overlay.summary).toContain('context prod-eu, namespace shapes-httproute');
	handle.controller.confirm();
	await until('the change to finish', () => state().tasks.find((task) => task.state !== 'running'));
	expect(state().tasks[0]).toMatchObject({state: 'done', message: 'fraud-detector in prod-eu: v12 90% → 65%, v13 10% → 35%'});
	expect(await routeWeights(euApi)).toEqual([65, 35]);
	expect(await routeWeights(usApi)).toEqual([90, 10]);
	expect(state().audit[0]).toMatchObject({target: 'prod-eu:shapes-httproute/fraud-detector', result: 'ok'});
	// The screen follows each cluster: prod-eu's row moved, prod-us's did not.
	await until(
		'prod-eu at 35%',
		() =>
			state()
				.models.find((model) => modelKey(model) === 'prod-eu:shapes-httproute/fraud-detector')
				?.versions.find((version) => version.name === 'v13')?.weight === 35,
	);
	expect(
		state()
			.models.find((model) => modelKey(model) === 'prod-us:shapes-httproute/fraud-detector')
			?.versions.find((version) => version.name === 'v13')?.weight,
	).toBe(10);

	// prod-eu's control plane stops: its models stay, marked stale with the reason; prod-us stays live.
	await eu.stop();
	const stale = await until('prod-eu stale', () =>
		state().clusters['prod-eu']?.status === 'stale' ? state().clusters['prod-eu'] : undefined,
	);
	// The reason names the API server that stopped answering.
	expect(stale.message).toContain(`cannot reach the API server at ${eu.server}`);
	expect(stale.hasData).toBe(true);
	expect(state().models.filter((model) => model.cluster === 'prod-eu')).toHaveLength(3);
	expect(state().clusters['prod-us']?.status).toBe('ok');
	expect(state().health.cluster.status).toBe('ok');
	// Live: a change made in prod-us by someone else shows up.
	await usApi.patch(
		'HTTPRoute',
		httpRouteScenario.namespace,
		'fraud-detector',
		[
			{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 70},
			{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 30},
		],
		'json',
	);
	await until(
		'prod-us to follow its cluster',
		() =>
			state()
				.models.find((model) => modelKey(model) === 'prod-us:shapes-httproute/fraud-detector')
				?.versions.find((version) => version.name === 'v13')?.weight === 30,
	);
	expect(state().clusters['prod-eu']?.status).toBe('stale');

	// A change in the stopped cluster fails and says so; nothing is written to prod-us.
	handle.controller.askToConfirm({
		kind: 'set-weight',
		model: {namespace: target.namespace, name: target.name, cluster: 'prod-eu'},
		canary: 'v13',
		from: 35,
		to: 50,
	});
	await until('the refusal', () => state().toasts.some((toast) => toast.message.includes('in prod-eu: refused')));
	expect(await routeWeights(usApi)).toEqual([70, 30]);
}, 240_000);
