// The guard's decision: the console's thresholds, detectors and judge over the canary's and stable's history.
import {describe, expect, it} from 'vitest';
import {guardVerdict, latestSample} from '../../../source/domain/guard-verdict.ts';
import type {CanaryJudge, Verdict, VerdictResult} from '../../../source/domain/analysis.ts';
import {RobustZDetector} from '../../../source/domain/robust-z.ts';
import {MannWhitneyJudge} from '../../../source/domain/judge.ts';
import {defaultThresholds} from '../../../source/domain/thresholds.ts';
import type {Thresholds} from '../../../source/domain/thresholds.ts';
import type {MetricName, Model, Point, Series, Version} from '../../../source/domain/types.ts';

const now = 1_700_000_000_000;
const version = (name: string, track: Version['track'], weight: number): Version => ({
	name,
	track,
	weight,
	replicasReady: 1,
	replicasDesired: 1,
	restarts: 0,
	image: '',
	created: '',
});
const stable = version('v1', 'stable', 80);
const canary = version('v2', 'canary', 20);
const model: Model = {namespace: 'team-a', name: 'fraud', router: 'httproute', versions: [stable, canary]};

/** 60 points, 5 s apart, ending now; `value(i)` for the i-th (0 = oldest). A wobble of 0.1% keeps rank tests honest. */
function points(value: (index: number) => number): Point[] {
	return Array.from({length: 60}, (_, index) => ({time: now - (59 - index) * 5000, value: value(index) * (1 + (index % 3) * 0.001)}));
}

function series(values: Partial<Record<MetricName, (index: number) => number>>): Series {
	return Object.fromEntries(Object.entries(values).map(([metric, value]) => [metric, points(value!)])) as Series;
}

const healthy = series({p99Ms: () => 100, p50Ms: () => 20, errorRatio: () => 0.001, rps: () => 10});

function stubJudge(result: VerdictResult): CanaryJudge {
	return {
		judge: (): Verdict => ({
			result,
			score: result === 'insufficient-data' ? null : result === 'pass' ? 100 : 40,
			windowSeconds: 300,
			metrics: [],
			summary: `${result}: judged`,
		}),
	};
}

function judge(canarySeries: Series, options: {thresholds?: Partial<Thresholds>; judge?: CanaryJudge; stableSeries?: Series} = {}) {
	return guardVerdict({
		model,
		canary,
		stable,
		history: {'team-a/fraud/v2': canarySeries, 'team-a/fraud/v1': options.stableSeries ?? healthy},
		judge: options.judge ?? stubJudge('pass'),
		detectors: [new RobustZDetector()],
		thresholds: {...defaultThresholds, ...options.thresholds},
		windowSeconds: 300,
		now,
	});
}

describe('guardVerdict', () => {
	it('passes a canary like stable, with the judge’s summary', () => {
		const verdict = judge(healthy, {judge: new MannWhitneyJudge()});
		expect(verdict.result).toBe('pass');
		expect(verdict.breaches).toEqual([]);
		expect(verdict.summary).toBe(verdict.judged.summary);
	});

	it('fails a canary over the p99 threshold even when the judge passes it, and the threshold is per model', () => {
		const slow = series({p99Ms: () => 450, p50Ms: () => 20, errorRatio: () => 0.001});
		const stableSlow = series({p99Ms: () => 440, p50Ms: () => 20, errorRatio: () => 0.001});
		const strict = judge(slow, {thresholds: {p99LatencyMs: 300}, stableSeries: stableSlow});
		expect(strict.result).toBe('fail');
		expect(strict.breaches.map((flag) => flag.kind)).toEqual(['latency']);
		expect(strict.summary).toMatch(/^fail: p99 45\d ms > 300 ms$/);
		// The console's default (500 ms) lets the same canary pass.
		expect(judge(slow, {stableSeries: stableSlow}).result).toBe('pass');
	});

	it('fails on the error-ratio threshold', () => {
		const failing = series({p99Ms: () => 100, errorRatio: () => 0.05});
		const verdict = judge(failing, {thresholds: {canaryMargin: 1000}, stableSeries: series({p99Ms: () => 100, errorRatio: () => 0.04})});
		expect(verdict.breaches.map((flag) => flag.kind)).toEqual(['errors']);
		expect(
			judge(failing, {thresholds: {errorRatio: 0.1, canaryMargin: 1000}, stableSeries: series({p99Ms: () => 100, errorRatio: () => 0.04})})
				.result,
		).toBe('pass');
	});

	it('fails on the canary margin against stable, and a wider margin lets it pass', () => {
		const worse = series({p99Ms: () => 150, errorRatio: () => 0.001});
		const verdict = judge(worse);
		expect(verdict.result).toBe('fail');
		expect(verdict.breaches[0]?.message).toMatch(/canary p99 150 ms is 50% worse than stable 100 ms \(margin 20%\)/);
		expect(judge(worse, {thresholds: {canaryMargin: 0.6}}).result).toBe('pass');
	});

	it('fails on a detector’s anomaly in the canary’s own history, unless stable shows the same', () => {
		// p99 jumps from 100 to 200 ms for the newest 6 points: within every threshold and margin given here.
		const jump = (index: number) => (index >= 54 ? 200 : 100);
		const loose = {p99LatencyMs: 10_000, canaryMargin: 100};
		const verdict = judge(series({p99Ms: jump, errorRatio: () => 0.001}), {thresholds: loose});
		expect(verdict.result).toBe('fail');
		expect(verdict.breaches.map((flag) => [flag.kind, flag.metric])).toEqual([['anomaly', 'p99Ms']]);
		expect(verdict.summary).toMatch(/p99 latency 200 ms is .*σ above its median 100 ms/);
		// The same jump on stable too: the traffic changed, not the canary.
		const both = judge(series({p99Ms: jump, errorRatio: () => 0.001}), {
			thresholds: loose,
			stableSeries: series({p99Ms: jump, errorRatio: () => 0.001}),
		});
		expect(both.flags.some((flag) => flag.kind === 'anomaly')).toBe(true);
		expect(both.breaches).toEqual([]);
		expect(both.result).toBe('pass');
	});

	it('fails when the real judge finds the canary significantly slower', () => {
		const verdict = judge(series({p99Ms: (index) => 120 + (index % 5), errorRatio: () => 0.001}), {
			judge: new MannWhitneyJudge(),
			thresholds: {canaryMargin: 100},
		});
		expect(verdict.judged.result).toBe('fail');
		expect(verdict.result).toBe('fail');
		expect(verdict.breaches.map((flag) => flag.kind)).toEqual(['canary']);
	});

	it('keeps a marginal or insufficient judgement when nothing is breached (neither counts nor clears)', () => {
		expect(judge(healthy, {judge: stubJudge('marginal')}).result).toBe('marginal');
		expect(judge(healthy, {judge: stubJudge('insufficient-data')}).result).toBe('insufficient-data');
		// A threshold breach fails the canary even when the judge lacks data.
		expect(judge(series({p99Ms: () => 900}), {judge: stubJudge('insufficient-data')}).result).toBe('fail');
	});

	it('checks thresholds against the newest point of each metric', () => {
		expect(latestSample(series({p99Ms: (index) => index, rps: () => 3}))).toMatchObject({
			p99Ms: 59 * 1.002,
			rps: 3 * 1.002,
			errorRatio: null,
			time: now,
		});
		expect(latestSample(undefined)).toBeUndefined();
		expect(latestSample({})).toBeUndefined();
	});
});
