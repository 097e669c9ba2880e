import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {DetectorInput} from '../../../source/domain/analysis.ts';
import {RobustZDetector, robustZOptions, robustZTrack, type RobustZSettings} from '../../../source/domain/robust-z.ts';
import type {MetricName, Model, Point, Series, Version} from '../../../source/domain/types.ts';

const start = 1_700_000_000_000;
const step = 15_000;
// Baseline wiggle with median 0 and MAD 1: the robust scale is max(1.4826, 2 % of 100 = 2, 1 ms) = 2, so z = deviation / 2.
const wiggle = [0, 2, -2, 1, -1];

function pointsOf(values: readonly number[]): Point[] {
	return values.map((value, index) => ({time: start + index * step, value}));
}

function normal(count: number, level = 100): number[] {
	return Array.from({length: count}, (_, index) => level + wiggle[index % wiggle.length]!);
}

const model: Model = {namespace: 'shop', name: 'fraud', router: 'demo', versions: []};
const version: Version = {
	name: 'v2',
	track: 'canary',
	weight: 10,
	replicasReady: 1,
	replicasDesired: 1,
	restarts: 0,
	image: 'fraud:v2',
	created: '2025-01-01T00:00:00Z',
};

function input(history: Series | undefined): DetectorInput {
	return {model, version, sample: undefined, history, now: start + 100 * step};
}

function raisedStates(values: readonly number[], metric: MetricName = 'p99Ms', settings: RobustZSettings = {}): boolean[] {
	return robustZTrack(pointsOf(values), metric, robustZOptions(settings)).map((point) => point.raised);
}

describe('RobustZDetector', () => {
	it('raises nothing during warm-up, however far the points are', () => {
		const values = [...normal(6), 400, 400, 400];
		expect(new RobustZDetector().detect(input({p99Ms: pointsOf(values)}))).toEqual([]);
		const track = robustZTrack(pointsOf(values), 'p99Ms');
		expect(track.every((point) => point.z === null && !point.raised)).toBe(true);
	});

	it('judges points once the warm-up is over', () => {
		const values = [...normal(10), 400, 400, 400];
		expect(new RobustZDetector().detect(input({p99Ms: pointsOf(values)}))).toHaveLength(1);
	});

	it('flags a step change and explains it: metric, value, baseline median, z and window', () => {
		const values = [...normal(40), 130, 130, 130, 130, 130];
		const flags = new RobustZDetector().detect(input({p99Ms: pointsOf(values)}));
		expect(flags).toHaveLength(1);
		const [flag] = flags;
		expect(flag).toMatchObject({kind: 'anomaly', severity: 'warning', metric: 'p99Ms', since: start + 40 * step});
		expect(flag!.message).toMatch(
			/^p99 latency 130 ms is \d+\.\dσ above its median 100 ms \(robust z over the previous 30 points, 7m15s\)$/,
		);
	});

	it('does not flag a spike shorter than the consecutive-point requirement', () => {
		const values = [...normal(40), 400, 400, ...normal(10)];
		expect(raisedStates(values).some(Boolean)).toBe(false);
		expect(new RobustZDetector().detect(input({p99Ms: pointsOf(values)}))).toEqual([]);
	});

	it('does not flicker on alternating spikes', () => {
		const values = [...normal(40), 400, 100, 400, 100, 400, 100, 400];
		expect(raisedStates(values).some(Boolean)).toBe(false);
	});

	it('clears only after enough calm points below the exit level (hysteresis)', () => {
		// 106 is z ≈ 3: below the enter level (4) but above the exit level (2), so it neither raises nor counts as calm.
		const values = [...normal(40), 130, 130, 130, 106, 100, 106, 100, 100, 100, 100];
		const states = raisedStates(values, 'p99Ms', {baselinePoints: 60});
		expect(states.slice(40)).toEqual([false, false, true, true, true, true, true, true, false, false]);
	});

	it('adapts to a lasting level: the baseline absorbs it and the flag clears', () => {
		const states = raisedStates([...normal(40), ...normal(40, 130)]);
		expect(states.slice(42).some(Boolean)).toBe(true);
		expect(states.at(-1)).toBe(false);
	});

	it('watches latency upwards only, and request rate both ways', () => {
		const drop = [...normal(40), 50, 50, 50, 50];
		expect(new RobustZDetector().detect(input({p99Ms: pointsOf(drop)}))).toEqual([]);
		const flags = new RobustZDetector().detect(input({rps: pointsOf(drop)}));
		expect(flags).toHaveLength(1);
		expect(flags[0]!.message).toMatch(/^requests\/s 50 req\/s is \d+\.\dσ below its median 100 req\/s/);
	});

	it('uses a floor for flat series instead of dividing by a zero MAD', () => {
		const flat = [...Array<number>(40).fill(100), 101, 101, 101, 101];
		expect(new RobustZDetector().detect(input({p99Ms: pointsOf(flat)}))).toEqual([]);
		const jump = [...Array<number>(40).fill(100), 150, 150, 150];
		expect(new RobustZDetector().detect(input({p99Ms: pointsOf(jump)}))).toHaveLength(1);
		const errorsAtZero = [...Array<number>(40).fill(0), 0.001, 0.001, 0.001];
		expect(new RobustZDetector().detect(input({errorRatio: pointsOf(errorsAtZero)}))).toEqual([]);
		const errorsUp = [...Array<number>(40).fill(0), 0.05, 0.05, 0.05];
		const [flag] = new RobustZDetector().detect(input({errorRatio: pointsOf(errorsUp)}));
		expect(flag!.message).toMatch(/^error ratio 5% is 25\.0σ above its median 0%/);
	});

	it('is a pure function of the history: a new instance gives the same flags (restart-safe)', () => {
		const history = {p99Ms: pointsOf([...normal(40), 130, 130, 130]), cpuCores: pointsOf(normal(43, 1))};
		const first = new RobustZDetector().detect(input(history));
		expect(new RobustZDetector().detect(input(history))).toEqual(first);
		expect(new RobustZDetector().detect(input(history))).toEqual(first);
	});

	it('skips NaN points and sorts out-of-order points', () => {
		const clean = pointsOf([...normal(40), 130, 130, 130]);
		const withGaps = [...clean.slice(0, 20), {time: start + 20.5 * step, value: Number.NaN}, ...clean.slice(20)];
		const shuffled = [...withGaps].reverse();
		const expected = new RobustZDetector().detect(input({p99Ms: clean}));
		expect(new RobustZDetector().detect(input({p99Ms: withGaps}))).toEqual(expected);
		expect(new RobustZDetector().detect(input({p99Ms: shuffled}))).toEqual(expected);
	});

	it('raises nothing without history', () => {
		expect(new RobustZDetector().detect(input(undefined))).toEqual([]);
		expect(new RobustZDetector().detect(input({p99Ms: []}))).toEqual([]);
	});

	it('takes settings: metrics watched, thresholds and severity', () => {
		const history = {p99Ms: pointsOf([...normal(40), 130, 130, 130])};
		expect(new RobustZDetector({metrics: ['rps']}).detect(input(history))).toEqual([]);
		expect(new RobustZDetector({enterZ: 20}).detect(input(history))).toEqual([]);
		expect(new RobustZDetector({severity: 'critical'}).detect(input(history))[0]?.severity).toBe('critical');
		expect(new RobustZDetector({consecutivePoints: 4}).detect(input(history))).toEqual([]);
	});
});

describe('robustZTrack baseline', () => {
	function naiveMedian(values: number[]): number {
		const sorted = [...values].sort((a, b) => a - b);
		const middle = sorted.length >> 1;
		return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
	}

	it('is the median and MAD of exactly the previous baselinePoints points, ties and repeats included', () => {
		fc.assert(
			fc.property(
				fc.array(fc.integer({min: -5, max: 5}), {minLength: 1, maxLength: 80}),
				fc.integer({min: 1, max: 12}),
				fc.integer({min: 1, max: 40}),
				(values, warmUpPoints, baselinePoints) => {
					const track = robustZTrack(pointsOf(values), 'p99Ms', robustZOptions({warmUpPoints, baselinePoints}));
					const size = Math.max(warmUpPoints, baselinePoints);
					for (const [index, point] of track.entries()) {
						if (index < warmUpPoints) {
							expect(point.baselineMedian).toBeNull();
							continue;
						}

						const baseline = values.slice(Math.max(0, index - size), index);
						const center = naiveMedian(baseline);
						expect(point.baselineMedian).toBe(center);
						expect(point.baselineMad).toBe(naiveMedian(baseline.map((value) => Math.abs(value - center))));
					}
				},
			),
		);
	});
});
