/** Proportion that stands in for an empty bin, so a class seen on one side only counts instead of dividing by zero. */
export const DEFAULT_PSI_EPSILON = 1e-4;

/**
 * Population stability index between the bin counts of a reference (stable) and a comparison (canary) sample:
 * Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over bin proportions. Every term is ≥ 0, so PSI ≥ 0, and it is symmetric in its two
 * arguments. Empty bins count as `epsilon`. Negative or non-finite counts count as 0. NaN when either side is empty.
 * Common reading: below 0.1 no shift, 0.1–0.25 moderate, above 0.25 significant.
 */
export function populationStabilityIndex(
	referenceCounts: readonly number[],
	comparisonCounts: readonly number[],
	epsilon: number = DEFAULT_PSI_EPSILON,
): number {
	const bins = Math.max(referenceCounts.length, comparisonCounts.length);
	const clean = (count: number | undefined): number => (count !== undefined && Number.isFinite(count) && count > 0 ? count : 0);
	let referenceTotal = 0;
	let comparisonTotal = 0;
	for (let bin = 0; bin < bins; bin++) {
		referenceTotal += clean(referenceCounts[bin]);
		comparisonTotal += clean(comparisonCounts[bin]);
	}

	if (referenceTotal === 0 || comparisonTotal === 0) return Number.NaN;
	let index = 0;
	for (let bin = 0; bin < bins; bin++) {
		const expected = Math.max(clean(referenceCounts[bin]) / referenceTotal, epsilon);
		const actual = Math.max(clean(comparisonCounts[bin]) / comparisonTotal, epsilon);
		index += (actual - expected) * Math.log(actual / expected);
	}

	return index;
}
