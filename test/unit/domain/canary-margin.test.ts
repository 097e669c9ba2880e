/**
 * The canary margin needs evidence before it is critical: a noisy 30 s p99 (or error ratio) of an equal canary crosses
 * the margin now and then, and a critical flag fails the verdict and gates promotion.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {Verdict} from '../../../source/domain/analysis.ts';
import {canaryMarginFlags, defaultThresholds} from '../../../source/domain/thresholds.ts';
import type {Flag, Model, Sample} from '../../../source/domain/types.ts';
import {analyse} from '../../../source/domain/pipeline.ts';

const REFRESH_MS = 2000;

const model: Model = {
	namespace: 'ml',
	name: 'churn',
	router: 'demo',
	versions: [
		{
			name: 'v1',
			track: 'stable',
			weight: 75,
			replicasReady: 3,
			replicasDesired: 3,
			restarts: 0,
			image: 'churn:1',
			created: '2025-01-01T00:00:00Z',
		},
		{
			name: 'v2',
			track: 'canary',
			weight: 25,
			replicasReady: 1,
			replicasDesired: 1,
			restarts: 0,
			image: 'churn:2',
			created: '2025-01-01T00:00:00Z',
		},
	],
};

const passing: Verdict = {
	result: 'pass',
	score: 100,
	windowSeconds: 600,
	metrics: ['errorRatio', 'p99Ms'].map((metric) => ({
		metric,
		effect: 0,
		pValue: 0.5,
		result: 'pass',
		critical: true,
		explanation: `${metric} passed`,
	})),
	summary: 'pass: score 100 (2 of 2 metrics passed) over 10m — ready to promote',
	readyToPromote: true,
};

function sample(p99Ms: number, errorRatio: number, rps: number, time: number): Sample {
	return {rps, errorRatio, p50Ms: p99Ms / 3, p95Ms: p99Ms / 1.5, p99Ms, cpuCores: 0.2, memoryBytes: 1e8, time};
}

/** A stretch of refreshes where the canary is `ratio` times stable's p99 and `errorsAbove` above stable's error ratio. */
interface Stretch {
	refreshes: number;
	ratio: number;
	errorsAbove: number;
}

/** Runs refreshes through the console's analysis; returns every canary flag and verdict on the way. */
function run(stretches: Stretch[], stable: {p99Ms: number; errorRatio: number; rps: number}, canaryRps: number) {
	let previous: Record<string, Flag[]> = {};
	let now = Date.parse('2025-06-02T09:00:00Z');
	const seen: Array<{flags: Flag[]; verdict: Verdict | undefined}> = [];
	for (const stretch of stretches) {
		for (let index = 0; index < stretch.refreshes; index++) {
			now += REFRESH_MS;
			const samples = {
				'ml/churn/v1': sample(stable.p99Ms, stable.errorRatio, stable.rps, now),
				'ml/churn/v2': sample(stable.p99Ms * stretch.ratio, stable.errorRatio + stretch.errorsAbove, canaryRps, now),
			};
			const result = analyse({
				models: [model],
				samples,
				history: {},
				thresholds: {},
				detectors: [],
				judgeWindowSeconds: 600,
				previous,
				slow: {flags: {}, verdicts: {'ml/churn': passing}, drift: {}},
				now,
			});
			previous = result.flags;
			seen.push({flags: result.flags['ml/churn/v2'] ?? [], verdict: result.verdicts['ml/churn']});
		}
	}

	return seen;
}

const stableFigures = fc.record({
	p99Ms: fc.double({min: 5, max: 2000, noNaN: true}),
	errorRatio: fc.double({min: 0, max: 0.01, noNaN: true}),
	rps: fc.double({min: 1, max: 2000, noNaN: true}),
});

/**
 * An equal canary's noise: calm stretches (within the margin) and bursts beyond it shorter than the time a margin
 * must hold (60 s: 30 refreshes at 2 s) and less than twice stable's p99 (five times the margin, which is evidence on its
 * own), in any order.
 */
const noisyButEqual = fc
	.array(
		fc.tuple(
			fc.record({
				refreshes: fc.integer({min: 1, max: 40}),
				ratio: fc.double({min: 0.7, max: 1.19, noNaN: true}),
				errorsAbove: fc.constant(0),
			}),
			fc.record({
				refreshes: fc.integer({min: 1, max: 29}),
				ratio: fc.double({min: 1.21, max: 1.99, noNaN: true}),
				errorsAbove: fc.double({min: 0, max: 0.009, noNaN: true}),
			}),
		),
		{minLength: 1, maxLength: 15},
	)
	.map((pairs) => pairs.flat());

describe('canary margin needs evidence', () => {
	it('an equal canary with noise bursts shorter than the hold time is never critical and never fails the verdict', () => {
		fc.assert(
			fc.property(noisyButEqual, stableFigures, fc.double({min: 7, max: 500, noNaN: true}), (stretches, stable, canaryRps) => {
				for (const {flags, verdict} of run(stretches, stable, canaryRps)) {
					expect(flags.filter((flag) => flag.severity === 'critical')).toEqual([]);
					expect(verdict?.result).toBe('pass');
				}
			}),
			{numRuns: 200},
		);
	});

	it('a small sample is never critical, however long the canary looks worse, unless it is overwhelmingly worse', () => {
		fc.assert(
			fc.property(
				fc.integer({min: 1, max: 200}),
				// Worse than the 20 % margin, short of overwhelming (5 × the margin: twice stable's p99).
				fc.double({min: 1.21, max: 1.99, noNaN: true}),
				fc.double({min: 0.01, max: 6.6, noNaN: true}),
				stableFigures,
				(refreshes, ratio, canaryRps, stable) => {
					const seen = run([{refreshes, ratio, errorsAbove: 0.009}], stable, canaryRps);
					for (const {flags, verdict} of seen) {
						expect(flags.filter((flag) => flag.severity === 'critical')).toEqual([]);
						expect(
							flags
								.filter((flag) => flag.kind === 'canary')
								.every((flag) => /small sample: \d+ canary requests in 30s \(200 needed to count\)/.test(flag.message)),
						).toBe(true);
						expect(verdict?.result).toBe('pass');
					}
				},
			),
			{numRuns: 100},
		);
	});

	it('on a small sample, an overwhelming difference is critical once it has held for the hold time, not before', () => {
		fc.assert(
			fc.property(
				fc.integer({min: 31, max: 120}),
				fc.double({min: 2.05, max: 20, noNaN: true}),
				fc.double({min: 0.01, max: 6.6, noNaN: true}),
				stableFigures,
				(refreshes, ratio, canaryRps, stable) => {
					const seen = run([{refreshes, ratio, errorsAbove: 0}], stable, canaryRps);
					seen.forEach(({flags}, index) => {
						const critical = flags.some((flag) => flag.severity === 'critical' && flag.metric === 'p99Ms');
						// Held from the first refresh: critical from the refresh at which 60 s have passed, and not before.
						expect(critical).toBe(index * REFRESH_MS >= 60_000);
					});
				},
			),
			{numRuns: 50},
		);
	});

	it('a regression that holds is critical after 60 s, fails the verdict, and does not flap at the margin', () => {
		fc.assert(
			fc.property(
				stableFigures,
				fc.double({min: 1.21, max: 1.99, noNaN: true}),
				fc.double({min: 1.11, max: 1.2, noNaN: true}),
				(stable, ratio, hover) => {
					const seen = run(
						[
							{refreshes: 31, ratio, errorsAbove: 0},
							{refreshes: 20, ratio: hover, errorsAbove: 0},
						],
						stable,
						50,
					);
					const severities = seen.map(
						({flags}) => flags.find((flag) => flag.rule === 'canary-margin' && flag.metric === 'p99Ms')?.severity,
					);
					// The 31st refresh is 60 s after the first.
					expect(severities.slice(0, 30)).toEqual(Array.from({length: 30}, () => 'warning'));
					expect(severities.slice(30)).toEqual(Array.from({length: 21}, () => 'critical'));
					expect(seen.at(-1)!.verdict?.result).toBe('fail');
				},
			),
			{numRuns: 100},
		);
	});

	it('an overwhelming difference on enough requests is critical at once', () => {
		fc.assert(
			fc.property(stableFigures, fc.double({min: 2.01, max: 50, noNaN: true}), (stable, ratio) => {
				const [first] = run([{refreshes: 1, ratio, errorsAbove: 0}], stable, 50);
				expect(first!.flags.find((flag) => flag.rule === 'canary-margin' && flag.metric === 'p99Ms')?.severity).toBe('critical');
				expect(first!.verdict?.result).toBe('fail');
			}),
			{numRuns: 100},
		);
	});

	it('says what it waits for, then how long it has held', () => {
		const stable = sample(76, 0.001, 600, 0);
		const first = canaryMarginFlags(sample(91.5, 0.001, 80, 0), stable, defaultThresholds, 0);
		expect(first).toMatchObject([{severity: 'warning', metric: 'p99Ms', since: 0}]);
		expect(first[0]!.message).toBe('canary p99 92 ms is 20% worse than stable 76 ms (margin 20%) — for 0s; critical if it holds for 1m');
		const later = canaryMarginFlags(sample(91.5, 0.001, 80, 0), stable, defaultThresholds, 64_000, first);
		expect(later[0]!.severity).toBe('critical');
		expect(later[0]!.message).toBe('canary p99 92 ms is 20% worse than stable 76 ms (margin 20%) for 1m4s');
		expect(canaryMarginFlags(sample(86, 0.001, 80, 0), stable, defaultThresholds, 66_000, later)[0]!.severity).toBe('critical');
		expect(canaryMarginFlags(sample(82, 0.001, 80, 0), stable, defaultThresholds, 68_000, later)).toEqual([]);
	});
});
