/**
 * Memory heading for its limit: a steady growth (Theil–Sen slope over a trailing window) that would reach the limit
 * soon. Like the robust z-score, it keeps no state: the same history always gives the same flags.
 */
import {formatMetricValue, type DetectorInput, type FlagDetector} from './analysis.ts';
import {median} from './stats/median.ts';
import {theilSen} from './stats/theil-sen.ts';
import {cleanPoints} from './clean-points.ts';
import type {Flag, Point, Severity} from './types.ts';

export interface MemoryTrendOptions {
	/** How far back the trend is looked for, from the newest point. Default 300 (5 minutes). */
	windowSeconds: number;
	/** Fewest points of steady growth to call it a trend. Default 5. */
	minimumPoints: number;
	/** Shortest stretch of steady growth to call it a trend, in seconds. Default 20. */
	minimumSpanSeconds: number;
	/**
	 * Kendall's τ the stretch needs (1: every later point is higher than every earlier one; 0: no order). Noise and a
	 * garbage collector's sawtooth stay well below it. Default 0.7.
	 */
	minimumTau: number;
	/** Growth over the stretch, as a fraction of the limit, below which it is not worth a warning. Default 0.05. */
	minimumRiseOfLimit: number;
	/** Warn only when the limit is this close at the current rate, in seconds. Default 3600 (an hour). */
	horizonSeconds: number;
	/** What to warn against for versions without a memory limit, in bytes. Default: none (no limit, no warning). */
	memoryThresholdBytes?: number;
	severity: Severity;
}

export const defaultMemoryTrendOptions: MemoryTrendOptions = {
	windowSeconds: 300,
	minimumPoints: 5,
	minimumSpanSeconds: 20,
	minimumTau: 0.7,
	minimumRiseOfLimit: 0.05,
	horizonSeconds: 3600,
	severity: 'warning',
};

/** Steady growth towards a limit at the newest point, with everything its explanation needs. */
export interface MemoryTrendFinding {
	/** Growth in bytes per second (Theil–Sen slope over the stretch). */
	bytesPerSecond: number;
	/** The fitted level at the newest point, in bytes. */
	current: number;
	limit: number;
	/** Whether `limit` is the version's memory limit (else the configured threshold). */
	isLimit: boolean;
	/** Ms from the newest point until the fitted line reaches the limit. */
	etaMs: number;
	/** First point of the stretch of growth. */
	since: number;
	points: number;
	tau: number;
}

/**
 * The steadiest stretch at the end of the series that grows (Kendall's τ at least `minimumTau`), by enough
 * (`minimumRiseOfLimit`), towards `limit` within `horizonSeconds` at its Theil–Sen rate. A stretch that begins after a
 * drop from a higher level is a sawtooth (a garbage collector's, or restarts after OOM kills, which flags of their own
 * report) and is not a trend. Pure.
 */
export function memoryTrend(
	points: readonly Point[],
	limit: number,
	options: MemoryTrendOptions = defaultMemoryTrendOptions,
	isLimit = true,
): MemoryTrendFinding | undefined {
	if (!Number.isFinite(limit) || limit <= 0) return undefined;
	const clean = cleanPoints(points);
	const newest = clean.at(-1);
	if (!newest) return undefined;
	const window = clean.filter((point) => point.time > newest.time - options.windowSeconds * 1000);
	const count = window.length;
	if (count < Math.max(3, options.minimumPoints)) return undefined;
	// Kendall's S of each suffix, grown one point at a time towards the past: O(n²) for all of them.
	let concordance = 0;
	let best = -1;
	let bestTau = 0;
	for (let start = count - 2; start >= 0; start--) {
		for (let later = start + 1; later < count; later++) concordance += Math.sign(window[later]!.value - window[start]!.value);
		const size = count - start;
		const tau = concordance / ((size * (size - 1)) / 2);
		const span = (newest.time - window[start]!.time) / 1000;
		// The steadiest stretch, the longest of equals: the longest alone would reach back into the flat minutes before
		// a leak began and understate its rate (an ETA several times too far).
		if (size >= options.minimumPoints && span >= options.minimumSpanSeconds && tau >= options.minimumTau && tau >= bestTau) {
			best = start;
			bestTau = tau;
		}
	}

	if (best < 0) return undefined;
	// The growth begins where the steps up begin: flat points at the stretch's start (in order only by their noise)
	// would pull the rate down and push the ETA out.
	const steps = window.slice(best + 1).map((point, index) => point.value - window[best + index]!.value);
	const typicalRise = median(steps);
	while (best < count - options.minimumPoints && window[best + 1]!.value - window[best]!.value < typicalRise / 4) best++;
	const stretch = window.slice(best);
	if ((newest.time - stretch[0]!.time) / 1000 < options.minimumSpanSeconds) return undefined;
	const third = Math.max(1, Math.floor(stretch.length / 3));
	const startLevel = median(stretch.slice(0, third).map((point) => point.value));
	const endLevel = median(stretch.slice(-third).map((point) => point.value));
	const rise = endLevel - startLevel;
	if (!(rise >= options.minimumRiseOfLimit * limit)) return undefined;
	const before = window.slice(0, best);
	if (before.some((point) => point.value > startLevel + rise / 2)) return undefined;
	const origin = stretch[0]!.time;
	const line = theilSen(
		stretch.map((point) => (point.time - origin) / 1000),
		stretch.map((point) => point.value),
	);
	if (!(line.slope > 0)) return undefined;
	// Still growing at about that rate at the end: a new pod's memory warming up to its working set climbs and then
	// levels off, and the stretch that ends on the plateau would otherwise still look like a climb.
	const tail = stretch.slice(-Math.max(options.minimumPoints, third));
	const tailLine = theilSen(
		tail.map((point) => (point.time - origin) / 1000),
		tail.map((point) => point.value),
	);
	if (!(tailLine.slope >= line.slope / 2)) return undefined;
	const current = line.intercept + line.slope * ((newest.time - origin) / 1000);
	if (current >= limit) return undefined;
	const etaMs = ((limit - current) / line.slope) * 1000;
	if (etaMs > options.horizonSeconds * 1000) return undefined;
	return {bytesPerSecond: line.slope, current, limit, isLimit, etaMs, since: origin, points: stretch.length, tau: bestTau};
}

/** "~12 min", or "<1 min" when the limit is closer than a minute. */
function minutesText(ms: number): string {
	return ms < 60_000 ? '<1 min' : `~${Math.round(ms / 60_000)} min`;
}

export function describeMemoryTrend(finding: MemoryTrendFinding): string {
	const rate = formatMetricValue('memoryBytes', finding.bytesPerSecond * 60);
	const limit = formatMetricValue('memoryBytes', finding.limit);
	const current = formatMetricValue('memoryBytes', finding.current);
	return (
		`memory growing steadily (+${rate}/min): ${minutesText(finding.etaMs)} to the ${limit} ` +
		`${finding.isLimit ? 'limit' : 'threshold'} at this rate (${current} now)`
	);
}

/**
 * `FlagDetector` that warns when a version's memory grows steadily towards its memory limit (or, without one, a
 * configured threshold) before any threshold fires. Construct once with settings; `detect` is pure.
 */
export class MemoryTrendDetector implements FlagDetector {
	readonly name = 'memory-trend';
	readonly options: MemoryTrendOptions;

	constructor(settings: Partial<MemoryTrendOptions> = {}) {
		this.options = {...defaultMemoryTrendOptions, ...settings};
	}

	detect(input: DetectorInput): Flag[] {
		const memoryLimit = input.version.resources?.memoryLimitBytes;
		const limit = memoryLimit ?? this.options.memoryThresholdBytes;
		const points = input.history?.memoryBytes;
		if (!limit || !points) return [];
		const finding = memoryTrend(points, limit, this.options, memoryLimit !== undefined);
		if (!finding) return [];
		return [
			{kind: 'memory', severity: this.options.severity, message: describeMemoryTrend(finding), since: finding.since, metric: 'memoryBytes'},
		];
	}
}
