/**
 * Exact numbers: a real Prometheus started on TSDB blocks made by promtool from known OpenMetrics data
 * (test/fixtures/prometheus/known-data.ts); every figure the source returns equals the value worked out by hand.
 *
 * rate() of a counter growing linearly is its slope whatever the window, so rps and ratios are exact. For
 * percentiles, histogram_quantile(q) takes rank = q × total rate, finds the first bucket whose cumulative rate is
 * ≥ rank and interpolates linearly inside it:
 *   lower + (upper − lower) × (rank − cumulative below) / (cumulative of bucket − cumulative below).
 */
import {mkdtemp, rm} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type RunningPrometheus, startPrometheus} from '../../harness/prometheus.ts';
import type {MetricTarget} from '../../source/domain/ports.ts';
import type {Sample} from '../../source/domain/types.ts';
import {BUILTIN_PROFILES} from '../../source/adapters/prometheus/profiles.ts';
import {type PrometheusMetrics, createPrometheusMetrics} from '../../source/adapters/prometheus/prometheus-metrics.ts';
import {EVALUATION_SECONDS, writeKnownOpenMetrics} from '../fixtures/prometheus/known-data.ts';

let prometheus: RunningPrometheus;
let workDir: string;
let source: PrometheusMetrics;
const evaluationTime = EVALUATION_SECONDS * 1000;
const WINDOW_SECONDS = 300;

beforeAll(async () => {
	workDir = await mkdtemp(path.join(os.tmpdir(), 'modeldeck-exact-'));
	const openMetrics = path.join(workDir, 'known.om');
	await writeKnownOpenMetrics(openMetrics);
	prometheus = await startPrometheus({storageBlocksFrom: openMetrics});
	source = createPrometheusMetrics({url: prometheus.url, now: () => evaluationTime, scrapeIntervalSeconds: 15});
});

afterAll(async () => {
	await prometheus?.stop();
	if (workDir) await rm(workDir, {recursive: true, force: true});
});

const fraud = (version: string, runtime?: string): MetricTarget => ({
	namespace: 'ml',
	name: 'fraud',
	version,
	...(runtime ? {runtime} : {}),
});

function expectFigures(sample: Sample | undefined, expected: Partial<Record<keyof Sample, number | null>>) {
	expect(sample).toBeDefined();
	for (const [metric, value] of Object.entries(expected)) {
		const actual = sample![metric as keyof Sample];
		if (value === null) expect(actual, metric).toBeNull();
		else expect(actual, metric).toBeCloseTo(value, 6);
	}
}

describe('the Prometheus source on known data', () => {
	it("gives the generic profile's exact figures per version", async () => {
		const samples = await source.sample([fraud('v0'), fraud('v1'), fraud('v2'), fraud('v4')], WINDOW_SECONDS);

		// v1: 9.8 ok + 0.2 error requests/s. Buckets per second (cumulative): ≤5ms 1, ≤10ms 4, ≤25ms 8, ≤50ms 9.4,
		// ≤100ms 9.85, ≤250ms 10.
		//   p50: rank 5   → (10, 25]:   10 + 15 × (5 − 4) / (8 − 4)            = 13.75 ms
		//   p95: rank 9.5 → (50, 100]:  50 + 50 × (9.5 − 9.4) / (9.85 − 9.4)  = 61.111… ms
		//   p99: rank 9.9 → (100, 250]: 100 + 150 × (9.9 − 9.85) / (10 − 9.85) = 150 ms
		// CPU: replicas at 0.25 and 0.1 cores → the busiest, 0.25. Memory: 100 MB and 120 MB → 120 MB.
		expectFigures(samples.get('ml/fraud/v1'), {
			rps: 10,
			errorRatio: 0.02,
			p50Ms: 13.75,
			p95Ms: 50 + (50 * 0.1) / 0.45,
			p99Ms: 150,
			cpuCores: 0.25,
			memoryBytes: 120e6,
		});

		// v2: 1.9 ok + 0.1 error requests/s. Cumulative: ≤10ms 0.2, ≤25ms 0.5, ≤50ms 1.1, ≤100ms 1.4, ≤250ms 1.7,
		// ≤500ms 1.85, ≤1s 2.
		//   p50: rank 1    → (25, 50]:    25 + 25 × (1 − 0.5) / (1.1 − 0.5)       = 45.833… ms
		//   p95: rank 1.9  → (500, 1000]: 500 + 500 × (1.9 − 1.85) / (2 − 1.85)   = 666.666… ms
		//   p99: rank 1.98 → (500, 1000]: 500 + 500 × (1.98 − 1.85) / (2 − 1.85)  = 933.333… ms
		expectFigures(samples.get('ml/fraud/v2'), {
			rps: 2,
			errorRatio: 0.05,
			p50Ms: 25 + (25 * 0.5) / 0.6,
			p95Ms: 500 + (500 * 0.05) / 0.15,
			p99Ms: 500 + (500 * 0.13) / 0.15,
			cpuCores: 0.4,
			memoryBytes: 150e6,
		});

		// v0 is idle: 0 requests/s is a real zero, but its error ratio (0/0) and percentiles are unknown, not 0;
		// it has no process metrics at all.
		expectFigures(samples.get('ml/fraud/v0'), {
			rps: 0,
			errorRatio: null,
			p50Ms: null,
			p95Ms: null,
			p99Ms: null,
			cpuCores: null,
			memoryBytes: null,
		});
		// v4 has no data at all; v3 has data but was not asked for.
		expect(samples.has('ml/fraud/v4')).toBe(false);
		expect(samples.has('ml/fraud/v3')).toBe(false);
		expect(samples.get('ml/fraud/v1')?.time).toBe(evaluationTime);
	});

	it('gives the Istio profile exact figures, CPU and memory joined through kube_pod_labels', async () => {
		const samples = await source.sample([fraud('v1', 'istio'), fraud('v2', 'istio')], WINDOW_SECONDS);
		// v1: destination-side 9 × 200 + 1 × 503 per second (the source-side 100/s is not counted).
		// Buckets (ms, cumulative): ≤10 4, ≤50 9, ≤100 10.
		//   p50: rank 5   → 10 + 40 × (5 − 4) / (9 − 4)    = 18 ms
		//   p95: rank 9.5 → 50 + 50 × (9.5 − 9) / (10 − 9) = 75 ms
		//   p99: rank 9.9 → 50 + 50 × (9.9 − 9) / (10 − 9) = 95 ms
		// CPU per pod leaves out the istio-proxy sidecar and the pod-level cgroup: fraud-v1-a 0.3, fraud-v1-b 0.5
		// → 0.5. Memory: 200 MB (sidecar's 50 MB left out) and 180 MB → 200 MB. kube_pod_labels comes from two
		// kube-state-metrics replicas and must not double anything.
		expectFigures(samples.get('ml/fraud/v1'), {
			rps: 10,
			errorRatio: 0.1,
			p50Ms: 18,
			p95Ms: 75,
			p99Ms: 95,
			cpuCores: 0.5,
			memoryBytes: 200e6,
		});
		// v2: only 200s, so the error ratio is 0 (not absent); no latency histogram at all, so no percentiles
		// (partial data).
		expectFigures(samples.get('ml/fraud/v2'), {
			rps: 4,
			errorRatio: 0,
			p50Ms: null,
			p95Ms: null,
			p99Ms: null,
			cpuCores: 0.7,
			memoryBytes: 300e6,
		});
	});

	it('gives the KServe profile exact figures, versions being revisions', async () => {
		const iris = (revision: string): MetricTarget => ({namespace: 'kserve-test', name: 'iris', version: revision, runtime: 'kserve'});
		const samples = await source.sample([iris('iris-predictor-00001'), iris('iris-predictor-00002')], WINDOW_SECONDS);
		// 00001: 6/s all 2xx. Latency buckets (ms, cumulative): ≤5 2, ≤10 5, ≤25 6.
		//   p50: rank 3    → 5 + 5 × (3 − 2) / (5 − 2)      = 6.666… ms
		//   p95: rank 5.7  → 10 + 15 × (5.7 − 5) / (6 − 5)  = 20.5 ms
		//   p99: rank 5.94 → 10 + 15 × (5.94 − 5) / (6 − 5) = 24.1 ms
		// CPU from the pod iris-predictor-00001-deployment-…: kserve-container 0.2 (queue-proxy left out).
		expectFigures(samples.get('kserve-test/iris/iris-predictor-00001'), {
			rps: 6,
			errorRatio: 0,
			p50Ms: 5 + 5 / 3,
			p95Ms: 20.5,
			p99Ms: 24.1,
			cpuCores: 0.2,
			memoryBytes: 250e6,
		});
		// 00002: 2/s 2xx + 0.5/s 5xx → 2.5/s, 20 % errors; no latency or pod data.
		expectFigures(samples.get('kserve-test/iris/iris-predictor-00002'), {
			rps: 2.5,
			errorRatio: 0.2,
			p50Ms: null,
			cpuCores: null,
			memoryBytes: null,
		});
	});

	it('joins runtimes without our version label (MLServer, Triton, TorchServe) to their pods', async () => {
		const [seldon, triton, torchserve] = await Promise.all([
			source.sample([fraud('v5', 'mlserver')], WINDOW_SECONDS),
			source.sample([fraud('v6', 'triton')], WINDOW_SECONDS),
			source.sample([fraud('v7', 'torchserve')], WINDOW_SECONDS),
		]);
		// MLServer, pod fraud-v5-a: 3 successes + 1 failure per second. REST …/infer buckets (s, cumulative):
		// ≤0.01 1, ≤0.1 4 (the health-check series is left out).
		//   p50: rank 2    → 10 + 90 × (2 − 1) / (4 − 1)    = 40 ms
		//   p99: rank 3.96 → 10 + 90 × (3.96 − 1) / (4 − 1) = 98.8 ms
		expectFigures(seldon.get('ml/fraud/v5'), {rps: 4, errorRatio: 0.25, p50Ms: 40, p99Ms: 98.8});
		// Triton, two replicas of v6: 5 + 3 successes per second, no failure series → 0 errors. Percentiles are the
		// worst replica's summary: p99 max(12, 20) ms, p50 max(4, 3) ms.
		expectFigures(triton.get('ml/fraud/v6'), {rps: 8, errorRatio: 0, p50Ms: 4, p99Ms: 20});
		// TorchServe, pod fraud-v7-a: 2 inferences/s; 1.5 2XX + 0.5 5XX responses/s → 25 % errors; no percentiles.
		expectFigures(torchserve.get('ml/fraud/v7'), {rps: 2, errorRatio: 0.25, p50Ms: null, p99Ms: null});
	});

	it('gives history as constant series where the data is constant', async () => {
		const series = await source.history([fraud('v1'), fraud('v2')], {
			start: evaluationTime - 10 * 60_000,
			end: evaluationTime,
			stepSeconds: 60,
		});
		const v1 = series.get('ml/fraud/v1')!;
		expect(v1.rps).toHaveLength(11);
		expect(v1.rps![0]!.time).toBe(evaluationTime - 10 * 60_000);
		for (const point of v1.rps!) expect(point.value).toBeCloseTo(10, 6);
		for (const point of v1.p99Ms!) expect(point.value).toBeCloseTo(150, 6);
		for (const point of series.get('ml/fraud/v2')!.errorRatio!) expect(point.value).toBeCloseTo(0.05, 6);
	});

	it('runs every built-in profile against real Prometheus without an error', async () => {
		for (const runtime of Object.keys(BUILTIN_PROFILES)) {
			const samples = await source.sample([fraud('v1', runtime), fraud('v2', runtime)], WINDOW_SECONDS);
			// Profiles whose runtime has no data here give nothing, rather than zeros.
			if (runtime === 'seldon' || runtime === 'torchserve' || runtime === 'triton') {
				for (const sample of samples.values()) {
					expect(sample.rps, runtime).toBeNull();
					expect(sample.errorRatio, runtime).toBeNull();
				}
			}
		}
	});

	it('explains a figure with the exact query that gives it', async () => {
		await source.sample([fraud('v1')], WINDOW_SECONDS);
		const query = source.explain(fraud('v1'), 'p99Ms');
		const response = await fetch(`${prometheus.url}/api/v1/query`, {
			method: 'POST',
			body: new URLSearchParams({query, time: String(EVALUATION_SECONDS)}),
		});
		const body = (await response.json()) as {data: {result: Array<{value: [number, string]}>}};
		expect(body.data.result).toHaveLength(1);
		expect(Number(body.data.result[0]!.value[1])).toBeCloseTo(150, 6);
	});
});
