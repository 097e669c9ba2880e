/**
 * The canary judge: canary against stable over the same window, metric by metric, as Kayenta's Mann-Whitney
 * classifier does. A metric fails only when the difference is both statistically significant and larger than the
 * metric's allowed margin; the score is the share of judged metrics that passed; a failing critical metric fails the
 * whole verdict; too little data is its own result and never a pass.
 */
import {
	formatDuration,
	formatMetricShift,
	formatMetricValue,
	formatPValue,
	formatRelativeChange,
	metricLabels,
	type CanaryJudge,
	type MetricJudgement,
	type Verdict,
	type VerdictResult,
} from './analysis.ts';
import {hodgesLehmannShift} from './stats/hodges-lehmann.ts';
import {mannWhitneyU, type Alternative} from './stats/mann-whitney.ts';
import {median} from './stats/median.ts';
import {METRIC_NAMES, type Flag, type MetricName, type Point, type Series} from './types.ts';

/**
 * Which change is a regression. `neither`: the metric is not judged (request rates follow the traffic split, so a
 * canary at 10 % always has fewer requests per second than stable).
 */
export type MetricDirection = 'higher-is-worse' | 'lower-is-worse' | 'either' | 'neither';

export interface MetricPolicy {
	direction: MetricDirection;
	/** A critical metric that fails fails the whole verdict, whatever the score. */
	critical: boolean;
	/** Change allowed before a significant difference fails, as a fraction of stable's median (0.1 = 10 %). */
	allowedRelativeChange: number;
	/** Floor of the allowed change in the metric's unit, so 0.1 % vs 0.2 % errors or 3 ms vs 4 ms does not fail. */
	allowedAbsoluteChange: number;
}

export interface JudgeOptions {
	/** Significance level of the Mann-Whitney test. Default 0.05. */
	alpha: number;
	/** Fewest points each side needs in the window for a metric to be judged. Default 10. */
	minimumPoints: number;
	/** Score at or above which the canary passes. Default 95 (Kayenta). */
	passScore: number;
	/** Score at or above which the canary is marginal (below: fail). Default 75 (Kayenta). */
	marginalScore: number;
	/**
	 * When a critical metric has no data the verdict is insufficient-data rather than pass or marginal: the judge
	 * will not vouch for what it could not see. Default true.
	 */
	requireCriticalMetrics: boolean;
	policies: Record<MetricName, MetricPolicy>;
}

const MIB = 1024 * 1024;

export const defaultJudgeOptions: JudgeOptions = {
	alpha: 0.05,
	minimumPoints: 10,
	passScore: 95,
	marginalScore: 75,
	requireCriticalMetrics: true,
	policies: {
		rps: {direction: 'neither', critical: false, allowedRelativeChange: 0.1, allowedAbsoluteChange: 0},
		errorRatio: {direction: 'higher-is-worse', critical: true, allowedRelativeChange: 0.1, allowedAbsoluteChange: 0.005},
		p50Ms: {direction: 'higher-is-worse', critical: false, allowedRelativeChange: 0.1, allowedAbsoluteChange: 2},
		p95Ms: {direction: 'higher-is-worse', critical: false, allowedRelativeChange: 0.1, allowedAbsoluteChange: 5},
		p99Ms: {direction: 'higher-is-worse', critical: true, allowedRelativeChange: 0.1, allowedAbsoluteChange: 5},
		cpuCores: {direction: 'higher-is-worse', critical: false, allowedRelativeChange: 0.2, allowedAbsoluteChange: 0.02},
		memoryBytes: {direction: 'higher-is-worse', critical: false, allowedRelativeChange: 0.2, allowedAbsoluteChange: 32 * MIB},
	},
};

/** Settings as the operator writes them: any subset, merged over the defaults (per metric, per field). */
export interface JudgeSettings extends Partial<Omit<JudgeOptions, 'policies'>> {
	policies?: Partial<Record<MetricName, Partial<MetricPolicy>>>;
}

export function judgeOptions(settings: JudgeSettings = {}): JudgeOptions {
	const policies = {...defaultJudgeOptions.policies};
	for (const metric of METRIC_NAMES) policies[metric] = {...policies[metric], ...settings.policies?.[metric]};
	return {...defaultJudgeOptions, ...settings, policies};
}

function alternativeFor(direction: MetricDirection): Alternative {
	if (direction === 'higher-is-worse') return 'greater';
	if (direction === 'lower-is-worse') return 'less';
	return 'two-sided';
}

function newestTime(series: Series | undefined): number | undefined {
	let newest: number | undefined;
	for (const points of Object.values(series ?? {})) {
		for (const point of points ?? []) {
			if (Number.isFinite(point.value) && Number.isFinite(point.time) && (newest === undefined || point.time > newest)) newest = point.time;
		}
	}

	return newest;
}

function valuesInWindow(points: readonly Point[] | undefined, start: number, end: number): number[] {
	return (points ?? []).flatMap((point) =>
		Number.isFinite(point.value) && point.time > start && point.time <= end ? [point.value] : [],
	);
}

function judgeMetric(
	metric: MetricName,
	canaryValues: number[],
	stableValues: number[],
	policy: MetricPolicy,
	options: JudgeOptions,
	windowText: string,
): MetricJudgement {
	const label = metricLabels[metric];
	const critical = policy.critical;
	const criticalNote = critical ? ' (critical)' : '';
	if (canaryValues.length < options.minimumPoints || stableValues.length < options.minimumPoints) {
		return {
			metric,
			effect: Number.NaN,
			pValue: null,
			result: 'nodata',
			critical,
			explanation:
				`${label}: not enough data — canary ${canaryValues.length}, stable ${stableValues.length} points over ` +
				`${windowText} (need ${options.minimumPoints} each)${criticalNote}`,
		};
	}

	const test = mannWhitneyU(canaryValues, stableValues, {alternative: alternativeFor(policy.direction)});
	const shift = hodgesLehmannShift(canaryValues, stableValues);
	const canaryMedian = median(canaryValues);
	const stableMedian = median(stableValues);
	const relativeShift = stableMedian === 0 ? null : shift / Math.abs(stableMedian);
	const allowedShift = Math.max(policy.allowedRelativeChange * Math.abs(stableMedian), policy.allowedAbsoluteChange);
	const pValue = test.pValue;
	const significant = pValue !== null && pValue < options.alpha;
	const beyondMargin = Math.abs(shift) > allowedShift;
	const worseHigh = shift > 0 && (policy.direction === 'higher-is-worse' || policy.direction === 'either');
	const worseLow = shift < 0 && (policy.direction === 'lower-is-worse' || policy.direction === 'either');
	const failed = significant && beyondMargin && (worseHigh || worseLow);
	const result: MetricJudgement['result'] = failed ? (shift > 0 ? 'high' : 'low') : 'pass';

	const change = relativeShift === null ? formatMetricShift(metric, shift) : formatRelativeChange(relativeShift);
	const measured =
		`${label}: canary ${change} (HL shift ${formatMetricShift(metric, shift)}; median ` +
		`${formatMetricValue(metric, canaryMedian)} vs ${formatMetricValue(metric, stableMedian)}) vs stable, ` +
		`${formatPValue(pValue)} over ${windowText}`;
	let reason: string;
	if (failed) reason = `fail${criticalNote}`;
	else if (!significant) reason = `pass (not significant at α=${options.alpha})`;
	else if (!beyondMargin) reason = `pass (within the allowed ${formatMetricShift(metric, allowedShift)})`;
	else reason = 'pass (better than stable)';
	return {
		metric,
		effect: shift,
		pValue,
		result,
		critical,
		explanation: `${measured} — ${reason}`,
		detail: {
			shift,
			relativeShift,
			canaryMedian,
			stableMedian,
			canaryPoints: canaryValues.length,
			stablePoints: stableValues.length,
			allowedShift,
		},
	};
}

function summarize(
	result: VerdictResult,
	score: number | null,
	metrics: MetricJudgement[],
	windowText: string,
	missingCritical: MetricJudgement[],
): string {
	const judged = metrics.filter((metric) => metric.result !== 'nodata');
	const failed = judged.filter((metric) => metric.result === 'high' || metric.result === 'low');
	const label = (metric: MetricJudgement): string => metricLabels[metric.metric as MetricName] ?? metric.metric;
	const names = (list: MetricJudgement[]): string =>
		list.map((metric) => `${label(metric)}${metric.critical ? ' (critical)' : ''}`).join(', ');
	if (result === 'insufficient-data') {
		if (judged.length === 0) return `insufficient data: no metric had enough points on both sides over ${windowText}`;
		return `insufficient data: no data for critical ${missingCritical.map(label).join(', ')} over ${windowText}`;
	}

	const scoreText = `score ${Math.round(score ?? 0)} (${judged.length - failed.length} of ${judged.length} metrics passed) over ${windowText}`;
	if (failed.length === 0) return `${result}: ${scoreText}`;
	return `${result}: worse ${names(failed)} — ${scoreText}`;
}

/**
 * Judge the canary against stable over the newest `windowSeconds` of both histories (ending at the newest point of
 * either side, so the two are compared over the same window). Pure.
 */
export function judgeCanary(
	canary: Series | undefined,
	stable: Series | undefined,
	windowSeconds: number,
	options: JudgeOptions = defaultJudgeOptions,
): Verdict {
	const windowText = formatDuration(windowSeconds);
	const canaryEnd = newestTime(canary);
	const stableEnd = newestTime(stable);
	const windowEnd = canaryEnd === undefined ? stableEnd : stableEnd === undefined ? canaryEnd : Math.max(canaryEnd, stableEnd);
	const windowStart = (windowEnd ?? 0) - windowSeconds * 1000;
	const metrics: MetricJudgement[] = [];
	for (const metric of METRIC_NAMES) {
		const policy = options.policies[metric];
		if (policy.direction === 'neither') continue;
		const canaryValues = windowEnd === undefined ? [] : valuesInWindow(canary?.[metric], windowStart, windowEnd);
		const stableValues = windowEnd === undefined ? [] : valuesInWindow(stable?.[metric], windowStart, windowEnd);
		metrics.push(judgeMetric(metric, canaryValues, stableValues, policy, options, windowText));
	}

	const judged = metrics.filter((metric) => metric.result !== 'nodata');
	const passed = judged.filter((metric) => metric.result === 'pass');
	const criticalFailure = judged.some((metric) => metric.critical && metric.result !== 'pass');
	const missingCritical = metrics.filter((metric) => metric.critical && metric.result === 'nodata');
	const score = judged.length === 0 ? null : (100 * passed.length) / judged.length;
	let result: VerdictResult;
	if (score === null) result = 'insufficient-data';
	else if (criticalFailure) result = 'fail';
	else if (options.requireCriticalMetrics && missingCritical.length > 0) result = 'insufficient-data';
	else if (score >= options.passScore) result = 'pass';
	else if (score >= options.marginalScore) result = 'marginal';
	else result = 'fail';

	const verdictScore = result === 'insufficient-data' ? null : score;
	const verdict: Verdict = {
		result,
		score: verdictScore,
		windowSeconds,
		metrics,
		summary: summarize(result, verdictScore, metrics, windowText, missingCritical),
	};
	if (windowEnd !== undefined) verdict.windowEnd = windowEnd;
	return verdict;
}

/** `CanaryJudge` with the Mann-Whitney classifier. Construct once with settings; `judge` is pure. */
export class MannWhitneyJudge implements CanaryJudge {
	readonly options: JudgeOptions;

	constructor(settings: JudgeSettings = {}) {
		this.options = judgeOptions(settings);
	}

	judge(canary: Series | undefined, stable: Series | undefined, windowSeconds: number): Verdict {
		return judgeCanary(canary, stable, windowSeconds, this.options);
	}
}

/**
 * The verdict as a `canary` flag: critical for fail, warning for marginal, nothing for pass or insufficient data.
 * The message leads with the worst failing metric's explanation (critical ones first). `now` defaults to the end of
 * the judged window.
 */
export function judgeSummaryFlag(verdict: Verdict, now: number = verdict.windowEnd ?? 0): Flag | undefined {
	if (verdict.result !== 'fail' && verdict.result !== 'marginal') return undefined;
	const failed = verdict.metrics.filter((metric) => metric.result === 'high' || metric.result === 'low');
	const worst = failed.find((metric) => metric.critical) ?? failed[0];
	const others = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
	const scoreText = verdict.score === null ? '' : ` (score ${Math.round(verdict.score)})`;
	const flag: Flag = {
		kind: 'canary',
		severity: verdict.result === 'fail' ? 'critical' : 'warning',
		message: worst
			? `canary ${verdict.result}${scoreText} — ${worst.explanation}${others}`
			: `canary ${verdict.summary}`,
		since: now,
	};
	if (worst && (METRIC_NAMES as readonly string[]).includes(worst.metric)) flag.metric = worst.metric as MetricName;
	return flag;
}
