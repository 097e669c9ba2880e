import {median} from './median.ts';

export interface TheilSenLine {
	/** Median of the slopes between every pair of points with different x. NaN with fewer than two distinct x. */
	slope: number;
	/** Median of y − slope·x: the line's value at x = 0. */
	intercept: number;
}

/**
 * Theil–Sen line through (x, y): robust to outliers (up to ~29 % of the points) where least squares is not. O(n²), for
 * the few dozen points of a metric window. `x` should be small numbers (offsets, not epoch ms) to keep precision.
 */
export function theilSen(x: readonly number[], y: readonly number[]): TheilSenLine {
	const slopes: number[] = [];
	const count = Math.min(x.length, y.length);
	for (let i = 0; i < count; i++) {
		for (let j = i + 1; j < count; j++) {
			const run = x[j]! - x[i]!;
			if (run !== 0) slopes.push((y[j]! - y[i]!) / run);
		}
	}

	if (slopes.length === 0) return {slope: Number.NaN, intercept: Number.NaN};
	const slope = median(slopes);
	const intercept = median(Array.from({length: count}, (_, index) => y[index]! - slope * x[index]!));
	return {slope, intercept};
}
