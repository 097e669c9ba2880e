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
	type MissingData,
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
	/**
	 * The newest part of the window, as a fraction of it, judged on its own as well (0.25: the last 2m30s of 10m). A
	 * metric passes only when it passes over the whole window and over this newest part: a regression that began a few
	 * minutes ago is otherwise outvoted by the calm minutes before it (the Hodges-Lehmann shift is the median of the
	 * pairwise differences, so it barely moves until half the canary's points are bad). The newest part is judged only
	 * when it holds `minimumPoints` on both sides. 0 turns it off. Default 0.25.
	 */
	recentFraction: number;
	policies: Record<MetricName, MetricPolicy>;
}

const MIB = 1024 * 1024;

export const defaultJudgeOptions: JudgeOptions = {
	alpha: 0.05,
	minimumPoints: 10,
	passScore: 95,
	marginalScore: 75,
	requireCriticalMetrics: true,
	recentFraction: 0.25,
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

function pointsInWindow(points: readonly Point[] | undefined, start: number, end: number): Point[] {
	return (points ?? []).filter((point) => Number.isFinite(point.value) && point.time > start && point.time <= end);
}

/** The usual spacing of a series' points (the median gap), to say when enough of them will have arrived. */
function typicalStep(points: readonly Point[] | undefined): number | undefined {
	const gaps: number[] = [];
	for (let index = 1; index < (points?.length ?? 0); index++) {
		const gap = points![index]!.time - points![index - 1]!.time;
		if (Number.isFinite(gap) && gap > 0) gaps.push(gap);
	}

	return gaps.length === 0 ? undefined : median(gaps);
}

/** A time of day as the console's clock shows it (UTC, `09:04:10`). */
function clockTime(epochMs: number): string {
	return new Date(epochMs).toISOString().slice(11, 19);
}

function missingJudgement(
	metric: MetricName,
	canaryPoints: number,
	stablePoints: number,
	stepMs: number | undefined,
	windowEnd: number | undefined,
	policy: MetricPolicy,
	options: JudgeOptions,
	windowText: string,
): MetricJudgement {
	const label = metricLabels[metric];
	const side: MissingData['side'] = canaryPoints <= stablePoints ? 'canary' : 'stable';
	const points = Math.min(canaryPoints, stablePoints);
	const missing: MissingData = {side, points, neededPoints: options.minimumPoints};
	// With no point at all there is no telling when there will be: the series may never come (not scraped, no traffic).
	if (points > 0 && stepMs !== undefined && windowEnd !== undefined) {
		missing.stepMs = stepMs;
		missing.enoughAt = windowEnd + (options.minimumPoints - points) * stepMs;
	}

	const when =
		missing.enoughAt === undefined
			? `no ${side} ${label} points yet: is the ${side} serving traffic, and are its metrics scraped?`
			: `needs ${formatDuration((options.minimumPoints * stepMs!) / 1000)} of ${side} ${label} history; ` +
				`${formatDuration((points * stepMs!) / 1000)} so far, enough at ${clockTime(missing.enoughAt)}`;
	return {
		metric,
		effect: Number.NaN,
		pValue: null,
		result: 'nodata',
		critical: policy.critical,
		explanation:
			`${label}: not enough data — canary ${canaryPoints}, stable ${stablePoints} points over ${windowText} ` +
			`(need ${options.minimumPoints} each): ${when}${policy.critical ? ' (critical)' : ''}`,
		missing,
	};
}

function judgeMetric(
	metric: MetricName,
	canaryValues: number[],
	stableValues: number[],
	policy: MetricPolicy,
	options: JudgeOptions,
	windowSeconds: number,
	windowText: string,
): MetricJudgement {
	const label = metricLabels[metric];
	const critical = policy.critical;
	const criticalNote = critical ? ' (critical)' : '';
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
			windowSeconds,
		},
	};
}

/** "needs 50s of canary error ratio, p99 latency history; 20s so far, enough at 09:01:10": one clause per wait. */
function describeMissing(missing: MetricJudgement[], windowText: string): string {
	const groups = new Map<string, {first: MetricJudgement; labels: string[]}>();
	for (const metric of missing) {
		const need = metric.missing;
		const key = need?.enoughAt === undefined ? `none ${need?.side}` : `${need.side} ${need.points} ${need.enoughAt}`;
		const label = metricLabels[metric.metric as MetricName] ?? metric.metric;
		const group = groups.get(key);
		if (group) group.labels.push(label);
		else groups.set(key, {first: metric, labels: [label]});
	}

	return [...groups.values()]
		.map(({first, labels}) => {
			const need = first.missing;
			if (!need) return `no data for ${labels.join(', ')} over ${windowText}`;
			const what = labels.length === 1 ? `${need.side} ${labels[0]}` : `${need.side} ${labels.join(', ')}`;
			if (need.enoughAt === undefined || need.stepMs === undefined) return `no ${what} points over ${windowText} yet`;
			return (
				`needs ${formatDuration((need.neededPoints * need.stepMs) / 1000)} of ${what} history; ` +
				`${formatDuration((need.points * need.stepMs) / 1000)} so far, enough at ${clockTime(need.enoughAt)}`
			);
		})
		.join('; ');
}

function summarize(
	result: VerdictResult,
	score: number | null,
	metrics: MetricJudgement[],
	windowText: string,
	missingCritical: MetricJudgement[],
	readiness: string,
): string {
	const judged = metrics.filter((metric) => metric.result !== 'nodata');
	const failed = judged.filter((metric) => metric.result === 'high' || metric.result === 'low');
	const label = (metric: MetricJudgement): string => metricLabels[metric.metric as MetricName] ?? metric.metric;
	const names = (list: MetricJudgement[]): string =>
		list.map((metric) => `${label(metric)}${metric.critical ? ' (critical)' : ''}`).join(', ');
	if (result === 'insufficient-data') {
		const missing = judged.length === 0 ? metrics.filter((metric) => metric.result === 'nodata') : missingCritical;
		if (missing.length === 0) return `insufficient data: no metric had enough points on both sides over ${windowText}`;
		return `insufficient data: ${describeMissing(missing, windowText)}`;
	}

	const scoreText = `score ${Math.round(score ?? 0)} (${judged.length - failed.length} of ${judged.length} metrics passed) over ${windowText}`;
	if (failed.length === 0) return `${result}: ${scoreText}${result === 'pass' ? readiness : ''}`;
	return `${result}: worse ${names(failed)} — ${scoreText}`;
}

/**
 * Judge the canary against stable over the newest `windowSeconds` of both histories (ending at the newest point of
 * either side, so the two are compared over the same window), and over the newest part of that window on its own
 * (see `recentFraction`). Pure.
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
	const recentSeconds = Number.isFinite(options.recentFraction) && options.recentFraction > 0 ? windowSeconds * options.recentFraction : 0;
	const recentText = `the last ${formatDuration(recentSeconds)}`;
	const recentStart = (windowEnd ?? 0) - recentSeconds * 1000;
	let anyStep: number | undefined;
	for (const metric of METRIC_NAMES) anyStep ??= typicalStep(canary?.[metric]) ?? typicalStep(stable?.[metric]);
	const metrics: MetricJudgement[] = [];
	/** Since when the canary has points on every judged metric (the newest of their first points in the window). */
	let canaryFrom: number | undefined;
	for (const metric of METRIC_NAMES) {
		const policy = options.policies[metric];
		if (policy.direction === 'neither') continue;
		const canaryPoints = windowEnd === undefined ? [] : pointsInWindow(canary?.[metric], windowStart, windowEnd);
		const stablePoints = windowEnd === undefined ? [] : pointsInWindow(stable?.[metric], windowStart, windowEnd);
		if (canaryPoints.length < options.minimumPoints || stablePoints.length < options.minimumPoints) {
			const step = typicalStep(canary?.[metric]) ?? typicalStep(stable?.[metric]) ?? anyStep;
			metrics.push(missingJudgement(metric, canaryPoints.length, stablePoints.length, step, windowEnd, policy, options, windowText));
			continue;
		}

		const first = canaryPoints[0]!.time;
		if (canaryFrom === undefined || first > canaryFrom) canaryFrom = first;
		const values = (points: Point[]) => points.map((point) => point.value);
		let judgement = judgeMetric(metric, values(canaryPoints), values(stablePoints), policy, options, windowSeconds, windowText);
		if (judgement.result === 'pass' && recentSeconds > 0 && recentSeconds < windowSeconds) {
			const canaryRecent = canaryPoints.filter((point) => point.time > recentStart);
			const stableRecent = stablePoints.filter((point) => point.time > recentStart);
			if (canaryRecent.length >= options.minimumPoints && stableRecent.length >= options.minimumPoints) {
				const recent = judgeMetric(metric, values(canaryRecent), values(stableRecent), policy, options, recentSeconds, recentText);
				if (recent.result !== 'pass') judgement = recent;
			}
		}

		metrics.push(judgement);
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

	// Ready to promote once the canary passed over its whole window, not over the first minutes of it: its oldest point
	// is within a step (and a half, for jitter) of the window's start.
	const step = anyStep ?? 0;
	const watchedAll = canaryFrom !== undefined && canaryFrom - windowStart <= step * 1.5;
	const readiness =
		result !== 'pass' || windowEnd === undefined
			? ''
			: watchedAll
				? ' — ready to promote'
				: ` — so far: ${formatDuration((windowEnd - (canaryFrom ?? windowEnd)) / 1000 + step / 1000)} of the ${windowText} window watched, ` +
					`complete at ${clockTime((canaryFrom ?? windowEnd) + windowSeconds * 1000 - step)}`;
	const verdictScore = result === 'insufficient-data' ? null : score;
	const verdict: Verdict = {
		result,
		score: verdictScore,
		windowSeconds,
		metrics,
		summary: summarize(result, verdictScore, metrics, windowText, missingCritical, readiness),
	};
	if (result === 'pass') verdict.readyToPromote = watchedAll;
	if (windowEnd !== undefined) verdict.windowEnd = windowEnd;
	return verdict;
}

/**
 * Whether a flag on the canary contradicts a passing verdict: a critical canary-against-stable flag on a metric the
 * verdict judged, or the canary's pods failing (OOMKilled, CrashLoopBackOff, …) while stable's are not.
 */
function contradicts(verdict: Verdict, flag: Flag, stableFlags: readonly Flag[]): boolean {
	if (flag.severity !== 'critical') return false;
	if (flag.kind === 'canary') return flag.metric !== undefined && verdict.metrics.some((metric) => metric.metric === flag.metric);
	if (flag.kind === 'restarts') return !stableFlags.some((other) => other.kind === 'restarts' && other.severity === 'critical');
	return false;
}

/**
 * A verdict that agrees with the canary's flags: never pass (nor marginal) while a critical canary flag stands on a
 * metric the judge covers, or while the canary's pods fail and stable's do not. The flags come from the newest samples
 * and the judge from the history, so the judge can lag a regression that has just begun; then the verdict is fail,
 * says which flag made it so and what the judge alone found. Other verdicts are returned as they are. Pure and
 * idempotent.
 */
export function verdictAgreeingWith(
	verdict: Verdict,
	canaryFlags: readonly Flag[] | undefined,
	stableFlags: readonly Flag[] = [],
): Verdict {
	if (verdict.result !== 'pass' && verdict.result !== 'marginal') return verdict;
	// Canary-against-stable flags first: they name the metric and by how much.
	const against = (canaryFlags ?? [])
		.filter((flag) => contradicts(verdict, flag, stableFlags))
		.sort((a, b) => Number(b.kind === 'canary') - Number(a.kind === 'canary'));
	if (against.length === 0) return verdict;
	const others = against.length > 1 ? ` (and ${against.length - 1} more critical flag${against.length > 2 ? 's' : ''})` : '';
	const {readyToPromote: _notReady, ...rest} = verdict;
	return {
		...rest,
		result: 'fail',
		summary: `fail: ${against[0]!.kind === 'canary' ? '' : 'canary '}${against[0]!.message}${others} — the judge alone said ${verdict.summary.replace(/ — ready to promote$/, '')}`,
		flaggedBy: against,
	};
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
		message: worst ? `canary ${verdict.result}${scoreText} — ${worst.explanation}${others}` : `canary ${verdict.summary}`,
		since: now,
	};
	if (worst && (METRIC_NAMES as readonly string[]).includes(worst.metric)) flag.metric = worst.metric as MetricName;
	return flag;
}
