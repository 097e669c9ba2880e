/**
 * Argo Rollouts for real: the Argo Rollouts controller v1.10.1 (built from the Go module proxy by
 * harness/argo-rollouts.ts) runs against the local control plane, and modeldeck drives a canary Rollout routed by an
 * Istio VirtualService through it. What the tests read back is what the controller did: its weights in the
 * VirtualService, its status in the Rollout. modeldeck's own writes go to the Rollout (and its status subresource) as
 * the kubectl argo rollouts plugin makes them; the VirtualService, which the controller owns, is never written by
 * modeldeck: a direct weight change is refused with the controller's own command.
 */
import http from 'node:http';
import {KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import type {ActionProgress} from '../../source/domain/types.ts';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {type RunningRolloutsController, startRolloutsController} from '../../harness/argo-rollouts.ts';
import {isNoop, plannedAction, planLines, PlanRefusal, type TrafficAction} from '../../source/domain/plan.ts';
import type {Model, RolloutCommand} from '../../source/domain/types.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {errorRateTemplate, podTemplate, RolloutApi, rolloutCanary} from '../fixtures/kube/argo-rollouts-manifests.ts';

const namespace = 'team-a';
let cluster: Cluster;
let controller: RunningRolloutsController;
let api: TestApi;
let rollouts: RolloutApi;
let operator: KubeCluster;
let metricServer: http.Server;
let errorRate = 0.3;
let agent: RunningAgent | undefined;

beforeAll(async () => {
	cluster = await startCluster();
	controller = await startRolloutsController(cluster);
	api = new TestApi(cluster.kubeconfig);
	rollouts = new RolloutApi(api.http);
	operator = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'operator', namespace});
	// What the controller's `web` metric measures: the test decides the error rate.
	metricServer = http.createServer((_request, response) => response.end(JSON.stringify({errorRate})));
	await new Promise<void>((resolve) => metricServer.listen(0, '127.0.0.1', resolve));
}, 600_000);

afterAll(async () => {
	await agent?.close();
	metricServer?.close();
	await controller?.stop();
	await cluster?.stop();
});

async function model(name: string): Promise<Model> {
	return operator.readModel({namespace, name});
}

/** Until the model (read afresh, as an action reads it) satisfies `check`. */
async function until(name: string, what: string, check: (model: Model) => boolean, timeoutMs = 90_000): Promise<Model> {
	return api.waitFor(
		`${name}: ${what}`,
		async () => {
			const found = await model(name);
			return check(found) ? found : undefined;
		},
		timeoutMs,
	);
}

const weights = (found: Model) => found.versions.map((version) => `${version.name}:${version.track}:${version.weight}`).join(' ');

/** Planned, then carried out as planned, as the console does after the operator confirms. */
async function run(name: string, command: RolloutCommand): Promise<string[]> {
	const action: TrafficAction = {kind: 'rollout', model: {namespace, name}, command};
	const plan = await operator.plan(action);
	expect(isNoop(plan)).toBe(false);
	await operator.act(plannedAction(plan));
	return planLines(plan);
}

async function newVersion(name: string, version: string): Promise<void> {
	await rollouts.patch('Rollout', namespace, name, {spec: {template: podTemplate(name, version)}});
}

describe('a canary Rollout through the real Argo Rollouts controller', () => {
	it('is a model: its stable ReplicaSet with all traffic once the controller has rolled it out', async () => {
		for (const object of rolloutCanary(namespace, 'fraud')) await rollouts.create(object);
		const found = await until(
			'fraud',
			'healthy on v1',
			(candidate) => candidate.rollout?.phase === 'Healthy' && candidate.versions.length === 1,
		);
		expect(found).toMatchObject({
			router: 'argo-rollouts',
			routerObject: 'VirtualService/fraud-vs',
			owner: {controller: 'Argo Rollouts', object: 'Rollout/fraud'},
		});
		expect(weights(found)).toBe('v1:stable:100');
	});

	it('a new template: the controller sets weight 20 and pauses at step 2/4, and the model says so', async () => {
		await newVersion('fraud', 'v2');
		const found = await until(
			'fraud',
			'paused at step 2',
			(candidate) => candidate.rollout?.step === 2 && candidate.rollout.paused === true && candidate.versions.length === 2,
		);
		expect(weights(found)).toBe('v1:stable:80 v2:canary:20');
		expect(found.rollout).toMatchObject({controller: 'argo-rollouts', phase: 'Paused', totalSteps: 4});
		await api.waitFor('the route of fraud at 80/20', async () => (await rollouts.weights(namespace, 'fraud')).join() === '80,20', 30_000);
		// The controller's own write is on record: who owns the router is found from it too.
		const virtualService = await rollouts.get('VirtualService', namespace, 'fraud-vs');
		expect(virtualService.metadata.managedFields.map((entry: {manager: string}) => entry.manager)).toContain('rollouts-controller');
	});

	it('a direct weight change on the owned VirtualService is refused with the controller’s command, and nothing is written', async () => {
		const before = await rollouts.get('VirtualService', namespace, 'fraud-vs');
		const refusal = operator.plan({kind: 'set-weight', model: {namespace, name: 'fraud'}, canary: 'v2', from: 20, to: 30});
		await expect(refusal).rejects.toThrow(PlanRefusal);
		await expect(refusal).rejects.toThrow(
			/^Argo Rollouts owns VirtualService\/fraud-vs: use kubectl argo rollouts promote fraud -n team-a \(key >\)/,
		);
		await expect(operator.act({kind: 'set-weight', model: {namespace, name: 'fraud'}, canary: 'v2', from: 20, to: 30})).rejects.toThrow(
			/kubectl argo rollouts promote fraud -n team-a/,
		);
		await expect(operator.plan({kind: 'promote', model: {namespace, name: 'fraud'}, canary: 'v2', stable: 'v1'})).rejects.toThrow(
			/kubectl argo rollouts promote fraud -n team-a --full/,
		);

		// The same VirtualService annotated for modeldeck by someone: that model's router is owned too.
		await api.patch('VirtualService', namespace, 'fraud-vs', {metadata: {annotations: {'modeldeck.dev/model': 'fraud-routes'}}});
		const routes = await until('fraud-routes', 'owned', (candidate) => candidate.owner !== undefined);
		expect(routes.owner).toMatchObject({controller: 'Argo Rollouts', object: 'Rollout/fraud'});
		await expect(
			operator.plan({kind: 'set-weight', model: {namespace, name: 'fraud-routes'}, canary: 'v2', from: 20, to: 30}),
		).rejects.toThrow(
			/^Argo Rollouts owns VirtualService\/fraud-vs: use kubectl argo rollouts promote fraud -n team-a; .*\(Rollout\/fraud, named by Rollout\/fraud spec\.strategy\)$/,
		);
		const after = await rollouts.get('VirtualService', namespace, 'fraud-vs');
		expect(after.spec).toEqual(before.spec);
	});

	it('promote: the pause is cleared through the status subresource and the controller moves on to 50% at step 4/4', async () => {
		const lines = await run('fraud', 'promote');
		expect(lines).toContain('stable v1: 80% → 50%');
		expect(lines).toContain('canary v2: 20% → 50%');
		expect(lines.find((line) => line.startsWith('writes Rollout/fraud status'))).toContain(
			'pause conditions cleared (as kubectl argo rollouts promote fraud -n team-a)',
		);
		const found = await until(
			'fraud',
			'paused at step 4',
			(candidate) => candidate.rollout?.step === 4 && candidate.rollout.paused === true,
		);
		expect(weights(found)).toBe('v1:stable:50 v2:canary:50');
		await api.waitFor('the route of fraud at 50/50', async () => (await rollouts.weights(namespace, 'fraud')).join() === '50,50', 30_000);
	});

	it('abort: status.abort, and the controller sends all traffic back to the stable', async () => {
		await run('fraud', 'abort');
		const found = await until(
			'fraud',
			'aborted',
			(candidate) =>
				candidate.rollout?.phase === 'Degraded' && candidate.versions.find((version) => version.track === 'canary')?.weight === 0,
		);
		expect(found.rollout?.message).toMatch(/RolloutAborted/);
		await api.waitFor('the route of fraud at 100/0', async () => (await rollouts.weights(namespace, 'fraud')).join() === '100,0', 30_000);
		expect((await rollouts.get('Rollout', namespace, 'fraud')).status.abort).toBe(true);
		await expect(operator.plan({kind: 'rollout', model: {namespace, name: 'fraud'}, command: 'abort'})).rejects.toThrow(
			/already aborted.*kubectl argo rollouts retry rollout fraud -n team-a/,
		);
	});

	it('retry: status.abort false, and the controller starts the steps over (20%, paused at step 2/4)', async () => {
		await run('fraud', 'retry');
		const found = await until(
			'fraud',
			'retried',
			(candidate) =>
				candidate.rollout?.step === 2 &&
				candidate.rollout.paused === true &&
				candidate.versions.find((version) => version.track === 'canary')?.weight === 20,
		);
		expect(weights(found)).toBe('v1:stable:80 v2:canary:20');
		await api.waitFor('the route of fraud at 80/20', async () => (await rollouts.weights(namespace, 'fraud')).join() === '80,20', 30_000);
	});

	it('promote fully: status.promoteFull, and the controller makes the canary the stable with all traffic', async () => {
		const lines = await run('fraud', 'promote-full');
		expect(lines).toContain('canary v2: 20% → 100%');
		const found = await until(
			'fraud',
			'healthy on v2',
			(candidate) => candidate.rollout?.phase === 'Healthy' && candidate.versions.length === 1 && candidate.versions[0]!.name === 'v2',
		);
		expect(weights(found)).toBe('v2:stable:100');
		// The controller writes the Rollout's status and its VirtualService one after the other: the route follows.
		await api.waitFor('the VirtualService at 100/0', async () => (await rollouts.weights(namespace, 'fraud')).join() === '100,0', 30_000);
		const rollout = await rollouts.get('Rollout', namespace, 'fraud');
		expect(rollout.status.stableRS).toBe(rollout.status.currentPodHash);
	});

	it('weights out of maxTrafficWeight 1000 (NGINX routing): the controller writes thousandths, the model shows percent summing to 100', async () => {
		// The controller takes maxTrafficWeight only with NGINX and plugin routing (it refuses the Rollout with Istio).
		const objects = rolloutCanary(namespace, 'sorter', {steps: [{setWeight: 155}, {pause: {}}]}).filter(
			(object) => object.kind !== 'VirtualService',
		);
		const rollout = objects.find((object) => object.kind === 'Rollout')!;
		rollout.spec.strategy.canary.trafficRouting = {maxTrafficWeight: 1000, nginx: {stableIngress: 'sorter'}};
		objects.push({
			apiVersion: 'networking.k8s.io/v1',
			kind: 'Ingress',
			metadata: {name: 'sorter', namespace},
			spec: {
				rules: [
					{
						host: 'sorter.example',
						http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name: 'sorter-stable', port: {number: 8080}}}}]},
					},
				],
			},
		});
		for (const object of objects) await rollouts.create(object);
		await until('sorter', 'healthy on v1', (candidate) => candidate.rollout?.phase === 'Healthy' && candidate.versions.length === 1);
		await newVersion('sorter', 'v2');
		// The controller's own write: the canary Ingress it made, weighted out of 1000.
		await api.waitFor(
			'the canary Ingress of sorter at 155 of 1000',
			async () => {
				const annotations = (await rollouts.get('Ingress', namespace, 'sorter-sorter-canary')).metadata.annotations ?? {};
				return (
					annotations['nginx.ingress.kubernetes.io/canary-weight'] === '155' &&
					annotations['nginx.ingress.kubernetes.io/canary-weight-total'] === '1000'
				);
			},
			90_000,
		);
		const found = await until(
			'sorter',
			'paused at step 2/2',
			(candidate) => candidate.rollout?.paused === true && candidate.versions.length === 2,
		);
		expect(found).toMatchObject({routerObject: 'Ingress/sorter', rollout: {step: 2, totalSteps: 2}});
		// 15.5% rounds to 16; the stable is what the canary leaves.
		expect(weights(found)).toBe('v1:stable:84 v2:canary:16');
	});

	it('a failing analysis: the controller measures the metric, fails the AnalysisRun and aborts; the model shows the failing metric', async () => {
		errorRate = 0.3;
		await rollouts.create(errorRateTemplate(namespace, `http://127.0.0.1:${(metricServer.address() as {port: number}).port}/error-rate`));
		for (const object of rolloutCanary(namespace, 'scorer', {
			steps: [{setWeight: 25}, {analysis: {templates: [{templateName: 'error-rate'}]}}, {pause: {}}],
		}))
			await rollouts.create(object);
		await until('scorer', 'healthy on v1', (candidate) => candidate.rollout?.phase === 'Healthy' && candidate.versions.length === 1);
		await newVersion('scorer', 'v2');
		const found = await until('scorer', 'analysis failed', (candidate) => candidate.rollout?.analysis?.phase === 'Failed', 120_000);
		expect(found.rollout?.analysis).toMatchObject({failingMetric: 'error-rate'});
		expect(found.rollout?.analysis?.detail).toContain('last 0.3');
		const aborted = await until('scorer', 'aborted by the analysis', (candidate) => candidate.rollout?.phase === 'Degraded');
		expect(aborted.versions.find((version) => version.track === 'canary')?.weight).toBe(0);
		await api.waitFor('the route of scorer at 100/0', async () => (await rollouts.weights(namespace, 'scorer')).join() === '100,0', 30_000);
	});
});

describe('through the agent, which plans with the same code and checks the caller’s own permission', () => {
	async function all(progress: AsyncIterable<ActionProgress>): Promise<ActionProgress[]> {
		const items: ActionProgress[] = [];
		for await (const item of progress) items.push(item);
		return items;
	}

	it('refuses a direct weight with the controller’s command, and promotes a step through the Rollout’s status for the operator only', async () => {
		for (const object of rolloutCanary(namespace, 'ranker')) await rollouts.create(object);
		await until('ranker', 'healthy on v1', (candidate) => candidate.rollout?.phase === 'Healthy' && candidate.versions.length === 1);
		await newVersion('ranker', 'v2');
		await until(
			'ranker',
			'paused at step 2',
			(candidate) => candidate.rollout?.step === 2 && candidate.rollout.paused === true && candidate.versions.length === 2,
		);

		const admin = new KubeConfig();
		admin.loadFromFile(cluster.kubeconfig);
		admin.setCurrentContext('admin');
		const agentKube = new KubeAgentClient(admin);
		agent = await startAgent({
			reviewer: new KubeAccessReviewer(admin),
			cluster: await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'all'}),
			events: agentKube,
			apiServerReachable: () => agentKube.reachable(),
		});
		const running = agent;
		await api.waitFor('the agent to see ranker', async () => running.core.findModel({namespace, name: 'ranker'}));
		const as = (user: 'operator' | 'viewer') => createAgentClient({url: running.url, token: cluster.tokens[user]});
		const model = {namespace, name: 'ranker'};

		const weight = await all(as('operator').act({kind: 'set-weight', model, canary: 'v2', from: 20, to: 30}));
		expect(weight.at(-1)).toMatchObject({kind: 'failed'});
		expect((weight.at(-1) as {message: string}).message).toMatch(
			/^refused: Argo Rollouts owns VirtualService\/ranker-vs: use kubectl argo rollouts promote ranker -n team-a/,
		);
		await api.waitFor('the route of ranker at 80/20', async () => (await rollouts.weights(namespace, 'ranker')).join() === '80,20', 30_000);

		const viewer = await all(as('viewer').act({kind: 'rollout', model, command: 'promote'}));
		expect(viewer.at(-1)).toMatchObject({kind: 'failed'});
		// Authorised as the plan writes it: the Rollout's status subresource, which the viewer may not patch.
		expect((viewer.at(-1) as {message: string}).message).toMatch(
			/forbidden: viewer may not patch rollouts\/status\.argoproj\.io "ranker" in namespace team-a/,
		);

		const promoted = await all(as('operator').act({kind: 'rollout', model, command: 'promote'}));
		expect(promoted.at(-1)).toMatchObject({kind: 'done'});
		await until('ranker', 'paused at step 4', (candidate) => candidate.rollout?.step === 4 && candidate.rollout.paused === true);
		await api.waitFor('the route of ranker at 50/50', async () => (await rollouts.weights(namespace, 'ranker')).join() === '50,50', 30_000);
	});
});
