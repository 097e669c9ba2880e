/**
 * Live: a real Prometheus (1 s scrapes) scraping three real model servers — stable v1 and a healthy canary v2 at
 * 5 ms, a regressed canary v3 made slow through its knob (200 ms) — driven by a paced load loop. The source's
 * figures come from what Prometheus scraped, and the canary judge reading the source's history fails the slow
 * canary and passes the healthy one.
 */
import {Worker} from 'node:worker_threads';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type RunningPrometheus, startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import type {MetricTarget} from '../../source/domain/ports.ts';
import type {Sample, Series} from '../../source/domain/types.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/server.ts';
import {type PrometheusMetrics, createPrometheusMetrics} from '../../source/adapters/prometheus/prometheus-metrics.ts';

/** Requests per second sent to each server. */
const RATE = 20;
/** How long the load runs before the source is read (bounded; the loop stops itself after LOAD_LIMIT_MS). */
const LOAD_BEFORE_READING_MS = 24_000;
const LOAD_LIMIT_MS = 60_000;
const SAMPLE_WINDOW_SECONDS = 10;

const versions = ['v1', 'v2', 'v3'] as const;
const servers = new Map<string, RunningModelServer>();
let prometheus: RunningPrometheus;
let source: PrometheusMetrics;
let load: {stop(): Promise<void>; sentSince(time: number): number};
let samples: Map<string, Sample>;
let history: Map<string, Series>;
let sampleWindowStart = 0;
let sampleWindowEnd = 0;

const target = (version: string): MetricTarget => ({namespace: 'ml', name: 'fraud', version});

/**
 * The load loop, run in a worker thread so that the client's own work (and garbage) does not share the event loop
 * with the servers it measures. Sends `rate` requests per second to every URL, paced against the clock, never
 * waiting for answers; stops on a message or after `limitMs`. Replies to `stop` with the send times.
 */
const LOAD_WORKER = `
const {parentPort, workerData} = require('node:worker_threads');
const {urls, rate, limitMs} = workerData;
const body = JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]});
const sent = [];
const started = Date.now();
let ticks = 0;
let timer;
const tick = () => {
	if (Date.now() - started > limitMs) return;
	for (const url of urls) {
		sent.push(Date.now());
		fetch(url + '/v2/models/fraud/infer', {method: 'POST', body, headers: {'content-type': 'application/json'}})
			.then((response) => response.arrayBuffer())
			.catch(() => undefined);
	}
	ticks++;
	timer = setTimeout(tick, Math.max(0, started + (ticks * 1000) / rate - Date.now()));
};
tick();
parentPort.on('message', () => {
	clearTimeout(timer);
	parentPort.postMessage(sent);
});
`;

function startLoad(urls: string[]) {
	const worker = new Worker(LOAD_WORKER, {eval: true, workerData: {urls, rate: RATE, limitMs: LOAD_LIMIT_MS}});
	let sent: number[] | undefined;
	return {
		async stop() {
			if (sent) return;
			const answer = new Promise<number[]>((resolve) => worker.once('message', resolve));
			worker.postMessage('stop');
			sent = await answer;
			// Let requests in flight (up to 200 ms on the slow canary) finish before the servers close.
			await new Promise((resolve) => setTimeout(resolve, 500));
			await worker.terminate();
		},
		/** Requests per server sent since `time` (after stop). */
		sentSince(time: number) {
			return (sent ?? []).filter((at) => at >= time).length / urls.length;
		},
	};
}

beforeAll(async () => {
	for (const version of versions) {
		servers.set(version, await startModelServer({model: 'fraud', modelVersion: version, port: 0, knobs: {latencyMs: 5}}));
	}
	// The canary regresses at runtime, through its knob.
	servers.get('v3')!.setKnobs({latencyMs: 200});
	prometheus = await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: versions.map((version) => ({
			job: `fraud-${version}`,
			targets: [`127.0.0.1:${servers.get(version)!.port}`],
			labels: {namespace: 'ml'},
		})),
	});
	await waitForTargets(prometheus.url, {targets: versions.length});
	source = createPrometheusMetrics({url: prometheus.url, scrapeIntervalSeconds: 1});

	load = startLoad(versions.map((version) => servers.get(version)!.url));
	const loadStarted = Date.now();
	await new Promise((resolve) => setTimeout(resolve, LOAD_BEFORE_READING_MS));
	// Read while the load still runs: the last 10 s sample, and the history since warm-up.
	sampleWindowEnd = Date.now();
	sampleWindowStart = sampleWindowEnd - SAMPLE_WINDOW_SECONDS * 1000;
	const targets = versions.map(target);
	samples = await source.sample(targets, SAMPLE_WINDOW_SECONDS);
	history = await source.history(targets, {start: loadStarted + 5000, end: Date.now(), stepSeconds: 1});
	await load.stop();
});

afterAll(async () => {
	await load?.stop();
	await prometheus?.stop();
	for (const server of servers.values()) await server.close();
});

describe('the Prometheus source against live model servers', () => {
	it("reads the slow canary's p99 above 150 ms and the fast versions' below 50 ms", () => {
		expect(samples.get('ml/fraud/v3')?.p99Ms).toBeGreaterThanOrEqual(150);
		expect(samples.get('ml/fraud/v1')?.p99Ms).toBeLessThan(50);
		expect(samples.get('ml/fraud/v2')?.p99Ms).toBeLessThan(50);
		for (const version of versions) {
			// Percentiles are ordered, error ratio is 0, CPU and memory come from the process metrics.
			const sample = samples.get(`ml/fraud/${version}`)!;
			expect(sample.p50Ms!).toBeLessThanOrEqual(sample.p95Ms!);
			expect(sample.p95Ms!).toBeLessThanOrEqual(sample.p99Ms!);
			expect(sample.errorRatio).toBe(0);
			expect(sample.cpuCores).toBeGreaterThan(0);
			expect(sample.memoryBytes).toBeGreaterThan(10 * 1024 * 1024);
		}
	});

	it('reads about the request rate the load sent', () => {
		// rate() over the last 10 s of scrapes against what the loop sent in that window: within 25 %.
		const sentRate = load.sentSince(sampleWindowStart) / ((sampleWindowEnd - sampleWindowStart) / 1000);
		expect(sentRate).toBeGreaterThan(RATE * 0.8);
		for (const version of versions) {
			const rps = samples.get(`ml/fraud/${version}`)?.rps;
			expect(rps, version).toBeGreaterThan(sentRate * 0.75);
			expect(rps, version).toBeLessThan(sentRate * 1.25);
		}
	});

	it('gives history the canary judge can read: it fails the slow canary and passes the healthy one', () => {
		const stable = history.get('ml/fraud/v1');
		expect(stable?.p99Ms?.length).toBeGreaterThanOrEqual(10);
		const judge = new MannWhitneyJudge();
		const windowSeconds = 15;
		const slow = judge.judge(history.get('ml/fraud/v3'), stable, windowSeconds);
		expect(slow.result, slow.summary).toBe('fail');
		const p99 = slow.metrics.find((metric) => metric.metric === 'p99Ms');
		expect(p99?.result, p99?.explanation).toBe('high');
		const healthy = judge.judge(history.get('ml/fraud/v2'), stable, windowSeconds);
		expect(healthy.result, `${healthy.summary}\n${healthy.metrics.map((metric) => metric.explanation).join('\n')}`).toBe('pass');
	});
});
