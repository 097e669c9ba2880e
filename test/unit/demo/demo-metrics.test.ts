import {afterEach, describe, expect, it} from 'vitest';
import {versionKey} from '../../../source/domain/types.ts';
import {createDemoSources} from '../../../source/demo/index.ts';
import {fraudCanary, fraudModel, fraudStable, type Harness, LAUNCH, startDemo, stopDemo} from './demo-harness.ts';

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

describe('demo metrics', () => {
	it('samples the versions asked for; unknown versions are absent, not zero', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		const unknown = {namespace: 'payments', name: 'fraud-detector', version: 'v1'};
		const samples = await harness.sample([fraudStable, fraudCanary, unknown]);
		expect([...samples.keys()]).toEqual(['payments/fraud-detector/v12', 'payments/fraud-detector/v13']);
		const stable = samples.get(versionKey(fraudStable))!;
		expect(stable.rps).toBeGreaterThan(300);
		expect(stable.errorRatio).toBeGreaterThanOrEqual(0);
		expect(stable.errorRatio).toBeLessThan(0.01);
		expect(stable.p50Ms!).toBeLessThan(stable.p95Ms!);
		expect(stable.p95Ms!).toBeLessThan(stable.p99Ms!);
		expect(stable.cpuCores).toBeGreaterThan(0);
		expect(stable.memoryBytes).toBeGreaterThan(100 * 1024 ** 2);
		expect(stable.time).toBeLessThanOrEqual(LAUNCH);
	});

	it('reads percentiles from a heavy-tailed distribution: p99 well above p50', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		harness.run(120_000);
		const sample = await harness.sampleOf(fraudStable, 120);
		// Log-normal body with a Pareto tail: the tail is much longer than the body's spread.
		expect(sample.p99Ms! / sample.p50Ms!).toBeGreaterThan(2);
		expect(sample.p95Ms! / sample.p50Ms!).toBeLessThan(2.5);
	});

	it('gives CPU that follows requests/s', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		harness.run(30_000);
		const before = await harness.sampleOf(fraudCanary);
		await harness.demo.cluster.setCanaryWeight(fraudModel, 'v13', 40, 10);
		// Less than an autoscaler period: the same single pod takes four times the traffic.
		harness.run(12_000);
		const after = await harness.sampleOf(fraudCanary, 10);
		expect(after.cpuCores!).toBeGreaterThan(before.cpuCores! * 1.8);
	});

	it('keeps history at the range step for the last 15 minutes, full from launch', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		harness.run(10_000);
		const end = Date.now();
		const history = await harness.demo.metrics.history([fraudStable, fraudCanary], {start: end - 10 * 60_000, end, stepSeconds: 10});
		const series = history.get(versionKey(fraudStable))!;
		const p99 = series.p99Ms!;
		expect(p99.length).toBeGreaterThanOrEqual(60);
		expect(p99.length).toBeLessThanOrEqual(61);
		for (let index = 1; index < p99.length; index++) expect(p99[index]!.time - p99[index - 1]!.time).toBe(10_000);
		expect(series.rps!.every((point) => point.value > 250 && point.value < 550)).toBe(true);
		expect(series.memoryBytes!.every((point) => point.value > 0)).toBe(true);
	});

	it('answers a range aligned to the step with the points it gave before, adding only the new ones', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		// A twin with the same seed and clock, asked only once: reuse must not change a figure.
		const twin = createDemoSources({seed: 7, actionDelayMs: 0, clock: () => Date.now(), scenario: 'calm', predictionsPerSecond: 0});
		harness.run(120_000);
		const step = 5000;
		const range = (end: number) => ({start: end - 60_000, end, stepSeconds: step / 1000});
		const end = Math.floor(Date.now() / step) * step;
		const first = (await harness.demo.metrics.history([fraudStable], range(end))).get(versionKey(fraudStable))!;
		harness.run(step);
		const second = (await harness.demo.metrics.history([fraudStable], range(end + step))).get(versionKey(fraudStable))!;
		for (const metric of ['rps', 'p99Ms', 'memoryBytes'] as const) {
			const [before, after] = [first[metric]!, second[metric]!];
			expect(after.map((point) => point.time)).toEqual([...before.slice(1).map((point) => point.time), end + step]);
			// The shared instants are the same objects with the same figures; the newest point is new.
			for (let index = 0; index < after.length - 1; index++) expect(after[index]).toBe(before[index + 1]);
			expect(before).not.toContain(after.at(-1));
		}

		const fresh = (await twin.metrics.history([fraudStable], range(end + step))).get(versionKey(fraudStable))!;
		twin.stop();
		expect(second).toEqual(fresh);
		expect(second.p99Ms!.length).toBeGreaterThan(10);
	});

	it('caps history at 15 minutes however long the range asked for', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		harness.run(30 * 60_000);
		const end = Date.now();
		const history = await harness.demo.metrics.history([fraudStable], {start: end - 3 * 3_600_000, end, stepSeconds: 2});
		const points = history.get(versionKey(fraudStable))!.rps!;
		expect(points.length).toBeLessThanOrEqual(451);
		expect(points.length).toBeGreaterThan(440);
		expect(points[0]!.time).toBeGreaterThanOrEqual(end - 15 * 60_000 - 2000);
	});

	it('leaves points missing where a version had no traffic, instead of zero latency', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		await harness.demo.cluster.rollback(fraudModel, 'v13');
		harness.run(120_000);
		const end = Date.now();
		const history = await harness.demo.metrics.history([fraudCanary], {start: end - 60_000, end, stepSeconds: 5});
		const series = history.get(versionKey(fraudCanary))!;
		expect(series.p99Ms).toEqual([]);
		expect(series.rps!.length).toBeGreaterThan(10);
		expect(series.rps!.every((point) => point.value === 0)).toBe(true);
	});

	it('explains each figure with PromQL marked as simulated', () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		const query = harness.demo.metrics.explain({...fraudCanary, runtime: 'kserve'}, 'p99Ms');
		expect(query).toMatch(/^# demo: simulated/);
		expect(query).toContain('histogram_quantile(0.99, sum by (version, le) (rate(');
		expect(query).toContain('version="v13"');
		expect(harness.demo.metrics.explain(fraudCanary, 'memoryBytes')).toContain('container_memory_working_set_bytes');
	});

	it('is deterministic for a seed and clock, and a different seed gives different figures', async () => {
		const figures = async (seed: number) => {
			const demo = createDemoSources({seed, clock: () => LAUNCH + 90_000, scenario: 'tour', predictionsPerSecond: 0});
			const sample = (await demo.metrics.sample([fraudCanary], 30)).get(versionKey(fraudCanary))!;
			demo.stop();
			return sample;
		};

		const first = await figures(3);
		expect(await figures(3)).toEqual(first);
		expect((await figures(4)).p99Ms).not.toBe(first.p99Ms);
	});
});
