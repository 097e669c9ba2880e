// Progressive delivery run by the agent, end to end: the real control plane holds the model (Deployment fraud-v1 behind
// an HTTPRoute); real model servers per version answer paced load and a real Prometheus scrapes them, so the judge
// (the guard's verdict with the model's own p99 threshold from its annotation) sees per-version figures. A `deliver`
// action over the agent's HTTP API starts the rollout of v2; the agent is stopped in the middle of it and a new agent
// (same audit store) resumes it from the route's annotation and promotes it. Then v3, whose model server is made slow
// with its latency knob, is rolled back on the judge's verdict. Both leave an audit trail, one record per step.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {startAgent, type RunningAgent} from '../../source/agent/main.ts';
import {deliveryAnnotation, type DeliveryState} from '../../source/domain/delivery.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import type {ActionProgress} from '../../source/domain/types.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {startModelServerProcess, type ModelServerProcess} from '../support/model-server-process.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';

const namespace = 'team-a';
const model = {namespace, name: 'fraud'};
let cluster: Cluster | undefined;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let load: PacedLoad | undefined;
let agent: RunningAgent | undefined;
let api: TestApi;
let admin: KubeConfig;
let storeDirectory = '';
const servers = new Map<string, ModelServerProcess>();

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	admin = new KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	const route = httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]) as {
		metadata: {annotations: Record<string, string>};
	};
	// The model's own thresholds, read by the judge as the guard reads them: v3's ~600 ms p99 crosses 400 ms; a
	// canary margin of 300% keeps the noise of two equal servers from failing v2.
	route.metadata.annotations['modeldeck.dev/guard-thresholds'] = '{"p99LatencyMs": 400, "canaryMargin": 3}';
	await api.createAll([deployment({namespace, model: 'fraud', version: 'v1'}), service(namespace, 'fraud-v1', 'fraud', 'v1'), route]);
	await api.waitForRollouts(namespace);

	// Each version's server in a process of its own, answering in 30 ms (p99 well inside one histogram bucket, 25-50 ms,
	// so that a few late answers do not move it); v3 regresses: 600 ms.
	for (const version of ['v1', 'v2', 'v3']) {
		servers.set(version, await startModelServerProcess({model: 'fraud', version, namespace, latencyMs: version === 'v3' ? 600 : 30}));
	}

	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: [...servers].map(([version, server]) => ({
			job: `fraud-${version}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace},
		})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: 3});
	load = startPacedLoad({urls: [...servers.values()].map((server) => server.url), model: 'fraud', rate: 20, limitMs: 170_000});
	storeDirectory = mkdtempSync(path.join(tmpdir(), 'modeldeck-delivery-'));
}, 300_000);

afterAll(async () => {
	await load?.stop();
	await agent?.close();
	await prometheus?.stop();
	for (const server of servers.values()) await server.close();
	await cluster?.stop();
	if (storeDirectory) rmSync(storeDirectory, {recursive: true, force: true});
});

/** An agent that has seen the model (its watch has caught up): an action is authorised against what it sees. */
async function startDeliveryAgent(): Promise<RunningAgent> {
	const started = await startAgent({
		dbPath: path.join(storeDirectory, 'agent.db'),
		reviewer: new KubeAccessReviewer(admin),
		cluster: await createKubeCluster({kubeconfigPath: cluster!.kubeconfig, context: 'admin', namespace: 'all'}),
		events: new KubeAgentClient(admin),
		metrics: createPrometheusMetrics({url: prometheus!.url, scrapeIntervalSeconds: 1}),
		judge: new MannWhitneyJudge(),
		// The versions' servers run on this machine, not behind their Services.
		resolveEndpoint: (target) => servers.get(target.version)?.url ?? 'http://127.0.0.1:9',
	});
	await until('the agent to see the model', 30_000, async () => started.core.findModel(model));
	return started;
}

async function act(action: Parameters<ReturnType<typeof createAgentClient>['act']>[0]): Promise<ActionProgress[]> {
	const progress: ActionProgress[] = [];
	for await (const step of createAgentClient({url: agent!.url, token: cluster!.tokens.admin}).act(action)) progress.push(step);
	return progress;
}

/** Polls CHECK every 300 ms (not faster: the servers the judge measures share this process). */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check().catch(() => undefined);
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

const spec = (version: string) => ({
	image: `registry.example/fraud:${version}`,
	version,
	steps: [50, 100],
	pauseSeconds: 20,
	maxHolds: 3,
	readyTimeoutSeconds: 60,
});

describe('progressive delivery by the agent', () => {
	it('rolls a new version out step by step and promotes it, continuing across an agent restart', async () => {
		agent = await startDeliveryAgent();
		const started = await act({kind: 'deliver', model, spec: {...spec('v2'), model, requestedBy: 'pipeline'}});
		expect(started.at(-1)).toMatchObject({kind: 'done', message: expect.stringMatching(/^rollout team-a\/fraud@\d+ started: v2/)});
		// A second rollout of the same model is refused while the first runs.
		const second = await act({kind: 'deliver', model, spec: {...spec('v9'), model, requestedBy: ''}});
		expect(second.at(-1)).toMatchObject({kind: 'failed', message: expect.stringMatching(/already has a rollout in progress/)});

		await until('the first step at 50%', 60_000, async () => (await weights())['fraud-v2'] === 50);
		await agent.close();
		const stopped = await delivery();
		expect(stopped).toMatchObject({phase: 'stepping', weight: 50});

		agent = await startDeliveryAgent();
		const final = await until('the promotion', 150_000, async () => {
			const state = await delivery();
			return state && (state.phase === 'promoted' || state.phase === 'rolled-back' || state.phase === 'failed') && state;
		});
		// The events say why when it did not promote.
		expect({phase: final.phase, weight: final.weight, events: final.phase === 'promoted' ? [] : final.events}).toEqual({
			phase: 'promoted',
			weight: 100,
			events: [],
		});
		expect(await weights()).toEqual({'fraud-v1': 0, 'fraud-v2': 100});

		// One audit record per step, across both agents (they share the store), newest first.
		const audit = (await createAgentClient({url: agent.url, token: cluster!.tokens.admin, namespace}).audit(50)).reverse();
		const trail = audit.filter((entry) => entry.action.startsWith('rollout ')).map((entry) => entry.action);
		expect(trail[0]).toBe('rollout start');
		expect(trail).toContain('rollout judgement');
		// 50%, then the promotion (the step of 100% is the promotion itself).
		expect(trail.filter((action) => action === 'rollout weight')).toHaveLength(1);
		expect(trail.at(-1)).toBe('rollout promote');
		const start = audit.find((entry) => entry.action === 'rollout start')!;
		expect(start.user).toBe('admin (pipeline)');
		expect(start.message).toMatch(/writes Deployment\/fraud-v2: created from fraud-v1 with image registry.example\/fraud:v2/);
		expect(audit.find((entry) => entry.action.startsWith('deliver v2'))).toMatchObject({result: 'ok'});
	});

	it('rolls a slow new version back on the judge`s verdict and says why', async () => {
		const started = await act({kind: 'deliver', model, spec: {...spec('v3'), model, requestedBy: ''}});
		expect(started.at(-1)?.kind).toBe('done');
		const final = await until('the rollback', 150_000, async () => {
			const state = await delivery();
			return (
				state &&
				state.spec.version === 'v3' &&
				(state.phase === 'promoted' || state.phase === 'rolled-back' || state.phase === 'failed') &&
				state
			);
		});
		expect(final).toMatchObject({phase: 'rolled-back', reason: expect.stringMatching(/^judged fail at 50%: fail: .*p99 \d+ ms > 400 ms/)});
		expect(await weights()).toEqual({'fraud-v1': 0, 'fraud-v2': 100, 'fraud-v3': 0});
		// Kept for inspection, with no pods.
		expect((await api.get('Deployment', namespace, 'fraud-v3')).spec.replicas).toBe(0);
		const audit = await createAgentClient({url: agent!.url, token: cluster!.tokens.admin, namespace}).audit(20);
		const rollback = audit.find((entry) => entry.action === 'rollout rollback');
		expect(rollback?.message).toMatch(/judged fail at 50%/);
		expect(audit.find((entry) => entry.action === 'rollout judgement' && /p99/.test(entry.message))).toBeDefined();
	});
});
