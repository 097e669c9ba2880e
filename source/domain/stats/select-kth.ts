/**
 * The k-th smallest value (0-based) of `values`, found in linear time on average (Hoare's selection, as in Wirth's
 * `find`). Reorders `values` so that everything before index k is ≤ the result and everything after is ≥ it.
 * NaN when k is out of range. The values must not contain NaN.
 */
export function selectKth(values: Float64Array, k: number): number {
	if (!Number.isInteger(k) || k < 0 || k >= values.length) return Number.NaN;
	let left = 0;
	let right = values.length - 1;
	while (left < right) {
		// Median of three as the pivot keeps sorted and reversed input linear.
		const first = values[left]!;
		const middle = values[(left + right) >> 1]!;
		const last = values[right]!;
		const pivot = Math.max(Math.min(first, middle), Math.min(Math.max(first, middle), last));
		let low = left;
		let high = right;
		do {
			while (values[low]! < pivot) low++;
			while (pivot < values[high]!) high--;
			if (low <= high) {
				const swapped = values[low]!;
				values[low] = values[high]!;
				values[high] = swapped;
				low++;
				high--;
			}
		} while (low <= high);

		if (high < k) left = low;
		if (k < low) right = high;
	}

	return values[k]!;
}
