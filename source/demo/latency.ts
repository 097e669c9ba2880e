/**
 * Latency distributions and the histogram that percentiles are read from. Each simulated request draws a latency
 * from a log-normal body with a Pareto tail; the draws land in log-spaced buckets (as a Prometheus histogram would),
 * and p50/p95/p99 are read back from the buckets of a sliding window, interpolated within a bucket.
 */
import type {Random} from './random.ts';

export interface LatencyProfile {
	/** Median of the log-normal body, in ms. */
	medianMs: number;
	/** Shape of the log-normal body (0.2 tight … 0.6 wide). */
	sigma: number;
	/** Share of requests in the heavy tail (GC pauses, cold caches, retries). */
	tailProbability: number;
	/** The tail starts at `medianMs * tailScale`. */
	tailScale: number;
	/** Pareto index of the tail: smaller is heavier. */
	tailAlpha: number;
}

/** Requests slower than this time out upstream. */
export const TIMEOUT_MS = 30_000;

export function drawLatency(random: Random, profile: LatencyProfile): number {
	return Math.min(TIMEOUT_MS, Math.exp(drawLogLatency(random, profile)));
}

/**
 * The natural log of a latency draw in ms. The histogram only needs the log (its buckets are log-spaced), so the
 * hot path skips an exp and a log per simulated request.
 */
export function drawLogLatency(random: Random, profile: LatencyProfile): number {
	if (random.next() < profile.tailProbability) {
		let uniform = random.next();
		while (uniform === 0) uniform = random.next();
		// Pareto tail: log(scale * U^(-1/alpha)) = log(scale) - log(U) / alpha.
		return Math.log(profile.medianMs * profile.tailScale) - Math.log(uniform) / profile.tailAlpha;
	}

	return Math.log(profile.medianMs) + profile.sigma * random.normal();
}

/** 128 log-spaced buckets from 0.5 ms to 60 s: each 9.6 % wider than the last, so percentiles are within ~5 %. */
export const BUCKET_COUNT = 128;
const SMALLEST_BUCKET_MS = 0.5;
const LARGEST_BUCKET_MS = 60_000;
const LOG_BUCKET_RATIO = Math.log(LARGEST_BUCKET_MS / SMALLEST_BUCKET_MS) / BUCKET_COUNT;

const LOG_SMALLEST_BUCKET = Math.log(SMALLEST_BUCKET_MS);
export const LOG_TIMEOUT = Math.log(TIMEOUT_MS);

/** Bucket of a latency given as its natural log (see `drawLogLatency`). */
export function bucketIndexOfLog(logLatencyMs: number): number {
	const index = Math.floor((logLatencyMs - LOG_SMALLEST_BUCKET) / LOG_BUCKET_RATIO);
	return index < 0 ? 0 : index >= BUCKET_COUNT ? BUCKET_COUNT - 1 : index;
}

function bucketLowerBound(index: number): number {
	return SMALLEST_BUCKET_MS * Math.exp(index * LOG_BUCKET_RATIO);
}

/** p50, p95 and p99 in one pass over the buckets (NaN when there were no requests), written into `into`. */
export function percentilesInto(buckets: ArrayLike<number>, into: {p50: number; p95: number; p99: number}): void {
	let total = 0;
	for (let index = 0; index < BUCKET_COUNT; index++) total += buckets[index]!;
	let p50 = Number.NaN;
	let p95 = Number.NaN;
	let p99 = Number.NaN;
	if (total > 0) {
		const rank50 = 0.5 * total;
		const rank95 = 0.95 * total;
		const rank99 = 0.99 * total;
		let cumulative = 0;
		for (let index = 0; index < BUCKET_COUNT; index++) {
			const count = buckets[index]!;
			if (count <= 0) continue;
			const upper = cumulative + count;
			const lower = bucketLowerBound(index);
			// Geometric interpolation within the bucket: the buckets are log-spaced.
			if (Number.isNaN(p50) && upper >= rank50) p50 = lower * Math.exp(Math.max(0, (rank50 - cumulative) / count) * LOG_BUCKET_RATIO);
			if (Number.isNaN(p95) && upper >= rank95) p95 = lower * Math.exp(Math.max(0, (rank95 - cumulative) / count) * LOG_BUCKET_RATIO);
			if (upper >= rank99) {
				p99 = lower * Math.exp(Math.min(1, Math.max(0, (rank99 - cumulative) / count)) * LOG_BUCKET_RATIO);
				break;
			}

			cumulative = upper;
		}
	}

	into.p50 = p50;
	into.p95 = p95;
	into.p99 = p99;
}

/** Exact percentile of sorted values (nearest rank), for load-test results computed from every draw. */
export function percentileOfSorted(sorted: ArrayLike<number>, quantile: number): number {
	if (sorted.length === 0) return 0;
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1));
	return sorted[rank]!;
}
