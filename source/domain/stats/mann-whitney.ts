import {finiteValues} from './finite-values.ts';
import {logGamma} from './log-gamma.ts';
import {normalSurvival} from './normal-survival.ts';
import {rankWithTies} from './rank-with-ties.ts';

/**
 * `greater`: x tends to be larger than y; `less`: smaller; `two-sided`: either. Same meaning as SciPy's
 * `mannwhitneyu(x, y, alternative=…)`.
 */
export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyOptions {
	/** Default `two-sided`. */
	alternative?: Alternative;
	/**
	 * `exact`: the exact null distribution of U (no tie correction); `asymptotic`: normal approximation with tie
	 * correction; `auto` (default): exact when one sample has at most 8 values and there are no ties, as SciPy does.
	 * Exact falls back to asymptotic when the count of arrangements C(n1+n2, n1) reaches 2^53 (doubles would round).
	 */
	method?: 'auto' | 'exact' | 'asymptotic';
	/** Continuity correction of ½ in the normal approximation. Default true. */
	continuity?: boolean;
}

export interface MannWhitneyResult {
	/** U of the first sample: the number of pairs (x, y) with x > y, ties counting ½. SciPy's `statistic`. */
	u1: number;
	/** U of the second sample; u1 + u2 = n1 · n2. */
	u2: number;
	n1: number;
	n2: number;
	/** Standardized statistic of the normal approximation (null for the exact method or when undefined). */
	z: number | null;
	/** Null when a sample is empty. */
	pValue: number | null;
	method: 'exact' | 'asymptotic';
	alternative: Alternative;
}

// Exact counts are kept in doubles: the number of arrangements C(n1+n2, n1) must stay below 2^53 to be exact.
const MAX_EXACT_LOG_ARRANGEMENTS = 52 * Math.LN2;
// The table of counts has n1·n2 + 1 entries.
const MAX_EXACT_U = 250_000;

function exactIsPrecise(n1: number, n2: number): boolean {
	const logArrangements = logGamma(n1 + n2 + 1) - logGamma(n1 + 1) - logGamma(n2 + 1);
	return logArrangements < MAX_EXACT_LOG_ARRANGEMENTS && n1 * n2 <= MAX_EXACT_U;
}

/**
 * Mann-Whitney U test (Wilcoxon rank-sum) of two independent samples. Non-finite values are skipped. Matches
 * `scipy.stats.mannwhitneyu` for the same alternative, method and continuity. When every value is equal the
 * samples carry no evidence of a difference and the p-value is 1 (SciPy returns NaN or 1 there).
 */
export function mannWhitneyU(
	xValues: Iterable<number | null | undefined>,
	yValues: Iterable<number | null | undefined>,
	options: MannWhitneyOptions = {},
): MannWhitneyResult {
	const alternative = options.alternative ?? 'two-sided';
	const continuity = options.continuity ?? true;
	const x = finiteValues(xValues);
	const y = finiteValues(yValues);
	const n1 = x.length;
	const n2 = y.length;
	const {ranks, tieGroupSizes} = rankWithTies([...x, ...y]);
	let rankSumX = 0;
	for (let index = 0; index < n1; index++) rankSumX += ranks[index]!;
	const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
	const u2 = n1 * n2 - u1;
	const hasTies = tieGroupSizes.some((size) => size > 1);
	let method = options.method ?? 'auto';
	if (method === 'auto') method = (n1 <= 8 || n2 <= 8) && !hasTies ? 'exact' : 'asymptotic';
	if (method === 'exact' && !exactIsPrecise(n1, n2)) method = 'asymptotic';
	if (n1 === 0 || n2 === 0) return {u1, u2, n1, n2, z: null, pValue: null, method, alternative};

	// The p-value is always an upper tail: of U1 for `greater`, of U2 for `less`, of the larger one (doubled) for both.
	const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
	const factor = alternative === 'two-sided' ? 2 : 1;
	if (method === 'exact') {
		const pValue = Math.min(1, factor * exactUpperTail(Math.round(u), n1, n2));
		return {u1, u2, n1, n2, z: null, pValue, method, alternative};
	}

	const total = n1 + n2;
	const tieTerm = tieGroupSizes.reduce((sum, size) => sum + size ** 3 - size, 0);
	const variance = ((n1 * n2) / 12) * (total + 1 - (total > 1 ? tieTerm / (total * (total - 1)) : 0));
	if (!(variance > 0)) return {u1, u2, n1, n2, z: null, pValue: 1, method, alternative};
	const z = (u - (n1 * n2) / 2 - (continuity ? 0.5 : 0)) / Math.sqrt(variance);
	return {u1, u2, n1, n2, z, pValue: Math.min(1, factor * normalSurvival(z)), method, alternative};
}

/**
 * P(U ≥ u) under the null hypothesis without ties. The counts of U over all arrangements are the coefficients of the
 * Gaussian binomial [n1+n2 choose m]_q, built factor by factor: each step multiplies by (1 − q^(n+i)) and divides by
 * (1 − q^i), and every intermediate product is itself a polynomial with integer coefficients.
 */
function exactUpperTail(u: number, n1: number, n2: number): number {
	const small = Math.min(n1, n2);
	const large = Math.max(n1, n2);
	const maxU = n1 * n2;
	if (u <= 0) return 1;
	if (u > maxU) return 0;
	const counts = new Float64Array(maxU + 1);
	counts[0] = 1;
	for (let i = 1; i <= small; i++) {
		const multiplyShift = large + i;
		for (let k = maxU; k >= multiplyShift; k--) counts[k]! -= counts[k - multiplyShift]!;
		for (let k = i; k <= maxU; k++) counts[k]! += counts[k - i]!;
	}

	let total = 0;
	let tail = 0;
	for (let k = 0; k <= maxU; k++) {
		total += counts[k]!;
		if (k >= u) tail += counts[k]!;
	}

	return tail / total;
}
