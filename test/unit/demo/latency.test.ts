import {describe, expect, it} from 'vitest';
import {
	BUCKET_COUNT,
	bucketIndexOfLog,
	drawLatency,
	type LatencyProfile,
	percentileOfSorted,
	percentilesInto,
} from '../../../source/demo/latency.ts';
import {deriveSeed, Random} from '../../../source/demo/random.ts';

const profile: LatencyProfile = {medianMs: 20, sigma: 0.35, tailProbability: 0.02, tailScale: 3, tailAlpha: 1.6};

describe('latency histogram', () => {
	it.each([
		['a healthy version', profile],
		['a regressed version', {...profile, tailProbability: 0.08, tailScale: 15}],
		['a tight distribution', {...profile, sigma: 0.1, tailProbability: 0}],
	])('reads percentiles of %s within 5%% of the exact ones from the same draws', (_, shape) => {
		const random = new Random(11);
		const draws = Float64Array.from({length: 100_000}, () => drawLatency(random, shape));
		const buckets = new Float64Array(BUCKET_COUNT);
		for (const latency of draws) buckets[bucketIndexOfLog(Math.log(latency))]! += 1;
		const percentiles = {p50: 0, p95: 0, p99: 0};
		percentilesInto(buckets, percentiles);
		draws.sort();
		for (const [quantile, estimate] of [
			[0.5, percentiles.p50],
			[0.95, percentiles.p95],
			[0.99, percentiles.p99],
		] as const) {
			const exact = percentileOfSorted(draws, quantile);
			expect(Math.abs(estimate / exact - 1)).toBeLessThan(0.05);
		}
	});

	it('gives NaN percentiles, not zero, for an empty window', () => {
		const percentiles = {p50: 0, p95: 0, p99: 0};
		percentilesInto(new Float64Array(BUCKET_COUNT), percentiles);
		expect(percentiles).toEqual({p50: Number.NaN, p95: Number.NaN, p99: Number.NaN});
	});

	it('has a heavy tail: the tail share moves p99 far more than p50', () => {
		const random = new Random(5);
		const percentilesOf = (shape: LatencyProfile) => {
			const draws = Float64Array.from({length: 50_000}, () => drawLatency(random, shape)).sort();
			return {p50: percentileOfSorted(draws, 0.5), p99: percentileOfSorted(draws, 0.99)};
		};

		const calm = percentilesOf(profile);
		const heavy = percentilesOf({...profile, tailProbability: 0.1});
		expect(heavy.p50 / calm.p50).toBeLessThan(1.2);
		expect(heavy.p99 / calm.p99).toBeGreaterThan(2);
	});

	it('puts latencies beyond the range into the edge buckets', () => {
		expect(bucketIndexOfLog(Math.log(0.01))).toBe(0);
		expect(bucketIndexOfLog(Math.log(10 * 60_000))).toBe(BUCKET_COUNT - 1);
	});
});

describe('seeded random', () => {
	it('repeats for a seed and differs between seeds and streams', () => {
		const sequence = (seed: number) =>
			Array.from(
				{length: 5},
				(() => {
					const random = new Random(seed);
					return () => random.next();
				})(),
			);
		expect(sequence(1)).toEqual(sequence(1));
		expect(sequence(1)).not.toEqual(sequence(2));
		expect(deriveSeed(1, 'fleet')).not.toBe(deriveSeed(1, 'predictions'));
		expect(deriveSeed(1, 'fleet')).toBe(deriveSeed(1, 'fleet'));
	});

	it('makes request ids shaped like UUIDs (version 4)', () => {
		const random = new Random(9);
		const ids = Array.from({length: 1000}, () => random.requestId());
		for (const id of ids) expect(id).toMatch(/^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
		expect(new Set(ids).size).toBe(ids.length);
	});

	it('draws Poisson and binomial counts with the right mean', () => {
		const random = new Random(3);
		const mean = (draw: () => number) => Array.from({length: 20_000}, draw).reduce((sum, value) => sum + value, 0) / 20_000;
		expect(mean(() => random.poisson(4))).toBeCloseTo(4, 1);
		expect(mean(() => random.poisson(400)) / 400).toBeCloseTo(1, 2);
		expect(mean(() => random.binomial(1000, 0.08)) / 80).toBeCloseTo(1, 1);
		expect(mean(() => random.beta(2, 6))).toBeCloseTo(0.25, 1);
	});
});
