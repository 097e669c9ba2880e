import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {describeMemoryTrend, MemoryTrendDetector, memoryTrend} from '../../../source/domain/memory-trend.ts';
import type {Model, Point, Version} from '../../../source/domain/types.ts';

const start = 1_700_000_000_000;
const GiB = 1024 ** 3;

const limitArb = fc.integer({min: 1, max: 16}).map((gib) => gib * GiB);
/** Seconds between points: the console's 5 s, `status`'s 15 s, a slow 30 s. */
const stepArb = fc.constantFrom(5, 15, 30);

function pointsAt(stepSeconds: number, values: readonly number[]): Point[] {
	return values.map((value, index) => ({time: start + index * stepSeconds * 1000, value}));
}

describe('memoryTrend over generated series', () => {
	it('flags steady growth towards the limit with the time to the limit it will take', () => {
		fc.assert(
			fc.property(
				limitArb,
				stepArb,
				fc.integer({min: 8, max: 60}),
				fc.integer({min: 0, max: 20}),
				fc.double({min: 0.1, max: 0.4, noNaN: true}),
				fc.double({min: 0.08, max: 0.5, noNaN: true}),
				fc.double({min: 0, max: 0.4, noNaN: true}),
				fc.integer({min: 1, max: 2 ** 30}),
				(limit, step, wanted, flat, startShare, riseShare, noiseShare, seed) => {
					// The growth, and the flat stretch before it, fit in the detector's 5-minute window.
					const growing = Math.min(wanted, Math.floor(290 / step) + 1);
					fc.pre(growing >= 8);
					const before = Math.min(flat, Math.floor(290 / step) + 1 - growing);
					const level = startShare * limit;
					const span = (growing - 1) * step;
					const perSecond = (riseShare * limit) / span;
					// Noise under half a step's growth: the order of the points is the order of time.
					const noise = noiseShare * perSecond * step;
					let state = seed;
					const jitter = () => {
						state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
						return ((state / 2 ** 31) * 2 - 1) * noise;
					};
					const values = [
						...Array.from({length: before}, () => level + jitter() / 4),
						...Array.from({length: growing}, (_, index) => level + perSecond * step * index + jitter()),
					];
					const last = level + perSecond * span;
					const trueEtaMs = ((limit - last) / perSecond) * 1000;
					const finding = memoryTrend(pointsAt(step, values), limit);
					expect(finding).toBeDefined();
					expect(finding!.etaMs).toBeGreaterThan(0);
					// Within 15 % plus two steps, the slope within 15 %: noise up to 0.4 of a step's growth on as few as 8 points bends
					// a robust line by up to about a tenth, and fast-check finds the edge of any tighter bound (10 % and one step
					// were each exceeded by a hair).
					expect(Math.abs(finding!.etaMs - trueEtaMs)).toBeLessThanOrEqual(0.15 * trueEtaMs + 2 * step * 1000);
					expect(Math.abs(finding!.bytesPerSecond - perSecond)).toBeLessThanOrEqual(0.15 * perSecond);
					const minutes = Math.round(finding!.etaMs / 60_000);
					expect(describeMemoryTrend(finding!)).toContain(finding!.etaMs < 60_000 ? '<1 min to the' : `~${minutes} min to the`);
				},
			),
			{numRuns: 300},
		);
	});

	it('does not flag a flat series with noise, however it wiggles', () => {
		fc.assert(
			fc.property(
				limitArb,
				stepArb,
				fc.double({min: 0.1, max: 0.85, noNaN: true}),
				fc.array(fc.double({min: -1, max: 1, noNaN: true}), {minLength: 1, maxLength: 80}),
				fc.double({min: 0, max: 0.02, noNaN: true}),
				(limit, step, levelShare, wiggles, amplitudeShare) => {
					const values = wiggles.map((wiggle) => levelShare * limit + wiggle * amplitudeShare * limit);
					expect(memoryTrend(pointsAt(step, values), limit)).toBeUndefined();
				},
			),
			{numRuns: 500},
		);
	});

	it("does not flag a garbage collector's sawtooth that stays under the limit", () => {
		fc.assert(
			fc.property(
				limitArb,
				stepArb,
				fc.double({min: 0.1, max: 0.5, noNaN: true}),
				fc.double({min: 0.05, max: 0.4, noNaN: true}),
				fc.integer({min: 4, max: 12}),
				fc.integer({min: 0, max: 11}),
				fc.double({min: 0, max: 0.005, noNaN: true}),
				(limit, step, baseShare, amplitudeShare, period, phase, noiseShare) => {
					// At least two and a half collections in the window.
					const count = Math.floor(290 / step) + 1;
					fc.pre(count >= period * 2.5);
					const values = Array.from({length: count}, (_, index) => {
						const position = (index + phase) % period;
						const wiggle = ((index * 7919) % 13) / 6 - 1;
						return baseShare * limit + (amplitudeShare * limit * position) / (period - 1) + wiggle * noiseShare * limit;
					});
					expect(memoryTrend(pointsAt(step, values), limit)).toBeUndefined();
				},
			),
			{numRuns: 500},
		);
	});

	it('does not flag memory that climbed and levelled off (a new pod warming up)', () => {
		fc.assert(
			fc.property(stepArb, fc.integer({min: 5, max: 15}), fc.integer({min: 5, max: 15}), (step, climbing, level) => {
				const values = [
					...Array.from({length: climbing}, (_, index) => 0.1 * GiB + (index * 1.5 * GiB) / climbing),
					...Array.from({length: level}, (_, index) => 1.6 * GiB + (index % 2) * 1024 ** 2),
				];
				fc.pre((values.length - 1) * step <= 290);
				expect(memoryTrend(pointsAt(step, values), 4 * GiB)).toBeUndefined();
			}),
		);
	});

	it('says nothing about growth that would take more than the horizon, or memory already at the limit', () => {
		const slow = pointsAt(
			15,
			Array.from({length: 20}, (_, index) => 1 * GiB + index * 60 * 1024 ** 2),
		);
		expect(memoryTrend(slow, 64 * GiB)).toBeUndefined();
		expect(
			memoryTrend(slow, 64 * GiB, {...new MemoryTrendDetector().options, horizonSeconds: 24 * 3600, minimumRiseOfLimit: 0.01}),
		).toBeDefined();
		expect(memoryTrend(slow, 2 * GiB)).toBeUndefined();
	});
});

describe('MemoryTrendDetector', () => {
	const model: Model = {namespace: 'vision', name: 'classifier', router: 'demo', versions: []};
	const base: Version = {
		name: 'v2',
		track: 'canary',
		weight: 10,
		replicasReady: 1,
		replicasDesired: 1,
		restarts: 0,
		image: 'x',
		created: '2025-01-01T00:00:00Z',
	};
	const leaking = pointsAt(
		5,
		Array.from({length: 12}, (_, index) => 2 * GiB + index * 100 * 1024 ** 2),
	);
	const input = (version: Version) => ({model, version, sample: undefined, history: {memoryBytes: leaking}, now: start + 60_000});

	it('warns against the memory limit, with the rate and the time left', () => {
		const flags = new MemoryTrendDetector().detect(input({...base, resources: {memoryLimitBytes: 4 * GiB}}));
		expect(flags).toEqual([
			{
				kind: 'memory',
				severity: 'warning',
				metric: 'memoryBytes',
				since: start,
				message: 'memory growing steadily (+1.17 GiB/min): <1 min to the 4 GiB limit at this rate (3.07 GiB now)',
			},
		]);
	});

	it('warns against a configured threshold when the version has no limit, and not at all without either', () => {
		expect(new MemoryTrendDetector().detect(input(base))).toEqual([]);
		const flags = new MemoryTrendDetector({memoryThresholdBytes: 8 * GiB}).detect(input(base));
		expect(flags[0]?.message).toMatch(/~4 min to the 8 GiB threshold at this rate/);
	});
});
