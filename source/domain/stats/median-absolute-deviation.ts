import {median} from './median.ts';

/**
 * Scale factor that makes the MAD a consistent estimator of the standard deviation of normal data
 * (1 / Φ⁻¹(3/4)), so a robust z-score reads like an ordinary one.
 */
export const MAD_TO_SIGMA = 1.482602218505602;

/** Median absolute deviation from `center` (the sample's median by default), unscaled; NaN when empty. */
export function medianAbsoluteDeviation(values: readonly number[], center: number = median(values)): number {
	if (values.length === 0) return Number.NaN;
	return median(values.map((value) => Math.abs(value - center)));
}
