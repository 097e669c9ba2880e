/**
 * End to end: a REAL MLflow server's alias move starts a rollout that completes on the local control plane, run by
 * the agent itself. The agent (`registry` settings, no starter given: its own delivery runner) follows
 * `fraud-detector@champion`; the model is a plain one on the real API server (kwok makes the new pods ready); each
 * version's model server runs in a process of its own under paced load and a real Prometheus scrapes them, so the
 * agent's judge (the guard's verdict) sees per-version figures. Moving the alias to version 2 creates `fraud-v2` with
 * the image from the model version's tag, steps it through its weights, judges it and promotes it.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {startMlflow} from '../../harness/mlflow.ts';
import type {RunningMlflow} from '../../harness/mlflow.ts';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {parseRegistrySettings} from '../../source/agent/registry/settings.ts';
import {deliveryAnnotation} from '../../source/domain/delivery.ts';
import type {DeliveryState} from '../../source/domain/delivery.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {type ModelServerProcess, startModelServerProcess} from '../support/model-server-process.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';

const namespace = 'team-a';
const model = {namespace, name: 'fraud'};
let cluster: Cluster | undefined;
let mlflow: RunningMlflow | undefined;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let load: PacedLoad | undefined;
let agent: RunningAgent | undefined;
let api: TestApi;
let directory = '';
const servers = new Map<string, ModelServerProcess>();

beforeAll(async () => {
	directory = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-mlflow-rollout-'));
	[cluster, mlflow] = await Promise.all([startCluster(), startMlflow()]);
	api = new TestApi(cluster.kubeconfig);
	const route = httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]) as {
		metadata: {annotations: Record<string, string>};
	};
	// A canary margin of 300% keeps the noise of two equal servers from failing v2 (as in delivery-agent.test.ts).
	route.metadata.annotations['modeldeck.dev/guard-thresholds'] = '{"p99LatencyMs": 400, "canaryMargin": 3}';
	await api.createAll([deployment({namespace, model: 'fraud', version: 'v1'}), service(namespace, 'fraud-v1', 'fraud', 'v1'), route]);
	await api.waitForRollouts(namespace);
	for (const version of ['v1', 'v2'])
		servers.set(version, await startModelServerProcess({model: 'fraud', version, namespace, latencyMs: 30}));
	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: [...servers].map(([version, server]) => ({
			job: `fraud-${version}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace},
		})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: 2});
	load = startPacedLoad({urls: [...servers.values()].map((server) => server.url), model: 'fraud', rate: 20, limitMs: 240_000});
}, 600_000);

afterAll(async () => {
	await load?.stop();
	await agent?.close();
	await prometheus?.stop();
	for (const server of servers.values()) await server.close();
	await Promise.all([mlflow?.stop(), cluster?.stop()]);
	if (directory) rmSync(directory, {recursive: true, force: true});
});

async function mlflowPost(route: string, body: unknown): Promise<{model_version?: {version: string}}> {
	const response = await fetch(`${mlflow!.url}/api/2.0/mlflow/${route}`, {
		method: 'POST',
		headers: {'content-type': 'application/json'},
		body: JSON.stringify(body),
	});
	const text = await response.text();
	if (!response.ok) throw new Error(`MLflow ${route}: HTTP ${response.status}: ${text.slice(0, 300)}`);
	return JSON.parse(text || '{}') as {model_version?: {version: string}};
}

/** Polls CHECK every 300 ms (not faster: the judge measures servers under load on this machine). */
async function until<T>(what: string, timeoutMs: number, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await Promise.resolve()
			.then(check)
			.catch(() => undefined);
		if (value !== undefined && value !== false) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 300));
	}
}

async function delivery(): Promise<DeliveryState | undefined> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	const text = route.metadata.annotations?.[deliveryAnnotation];
	return text ? (JSON.parse(text) as DeliveryState) : undefined;
}

async function weights(): Promise<Record<string, number>> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return Object.fromEntries(
		route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => [backend.name, backend.weight]),
	);
}

it('a real MLflow alias move starts a rollout that the agent steps through its weights, judges and promotes on the local control plane', async () => {
	// MLflow: version 1 serves now (fraud-v1) and is the champion; version 2 carries the new image in its tag.
	await mlflowPost('registered-models/create', {name: 'fraud-detector'});
	const tagged = (image: string) => ({name: 'fraud-detector', source: 's3://models/fraud', tags: [{key: 'image', value: image}]});
	const v1 = (await mlflowPost('model-versions/create', tagged('registry.example/fraud:1'))).model_version!.version;
	const v2 = (await mlflowPost('model-versions/create', tagged('registry.example/fraud:2'))).model_version!.version;
	expect([v1, v2]).toEqual(['1', '2']);
	await mlflowPost('registered-models/alias', {name: 'fraud-detector', alias: 'champion', version: v1});

	const logs: string[] = [];
	agent = await startAgent({
		noAuth: true,
		dbPath: path.join(directory, 'agent.db'),
		cluster: await createKubeCluster({kubeconfigPath: cluster!.kubeconfig, context: 'admin', namespace: 'all'}),
		metrics: createPrometheusMetrics({url: prometheus!.url, scrapeIntervalSeconds: 1}),
		judge: new MannWhitneyJudge(),
		// The versions' servers run on this machine, not behind their Services.
		resolveEndpoint: (target) => servers.get(target.version)?.url ?? 'http://127.0.0.1:9',
		log: (line) => logs.push(line),
		registry: {
			settings: parseRegistrySettings({
				mlflow: {url: mlflow!.url, pollSeconds: 0.5},
				follow: [
					{
						registeredModel: 'fraud-detector',
						alias: 'champion',
						model: `${namespace}/fraud`,
						steps: [50, 100],
						pause: '10s',
						readyTimeout: '1m',
						maxHolds: 3,
					},
				],
			}),
		},
	});
	await until('the agent to see the model', 30_000, () => agent!.core.findModel(model));
	await until('the first look at the alias', 30_000, () => logs.some((line) => line.includes('fraud-detector@champion is at version 1')));
	expect(await delivery()).toBeUndefined();

	await mlflowPost('registered-models/alias', {name: 'fraud-detector', alias: 'champion', version: v2});
	const final = await until('the rollout to finish', 180_000, async () => {
		const state = await delivery();
		return state && (state.phase === 'promoted' || state.phase === 'rolled-back' || state.phase === 'failed') && state;
	});
	// The events say why when it did not promote.
	expect({phase: final.phase, events: final.phase === 'promoted' ? [] : final.events}).toEqual({phase: 'promoted', events: []});
	expect(final.spec).toMatchObject({version: 'v2', image: 'registry.example/fraud:2', requestedBy: 'mlflow fraud-detector@champion → 2'});
	expect(await weights()).toEqual({'fraud-v1': 0, 'fraud-v2': 100});
	expect((await api.get('Deployment', namespace, 'fraud-v2')).spec.template.spec.containers[0].image).toBe('registry.example/fraud:2');

	// The audit trail: the watcher's start, then the agent's steps, judgements and promotion.
	const audit = agent.core.audit(50).reverse();
	expect(audit.find((entry) => entry.user === 'mlflow fraud-detector@champion')).toMatchObject({
		action: 'deliver',
		target: `${namespace}/fraud`,
		before: 'version 1',
		result: 'ok',
	});
	const trail = audit.filter((entry) => entry.action.startsWith('rollout ')).map((entry) => entry.action);
	expect(trail[0]).toBe('rollout start');
	expect(trail).toContain('rollout judgement');
	expect(trail.at(-1)).toBe('rollout promote');
	expect(trail.filter((action) => action === 'rollout start')).toHaveLength(1);
});
