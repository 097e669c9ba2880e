/**
 * Anomaly detectors over each metric series of a version: a robust z-score (median and MAD of a trailing window),
 * with warm-up and hysteresis so that flags do not flicker.
 *
 * The detector keeps no state between refreshes: the flag state at the newest point is recomputed from the whole
 * series each time, walking the hysteresis forward from its first point. The same history therefore always gives
 * the same flags, and a restarted console shows what the running one showed.
 */
import {formatDuration, formatMetricValue, metricLabels, type DetectorInput, type FlagDetector} from './analysis.ts';
import {MAD_TO_SIGMA} from './stats/median-absolute-deviation.ts';
import {cleanPoints} from './clean-points.ts';
import {METRIC_NAMES, type Flag, type MetricName, type Point, type Severity} from './types.ts';

/** Which deviations count: `up` (higher is bad), `down` (lower is bad) or `both`. */
export type AnomalyDirection = 'up' | 'down' | 'both';

export interface RobustZOptions {
	/** Earlier points that form the baseline of each point (its median and MAD). Default 30. */
	baselinePoints: number;
	/** A point is judged only when at least this many earlier points exist: no flag during warm-up. Default 10. */
	warmUpPoints: number;
	/** Raise when the directional z reaches this for `consecutivePoints` points in a row. Default 4. */
	enterZ: number;
	/** Clear only when the directional z stays below this for `consecutivePoints` points in a row. Default 2. */
	exitZ: number;
	/** Points in a row needed both to raise and to clear, so that one spike neither raises nor clears. Default 3. */
	consecutivePoints: number;
	/** Metrics watched. Default: all. */
	metrics: readonly MetricName[];
	/** Direction per metric. Default: rps `both`; latency, errors, CPU and memory `up`. */
	directions: Record<MetricName, AnomalyDirection>;
	/**
	 * Smallest scale (σ) per metric, in its unit. A flat baseline has MAD 0, and without a floor any wiggle would be
	 * an infinite z. Defaults: 0.5 req/s, 0.2 percentage points of errors, 1 ms, 0.01 cores, 8 MiB.
	 */
	minimumScale: Record<MetricName, number>;
	/** Smallest scale as a fraction of the baseline's median (0.02 = 2 %). Default 0.02. */
	relativeMinimumScale: number;
	/** Severity of the flags raised. Default `warning`. */
	severity: Severity;
}

export const defaultRobustZOptions: RobustZOptions = {
	baselinePoints: 30,
	warmUpPoints: 10,
	enterZ: 4,
	exitZ: 2,
	consecutivePoints: 3,
	metrics: METRIC_NAMES,
	directions: {
		rps: 'both',
		errorRatio: 'up',
		p50Ms: 'up',
		p95Ms: 'up',
		p99Ms: 'up',
		cpuCores: 'up',
		memoryBytes: 'up',
	},
	minimumScale: {
		rps: 0.5,
		errorRatio: 0.002,
		p50Ms: 1,
		p95Ms: 1,
		p99Ms: 1,
		cpuCores: 0.01,
		memoryBytes: 8 * 1024 * 1024,
	},
	relativeMinimumScale: 0.02,
	severity: 'warning',
};

/** Settings as the operator writes them: any subset, merged over the defaults. */
export interface RobustZSettings extends Partial<Omit<RobustZOptions, 'directions' | 'minimumScale'>> {
	directions?: Partial<Record<MetricName, AnomalyDirection>>;
	minimumScale?: Partial<Record<MetricName, number>>;
}

export function robustZOptions(settings: RobustZSettings = {}): RobustZOptions {
	return {
		...defaultRobustZOptions,
		...settings,
		directions: {...defaultRobustZOptions.directions, ...settings.directions},
		minimumScale: {...defaultRobustZOptions.minimumScale, ...settings.minimumScale},
	};
}

/** How one point looked against its baseline. */
export interface RobustZPoint {
	time: number;
	value: number;
	/** Null during warm-up. */
	baselineMedian: number | null;
	/** Unscaled MAD of the baseline; null during warm-up. */
	baselineMad: number | null;
	/** σ used for z: 1.4826 · MAD, or the floor when larger; null during warm-up. */
	scale: number | null;
	/** (value − median) / scale; null during warm-up. */
	z: number | null;
	/** Flag state after this point. */
	raised: boolean;
	/** When raised: time of the first point of the run that raised it. */
	since: number | null;
}

/** A raised anomaly at the newest point, with everything its explanation needs. */
export interface AnomalyFinding {
	metric: MetricName;
	value: number;
	time: number;
	baselineMedian: number;
	baselineMad: number;
	scale: number;
	z: number;
	/** First point of the run that raised the flag. */
	since: number;
	/** Baseline window of the newest point: how many points, from when to when (epoch ms). */
	windowPoints: number;
	windowStart: number;
	windowEnd: number;
}

/** A multiset of at most `capacity` numbers kept in ascending order, with its median and MAD. */
class SortedWindow {
	readonly #values: Float64Array;
	#size = 0;

	constructor(capacity: number) {
		this.#values = new Float64Array(capacity);
	}

	/** First index whose value is ≥ `value`. */
	#lowerBound(value: number): number {
		let low = 0;
		let high = this.#size;
		while (low < high) {
			const middle = (low + high) >>> 1;
			if (this.#values[middle]! < value) low = middle + 1;
			else high = middle;
		}

		return low;
	}

	insert(value: number): void {
		const at = this.#lowerBound(value);
		this.#values.copyWithin(at + 1, at, this.#size);
		this.#values[at] = value;
		this.#size++;
	}

	remove(value: number): void {
		const at = this.#lowerBound(value);
		if (at >= this.#size || this.#values[at] !== value) return;
		this.#values.copyWithin(at, at + 1, this.#size);
		this.#size--;
	}

	median(): number {
		const count = this.#size;
		if (count === 0) return Number.NaN;
		const middle = count >> 1;
		return count % 2 === 1 ? this.#values[middle]! : (this.#values[middle - 1]! + this.#values[middle]!) / 2;
	}

	/**
	 * The median of |value − center| over the window (unscaled MAD). The deviations in ascending order come from
	 * walking outwards from the center on both sides, as in a merge.
	 */
	medianAbsoluteDeviation(center: number): number {
		const count = this.#size;
		if (count === 0) return Number.NaN;
		const values = this.#values;
		let right = this.#lowerBound(center);
		let left = right - 1;
		const wanted = count >> 1;
		let previous = Number.NaN;
		for (let rank = 0; rank <= wanted; rank++) {
			const leftDeviation = left >= 0 ? center - values[left]! : Number.POSITIVE_INFINITY;
			const rightDeviation = right < count ? values[right]! - center : Number.POSITIVE_INFINITY;
			const deviation = leftDeviation <= rightDeviation ? leftDeviation : rightDeviation;
			if (leftDeviation <= rightDeviation) left--;
			else right++;
			if (rank === wanted) return count % 2 === 1 ? deviation : (previous + deviation) / 2;
			previous = deviation;
		}

		return Number.NaN;
	}
}

function directionalZ(z: number, direction: AnomalyDirection): number {
	if (direction === 'up') return z;
	if (direction === 'down') return -z;
	return Math.abs(z);
}

/**
 * Walk one metric's series oldest first, computing each point's robust z-score and the hysteresis state after it.
 * Calls `onPoint` for every point when given; returns the state at the newest point.
 */
function walkRobustZ(
	series: Point[],
	metric: MetricName,
	options: RobustZOptions,
	onPoint?: (state: RobustZPoint) => void,
): RobustZPoint | undefined {
	const direction = options.directions[metric];
	const needed = Math.max(1, Math.floor(options.consecutivePoints));
	const warmUp = Math.max(1, Math.floor(options.warmUpPoints));
	const baselineSize = Math.max(warmUp, Math.floor(options.baselinePoints));
	const window = new SortedWindow(baselineSize);
	let raised = false;
	let since: number | null = null;
	let runStart: number | null = null;
	let runLength = 0;
	let calmLength = 0;
	let baselineMedian = Number.NaN;
	let baselineMad = Number.NaN;
	let scale = Number.NaN;
	let z = Number.NaN;
	const stateAt = (point: Point, judged: boolean): RobustZPoint => ({
		time: point.time,
		value: point.value,
		baselineMedian: judged ? baselineMedian : null,
		baselineMad: judged ? baselineMad : null,
		scale: judged ? scale : null,
		z: judged ? z : null,
		raised,
		since,
	});
	// An indexed loop: `entries()` allocates an iterator result and a pair per point, for every point of every series.
	for (let index = 0; index < series.length; index++) {
		const point = series[index]!;
		if (index < warmUp) {
			// Warm-up points are not judged but are the first points' baseline.
			if (index > 0) window.insert(series[index - 1]!.value);
			onPoint?.(stateAt(point, false));
			continue;
		}

		// The baseline is kept sorted as it slides (one value in, one out), so its median and MAD come without a
		// selection per point: this runs for every point of every metric of every version.
		if (index > baselineSize) window.remove(series[index - 1 - baselineSize]!.value);
		window.insert(series[index - 1]!.value);
		baselineMedian = window.median();
		baselineMad = window.medianAbsoluteDeviation(baselineMedian);
		scale = Math.max(
			MAD_TO_SIGMA * baselineMad,
			options.minimumScale[metric],
			options.relativeMinimumScale * Math.abs(baselineMedian),
			Number.MIN_VALUE,
		);
		z = (point.value - baselineMedian) / scale;
		const deviation = directionalZ(z, direction);
		if (raised) {
			calmLength = deviation < options.exitZ ? calmLength + 1 : 0;
			if (calmLength >= needed) {
				raised = false;
				since = null;
				runLength = 0;
				runStart = null;
			}
		} else if (deviation >= options.enterZ) {
			runLength++;
			runStart ??= point.time;
			if (runLength >= needed) {
				raised = true;
				since = runStart;
				calmLength = 0;
			}
		} else {
			runLength = 0;
			runStart = null;
		}

		onPoint?.(stateAt(point, true));
	}

	const last = series.at(-1);
	return last ? stateAt(last, series.length > warmUp) : undefined;
}

/**
 * The robust z-score and the hysteresis state of every point of one metric's series, oldest first. Pure: the same
 * points and options always give the same track. Points with a non-finite value are skipped.
 */
export function robustZTrack(
	points: readonly Point[],
	metric: MetricName,
	options: RobustZOptions = defaultRobustZOptions,
): RobustZPoint[] {
	const track: RobustZPoint[] = [];
	walkRobustZ(cleanPoints(points), metric, options, (state) => track.push(state));
	return track;
}

/** The anomaly raised at the newest point of a series, if any. */
export function robustZAnomaly(
	points: readonly Point[],
	metric: MetricName,
	options: RobustZOptions = defaultRobustZOptions,
): AnomalyFinding | undefined {
	const series = cleanPoints(points);
	const last = walkRobustZ(series, metric, options);
	if (!last?.raised || last.z === null || last.baselineMedian === null || last.baselineMad === null || last.scale === null) {
		return undefined;
	}

	const newest = series.length - 1;
	const windowPoints = Math.min(newest, Math.max(Math.floor(options.warmUpPoints), Math.floor(options.baselinePoints)));
	return {
		metric,
		value: last.value,
		time: last.time,
		baselineMedian: last.baselineMedian,
		baselineMad: last.baselineMad,
		scale: last.scale,
		z: last.z,
		since: last.since ?? last.time,
		windowPoints,
		windowStart: series[newest - windowPoints]!.time,
		windowEnd: series[newest - 1]!.time,
	};
}

/** `p99 latency 412 ms is 6.2σ above its median 120 ms (robust z over the previous 30 points, 15m)`. */
export function describeAnomaly(finding: AnomalyFinding): string {
	const side = finding.z >= 0 ? 'above' : 'below';
	const span = formatDuration((finding.windowEnd - finding.windowStart) / 1000);
	return (
		`${metricLabels[finding.metric]} ${formatMetricValue(finding.metric, finding.value)} is ` +
		`${Math.abs(finding.z).toFixed(1)}σ ${side} its median ${formatMetricValue(finding.metric, finding.baselineMedian)} ` +
		`(robust z over the previous ${finding.windowPoints} points, ${span})`
	);
}

/**
 * `FlagDetector` that raises an `anomaly` flag per metric whose newest point is anomalous against its own recent
 * history. Construct once with settings; `detect` is pure.
 */
export class RobustZDetector implements FlagDetector {
	readonly name = 'robust-z';
	readonly options: RobustZOptions;

	constructor(settings: RobustZSettings = {}) {
		this.options = robustZOptions(settings);
	}

	detect(input: DetectorInput): Flag[] {
		const flags: Flag[] = [];
		for (const metric of this.options.metrics) {
			const points = input.history?.[metric];
			if (!points || points.length === 0) continue;
			const finding = robustZAnomaly(points, metric, this.options);
			if (!finding) continue;
			flags.push({kind: 'anomaly', severity: this.options.severity, message: describeAnomaly(finding), since: finding.since, metric});
		}

		return flags;
	}
}
