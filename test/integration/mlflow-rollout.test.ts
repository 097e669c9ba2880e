/**
 * End to end: a REAL MLflow server's alias move starts a rollout that completes on the local control plane. The
 * agent (real HTTP server and store) follows `fraud-detector@champion` and hands the rollout to the DeliveryRunner
 * over the Kubernetes DeliveryPort of a real API server (kwok makes the new pods ready): the new version is created
 * with the image from the model version's tag, stepped through its weights and promoted. The judge and the smoke test
 * are given (the agent's judge over real metrics is tested with the delivery runner's own tests): what is under test
 * is that the alias move, and only it, drives every write to the promotion.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.mjs';
import {startMlflow} from '../../harness/mlflow.mjs';
import type {RunningMlflow} from '../../harness/mlflow.mjs';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {parseRegistrySettings} from '../../source/agent/registry/settings.ts';
import {DeliveryRunner} from '../../source/delivery/runner.ts';
import {deliveryAnnotation} from '../../source/domain/delivery.ts';
import {createKubeCluster, type KubeCluster} from '../../source/sources/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {applyScenario} from '../fixtures/kube/setup.ts';
import {eventually} from './agent-support.ts';

let cluster: Cluster | undefined;
let mlflow: RunningMlflow | undefined;
let kube: KubeCluster;
let api: TestApi;
let agent: RunningAgent | undefined;
let runner: DeliveryRunner | undefined;
let directory: string;

beforeAll(async () => {
	directory = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-mlflow-rollout-'));
	[cluster, mlflow] = await Promise.all([startCluster(), startMlflow()]);
	api = new TestApi(cluster.kubeconfig);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
}, 600_000);

afterAll(async () => {
	runner?.close();
	await agent?.close();
	await Promise.all([mlflow?.stop(), cluster?.stop()]);
	rmSync(directory, {recursive: true, force: true});
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

async function routeWeights(namespace: string): Promise<Record<string, number>> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return Object.fromEntries(
		route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => [backend.name, backend.weight]),
	);
}

it('a real MLflow alias move starts a rollout that steps through its weights and promotes on the local control plane', async () => {
	const namespace = 'registry-e2e';
	await applyScenario(api, {
		namespace,
		objects: [
			deployment({namespace, model: 'fraud', version: 'v1', replicas: 2}),
			service(namespace, 'fraud-v1', 'fraud', 'v1'),
			httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]),
		],
	});

	// MLflow: version 1 is what serves now (v1) and is the champion; version 2 carries the new image.
	await mlflowPost('registered-models/create', {name: 'fraud-detector'});
	const v1 = (
		await mlflowPost('model-versions/create', {
			name: 'fraud-detector',
			source: 's3://models/fraud/1',
			tags: [{key: 'image', value: 'registry.example/fraud:1'}],
		})
	).model_version!.version;
	const v2 = (
		await mlflowPost('model-versions/create', {
			name: 'fraud-detector',
			source: 's3://models/fraud/2',
			tags: [{key: 'image', value: 'registry.example/fraud:2'}],
		})
	).model_version!.version;
	await mlflowPost('registered-models/alias', {name: 'fraud-detector', alias: 'champion', version: v1});

	const judged: number[] = [];
	runner = new DeliveryRunner({
		port: kube.deliveryPort(),
		judge: async (state) => {
			judged.push(state.weight);
			return {result: 'pass', summary: `judged at ${state.weight}%`};
		},
		smoke: async () => ({ok: true, message: 'smoke test passed'}),
		audit: (record) => agent?.core.auditor.record(record.entry, namespace, undefined, 'ModeldeckDelivery'),
		tickMs: 100,
		retryDelayMs: 100,
	});
	runner.run();
	const logs: string[] = [];
	agent = await startAgent({
		noAuth: true,
		dbPath: path.join(directory, 'agent.db'),
		log: (line) => logs.push(line),
		registry: {
			settings: parseRegistrySettings({
				mlflow: {url: mlflow!.url, pollSeconds: 0.2},
				follow: [
					{
						registeredModel: 'fraud-detector',
						alias: 'champion',
						model: `${namespace}/fraud`,
						steps: [25, 50, 100],
						pause: 0,
						readyTimeout: '2m',
						maxHolds: 0,
					},
				],
			}),
			starter: runner,
		},
	});
	await eventually('the first look at the alias', 30_000, () =>
		logs.some((line) => line.includes(`fraud-detector@champion is at version ${v1}`)),
	);
	expect(runner.list()).toEqual([]);

	await mlflowPost('registered-models/alias', {name: 'fraud-detector', alias: 'champion', version: v2});
	const model = {namespace, name: 'fraud'};
	await eventually('the rollout to start', 30_000, () => runner!.get(model) !== undefined);
	const final = await runner.settled(model);
	expect(final).toMatchObject({
		phase: 'promoted',
		weight: 100,
		spec: {version: `v${v2}`, image: 'registry.example/fraud:2', requestedBy: `mlflow fraud-detector@champion → ${v2}`},
	});
	expect(judged).toEqual([25, 50, 100]);

	// What the cluster holds now: the new version from the tag's image, all traffic, the old one scaled down.
	const created = await api.get('Deployment', namespace, `fraud-v${v2}`);
	expect(created.spec.template.spec.containers[0].image).toBe('registry.example/fraud:2');
	expect(await routeWeights(namespace)).toEqual({'fraud-v1': 0, [`fraud-v${v2}`]: 100});
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	expect(JSON.parse(route.metadata.annotations[deliveryAnnotation])).toMatchObject({
		phase: 'promoted',
		spec: {requestedBy: `mlflow fraud-detector@champion → ${v2}`},
	});

	// The audit trail: the watcher's start, then the runner's steps to the promotion.
	const audit = agent.core.audit(50).reverse();
	expect(audit.find((entry) => entry.user === 'mlflow fraud-detector@champion')).toMatchObject({
		action: 'deliver',
		result: 'ok',
		before: `version ${v1}`,
	});
	expect(audit.at(-1)?.action).toBe('rollout promote');
	// One rollout per move: later polls start nothing more.
	expect(runner.list()).toHaveLength(1);
});
