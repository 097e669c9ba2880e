import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {chiSquareHomogeneity} from '../../../../source/domain/stats/chi-square-homogeneity.ts';
import {expectClose} from './expect-close.ts';

/**
 * SciPy 1.17.1 `scipy.stats.chi2_contingency(table)` (Yates' correction on by default for 1 degree of freedom)
 * and `chi2_contingency(table, correction=False)` → (statistic, pvalue, dof). For the table with an all-zero
 * column SciPy was given the table without it (it rejects zero expected counts); ours drops it by itself.
 */
const references = [
	{
		name: '2×3',
		table: [
			[30, 45, 25],
			[50, 30, 20],
		],
		yates: true,
		statistic: 8.555_555_555_555_557,
		df: 2,
		p: 0.013_873_457_762_527_5,
	},
	{
		name: '2×2 with Yates',
		table: [
			[12, 30],
			[25, 18],
		],
		yates: true,
		statistic: 6.401_846_588_074_783_5,
		df: 1,
		p: 0.011_400_172_800_365_725,
	},
	{
		name: '2×2 without Yates',
		table: [
			[12, 30],
			[25, 18],
		],
		yates: false,
		statistic: 7.556_848_792_313_906,
		df: 1,
		p: 0.005_978_243_526_187_714,
	},
	{
		name: '2×4',
		table: [
			[120, 60, 15, 5],
			[80, 75, 30, 15],
		],
		yates: true,
		statistic: 19.666_666_666_666_664,
		df: 3,
		p: 0.000_198_996_327_087_058_2,
	},
	{
		name: 'all-zero column dropped',
		table: [
			[30, 0, 45, 25],
			[50, 0, 30, 20],
		],
		yates: true,
		statistic: 8.555_555_555_555_557,
		df: 2,
		p: 0.013_873_457_762_527_5,
	},
	{
		name: 'small 2×2, Yates capped at the difference',
		table: [
			[3, 1],
			[1, 3],
		],
		yates: true,
		statistic: 0.5,
		df: 1,
		p: 0.479_500_122_186_953_37,
	},
	{
		name: 'small 2×2 without Yates',
		table: [
			[3, 1],
			[1, 3],
		],
		yates: false,
		statistic: 2,
		df: 1,
		p: 0.157_299_207_050_281_05,
	},
];

describe('chiSquareHomogeneity against SciPy', () => {
	it.each(references)('$name', ({table, yates, statistic, df, p}) => {
		const result = chiSquareHomogeneity(table, {yatesCorrection: yates});
		expectClose(result.statistic, statistic, 1e-12);
		expect(result.degreesOfFreedom).toBe(df);
		expectClose(result.pValue, p, 1e-11);
	});
});

describe('chiSquareHomogeneity edge cases', () => {
	it('is statistic 0, p 1 when both rows have a single and same category', () => {
		expect(chiSquareHomogeneity([[5], [9]])).toMatchObject({statistic: 0, degreesOfFreedom: 0, pValue: 1});
	});

	it('cannot test with an empty row', () => {
		expect(
			chiSquareHomogeneity([
				[0, 0],
				[3, 4],
			]).pValue,
		).toBeNull();
		expect(chiSquareHomogeneity([]).pValue).toBeNull();
	});

	it('reads negative and non-finite counts as zero', () => {
		expect(
			chiSquareHomogeneity([
				[30, -4, 45, 25],
				[50, Number.NaN, 30, 20],
			]).statistic,
		).toBeCloseTo(8.555_555_555_555_557, 12);
	});

	it('gives p in [0, 1], and proportional rows a statistic of 0', () => {
		const row = fc.array(fc.integer({min: 0, max: 500}), {minLength: 2, maxLength: 6});
		fc.assert(
			fc.property(row, fc.integer({min: 1, max: 5}), (counts, factor) => {
				const result = chiSquareHomogeneity([counts, counts.map((count) => count * factor)]);
				if (result.pValue !== null) {
					expect(result.pValue).toBeGreaterThanOrEqual(0);
					expect(result.pValue).toBeLessThanOrEqual(1);
					expect(result.statistic).toBeCloseTo(0, 9);
				}
			}),
		);
	});
});
