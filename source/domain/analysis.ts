/**
 * The seam for analysis beyond static thresholds: statistical detectors over series and the canary judge
 * arrive as `FlagDetector`s and a `CanaryJudge`, so the store does not change when they are added.
 */
import type {Flag, MetricName, Model, Sample, Series, Version} from './types.ts';

export interface DetectorInput {
	model: Model;
	version: Version;
	sample: Sample | undefined;
	history: Series | undefined;
	now: number;
}

export interface FlagDetector {
	readonly name: string;
	detect(input: DetectorInput): Flag[];
}

export type VerdictResult = 'pass' | 'marginal' | 'fail' | 'insufficient-data';

export interface MetricJudgement {
	metric: string;
	/** Canary's value relative to stable's, e.g. Hodges-Lehmann shift. */
	effect: number;
	pValue: number | null;
	result: 'pass' | 'high' | 'low' | 'nodata';
	critical: boolean;
	explanation: string;
	/** The numbers behind the explanation (absent when the metric had no data). */
	detail?: MetricJudgementDetail;
	/** What is missing, when the metric had too few points to be judged. */
	missing?: MissingData;
}

/** Too few points on one side of a metric: how many there are, how many are needed and when they will be there. */
export interface MissingData {
	/** The side with fewer points. */
	side: 'canary' | 'stable';
	points: number;
	neededPoints: number;
	/** The series' usual spacing of points, when it has two or more. */
	stepMs?: number;
	/** Epoch ms at which `neededPoints` will have arrived at this spacing (absent when there is no spacing to go by). */
	enoughAt?: number;
}

export interface Verdict {
	result: VerdictResult;
	/** 0–100, Kayenta-style. Null when there was not enough data. */
	score: number | null;
	windowSeconds: number;
	metrics: MetricJudgement[];
	summary: string;
	/** Epoch ms of the end of the judged window (the newest point of either side), when there was any data. */
	windowEnd?: number;
	/** On a pass: whether the canary passed over its whole window (ready to promote) or only over the part seen so far. */
	readyToPromote?: boolean;
	/** The critical canary flags that turned what the judge found into a fail (see `verdictAgreeingWith`). */
	flaggedBy?: Flag[];
}

export interface CanaryJudge {
	judge(canary: Series | undefined, stable: Series | undefined, windowSeconds: number): Verdict;
}

/** What the judge measured for one metric: the numbers its explanation is made from, for screens and `--json`. */
export interface MetricJudgementDetail {
	/** Hodges-Lehmann shift, canary − stable, in the metric's unit (same as `effect`). */
	shift: number;
	/** Shift as a fraction of stable's median (0.38 = 38 % higher); null when stable's median is 0. */
	relativeShift: number | null;
	canaryMedian: number;
	stableMedian: number;
	canaryPoints: number;
	stablePoints: number;
	/** The shift a failure needs to exceed, in the metric's unit. */
	allowedShift: number;
	/** The window these numbers are over: the whole window, or its newest part when that is where the metric failed. */
	windowSeconds?: number;
}

// Wording shared by the detectors, the judge and drift, so every explanation reads the same way.

export const metricLabels: Record<MetricName, string> = {
	rps: 'requests/s',
	errorRatio: 'error ratio',
	p50Ms: 'p50 latency',
	p95Ms: 'p95 latency',
	p99Ms: 'p99 latency',
	cpuCores: 'CPU',
	memoryBytes: 'memory',
};

function trimmed(value: number, digits: number): string {
	return Number(value.toFixed(digits)).toString();
}

function formatBytes(bytes: number): string {
	const magnitude = Math.abs(bytes);
	if (magnitude >= 1024 ** 3) return `${trimmed(bytes / 1024 ** 3, 2)} GiB`;
	if (magnitude >= 1024 ** 2) return `${trimmed(bytes / 1024 ** 2, 1)} MiB`;
	if (magnitude >= 1024) return `${trimmed(bytes / 1024, 1)} KiB`;
	return `${Math.round(bytes)} B`;
}

/** A metric's value with its unit: `52 ms`, `1.2%`, `0.25 cores`, `512 MiB`, `12.5 req/s`. */
export function formatMetricValue(metric: MetricName, value: number): string {
	if (!Number.isFinite(value)) return String(value);
	switch (metric) {
		case 'rps': {
			return `${trimmed(value, Math.abs(value) < 10 ? 2 : 1)} req/s`;
		}

		case 'errorRatio': {
			return `${trimmed(value * 100, Math.abs(value) < 0.1 ? 2 : 1)}%`;
		}

		case 'p50Ms':
		case 'p95Ms':
		case 'p99Ms': {
			return `${trimmed(value, Math.abs(value) < 10 ? 1 : 0)} ms`;
		}

		case 'cpuCores': {
			return `${trimmed(value, 3)} cores`;
		}

		case 'memoryBytes': {
			return formatBytes(value);
		}
	}
}

/** A difference in a metric's unit with its sign: `+52 ms`, `-0.4 pp` (error ratios in percentage points). */
export function formatMetricShift(metric: MetricName, shift: number): string {
	const sign = shift > 0 ? '+' : shift < 0 ? '-' : '±';
	if (metric === 'errorRatio') return `${sign}${trimmed(Math.abs(shift) * 100, 2)} pp`;
	return `${sign}${formatMetricValue(metric, Math.abs(shift))}`;
}

/** A relative change with its sign: `+38%`, `-4.2%`. */
export function formatRelativeChange(ratio: number): string {
	const sign = ratio > 0 ? '+' : ratio < 0 ? '-' : '±';
	const percent = Math.abs(ratio) * 100;
	return `${sign}${trimmed(percent, percent < 10 ? 1 : 0)}%`;
}

/** A p-value as people read it: `p=0.0004`, `p=0.31`, `p<0.0001`. */
export function formatPValue(pValue: number | null): string {
	if (pValue === null || Number.isNaN(pValue)) return 'p=n/a';
	if (pValue < 0.0001) return 'p<0.0001';
	return `p=${Number(pValue.toPrecision(2)).toString()}`;
}

/** A window length: `45s`, `5m`, `1h30m`, `2d`. */
export function formatDuration(seconds: number): string {
	if (!Number.isFinite(seconds)) return 'an unknown window';
	const whole = Math.max(0, Math.round(seconds));
	if (whole < 60) return `${whole}s`;
	if (whole < 3600) {
		const minutes = Math.floor(whole / 60);
		const rest = whole % 60;
		return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
	}

	if (whole < 86_400) {
		const hours = Math.floor(whole / 3600);
		const minutes = Math.floor((whole % 3600) / 60);
		return minutes === 0 ? `${hours}h` : `${hours}h${minutes}m`;
	}

	const days = Math.floor(whole / 86_400);
	const hours = Math.round((whole % 86_400) / 3600);
	return hours === 0 ? `${days}d` : `${days}d${hours}h`;
}
