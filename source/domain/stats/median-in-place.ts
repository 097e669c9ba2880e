import {selectKth} from './select-kth.ts';

/** Median of `values` in linear time, reordering them; NaN when empty. For hot loops over scratch buffers. */
export function medianInPlace(values: Float64Array): number {
	const count = values.length;
	if (count === 0) return Number.NaN;
	const upperMiddle = count >> 1;
	if (count % 2 === 1) return selectKth(values, upperMiddle);
	const lower = selectKth(values, upperMiddle - 1);
	// Selection leaves everything after the lower middle ≥ it: the upper middle is the smallest of those.
	let upper = Number.POSITIVE_INFINITY;
	for (let index = upperMiddle; index < count; index++) upper = Math.min(upper, values[index]!);
	return (lower + upper) / 2;
}
