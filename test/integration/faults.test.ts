/**
 * Faults tell the truth: the console's real sources (the API server of the harness, a real Prometheus, the agent
 * over WebSocket), each behind a fault-injecting TCP proxy, feed the real controller and store; the health the header
 * renders (state and age) is checked against the proxies' schedule:
 *
 * - ok while the proxies pass (and never ok while they hold everything);
 * - stale within one refresh interval plus the request timeout after a refuse or a freeze, its age counted from the
 *   last healthy moment (not from the last list) and "last data kept" only with data;
 * - ok again within two refresh intervals after the proxies pass again, the weight on screen the current one;
 * - a Prometheus never reachable is down, never "stale (last data kept)".
 *
 * Timing: refresh 1 s, request timeouts 2 s; the bounds get SLACK_MS on top, for a loaded 2-core machine. The
 * schedule's bounds are what the issue promises; the slack keeps them from being a speed test.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {type RunningPrometheus, startPrometheus} from '../../harness/prometheus.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {createConsole} from '../../source/app.tsx';
import type {SourceName, Sources} from '../../source/domain/ports.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import type {AppState, SourceHealth} from '../../source/state/state.ts';
import {healthLabel} from '../../source/ui/Header.tsx';
import {fullTheme} from '../../source/ui/theme.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {type FaultMode, type FaultProxy, startFaultProxy} from '../support/fault-proxy.ts';

const REFRESH_MS = 1000;
const TIMEOUT_MS = 2000;
/** The agent is asked every refresh and given up on after this long without an answer. */
const AGENT_DEAD_MS = 3000;
const SLACK_MS = 12_000;
const SOURCES: SourceName[] = ['cluster', 'metrics', 'agent'];

let cluster: Cluster;
let api: TestApi;
let prometheus: RunningPrometheus;
let agent: RunningAgent;
let directory: string;
const proxies = {} as Record<SourceName, FaultProxy>;
const stops: Array<() => void | Promise<void>> = [];

/** One look at the store, as the header would render it. */
interface Look {
	at: number;
	health: Record<SourceName, SourceHealth>;
	labels: Record<SourceName, string>;
	weights: string | undefined;
}

function weightsOf(state: AppState): string | undefined {
	const model = state.models.find((candidate) => candidate.namespace === 'team-a' && candidate.name === 'fraud');
	return model?.versions
		.map((version) => `${version.name} ${version.weight}`)
		.sort()
		.join(', ');
}

/** Samples the store every 50 ms: the timeline the assertions read. */
function watchHealth(getState: () => AppState) {
	const looks: Look[] = [];
	const look = (): Look => {
		const state = getState();
		const at = Date.now();
		return {
			at,
			health: state.health,
			labels: Object.fromEntries(SOURCES.map((source) => [source, healthLabel(state.health[source], at)])) as Record<SourceName, string>,
			weights: weightsOf(state),
		};
	};

	const timer = setInterval(() => looks.push(look()), 50);
	stops.push(() => clearInterval(timer));
	return {
		looks,
		since: (time: number) => looks.filter((entry) => entry.at >= time),
		/** The first look at or after `from` that satisfies `predicate`, waiting up to `withinMs` after `from`. */
		async first(what: string, from: number, withinMs: number, predicate: (entry: Look) => boolean): Promise<Look> {
			for (;;) {
				const found = looks.find((entry) => entry.at >= from && predicate(entry));
				if (found) return found;
				if (Date.now() > from + withinMs) {
					const recent = looks
						.slice(-3)
						.map((entry) => JSON.stringify({labels: entry.labels, messages: SOURCES.map((source) => entry.health[source].message)}));
					throw new Error(`not within ${withinMs} ms: ${what}; last looks: ${recent.join(' | ')}`);
				}

				await sleep(50);
			}
		},
	};
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function setAll(mode: FaultMode): Promise<number> {
	await Promise.all(SOURCES.map((source) => proxies[source].set(mode)));
	return Date.now();
}

function proxiedKubeconfig(file: string, port: number): string {
	const text = readFileSync(file, 'utf8').replaceAll(cluster.server, `https://127.0.0.1:${port}`);
	if (!text.includes(`127.0.0.1:${port}`)) throw new Error(`the kubeconfig does not name ${cluster.server}`);
	const proxied = path.join(directory, 'kubeconfig-proxied');
	writeFileSync(proxied, text);
	return proxied;
}

beforeAll(async () => {
	directory = mkdtempSync(path.join(tmpdir(), 'faults-'));
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	prometheus = await startPrometheus();
	agent = await startAgent({noAuth: true});
	proxies.cluster = await startFaultProxy({port: Number(new URL(cluster.server).port)});
	proxies.metrics = await startFaultProxy({port: prometheus.port});
	proxies.agent = await startFaultProxy({port: Number(new URL(agent.url).port)});
});

afterAll(async () => {
	for (const stop of stops.splice(0).reverse()) await stop();
	for (const proxy of Object.values(proxies)) await proxy?.close();
	await agent?.close();
	await prometheus?.stop();
	await cluster?.stop();
	if (directory) rmSync(directory, {recursive: true, force: true});
});

async function startConsole(sources: Omit<Sources, 'demo'>) {
	const handle = createConsole({
		sources: {...sources, demo: false},
		theme: fullTheme,
		readOnly: false,
		namespace: 'team-a',
		refreshSeconds: REFRESH_MS / 1000,
		weightStep: 10,
		thresholds: {},
		keyOverrides: {},
	});
	handle.controller.start();
	stops.push(() => handle.controller.stop());
	return {handle, timeline: watchHealth(handle.store.getState)};
}

describe('the fault proxy', () => {
	it('does what each mode says: pass, refuse, freeze (held, then delivered), slow, reset', async () => {
		const {createServer} = await import('node:http');
		const server = createServer((_request, response) => response.end('hello')).listen(0, '127.0.0.1');
		await new Promise((resolve) => server.once('listening', resolve));
		stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
		const proxy = await startFaultProxy({port: (server.address() as {port: number}).port});
		stops.push(() => proxy.close());
		// A new connection each time (no keep-alive pool), so that each request meets the current mode.
		const get = (timeoutMs: number) =>
			fetch(proxy.url, {signal: AbortSignal.timeout(timeoutMs), headers: {connection: 'close'}}).then(
				async (response) => `answered ${await response.text()}`,
				(error: Error & {cause?: {code?: string}}) => `failed ${error.name} ${error.cause?.code ?? ''}`.trim(),
			);

		expect(await get(5000)).toBe('answered hello');
		await proxy.set('refuse');
		expect(await get(5000)).toBe('failed TypeError ECONNREFUSED');
		await proxy.set('refuse', {refuse: 'reset'});
		expect(await get(5000)).toBe('failed TypeError ECONNRESET');
		await proxy.set('freeze');
		expect(await get(500)).toBe('failed TimeoutError');
		const held = get(10_000);
		await sleep(300);
		expect(proxy.connections()).toBeGreaterThan(0);
		await proxy.set('pass');
		expect(await held).toBe('answered hello');
		// Slow: each chunk held back 1.5 s — not answered in 0.5 s, answered in the end.
		await proxy.set('slow', {delayMs: 1500});
		expect(await get(500)).toBe('failed TimeoutError');
		expect(await get(20_000)).toBe('answered hello');
		await proxy.set('pass');
		const slowBody = createServer((_request, response) => {
			response.write('first ');
			setTimeout(() => response.end('never'), 5000);
		}).listen(0, '127.0.0.1');
		await new Promise((resolve) => slowBody.once('listening', resolve));
		stops.push(() => new Promise<void>((resolve) => slowBody.close(() => resolve())));
		const resetProxy = await startFaultProxy({port: (slowBody.address() as {port: number}).port});
		stops.push(() => resetProxy.close());
		const response = await fetch(resetProxy.url);
		const reader = response.body!.getReader();
		await reader.read();
		await resetProxy.set('reset');
		await expect(reader.read()).rejects.toThrow();
	});
});

describe('the header against a fault schedule', () => {
	it('is ok while the proxies pass, stale within refresh + timeout after a cut or a freeze, and ok again within two refreshes', async () => {
		const {timeline} = await startConsole({
			cluster: await createKubeCluster({
				kubeconfigPath: proxiedKubeconfig(cluster.kubeconfig, proxies.cluster.port),
				namespace: 'team-a',
				health: {heartbeatMs: REFRESH_MS, requestTimeoutMs: TIMEOUT_MS, watchTimeoutSeconds: 10},
			}),
			metrics: createPrometheusMetrics({url: proxies.metrics.url, timeoutMs: TIMEOUT_MS}),
			agent: createAgentClient({url: proxies.agent.url, heartbeatMs: REFRESH_MS, deadAfterMs: AGENT_DEAD_MS}),
		});
		const allOk = (entry: Look) => SOURCES.every((source) => entry.health[source].status === 'ok');
		const started = Date.now();
		await timeline.first('every source ok at the start', started, 60_000, (entry) => allOk(entry) && entry.weights === 'v1 80, v2 20');

		// Passing, and nothing changes in the cluster: ok throughout (no false stale), the data marked as on screen.
		const quietFrom = Date.now();
		await sleep(6000);
		const quiet = timeline.since(quietFrom);
		expect(quiet.length).toBeGreaterThan(50);
		expect(quiet.filter((entry) => !allOk(entry)).map((entry) => entry.labels)).toEqual([]);
		for (const source of SOURCES) expect(quiet.at(-1)!.health[source].hasData, source).toBe(true);

		// Refused: each source stale within refresh + timeout, its age counted from its last healthy moment — which was
		// at most a refresh (plus the agent's heartbeat wait) before the cut, not the first list 6 s earlier.
		const cut = await setAll('refuse');
		for (const source of SOURCES) {
			const bound = (source === 'agent' ? AGENT_DEAD_MS : REFRESH_MS + TIMEOUT_MS) + SLACK_MS;
			const stale = await timeline.first(`${source} stale after the cut`, cut, bound, (entry) => entry.health[source].status !== 'ok');
			expect(stale.health[source].status, source).toBe('stale');
			expect(stale.health[source].hasData, source).toBe(true);
			expect(stale.health[source].lastOk!, `${source}: the age counts from the last healthy moment`).toBeGreaterThanOrEqual(
				cut - REFRESH_MS - SLACK_MS / 4,
			);
			// What the header prints: the age is the time since that moment, never more than the outage plus a refresh.
			const age = Number(/^stale (\d+)s$/.exec(stale.labels[source])?.[1]);
			expect(age, `${source}: ${stale.labels[source]}`).toBeLessThanOrEqual(
				Math.ceil((stale.at - cut + REFRESH_MS) / 1000) + SLACK_MS / 4000,
			);
		}

		const restored = await setAll('pass');
		await timeline.first('every source ok within two refreshes of the restore', restored, 2 * REFRESH_MS + SLACK_MS, allOk);

		// Frozen: accepted, never answered — no error comes by itself. Meanwhile the weight changes (straight at the
		// API server): the header must not go on saying ok with the old weight.
		const frozen = await setAll('freeze');
		for (const source of SOURCES) {
			const bound = (source === 'agent' ? AGENT_DEAD_MS : REFRESH_MS + TIMEOUT_MS) + SLACK_MS;
			const stale = await timeline.first(
				`${source} stale after the freeze`,
				frozen,
				bound,
				(entry) => entry.health[source].status !== 'ok',
			);
			expect(stale.health[source].status, source).toBe('stale');
			expect(stale.health[source].lastOk!, source).toBeGreaterThanOrEqual(frozen - REFRESH_MS - SLACK_MS / 4);
		}

		await api.patch(
			'HTTPRoute',
			'team-a',
			'fraud',
			[
				{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 55},
				{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 45},
			],
			'json',
		);
		// Held well past the watches' own deadline (10 s + the timeout): they give up and wait in new, held requests.
		await sleep(14_000);
		const heldFrom = frozen + REFRESH_MS + TIMEOUT_MS + SLACK_MS;
		const whileFrozen = timeline.since(Math.min(heldFrom, Date.now() - 1000));
		expect(
			whileFrozen.filter((entry) => SOURCES.some((source) => entry.health[source].status === 'ok')).map((entry) => entry.labels),
		).toEqual([]);
		expect(whileFrozen.at(-1)!.weights).toBe('v1 80, v2 20');

		const thawed = await setAll('pass');
		const back = await timeline.first(
			'every source ok again after the freeze, with the new weight',
			thawed,
			2 * REFRESH_MS + SLACK_MS,
			(entry) => allOk(entry) && entry.weights === 'v1 55, v2 45',
		);
		expect(back.labels).toEqual({cluster: 'ok', metrics: 'ok', agent: 'ok'});

		// Reset: live connections cut, new ones pass — the sources reconnect and are ok again.
		const reset = await setAll('reset');
		await sleep(REFRESH_MS);
		await timeline.first('every source ok after a reset', reset + REFRESH_MS, 2 * REFRESH_MS + SLACK_MS, allOk);
	});

	it('says a Prometheus that was never reachable is down, never "stale (last data kept)"', async () => {
		const unreachable = await startFaultProxy({port: prometheus.port});
		stops.push(() => unreachable.close());
		await unreachable.set('refuse');
		const {timeline} = await startConsole({
			cluster: await createKubeCluster({
				kubeconfigPath: cluster.kubeconfig,
				namespace: 'team-a',
				health: {heartbeatMs: REFRESH_MS, requestTimeoutMs: TIMEOUT_MS},
			}),
			metrics: createPrometheusMetrics({url: unreachable.url, timeoutMs: TIMEOUT_MS}),
		});
		const started = Date.now();
		const down = await timeline.first('Prometheus down', started, 30_000, (entry) => entry.health.metrics.status === 'down');
		expect(down.health.metrics.message).toMatch(/Cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
		// Several refreshes later it is still down: the models are there, the figures never were.
		await sleep(5 * REFRESH_MS);
		const after = timeline.since(down.at);
		expect(after.filter((entry) => entry.health.metrics.status !== 'down').map((entry) => entry.labels.metrics)).toEqual([]);
		expect(after.at(-1)!.health.metrics.hasData).toBeUndefined();
		// Nor was it ever ok: a refresh before the models arrived asked Prometheus nothing.
		expect(
			timeline
				.since(started)
				.filter((entry) => entry.health.metrics.status === 'ok')
				.map((entry) => entry.at - started),
		).toEqual([]);
		expect(after.at(-1)!.weights).toBeDefined();
	});
});
