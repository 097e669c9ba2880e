import {describe, expect, it} from 'vitest';
import {defaultJudgeOptions, judgeCanary, judgeSummaryFlag, MannWhitneyJudge} from '../../../source/domain/judge.ts';
import type {MetricName, Point, Series} from '../../../source/domain/types.ts';

const start = 1_700_000_000_000;
const step = 15_000;
const windowSeconds = 300;

/** Deterministic noise in [-1, 1] that differs with `phase`. */
function noise(index: number, phase: number): number {
	return ((((index + phase) * 7) % 11) - 5) / 5;
}

function series(level: number, spread: number, phase = 0, count = 20, offset = 0): Point[] {
	return Array.from({length: count}, (_, index) => ({time: start + (index + offset) * step, value: level + spread * noise(index, phase)}));
}

function healthy(phase: number, count = 20): Series {
	return {
		rps: series(100, 5, phase, count),
		errorRatio: series(0.002, 0.001, phase, count),
		p50Ms: series(40, 4, phase, count),
		p95Ms: series(90, 8, phase, count),
		p99Ms: series(137, 12, phase, count),
		cpuCores: series(0.5, 0.05, phase, count),
		memoryBytes: series(500e6, 5e6, phase, count),
	};
}

const stable = healthy(0);

function judgement(verdict: ReturnType<typeof judgeCanary>, metric: MetricName) {
	const found = verdict.metrics.find((entry) => entry.metric === metric);
	expect(found, `judgement for ${metric}`).toBeDefined();
	return found!;
}

describe('judgeCanary', () => {
	it('fails a clearly slower canary and says why', () => {
		const canary = {...healthy(3), p99Ms: series(189, 12, 3)};
		const verdict = judgeCanary(canary, stable, windowSeconds);
		expect(verdict.result).toBe('fail');
		const p99 = judgement(verdict, 'p99Ms');
		expect(p99.result).toBe('high');
		expect(p99.critical).toBe(true);
		expect(p99.pValue).toBeLessThan(0.001);
		expect(p99.effect).toBeGreaterThan(40);
		expect(p99.detail).toMatchObject({canaryPoints: 20, stablePoints: 20});
		expect(p99.explanation).toMatch(
			/^p99 latency: canary \+\d+% \(HL shift \+\d+ ms; median \d+ ms vs \d+ ms\) vs stable, p(<|=)0\.\d+ over 5m — fail \(critical\)$/,
		);
		expect(verdict.summary).toMatch(/^fail: worse p99 latency \(critical\) — score 83 \(5 of 6 metrics passed\) over 5m$/);
	});

	it('passes a canary with the same distribution', () => {
		const verdict = judgeCanary(healthy(4), stable, windowSeconds);
		expect(verdict.result).toBe('pass');
		expect(verdict.score).toBe(100);
		expect(verdict.metrics.every((metric) => metric.result === 'pass')).toBe(true);
	});

	it('passes an identical canary, with p = 1 on constant metrics', () => {
		const constant = {...stable, cpuCores: series(0.5, 0), memoryBytes: series(5e8, 0)};
		const verdict = judgeCanary(constant, constant, windowSeconds);
		expect(verdict.result).toBe('pass');
		expect(judgement(verdict, 'cpuCores').pValue).toBe(1);
	});

	it('calls too few points insufficient data, never a pass', () => {
		const verdict = judgeCanary(healthy(3, 5), stable, windowSeconds);
		expect(verdict.result).toBe('insufficient-data');
		expect(verdict.score).toBeNull();
		expect(verdict.metrics.every((metric) => metric.result === 'nodata')).toBe(true);
		expect(judgement(verdict, 'p99Ms').explanation).toBe(
			'p99 latency: not enough data — canary 5, stable 20 points over 5m (need 10 each): needs 2m30s of canary p99 ' +
				`latency history; 1m15s so far, enough at ${new Date(start + 24 * step).toISOString().slice(11, 19)} (critical)`,
		);
		expect(judgeSummaryFlag(verdict)).toBeUndefined();
	});

	it('calls missing series insufficient data', () => {
		expect(judgeCanary(undefined, stable, windowSeconds)).toMatchObject({result: 'insufficient-data', score: null});
		expect(judgeCanary(stable, undefined, windowSeconds)).toMatchObject({result: 'insufficient-data', score: null});
		expect(judgeCanary({}, {}, windowSeconds).summary).toBe(
			'insufficient data: no canary error ratio, p50 latency, p95 latency, p99 latency, CPU, memory points over 5m yet',
		);
	});

	it('fails on a failing critical metric even when the score is above the pass line', () => {
		const canary = {...healthy(3), errorRatio: series(0.05, 0.01, 3)};
		const verdict = judgeCanary(canary, stable, windowSeconds, new MannWhitneyJudge({passScore: 80}).options);
		expect(verdict.score).toBeCloseTo(83.33, 1);
		expect(verdict.result).toBe('fail');
		expect(judgement(verdict, 'errorRatio').result).toBe('high');
	});

	it('scores a failing non-critical metric: marginal by default, pass with a lower pass line', () => {
		const canary = {...healthy(3), p95Ms: series(130, 8, 3)};
		const verdict = judgeCanary(canary, stable, windowSeconds);
		expect(verdict.result).toBe('marginal');
		expect(verdict.score).toBeCloseTo(83.33, 1);
		const flag = judgeSummaryFlag(verdict);
		expect(flag).toMatchObject({kind: 'canary', severity: 'warning', metric: 'p95Ms', since: verdict.windowEnd});
		expect(flag!.message).toMatch(/^canary marginal \(score 83\) — p95 latency: canary \+\d+%/);
		expect(new MannWhitneyJudge({passScore: 80}).judge(canary, stable, windowSeconds).result).toBe('pass');
	});

	it('gives a critical canary flag for a failed verdict', () => {
		const verdict = judgeCanary({...healthy(3), p99Ms: series(189, 12, 3)}, stable, windowSeconds);
		expect(judgeSummaryFlag(verdict, 42)).toMatchObject({kind: 'canary', severity: 'critical', metric: 'p99Ms', since: 42});
		expect(judgeSummaryFlag(judgeCanary(healthy(4), stable, windowSeconds))).toBeUndefined();
	});

	it('passes a significant difference that stays within the allowed margin', () => {
		// +3 % with almost no noise: significant, but below the 10 % margin.
		const tight = {...stable, p99Ms: series(137, 0.5)};
		const canary = {...healthy(3), p99Ms: series(141, 0.5, 3)};
		const p99 = judgement(judgeCanary(canary, tight, windowSeconds), 'p99Ms');
		expect(p99.pValue).toBeLessThan(0.001);
		expect(p99.result).toBe('pass');
		expect(p99.explanation).toMatch(/— pass \(within the allowed \+\d+(\.\d)? ms\)$/);
	});

	it('passes a canary that is better, and fails a drop when lower is worse', () => {
		const faster = {...healthy(3), p99Ms: series(90, 12, 3)};
		const p99 = judgement(judgeCanary(faster, stable, windowSeconds), 'p99Ms');
		expect(p99.result).toBe('pass');
		const judge = new MannWhitneyJudge({policies: {p99Ms: {direction: 'either'}}});
		expect(judgement(judge.judge(faster, stable, windowSeconds), 'p99Ms').result).toBe('low');
	});

	it('ignores an error ratio difference below the absolute floor', () => {
		const canary = {...healthy(3), errorRatio: series(0.004, 0.0002, 3)};
		const tight = {...stable, errorRatio: series(0.002, 0.0002)};
		const errors = judgement(judgeCanary(canary, tight, windowSeconds), 'errorRatio');
		expect(errors.pValue).toBeLessThan(0.001);
		expect(errors.result).toBe('pass');
	});

	it('does not judge request rate (it follows the traffic split)', () => {
		const canary = {...healthy(3), rps: series(10, 1, 3)};
		const verdict = judgeCanary(canary, stable, windowSeconds);
		expect(verdict.metrics.map((metric) => metric.metric)).not.toContain('rps');
		expect(verdict.result).toBe('pass');
	});

	it('judges only the shared window: older points do not count', () => {
		// Stable was slow long ago (points 0–39), normal for the last 20 points (40–59); the canary has the last 20.
		const oldAndNew = {...stable, p99Ms: [...series(300, 12, 0, 40), ...series(137, 12, 0, 20, 40)]};
		const canary = {...healthy(3, 20), p99Ms: series(137, 12, 3, 20, 40)};
		for (const metric of Object.keys(canary) as MetricName[]) {
			if (metric !== 'p99Ms') canary[metric] = series(1, 0, 0, 20, 40);
		}

		const verdict = judgeCanary(canary, oldAndNew, windowSeconds);
		expect(judgement(verdict, 'p99Ms')).toMatchObject({result: 'pass', detail: {stablePoints: 20}});
		expect(verdict.windowEnd).toBe(start + 59 * step);
	});

	it('skips NaN points', () => {
		const gaps = healthy(3).p99Ms!.flatMap((point, index) => (index < 6 ? [point, {time: point.time + 1, value: Number.NaN}] : [point]));
		const verdict = judgeCanary({...healthy(3), p99Ms: gaps}, stable, windowSeconds);
		expect(judgement(verdict, 'p99Ms').detail?.canaryPoints).toBe(20);
	});

	it('says insufficient data when a critical metric has no data, unless told otherwise', () => {
		const {errorRatio: _dropped, ...withoutErrors} = healthy(3);
		const verdict = judgeCanary(withoutErrors, stable, windowSeconds);
		expect(verdict).toMatchObject({result: 'insufficient-data', score: null});
		expect(verdict.summary).toBe('insufficient data: no canary error ratio points over 5m yet');
		const lenient = new MannWhitneyJudge({requireCriticalMetrics: false}).judge(withoutErrors, stable, windowSeconds);
		expect(lenient).toMatchObject({result: 'pass', score: 100});
	});

	it('still fails on a failing critical metric when another critical metric has no data', () => {
		const {errorRatio: _dropped, ...withoutErrors} = healthy(3);
		const verdict = judgeCanary({...withoutErrors, p99Ms: series(189, 12, 3)}, stable, windowSeconds);
		expect(verdict.result).toBe('fail');
	});

	it('merges per-metric settings over the defaults', () => {
		const judge = new MannWhitneyJudge({policies: {p95Ms: {critical: true}}, alpha: 0.01});
		expect(judge.options.policies.p95Ms).toEqual({
			direction: 'higher-is-worse',
			critical: true,
			allowedRelativeChange: 0.1,
			allowedAbsoluteChange: 5,
		});
		expect(judge.options.alpha).toBe(0.01);
		expect(judge.options.passScore).toBe(95);
		const canary = {...healthy(3), p95Ms: series(130, 8, 3)};
		expect(judge.judge(canary, stable, windowSeconds).result).toBe('fail');
	});
});

describe('judgeCanary over a window where the regression began late', () => {
	// Ten minutes at a 5 s step, as the console fetches: the canary was like stable for 7 minutes, then slow.
	const consoleStep = 5000;
	const points = 120;
	const window = 600;
	function at(level: number, spread: number, phase: number, from = 0, count = points): Point[] {
		return Array.from({length: count}, (_, index) => ({
			time: start + (from + index) * consoleStep,
			value: level + spread * noise(from + index, phase),
		}));
	}

	function fleet(phase: number): Series {
		return {
			errorRatio: at(0.002, 0.001, phase),
			p50Ms: at(40, 4, phase),
			p95Ms: at(90, 8, phase),
			p99Ms: at(137, 12, phase),
			cpuCores: at(0.5, 0.05, phase),
			memoryBytes: at(500e6, 5e6, phase),
		};
	}

	const calmStable = fleet(0);
	const lateRegression = {...fleet(3), p99Ms: [...at(137, 12, 3, 0, 84), ...at(1100, 60, 3, 84, 36)]};

	it('fails the canary on its newest part, where a whole-window comparison is outvoted by the calm minutes', () => {
		// The defect: the judge weighed the whole 10 minutes only; with 30 % of the canary's points slow the
		// Hodges-Lehmann shift stays near zero, so the verdict said pass beside a canary 25× slower than stable.
		const whole = judgeCanary(lateRegression, calmStable, window, {...defaultJudgeOptions, recentFraction: 0});
		expect(whole.result).toBe('pass');
		const verdict = judgeCanary(lateRegression, calmStable, window);
		expect(verdict.result).toBe('fail');
		const p99 = judgement(verdict, 'p99Ms');
		expect(p99).toMatchObject({result: 'high', detail: {windowSeconds: 150, canaryPoints: 30, stablePoints: 30}});
		expect(p99.explanation).toMatch(/ over the last 2m30s — fail \(critical\)$/);
	});

	it('says a healthy canary that passed its whole window is ready to promote', () => {
		const verdict = judgeCanary(fleet(3), calmStable, window);
		expect(verdict).toMatchObject({result: 'pass', readyToPromote: true});
		expect(verdict.summary).toBe('pass: score 100 (6 of 6 metrics passed) over 10m — ready to promote');
	});

	it('says a canary that passed only the part of the window it has been watched is not ready yet, and when it will be', () => {
		const young = Object.fromEntries(Object.entries(fleet(3)).map(([metric, series]) => [metric, series!.slice(-48)])) as Series;
		const verdict = judgeCanary(young, calmStable, window);
		expect(verdict).toMatchObject({result: 'pass', readyToPromote: false});
		const complete = new Date(start + 72 * consoleStep + window * 1000 - consoleStep).toISOString().slice(11, 19);
		expect(verdict.summary).toBe(
			`pass: score 100 (6 of 6 metrics passed) over 10m — so far: 4m of the 10m window watched, complete at ${complete}`,
		);
	});

	it('says what is missing and when it will be enough', () => {
		const young = Object.fromEntries(Object.entries(fleet(3)).map(([metric, series]) => [metric, series!.slice(-4)])) as Series;
		const verdict = judgeCanary(young, calmStable, window);
		expect(verdict).toMatchObject({result: 'insufficient-data', score: null});
		const enough = new Date(start + 119 * consoleStep + 6 * consoleStep).toISOString().slice(11, 19);
		expect(verdict.summary).toBe(
			`insufficient data: needs 50s of canary error ratio, p50 latency, p95 latency, p99 latency, CPU, memory history; 20s so far, enough at ${enough}`,
		);
		expect(judgement(verdict, 'p99Ms').missing).toEqual({
			side: 'canary',
			points: 4,
			neededPoints: 10,
			stepMs: consoleStep,
			enoughAt: start + 125 * consoleStep,
		});
	});
});

describe('judgeCanary with bad input', () => {
	it('does not throw on a nonsense window', () => {
		expect(judgeCanary(stable, stable, Number.NaN)).toMatchObject({result: 'insufficient-data', score: null});
		expect(judgeCanary(stable, stable, -5).result).toBe('insufficient-data');
	});
});
