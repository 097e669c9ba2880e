import {chiSquareSurvival} from './chi-square-survival.ts';

export interface ChiSquareResult {
	statistic: number;
	degreesOfFreedom: number;
	/** Null when the test cannot be made (fewer than two non-empty rows). */
	pValue: number | null;
	/** Expected counts under homogeneity, for the columns that were kept (all-zero columns are dropped). */
	expected: number[][];
}

export interface ChiSquareOptions {
	/** Yates' continuity correction when there is one degree of freedom (a 2×2 table). Default true, as SciPy. */
	yatesCorrection?: boolean;
}

/**
 * Pearson's chi-square test of homogeneity: do the rows (samples) share one distribution over the columns
 * (categories)? Matches `scipy.stats.chi2_contingency(table)` on the table without all-zero rows and columns (a
 * category nobody produced says nothing and would divide by zero). Negative or non-finite counts count as 0.
 */
export function chiSquareHomogeneity(table: readonly (readonly number[])[], options: ChiSquareOptions = {}): ChiSquareResult {
	const clean = table.map((row) => row.map((count) => (Number.isFinite(count) && count > 0 ? count : 0)));
	const columnCount = Math.max(0, ...clean.map((row) => row.length));
	const columnTotalsAll = Array.from({length: columnCount}, (_, column) => clean.reduce((sum, row) => sum + (row[column] ?? 0), 0));
	const keptColumns = columnTotalsAll.flatMap((total, column) => (total > 0 ? [column] : []));
	const rows = clean.map((row) => keptColumns.map((column) => row[column] ?? 0)).filter((row) => row.some((count) => count > 0));
	if (rows.length < 2) return {statistic: 0, degreesOfFreedom: 0, pValue: null, expected: []};

	const rowTotals = rows.map((row) => row.reduce((sum, count) => sum + count, 0));
	const columnTotals = keptColumns.map((_, column) => rows.reduce((sum, row) => sum + row[column]!, 0));
	const grandTotal = rowTotals.reduce((sum, total) => sum + total, 0);
	const degreesOfFreedom = (rows.length - 1) * (columnTotals.length - 1);
	const expected = rows.map((_, row) => columnTotals.map((columnTotal) => (rowTotals[row]! * columnTotal) / grandTotal));
	if (degreesOfFreedom === 0) return {statistic: 0, degreesOfFreedom, pValue: 1, expected};

	const yates = (options.yatesCorrection ?? true) && degreesOfFreedom === 1;
	let statistic = 0;
	for (const [rowIndex, row] of rows.entries()) {
		for (const [column, observedCount] of row.entries()) {
			const expectedCount = expected[rowIndex]![column]!;
			// Yates moves each observation half a count toward its expectation, never past it (as SciPy, gh-13875).
			const difference = Math.abs(observedCount - expectedCount);
			const corrected = yates ? Math.max(0, difference - Math.min(0.5, difference)) : difference;
			statistic += (corrected * corrected) / expectedCount;
		}
	}

	return {statistic, degreesOfFreedom, pValue: chiSquareSurvival(statistic, degreesOfFreedom), expected};
}
