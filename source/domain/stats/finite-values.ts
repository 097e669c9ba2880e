/** The finite numbers of a sample: gaps from missing scrapes (null, undefined, NaN, ±Infinity) are dropped, never read as zero. */
export function finiteValues(values: Iterable<number | null | undefined>): number[] {
	const finite: number[] = [];
	for (const value of values) {
		if (typeof value === 'number' && Number.isFinite(value)) finite.push(value);
	}

	return finite;
}
