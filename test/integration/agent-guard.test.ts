// The guard end to end: a canary made slow with the model server's knob, a real Prometheus scraping the real model
// servers, the real control plane holding the model's HTTPRoute. The agent's guard judges canary against stable
// from Prometheus's history and rolls the canary back by itself, audited as modeldeck-guard and told to consoles.
import {Worker} from 'node:worker_threads';
import {KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startCluster} from '../../harness/cluster.mjs';
import type {Cluster} from '../../harness/cluster.mjs';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.mjs';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import {createAgentClient} from '../../source/sources/agent-client.ts';
import {createKubeCluster} from '../../source/sources/kube/index.ts';
import {createPrometheusMetrics} from '../../source/sources/prometheus/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {collect, eventually} from './agent-support.ts';

const RATE = 20;
const LOAD_LIMIT_MS = 150_000;

/** Paced load in a worker thread, so the client's work does not share the servers' event loop. */
const LOAD_WORKER = `
const {parentPort, workerData} = require('node:worker_threads');
const {urls, rate, limitMs} = workerData;
const body = JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]});
const started = Date.now();
let ticks = 0;
let timer;
const tick = () => {
	if (Date.now() - started > limitMs) return;
	for (const url of urls) fetch(url + '/v2/models/fraud/infer', {method: 'POST', body, headers: {'content-type': 'application/json'}}).then((r) => r.arrayBuffer()).catch(() => undefined);
	ticks++;
	timer = setTimeout(tick, Math.max(0, started + (ticks * 1000) / rate - Date.now()));
};
tick();
parentPort.on('message', () => {
	clearTimeout(timer);
	parentPort.postMessage('stopped');
});
`;

let cluster: Cluster | undefined;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let agent: RunningAgent | undefined;
let load: Worker | undefined;
const servers: RunningModelServer[] = [];
let api: TestApi;

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll([
		deployment({namespace: 'team-a', model: 'fraud', version: 'v1'}),
		deployment({namespace: 'team-a', model: 'fraud', version: 'v2'}),
		service('team-a', 'fraud-v1', 'fraud', 'v1'),
		service('team-a', 'fraud-v2', 'fraud', 'v2'),
		httpRoute('team-a', 'fraud', 'fraud', [
			{service: 'fraud-v1', weight: 80},
			{service: 'fraud-v2', weight: 20},
		]),
	]);
	await api.waitForRollouts('team-a');

	const stable = await startModelServer({model: 'fraud', modelVersion: 'v1', namespace: 'team-a', port: 0, knobs: {latencyMs: 5}});
	const canary = await startModelServer({model: 'fraud', modelVersion: 'v2', namespace: 'team-a', port: 0, knobs: {latencyMs: 5}});
	servers.push(stable, canary);
	// The canary regresses: every answer 200 ms slower.
	canary.setKnobs({latencyMs: 200});
	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: servers.map((server, index) => ({job: `fraud-v${index + 1}`, targets: [`127.0.0.1:${server.port}`], labels: {namespace: 'team-a'}})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: 2});
	load = new Worker(LOAD_WORKER, {eval: true, workerData: {urls: servers.map((server) => server.url), rate: RATE, limitMs: LOAD_LIMIT_MS}});

	const admin = new KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	agent = await startAgent({
		reviewer: new KubeAccessReviewer(admin),
		cluster: await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'all'}),
		events: new KubeAgentClient(admin),
		metrics: createPrometheusMetrics({url: prometheus.url, scrapeIntervalSeconds: 1}),
		judge: new MannWhitneyJudge(),
		guard: {
			enabled: true,
			tickMs: 1000,
			settingsFile: () => ({models: {'team-a/fraud': {enabled: true, intervalSeconds: 5, windowSeconds: 20, consecutiveFailures: 2}}}),
		},
	});
});

afterAll(async () => {
	if (load) {
		load.postMessage('stop');
		await new Promise((resolve) => setTimeout(resolve, 500));
		await load.terminate();
	}

	await agent?.close();
	await prometheus?.stop();
	for (const server of servers) await server.close();
	await cluster?.stop();
});

describe('the canary guard', () => {
	it('rolls back a slow canary by itself, audited and told to consoles', async () => {
		if (!agent || !cluster) throw new Error('setup failed');
		const url = agent.url;
		const viewer = collect(createAgentClient({url, token: cluster.tokens.viewer}), {namespace: 'team-a'});
		await viewer.connected();
		try {
			const rolledBack = await eventually('the guard to roll back the canary', 120_000, () =>
				viewer.events.find((event) => event.type === 'guard' && event.rolledBack),
			);
			expect(rolledBack).toMatchObject({model: {namespace: 'team-a', name: 'fraud'}, verdict: 'fail', message: expect.stringMatching(/^guard rolled back v2: 2 failing verdicts in a row/)});
			// Before acting it said the canary was failing.
			expect(viewer.events.some((event) => event.type === 'guard' && !event.rolledBack && event.verdict === 'fail')).toBe(true);
			const route = await api.get('HTTPRoute', 'team-a', 'fraud');
			expect(route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)).toEqual([100, 0]);
			const audit = await createAgentClient({url, token: cluster.tokens.viewer, namespace: 'team-a'}).audit(5);
			expect(audit[0]).toMatchObject({user: 'modeldeck-guard', action: 'rollback v2', target: 'team-a/fraud', result: 'ok'});
			expect(audit[0]!.message).toMatch(/p99/);
		} finally {
			viewer.unsubscribe();
		}
	});
});
