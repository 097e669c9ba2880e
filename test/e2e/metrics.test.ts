/**
 * The console against a real Prometheus: the local control plane holds model `fraud` (stable v1 80%, canary v2 20%);
 * two real model servers labelled as those versions are scraped by a real Prometheus every second; the canary is
 * made slow through its knob. The built console in a pty shows the figures Prometheus has, flags the canary, and
 * its judge fails it — with the query behind each figure one key away.
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {Worker} from 'node:worker_threads';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {type RunningPrometheus, startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/server.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {PtyTerminal} from '../support/terminal.ts';

let cluster: Cluster;
let prometheus: RunningPrometheus;
const servers: RunningModelServer[] = [];
let load: Worker | undefined;
let terminal: PtyTerminal | undefined;

// Requests to every server, paced against the clock, in a worker so the servers' event loop stays free.
const LOAD_WORKER = `
const {workerData} = require('node:worker_threads');
const body = JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]});
const started = Date.now();
let ticks = 0;
const tick = () => {
	for (const url of workerData.urls) fetch(url + '/v2/models/fraud/infer', {method: 'POST', body, headers: {'content-type': 'application/json'}}).then((r) => r.arrayBuffer()).catch(() => {});
	ticks++;
	setTimeout(tick, Math.max(0, started + (ticks * 1000) / workerData.rate - Date.now()));
};
tick();
`;

beforeAll(async () => {
	cluster = await startCluster();
	const api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	for (const version of ['v1', 'v2']) {
		servers.push(await startModelServer({model: 'fraud', modelVersion: version, port: 0, knobs: {latencyMs: 5}}));
	}

	servers[1]!.setKnobs({latencyMs: 250});
	prometheus = await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: servers.map((server, index) => ({
			job: `fraud-v${index + 1}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace: 'team-a'},
		})),
	});
	await waitForTargets(prometheus.url, {targets: 2});
	load = new Worker(LOAD_WORKER, {eval: true, workerData: {urls: servers.map((server) => server.url), rate: 20}});
});

afterAll(async () => {
	terminal?.kill();
	await load?.terminate();
	await prometheus?.stop();
	for (const server of servers) await server.close();
	await cluster?.stop();
});

it('shows the figures from Prometheus, flags the slow canary and its judge fails it', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		[
			path.resolve('dist/cli.js'),
			'--kubeconfig',
			cluster.kubeconfig,
			'--context',
			'admin',
			'-n',
			'team-a',
			'--prometheus',
			prometheus.url,
			'--refresh',
			'1',
		],
		{cols: 140, rows: 40, env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))}},
	);
	// The canary's p99 (about 250 ms) and a critical canary flag; stable's p99 stays small. The canary takes a couple of
	// requests a second, a small sample: its p99 many times stable's is critical once that has held for a minute.
	let screen = await terminal.waitFor((text) => /v2\s+canary.*\s(2\d\d|3\d\d)\s.*✖ canary/.test(text), 150_000);
	const stableRow = screen.split('\n').find((line) => /v1\s+stable/.test(line))!;
	const canaryRow = screen.split('\n').find((line) => /v2\s+canary/.test(line))!;
	expect(screen).toContain('prom:ok');
	expect(canaryRow).toMatch(/✖/);
	expect(stableRow).not.toMatch(/✖/);

	// The model view: the query behind the figures, then the judge's verdict once it has enough history.
	terminal.press('enter');
	await terminal.waitFor('CANARY v2');
	terminal.press('x');
	screen = await terminal.waitFor('histogram_quantile');
	expect(screen).toContain('modeldeck_inference_request_duration_seconds');
	terminal.press('esc');
	screen = await terminal.waitFor(/verdict: fail/, 150_000);
	expect(screen).toMatch(/p99 latency: canary \+\d+%/);

	terminal.press('q');
	expect(await terminal.exited).toBe(0);
}, 360_000);
