export interface Ranking {
	/** 1-based ranks in input order; tied values share the mean of the ranks they span. */
	ranks: number[];
	/** Size of every group of tied values (groups of one included), for tie corrections. */
	tieGroupSizes: number[];
}

/** Mid-ranks of a sample, as scipy.stats.rankdata(method='average'). */
export function rankWithTies(values: readonly number[]): Ranking {
	const order = values.map((_, index) => index).sort((a, b) => values[a]! - values[b]!);
	const ranks: number[] = new Array<number>(values.length).fill(0);
	const tieGroupSizes: number[] = [];
	let start = 0;
	while (start < order.length) {
		let end = start + 1;
		while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
		// Positions start..end-1 hold equal values: ranks start+1..end, mean (start + 1 + end) / 2.
		const midRank = (start + 1 + end) / 2;
		for (let position = start; position < end; position++) ranks[order[position]!] = midRank;
		tieGroupSizes.push(end - start);
		start = end;
	}

	return {ranks, tieGroupSizes};
}
