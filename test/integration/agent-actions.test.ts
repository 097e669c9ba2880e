// Actions through the agent over real sockets: smoke and load tests against the real model server, traffic
// changes through a ClusterPort, authorisation refusals, the audit trail (stored, streamed), load-test workers run
// as local processes and merged, and the guard rolling back a canary.
import {execFile} from 'node:child_process';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterEach, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {mergeWorkerResults, parseWorkerOutput, toLoadTestResult} from '../../source/agent/actions/load-job.ts';
import type {AccessReviewer, Identity, ResourceAttributes} from '../../source/agent/auth/reviewer.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {AgentOptions, RunningAgent} from '../../source/agent/main.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import {changedVersions, ensurePlanHolds, planTraffic, type ChangePlan, type TrafficAction} from '../../source/domain/plan.ts';
import {ConflictError} from '../../source/domain/ports.ts';
import type {ClusterPort, SourceError} from '../../source/domain/ports.ts';
import type {ActionProgress, LoadTestResult, Model, ModelRef} from '../../source/domain/types.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import {collect, eventually, repoRoot} from './agent-support.ts';

const run = promisify(execFile);

function version(name: string, track: 'stable' | 'canary', weight: number) {
	return {
		name,
		track,
		weight,
		replicasReady: 1,
		replicasDesired: 1,
		restarts: 0,
		image: `img:${name}`,
		created: '',
		object: `Deployment/fraud-${name}`,
		service: `fraud-${name}`,
	};
}

/** A ClusterPort in memory: one model per namespace, and a record of every change. */
class MemoryCluster implements ClusterPort {
	readonly label = 'memory';
	readonly calls: string[] = [];
	conflictNext = false;
	models: Model[] = ['team-a', 'team-b'].map((namespace) => ({
		namespace,
		name: 'fraud',
		router: 'httproute' as const,
		routerObject: 'HTTPRoute/fraud',
		versions: [version('v1', 'stable', 90), version('v2', 'canary', 10)],
	}));
	#listeners = new Set<(models: Model[]) => void>();

	contexts() {
		return [];
	}

	currentContext() {
		return 'memory';
	}

	async switchContext() {}
	async namespaces() {
		return ['team-a', 'team-b'];
	}

	watchModels(_namespace: string | undefined, onChange: (models: Model[]) => void, _onError: (error: SourceError) => void) {
		this.#listeners.add(onChange);
		onChange(this.models);
		return () => this.#listeners.delete(onChange);
	}

	#change(model: ModelRef, call: string, weights: Record<string, number>): void {
		if (this.conflictNext) {
			this.conflictNext = false;
			throw new ConflictError(`the HTTPRoute of ${model.name} changed since it was read`);
		}

		this.calls.push(`${model.namespace}/${model.name}: ${call}`);
		this.models = this.models.map((candidate) =>
			candidate.namespace === model.namespace && candidate.name === model.name
				? {...candidate, versions: candidate.versions.map((entry) => ({...entry, weight: weights[entry.name] ?? entry.weight}))}
				: candidate,
		);
		for (const listener of this.#listeners) listener(this.models);
	}

	async setCanaryWeight(model: ModelRef, canary: string, weight: number) {
		this.#change(model, `weight ${canary}=${weight}`, {[canary]: weight, v1: 100 - weight});
	}

	async promote(model: ModelRef, canary: string) {
		this.#change(model, `promote ${canary}`, {[canary]: 100, v1: 0});
	}

	async rollback(model: ModelRef, canary: string) {
		this.#change(model, `rollback ${canary}`, {[canary]: 0, v1: 100});
	}

	async switchTraffic(model: ModelRef, to: string) {
		this.#change(model, `switch ${to}`, {[to]: 100});
	}

	#model(ref: ModelRef): Model {
		return this.models.find((candidate) => candidate.namespace === ref.namespace && candidate.name === ref.name)!;
	}

	async plan(action: TrafficAction): Promise<ChangePlan> {
		const plan = planTraffic(this.#model(action.model), action);
		return {...plan, writes: changedVersions(plan).length > 0 ? [{object: 'HTTPRoute/fraud', change: 'weights'}] : []};
	}

	async act(action: TrafficAction) {
		ensurePlanHolds(this.#model(action.model), action.expected);
		switch (action.kind) {
			case 'set-weight':
				return this.setCanaryWeight(action.model, action.canary, action.to);
			case 'promote':
				return this.promote(action.model, action.canary);
			case 'rollback':
				return this.rollback(action.model, action.canary);
			case 'switch':
				return this.switchTraffic(action.model, action.to);
		}
	}
}

/** Tokens as a tiny RBAC: viewers read everything, the operator changes team-a only. */
const fakeReviewer: AccessReviewer = {
	async authenticate(token) {
		const users: Record<string, Identity> = {
			'viewer-token': {user: 'viewer', groups: []},
			'operator-token': {user: 'operator', groups: []},
		};
		return users[token];
	},
	async authorize(identity: Identity, attributes: ResourceAttributes) {
		if (attributes.verb === 'list' && attributes.resource === 'pods') return {allowed: true};
		return {allowed: identity.user === 'operator' && attributes.namespace === 'team-a', reason: 'test RBAC'};
	},
};

const agents: RunningAgent[] = [];
const servers: RunningModelServer[] = [];
const unsubscribes: (() => void)[] = [];

afterEach(async () => {
	for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
	for (const agent of agents.splice(0)) await agent.close();
	for (const server of servers.splice(0)) await server.close();
});

async function modelServer(versionName: string, knobs = {}): Promise<RunningModelServer> {
	const server = await startModelServer({model: 'fraud', modelVersion: versionName, port: 0, knobs});
	servers.push(server);
	return server;
}

async function agentWith(
	cluster: MemoryCluster,
	endpoints: Record<string, string>,
	extra: Partial<AgentOptions> = {},
): Promise<RunningAgent> {
	const agent = await startAgent({
		reviewer: fakeReviewer,
		cluster,
		resolveEndpoint: (target) => {
			const url = endpoints[target.version];
			if (!url) throw new Error(`no server for ${target.version}`);
			return url;
		},
		...extra,
	});
	agents.push(agent);
	return agent;
}

async function all(progress: AsyncIterable<ActionProgress>): Promise<ActionProgress[]> {
	const items: ActionProgress[] = [];
	for await (const item of progress) items.push(item);
	return items;
}

const fraud = {namespace: 'team-a', name: 'fraud'};

describe('agent actions', () => {
	it('runs a smoke test against the real model server and reports each check', async () => {
		const healthy = await modelServer('v2');
		const broken = await modelServer('v3', {errorRate: 1});
		const agent = await agentWith(new MemoryCluster(), {v2: healthy.url, v3: broken.url});
		const operator = createAgentClient({url: agent.url, token: 'operator-token'});
		const passed = await all(operator.act({kind: 'smoke-test', target: {...fraud, version: 'v2'}}));
		const checks = passed.flatMap((item) => (item.kind === 'check' ? [item.check] : []));
		expect(checks.map((check) => [check.name, check.ok])).toEqual([
			['server ready', true],
			['model metadata', true],
			['model ready', true],
			['inference answered', true],
			['output probability present', true],
			['output probability datatype', true],
			['output probability shape', true],
			['output probability values', true],
		]);
		expect(passed.at(-1)).toEqual({kind: 'done', message: 'smoke test of v2 passed: 8/8 checks'});

		const failed = await all(operator.act({kind: 'smoke-test', target: {...fraud, version: 'v3'}}));
		expect(failed.find((item) => item.kind === 'check' && item.check.name === 'inference answered')).toMatchObject({
			check: {ok: false, detail: expect.stringMatching(/^HTTP 500/)},
		});
		expect(failed.at(-1)).toMatchObject({kind: 'failed', message: expect.stringMatching(/failed 1 of 4 checks: inference answered/)});
	});

	it('runs a load test of two versions side by side, one per model at a time', async () => {
		const stable = await modelServer('v1');
		const slow = await modelServer('v2', {latencyMs: 20});
		const agent = await agentWith(new MemoryCluster(), {v1: stable.url, v2: slow.url});
		const operator = createAgentClient({url: agent.url, token: 'operator-token'});
		const running = all(
			operator.act({
				kind: 'load-test',
				targets: [
					{...fraud, version: 'v1'},
					{...fraud, version: 'v2'},
				],
				rps: 40,
				durationSeconds: 3,
				warmupSeconds: 1,
			}),
		);
		// A second load test of the same model while the first runs is refused.
		await eventually('the first load test to start', 5000, async () => {
			const second = await fetch(`${agent.url}/v1/actions`, {
				method: 'POST',
				headers: {authorization: 'Bearer operator-token'},
				body: JSON.stringify({kind: 'load-test', targets: [{...fraud, version: 'v1'}], rps: 1, durationSeconds: 1}),
			});
			return second.status === 409 && ((await second.json()) as {error: string}).error;
		}).then((message) => expect(message).toBe('a load test of team-a/fraud is already running; wait for it to finish'));

		const progress = await running;
		const updates = progress.filter((item) => item.kind === 'progress');
		expect(updates.length).toBeGreaterThanOrEqual(3);
		expect(updates.some((item) => item.kind === 'progress' && /v1: \d+\/\d+ answered/.test(item.message))).toBe(true);
		const result = progress.find((item) => item.kind === 'load-result') as {results: LoadTestResult[]} | undefined;
		expect(result?.results.map((entry) => entry.target.version)).toEqual(['v1', 'v2']);
		for (const entry of result!.results) {
			// 40 rps for the 3 measured seconds: the requests whose intended start fell in the window.
			expect(entry.requests).toBeGreaterThanOrEqual(115);
			expect(entry.requests).toBeLessThanOrEqual(125);
			expect(entry.errors).toBe(0);
			expect(entry.p99Ms).toBeGreaterThan(0);
		}

		// The slow version's added 20 ms shows in its latencies.
		expect(result!.results[1]!.p50Ms).toBeGreaterThanOrEqual(20);
		expect(progress.at(-1)).toMatchObject({kind: 'done', message: expect.stringMatching(/^load test finished: v1: .* rps, p50/)});
		// Once it finished the model is free again.
		const again = await all(
			operator.act({kind: 'load-test', targets: [{...fraud, version: 'v1'}], rps: 5, durationSeconds: 1, warmupSeconds: 0}),
		);
		expect(again.at(-1)?.kind).toBe('done');
	});

	it('merges the histograms of load-test workers run as separate processes', async () => {
		const server = await modelServer('v1');
		const body = JSON.stringify({inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4]}]});
		const worker = () =>
			run(
				process.execPath,
				[
					path.join(repoRoot, 'source/agent/run.ts'),
					'loadtest-worker',
					'--url',
					`${server.url}/v2/models/fraud/infer`,
					'--body',
					body,
					'--rps',
					'30',
					'--duration',
					'2',
					'--warmup',
					'0.5',
					'--label',
					'team-a/fraud/v1',
				],
				{cwd: repoRoot},
			);
		const outputs = await Promise.all([worker(), worker()]);
		const results = outputs.map(({stdout}) => parseWorkerOutput(stdout));
		for (const result of results) expect(typeof result).not.toBe('string');
		const parsed = results as Exclude<(typeof results)[number], string>[];
		const merged = mergeWorkerResults(parsed);
		expect(merged.histogram.totalCount).toBe(parsed.reduce((sum, result) => sum + result.requests - result.errors, 0));
		const summary = toLoadTestResult({...fraud, version: 'v1'}, merged);
		expect(summary.requests).toBe(parsed[0]!.requests + parsed[1]!.requests);
		expect(summary.requests).toBeGreaterThanOrEqual(110);
		expect(summary.errors).toBe(0);
		expect(summary.p99Ms).toBeGreaterThanOrEqual(summary.p50Ms);
	});

	it('changes traffic through the ClusterPort, audits it with before and after, and streams the audit', async () => {
		const cluster = new MemoryCluster();
		const agent = await agentWith(cluster, {});
		const operator = createAgentClient({url: agent.url, token: 'operator-token'});
		const watcher = collect(createAgentClient({url: agent.url, token: 'viewer-token'}));
		unsubscribes.push(watcher.unsubscribe);
		await watcher.connected();

		expect((await all(operator.act({kind: 'set-weight', model: fraud, canary: 'v2', from: 10, to: 25}))).at(-1)).toEqual({
			kind: 'done',
			message: 'fraud: v1 90% → 75%, v2 10% → 25%',
		});
		expect((await all(operator.act({kind: 'promote', model: fraud, canary: 'v2', stable: 'v1'}))).at(-1)?.kind).toBe('done');
		cluster.conflictNext = true;
		const conflict = await all(operator.act({kind: 'rollback', model: fraud, canary: 'v2'}));
		expect(conflict.at(-1)).toMatchObject({
			kind: 'failed',
			message: expect.stringMatching(/^conflict: the HTTPRoute of fraud changed since it was read/),
		});
		expect(cluster.calls).toEqual(['team-a/fraud: weight v2=25', 'team-a/fraud: promote v2']);

		const audit = await operator.audit(10);
		expect(audit.map((entry) => [entry.user, entry.action, entry.result])).toEqual([
			['operator', 'rollback v2', 'failed'],
			['operator', 'promote v2', 'ok'],
			['operator', 'set-weight v2 10→25%', 'ok'],
		]);
		// Before and after are the plan's, every version; a failed action's after is what the cluster has once it ended.
		expect(audit[2]).toMatchObject({target: 'team-a/fraud', before: 'v1 90%, v2 10%', after: 'v1 75%, v2 25%'});
		expect(audit[1]).toMatchObject({before: 'v1 75%, v2 25%', after: 'v1 0%, v2 100%'});
		expect(audit[0]).toMatchObject({before: 'v1 0%, v2 100%', after: 'v1 0%, v2 100%'});
		const streamed = await eventually('three audit events', 5000, () => {
			const entries = watcher.events.flatMap((event) => (event.type === 'audit' ? [event.entry] : []));
			return entries.length >= 3 && entries;
		});
		expect(streamed.map((entry) => entry.action)).toEqual(['set-weight v2 10→25%', 'promote v2', 'rollback v2']);
	});

	it('refuses unauthenticated and unauthorised callers, and audits the refusals', async () => {
		const cluster = new MemoryCluster();
		const agent = await agentWith(cluster, {});
		const noToken = await fetch(`${agent.url}/v1/predictions?requestId=x`);
		expect(noToken.status).toBe(401);
		expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
		expect(((await noToken.json()) as {error: string}).error).toMatch(/missing bearer token/);
		expect((await fetch(`${agent.url}/v1/audit`, {headers: {authorization: 'Bearer wrong'}})).status).toBe(401);

		const viewer = createAgentClient({url: agent.url, token: 'viewer-token'});
		const refused = await all(viewer.act({kind: 'set-weight', model: fraud, canary: 'v2', from: 10, to: 50}));
		expect(refused).toEqual([
			{
				kind: 'failed',
				message:
					'the agent refused: 403: forbidden: viewer may not patch httproutes.gateway.networking.k8s.io "fraud" in namespace team-a (test RBAC)',
			},
		]);
		const operator = createAgentClient({url: agent.url, token: 'operator-token'});
		expect((await all(operator.act({kind: 'rollback', model: {namespace: 'team-b', name: 'fraud'}, canary: 'v2'}))).at(-1)).toMatchObject({
			kind: 'failed',
			message: expect.stringMatching(/403: forbidden: operator may not patch/),
		});
		expect((await all(operator.act({kind: 'rollback', model: {namespace: 'team-a', name: 'nope'}, canary: 'v2'}))).at(-1)).toMatchObject({
			kind: 'failed',
			message: expect.stringMatching(/404: model team-a\/nope was not found/),
		});
		expect(cluster.calls).toEqual([]);
		const audit = await viewer.audit(10);
		expect(audit.map((entry) => [entry.user, entry.result])).toEqual([
			['operator', 'refused'],
			['operator', 'refused'],
			['viewer', 'refused'],
		]);

		// Over the socket too: a viewer may subscribe but its act is refused.
		const ws = new WebSocket(`${agent.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {
			headers: {authorization: 'Bearer viewer-token'},
		});
		const messages: {type: string; id?: string; message?: string; server?: {user?: string}}[] = [];
		ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as (typeof messages)[number]));
		await new Promise((resolve) => ws.once('open', resolve));
		ws.send(JSON.stringify({type: 'act', id: 'a1', action: {kind: 'promote', model: fraud, canary: 'v2', stable: 'v1'}}));
		const error = await eventually('the refusal', 5000, () => messages.find((message) => message.type === 'error'));
		expect(error).toMatchObject({id: 'a1', message: expect.stringMatching(/^forbidden: viewer may not patch/)});
		expect(messages[0]).toMatchObject({type: 'hello', server: {user: 'viewer'}});
		ws.close();
		const unauthenticated = await new Promise<number>((resolve) => {
			const anonymous = new WebSocket(`${agent.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1']);
			anonymous.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
			anonymous.on('error', () => undefined);
		});
		expect(unauthenticated).toBe(401);
	});

	it('plans every traffic change: a no-op is refused, a model changed since the plan is a conflict, nothing written', async () => {
		const cluster = new MemoryCluster();
		const agent = await agentWith(cluster, {});
		const operator = createAgentClient({url: agent.url, token: 'operator-token'});
		const noop = await all(operator.act({kind: 'set-weight', model: fraud, canary: 'v2', from: 10, to: 10}));
		expect(noop.at(-1)).toEqual({kind: 'failed', message: 'refused: nothing to change: fraud is already there (v1 90%, v2 10%)'});
		// Sent with the weights of a plan the operator confirmed earlier (v2 at 20%), which no longer hold.
		const stale = await all(operator.act({kind: 'set-weight', model: fraud, canary: 'v2', from: 20, to: 30, expected: {v1: 80, v2: 20}}));
		expect(stale.at(-1)).toMatchObject({
			kind: 'failed',
			message: expect.stringMatching(
				/^conflict: fraud changed since the plan was confirmed: v1 is at 90% now, not 80%, v2 is at 10% now, not 20%/,
			),
		});
		expect(cluster.calls).toEqual([]);
		const audit = await operator.audit(5);
		expect(audit.map((entry) => [entry.action, entry.result])).toEqual([
			['set-weight v2 20→30%', 'failed'],
			['set-weight v2 10→10%', 'refused'],
		]);
	});

	it('runs actions over the socket with their progress tagged', async () => {
		const agent = await agentWith(new MemoryCluster(), {});
		const ws = new WebSocket(`${agent.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {
			headers: {'x-modeldeck-token': 'operator-token'},
		});
		const messages: {type: string; id?: string; progress?: ActionProgress}[] = [];
		ws.on('message', (data) => {
			const parsed = JSON.parse(data.toString()) as unknown;
			messages.push(...((Array.isArray(parsed) ? parsed : [parsed]) as (typeof messages)[number][]));
		});
		await new Promise((resolve) => ws.once('open', resolve));
		ws.send(JSON.stringify({type: 'act', id: 'w1', action: {kind: 'switch', model: fraud, from: 'v1', to: 'v2'}}));
		const done = await eventually('the action to finish', 5000, () =>
			messages.find((message) => message.type === 'action-progress' && message.progress?.kind === 'done'),
		);
		expect(done).toMatchObject({id: 'w1', progress: {message: 'fraud: v1 90% → 0%, v2 10% → 100%'}});
		ws.send('not json');
		ws.send(JSON.stringify({type: 'act', id: 'w2', action: {kind: 'set-weight'}}));
		await eventually('two errors', 5000, () => messages.filter((message) => message.type === 'error').length >= 2);
		expect(messages.filter((message) => message.type === 'error').map((message) => (message as {message?: string}).message)).toEqual([
			expect.stringMatching(/^bad message/),
			'model must be an object {namespace, name}',
		]);
		ws.close();
	});

	it('guards a canary: after N failing verdicts it rolls back, audits as modeldeck-guard, alerts and tells consoles', async () => {
		const cluster = new MemoryCluster();
		cluster.models = cluster.models.map((model) => ({
			...model,
			annotations: {'modeldeck.dev/guard': 'true', 'modeldeck.dev/guard-failures': '2', 'modeldeck.dev/guard-interval': '1s'},
		}));
		const alerts: unknown[] = [];
		const alertServer = await startModelServer({port: 0});
		servers.push(alertServer);
		const agent = await agentWith(
			cluster,
			{},
			{
				metrics: {
					label: 'fake',
					sample: async () => new Map(),
					history: async (targets) =>
						new Map(
							targets.map((target) => [
								`${target.namespace}/${target.name}/${target.version}`,
								{p99Ms: [{time: Date.now(), value: target.version === 'v2' ? 900 : 100}]},
							]),
						),
					explain: () => '',
				},
				judge: {
					judge: (canary) => ({
						result: (canary?.p99Ms?.[0]?.value ?? 0) > 500 ? 'fail' : 'pass',
						score: 0,
						windowSeconds: 300,
						metrics: [],
						summary: 'fail: p99 9× stable',
					}),
				},
				guard: {enabled: true, tickMs: 100},
				alertWebhook: 'http://alerts.invalid/api/v2/alerts',
				fetch: async (input, init) => {
					alerts.push({url: String(input), body: JSON.parse(String(init?.body))});
					return new Response('{}', {status: 200});
				},
			},
		);
		const watcher = collect(createAgentClient({url: agent.url, token: 'viewer-token'}), {namespace: 'team-a'});
		unsubscribes.push(watcher.unsubscribe);
		await watcher.connected();
		const rolledBack = await eventually('the guard to roll back', 10_000, () =>
			watcher.events.find((event) => event.type === 'guard' && event.rolledBack),
		);
		expect(rolledBack).toMatchObject({
			model: fraud,
			verdict: 'fail',
			message: expect.stringMatching(/^guard rolled back v2: 2 failing verdicts in a row/),
		});
		expect(cluster.calls).toContain('team-a/fraud: rollback v2');
		const audit = await createAgentClient({url: agent.url, token: 'viewer-token', namespace: 'team-a'}).audit(5);
		// Planned and audited from the plan, as people's changes are.
		expect(audit[0]).toMatchObject({
			user: 'modeldeck-guard',
			action: 'rollback v2',
			result: 'ok',
			target: 'team-a/fraud',
			after: 'v1 100%, v2 0%',
		});
		expect(audit[0]!.message).toMatch(/^guard: fraud: v1 \d+% → 100%, v2 \d+% → 0%; reason: 2 failing verdicts in a row/);
		await eventually('the alert', 5000, () => alerts.length > 0);
		expect(alerts[0]).toMatchObject({
			url: 'http://alerts.invalid/api/v2/alerts',
			body: [{labels: {alertname: 'ModeldeckCanaryRolledBack', namespace: 'team-a', model: 'fraud', canary: 'v2'}}],
		});
		const metrics = await (await fetch(`${agent.url}/metrics`)).text();
		expect(metrics).toMatch(/modeldeck_agent_guard_rollbacks_total\{namespace="team-a",model="fraud",dry_run="false"\} 1/);
		expect(metrics).toMatch(/modeldeck_agent_action_duration_seconds_count\{kind="rollback",result="ok"\} [1-9]/);
	});

	it('is ready when its store is open, and says why not', async () => {
		let reachable = true;
		const agent = await agentWith(
			new MemoryCluster(),
			{},
			{apiServerReachable: async () => ({ok: reachable, message: reachable ? 'API server v1.34' : 'API server unreachable: ECONNREFUSED'})},
		);
		expect((await fetch(`${agent.url}/readyz`)).status).toBe(200);
		reachable = false;
		const notReady = await fetch(`${agent.url}/readyz`);
		expect(notReady.status).toBe(503);
		expect(await notReady.json()).toEqual({ok: false, message: 'API server unreachable: ECONNREFUSED'});
		expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
	});
});
