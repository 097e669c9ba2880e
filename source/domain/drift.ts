/**
 * Prediction drift: does the canary answer differently from stable? Class outputs are compared by their class
 * frequencies (population stability index for the size of the shift, chi-square test of homogeneity for its
 * significance); numeric outputs by the two-sample Kolmogorov-Smirnov test, with the PSI over stable's deciles for
 * the size. Drift needs both: a significant difference (p < α) that is large enough to matter (PSI ≥ 0.1).
 */
import {formatPValue} from './analysis.ts';
import {chiSquareHomogeneity} from './stats/chi-square-homogeneity.ts';
import {kolmogorovSmirnov} from './stats/kolmogorov-smirnov.ts';
import {medianOfSorted} from './stats/median.ts';
import {DEFAULT_PSI_EPSILON, populationStabilityIndex} from './stats/population-stability-index.ts';
import type {Flag, Prediction, VersionRef} from './types.ts';

export type OutputValue = number | string | null | undefined;

/** `none` below the moderate PSI (or not significant), `moderate` from 0.1, `significant` from 0.25. */
export type DriftLevel = 'none' | 'moderate' | 'significant' | 'insufficient-data';

export interface DriftOptions {
	/** Significance level of the chi-square or Kolmogorov-Smirnov test. Default 0.05. */
	alpha: number;
	/** Fewest outputs each side needs before drift is judged. Default 50. */
	minimumSamples: number;
	/** PSI from which a significant difference is drift. Default 0.1. */
	moderatePsi: number;
	/** PSI from which drift is significant. Default 0.25. */
	significantPsi: number;
	/**
	 * `class`: outputs are labels; `numeric`: outputs are scores; `auto` (default): labels when any output is a
	 * string or when all are integers with at most `maxIntegerClasses` distinct values (class ids such as 0/1).
	 */
	outputType: 'auto' | 'class' | 'numeric';
	/** Default 10. */
	maxIntegerClasses: number;
	/** Bins (quantiles of stable's outputs) for the PSI of numeric outputs. Default 10 (deciles). */
	numericBins: number;
	/** Proportion standing in for an empty bin in the PSI. Default 1e-4. */
	psiEpsilon: number;
}

export const defaultDriftOptions: DriftOptions = {
	alpha: 0.05,
	minimumSamples: 50,
	moderatePsi: 0.1,
	significantPsi: 0.25,
	outputType: 'auto',
	maxIntegerClasses: 10,
	numericBins: 10,
	psiEpsilon: DEFAULT_PSI_EPSILON,
};

export interface DriftResult {
	/** The test used: chi-square for class outputs, Kolmogorov-Smirnov for numeric ones, none without enough data. */
	method: 'chi-square' | 'kolmogorov-smirnov' | 'none';
	/** χ² or D; null when nothing was tested. */
	statistic: number | null;
	pValue: number | null;
	/** Population stability index: over classes, or over stable's quantile bins for numeric outputs. */
	psi: number | null;
	level: DriftLevel;
	drifted: boolean;
	canaryCount: number;
	stableCount: number;
	explanation: string;
}

function usable(outputs: Iterable<OutputValue>): Array<number | string> {
	const kept: Array<number | string> = [];
	for (const output of outputs) {
		if (typeof output === 'string' || (typeof output === 'number' && Number.isFinite(output))) kept.push(output);
	}

	return kept;
}

function isClassOutput(outputs: Array<number | string>, options: DriftOptions): boolean {
	if (options.outputType !== 'auto') return options.outputType === 'class';
	if (outputs.some((output) => typeof output === 'string')) return true;
	const distinct = new Set(outputs);
	return outputs.every((output) => Number.isInteger(output)) && distinct.size <= options.maxIntegerClasses;
}

function levelOf(psi: number, significant: boolean, options: DriftOptions): DriftLevel {
	if (!significant || !(psi >= options.moderatePsi)) return 'none';
	return psi >= options.significantPsi ? 'significant' : 'moderate';
}

function formatCount(count: number): string {
	return count.toLocaleString('en-US');
}

function formatShare(share: number): string {
	const percent = share * 100;
	return `${Number(percent.toFixed(percent < 10 ? 1 : 0)).toString()}%`;
}

function verdictText(level: DriftLevel, significant: boolean, options: DriftOptions): string {
	if (level !== 'none') return `outputs drifted (${level})`;
	// Large samples make tiny shifts significant; say so rather than "no drift", but do not flag below the PSI bar.
	return significant ? `small output shift (PSI below ${options.moderatePsi}, not flagged)` : 'no output drift';
}

function classDrift(canary: string[], stable: string[], options: DriftOptions): DriftResult {
	const canaryCounts = new Map<string, number>();
	const stableCounts = new Map<string, number>();
	for (const output of canary) canaryCounts.set(output, (canaryCounts.get(output) ?? 0) + 1);
	for (const output of stable) stableCounts.set(output, (stableCounts.get(output) ?? 0) + 1);
	const classes = [...new Set([...stableCounts.keys(), ...canaryCounts.keys()])].sort();
	const canaryRow = classes.map((name) => canaryCounts.get(name) ?? 0);
	const stableRow = classes.map((name) => stableCounts.get(name) ?? 0);
	const psi = populationStabilityIndex(stableRow, canaryRow, options.psiEpsilon);
	const test = chiSquareHomogeneity([canaryRow, stableRow]);
	const significant = test.pValue !== null && test.pValue < options.alpha;
	const level = levelOf(psi, significant, options);

	// The class contributing the largest PSI term is the change people should see (a rare class tripling, say).
	let biggestIndex = 0;
	let biggestContribution = -1;
	for (const index of classes.keys()) {
		const canaryShare = Math.max(canaryRow[index]! / canary.length, options.psiEpsilon);
		const stableShare = Math.max(stableRow[index]! / stable.length, options.psiEpsilon);
		const contribution = (canaryShare - stableShare) * Math.log(canaryShare / stableShare);
		if (contribution > biggestContribution) {
			biggestContribution = contribution;
			biggestIndex = index;
		}
	}

	const change =
		classes.length > 1
			? `; biggest change '${classes[biggestIndex]}' ${formatShare(canaryRow[biggestIndex]! / canary.length)} of canary vs ` +
				`${formatShare(stableRow[biggestIndex]! / stable.length)} of stable`
			: '';
	const explanation =
		`${verdictText(level, significant, options)}: PSI ${psi.toFixed(3)}, χ²=${test.statistic.toFixed(1)} (df ${test.degreesOfFreedom}) ` +
		`${formatPValue(test.pValue)} over ${classes.length} classes — ${formatCount(canary.length)} canary vs ` +
		`${formatCount(stable.length)} stable predictions${change}`;
	return {
		method: 'chi-square',
		statistic: test.statistic,
		pValue: test.pValue,
		psi,
		level,
		drifted: level !== 'none',
		canaryCount: canary.length,
		stableCount: stable.length,
		explanation,
	};
}

/** Bin edges at stable's quantiles; duplicate edges (many equal outputs) merge their bins. */
function quantileEdges(sortedStable: number[], bins: number): number[] {
	const edges: number[] = [];
	for (let bin = 1; bin < bins; bin++) {
		const edge = sortedStable[Math.min(sortedStable.length - 1, Math.floor((bin * sortedStable.length) / bins))]!;
		if (edges.at(-1) !== edge) edges.push(edge);
	}

	return edges;
}

/** Counts per bin: bin i holds values above edge i−1 and up to edge i. */
function binCounts(values: number[], edges: number[]): number[] {
	const counts = new Array<number>(edges.length + 1).fill(0);
	for (const value of values) {
		let low = 0;
		let high = edges.length;
		while (low < high) {
			const middle = (low + high) >> 1;
			if (edges[middle]! < value) low = middle + 1;
			else high = middle;
		}

		counts[low]!++;
	}

	return counts;
}

function numericDrift(canary: number[], stable: number[], options: DriftOptions): DriftResult {
	const test = kolmogorovSmirnov(canary, stable);
	const sortedStable = [...stable].sort((a, b) => a - b);
	const sortedCanary = [...canary].sort((a, b) => a - b);
	const edges = quantileEdges(sortedStable, Math.max(2, Math.floor(options.numericBins)));
	const psi = populationStabilityIndex(binCounts(stable, edges), binCounts(canary, edges), options.psiEpsilon);
	const significant = test.pValue !== null && test.pValue < options.alpha;
	const level = levelOf(psi, significant, options);
	const format = (value: number): string => Number(value.toPrecision(3)).toString();
	const explanation =
		`${verdictText(level, significant, options)}: KS D=${test.statistic.toFixed(3)} ${formatPValue(test.pValue)}, PSI ${psi.toFixed(3)} over ` +
		`stable's ${edges.length + 1} quantile bins — median ${format(medianOfSorted(sortedCanary))} canary vs ` +
		`${format(medianOfSorted(sortedStable))} stable, ${formatCount(canary.length)} canary vs ` +
		`${formatCount(stable.length)} stable predictions`;
	return {
		method: 'kolmogorov-smirnov',
		statistic: test.statistic,
		pValue: test.pValue,
		psi,
		level,
		drifted: level !== 'none',
		canaryCount: canary.length,
		stableCount: stable.length,
		explanation,
	};
}

/**
 * Compare the canary's outputs with stable's. Missing outputs (null, undefined, NaN) are skipped; too few outputs
 * on either side is `insufficient-data`, never "no drift". Pure.
 */
export function predictionDrift(
	canaryOutputs: Iterable<OutputValue>,
	stableOutputs: Iterable<OutputValue>,
	settings: Partial<DriftOptions> = {},
): DriftResult {
	const options = {...defaultDriftOptions, ...settings};
	const canary = usable(canaryOutputs);
	const stable = usable(stableOutputs);
	if (canary.length < options.minimumSamples || stable.length < options.minimumSamples) {
		return {
			method: 'none',
			statistic: null,
			pValue: null,
			psi: null,
			level: 'insufficient-data',
			drifted: false,
			canaryCount: canary.length,
			stableCount: stable.length,
			explanation:
				`output drift not judged: ${formatCount(canary.length)} canary and ${formatCount(stable.length)} stable ` +
				`predictions with an output (need ${options.minimumSamples} each)`,
		};
	}

	if (isClassOutput([...canary, ...stable], options)) return classDrift(canary.map(String), stable.map(String), options);
	// Forced numeric with label outputs: labels cannot be ordered, so they are compared as classes.
	if (canary.some((output) => typeof output === 'string') || stable.some((output) => typeof output === 'string')) {
		return classDrift(canary.map(String), stable.map(String), options);
	}

	return numericDrift(canary as number[], stable as number[], options);
}

/** The outputs of one version's successful predictions, for `predictionDrift`. */
export function predictionOutputs(predictions: Iterable<Prediction>, version: VersionRef): Array<number | string> {
	const outputs: Array<number | string> = [];
	for (const prediction of predictions) {
		if (
			prediction.status === 'ok' &&
			prediction.output !== undefined &&
			prediction.version === version.version &&
			prediction.model === version.name &&
			prediction.namespace === version.namespace
		) {
			outputs.push(prediction.output);
		}
	}

	return outputs;
}

/** A `drift` flag when the outputs drifted: warning when moderate, critical when significant. */
export function driftFlag(result: DriftResult, now: number): Flag | undefined {
	if (!result.drifted) return undefined;
	return {
		kind: 'drift',
		severity: result.level === 'significant' ? 'critical' : 'warning',
		message: `canary ${result.explanation}`,
		since: now,
	};
}
