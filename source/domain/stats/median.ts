/** Median of a sorted sample; NaN when empty. */
export function medianOfSorted(sorted: ArrayLike<number>): number {
	const count = sorted.length;
	if (count === 0) return Number.NaN;
	const middle = Math.floor(count / 2);
	return count % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median of a sample in any order; NaN when empty. The input is not changed. */
export function median(values: readonly number[]): number {
	return medianOfSorted([...values].sort((a, b) => a - b));
}
