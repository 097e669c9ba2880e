import {finiteValues} from './finite-values.ts';
import {kolmogorovSurvival} from './kolmogorov-survival.ts';

export interface KolmogorovSmirnovResult {
	/** D: the largest distance between the two empirical distribution functions, 0–1. NaN when a sample is empty. */
	statistic: number;
	/** Asymptotic two-sided p-value, `kstwobign.sf(√(n1·n2/(n1+n2)) · D)`; null when a sample is empty. */
	pValue: number | null;
	n1: number;
	n2: number;
}

/**
 * Two-sample Kolmogorov-Smirnov test. D equals `scipy.stats.ks_2samp(x, y).statistic`; the p-value is Smirnov's
 * limiting distribution, which is accurate when both samples have a few dozen values or more (SciPy's `ks_2samp`
 * switches to an exact computation below that, so small samples differ from it). Non-finite values are skipped.
 */
export function kolmogorovSmirnov(
	xValues: Iterable<number | null | undefined>,
	yValues: Iterable<number | null | undefined>,
): KolmogorovSmirnovResult {
	const x = finiteValues(xValues).sort((a, b) => a - b);
	const y = finiteValues(yValues).sort((a, b) => a - b);
	const n1 = x.length;
	const n2 = y.length;
	if (n1 === 0 || n2 === 0) return {statistic: Number.NaN, pValue: null, n1, n2};
	let statistic = 0;
	let xIndex = 0;
	let yIndex = 0;
	// Step through the distinct values in order; both ECDFs jump past every copy of a tied value at once.
	while (xIndex < n1 && yIndex < n2) {
		const value = Math.min(x[xIndex]!, y[yIndex]!);
		while (xIndex < n1 && x[xIndex] === value) xIndex++;
		while (yIndex < n2 && y[yIndex] === value) yIndex++;
		statistic = Math.max(statistic, Math.abs(xIndex / n1 - yIndex / n2));
	}

	const effectiveSize = (n1 * n2) / (n1 + n2);
	return {statistic, pValue: kolmogorovSurvival(Math.sqrt(effectiveSize) * statistic), n1, n2};
}
