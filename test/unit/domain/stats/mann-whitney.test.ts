import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {mannWhitneyU, type Alternative, type MannWhitneyOptions} from '../../../../source/domain/stats/mann-whitney.ts';
import {expectClose} from './expect-close.ts';

const shortLeft = [1.1, 2.3, 3.5, 4.2, 5.9];
const shortRight = [2, 6.1, 7.4, 8.8, 9.3, 10.2];
const tiedLeft = [3, 4, 2, 6, 2, 5, 4, 4, 5, 6, 7, 3];
const tiedRight = [6, 7, 8, 6, 9, 7, 8, 10, 5, 6, 7, 8, 9];
const eight = [12.1, 15.3, 11.8, 14.2, 13.9, 16.4, 12.7, 15];
const twenty = [14.8, 17.2, 16.1, 18.4, 15.9, 17.7, 19.3, 16.6, 18, 17.1, 20.2, 15.4, 16.9, 18.8, 17.5, 19.9, 16.3, 18.6, 17.9, 21];
const stableLatency = [
	101, 98, 104, 99, 102, 97, 100, 103, 101, 99, 105, 98, 100, 102, 96, 101, 103, 99, 100, 104, 98, 102, 101, 97, 100, 99, 103, 101, 100,
	102,
];
const slowLatency = [
	131, 127, 136, 129, 134, 125, 130, 138, 132, 128, 135, 126, 133, 130, 137, 129, 131, 134, 127, 136, 130, 128, 133, 132, 129, 135, 131,
	126, 134, 130,
];
const canaryErrors = [0.01, 0, 0, 0.02, 0, 0, 0.01, 0, 0, 0, 0.03, 0, 0, 0.01, 0];
const stableErrors = [0, 0, 0, 0, 0.01, 0, 0, 0, 0, 0, 0, 0, 0.01, 0, 0, 0, 0];
// Same formula in Python: [100 + math.floor(20*((i*0.618034)%1)) for i in range(1,41)] and
// [104 + math.floor(20*((j*0.414214)%1)) for j in range(1,51)]; IEEE arithmetic gives identical values.
const formulaLeft = Array.from({length: 40}, (_, index) => 100 + Math.floor(20 * (((index + 1) * 0.618_034) % 1)));
const formulaRight = Array.from({length: 50}, (_, index) => 104 + Math.floor(20 * (((index + 1) * 0.414_214) % 1)));
// Python: [10 + 12*((j*0.414214)%1) for j in range(1,41)], [(i*0.618034)%1 for i in range(1,26)],
// [((j*0.414214)%1)*0.9+0.2 for j in range(1,26)] — no ties.
const forty = Array.from({length: 40}, (_, index) => 10 + 12 * (((index + 1) * 0.414_214) % 1));
const quarterLeft = Array.from({length: 25}, (_, index) => ((index + 1) * 0.618_034) % 1);
const quarterRight = Array.from({length: 25}, (_, index) => (((index + 1) * 0.414_214) % 1) * 0.9 + 0.2);

interface Reference {
	name: string;
	x: number[];
	y: number[];
	options: MannWhitneyOptions;
	u1: number;
	pValue: number;
	method: 'exact' | 'asymptotic';
}

/**
 * Reference values from SciPy 1.17.1 (NumPy 2.4.6), Python 3.11:
 * `scipy.stats.mannwhitneyu(x, y, alternative=A, method=M, use_continuity=C)` → (statistic = U1, pvalue).
 * `method='auto'` picks exact when one sample has ≤ 8 values and nothing is tied, as ours does; rows marked
 * (method=exact) passed `method='exact'` to both.
 */
const references: Reference[] = [
	{name: 'exact, two-sided', x: shortLeft, y: shortRight, options: {}, u1: 4, pValue: 0.051_948_051_948_051_95, method: 'exact'},
	{
		name: 'exact, greater',
		x: shortLeft,
		y: shortRight,
		options: {alternative: 'greater'},
		u1: 4,
		pValue: 0.984_848_484_848_484_9,
		method: 'exact',
	},
	{
		name: 'exact, less',
		x: shortLeft,
		y: shortRight,
		options: {alternative: 'less'},
		u1: 4,
		pValue: 0.025_974_025_974_025_976,
		method: 'exact',
	},
	{
		name: 'asymptotic with continuity',
		x: shortLeft,
		y: shortRight,
		options: {method: 'asymptotic'},
		u1: 4,
		pValue: 0.055_234_253_718_063_83,
		method: 'asymptotic',
	},
	{
		name: 'asymptotic without continuity',
		x: shortLeft,
		y: shortRight,
		options: {method: 'asymptotic', continuity: false},
		u1: 4,
		pValue: 0.044_609_718_024_939_606,
		method: 'asymptotic',
	},
	{
		name: 'asymptotic, less, no continuity',
		x: shortLeft,
		y: shortRight,
		options: {method: 'asymptotic', continuity: false, alternative: 'less'},
		u1: 4,
		pValue: 0.022_304_859_012_469_803,
		method: 'asymptotic',
	},
	{name: 'exact 8 vs 20, two-sided', x: eight, y: twenty, options: {}, u1: 7, pValue: 2.895_655_069_568_113e-5, method: 'exact'},
	{
		name: 'exact 8 vs 20, less',
		x: eight,
		y: twenty,
		options: {alternative: 'less'},
		u1: 7,
		pValue: 1.447_827_534_784_056_5e-5,
		method: 'exact',
	},
	{
		name: 'exact 8 vs 20, greater',
		x: eight,
		y: twenty,
		options: {alternative: 'greater'},
		u1: 7,
		pValue: 0.999_990_347_816_434_8,
		method: 'exact',
	},
	{
		name: 'exact 8 vs 40 (method=exact)',
		x: eight,
		y: forty,
		options: {method: 'exact'},
		u1: 106,
		pValue: 0.141_100_654_424_959_2,
		method: 'exact',
	},
	{
		name: 'exact 8 vs 40, less (method=exact)',
		x: eight,
		y: forty,
		options: {method: 'exact', alternative: 'less'},
		u1: 106,
		pValue: 0.070_550_327_212_479_6,
		method: 'exact',
	},
	{
		name: 'exact 25 vs 25 (method=exact)',
		x: quarterLeft,
		y: quarterRight,
		options: {method: 'exact'},
		u1: 224,
		pValue: 0.087_821_720_549_428_15,
		method: 'exact',
	},
	{
		name: 'exact 25 vs 25, greater (method=exact)',
		x: quarterLeft,
		y: quarterRight,
		options: {method: 'exact', alternative: 'greater'},
		u1: 224,
		pValue: 0.957_894_595_715_075_7,
		method: 'exact',
	},
	{
		name: '8 vs 20 asymptotic',
		x: eight,
		y: twenty,
		options: {method: 'asymptotic'},
		u1: 7,
		pValue: 0.000_226_939_830_624_590_27,
		method: 'asymptotic',
	},
	{name: 'ties, two-sided', x: tiedLeft, y: tiedRight, options: {}, u1: 11.5, pValue: 0.000_293_010_138_004_279_3, method: 'asymptotic'},
	{
		name: 'ties, two-sided, no continuity',
		x: tiedLeft,
		y: tiedRight,
		options: {continuity: false},
		u1: 11.5,
		pValue: 0.000_263_429_710_176_457_87,
		method: 'asymptotic',
	},
	{
		name: 'ties, greater',
		x: tiedLeft,
		y: tiedRight,
		options: {alternative: 'greater'},
		u1: 11.5,
		pValue: 0.999_881_666_557_766_2,
		method: 'asymptotic',
	},
	{
		name: 'ties, less',
		x: tiedLeft,
		y: tiedRight,
		options: {alternative: 'less'},
		u1: 11.5,
		pValue: 0.000_146_505_069_002_139_65,
		method: 'asymptotic',
	},
	{
		name: 'complete separation',
		x: stableLatency,
		y: slowLatency,
		options: {},
		u1: 0,
		pValue: 2.837_658_656_323_915e-11,
		method: 'asymptotic',
	},
	{
		name: 'complete separation, less',
		x: stableLatency,
		y: slowLatency,
		options: {alternative: 'less'},
		u1: 0,
		pValue: 1.418_829_328_161_957_5e-11,
		method: 'asymptotic',
	},
	{
		name: 'mostly zeros (error ratios)',
		x: canaryErrors,
		y: stableErrors,
		options: {},
		u1: 157,
		pValue: 0.128_773_189_005_968,
		method: 'asymptotic',
	},
	{
		name: 'mostly zeros, greater',
		x: canaryErrors,
		y: stableErrors,
		options: {alternative: 'greater'},
		u1: 157,
		pValue: 0.064_386_594_502_984,
		method: 'asymptotic',
	},
	{
		name: 'small with ties uses asymptotic',
		x: [1, 2, 2, 3],
		y: [2, 3, 4, 4, 5],
		options: {},
		u1: 2.5,
		pValue: 0.078_545_850_951_190_67,
		method: 'asymptotic',
	},
	{
		name: 'small with ties, less, no continuity',
		x: [1, 2, 2, 3],
		y: [2, 3, 4, 4, 5],
		options: {alternative: 'less', continuity: false},
		u1: 2.5,
		pValue: 0.029_725_546_655_776_813,
		method: 'asymptotic',
	},
	{
		name: '40 vs 50 heavy ties, two-sided',
		x: formulaLeft,
		y: formulaRight,
		options: {},
		u1: 624.5,
		pValue: 0.002_300_101_046_064_356,
		method: 'asymptotic',
	},
	{
		name: '40 vs 50 heavy ties, greater',
		x: formulaLeft,
		y: formulaRight,
		options: {alternative: 'greater'},
		u1: 624.5,
		pValue: 0.998_880_682_130_264_4,
		method: 'asymptotic',
	},
	{
		name: '40 vs 50 heavy ties, less',
		x: formulaLeft,
		y: formulaRight,
		options: {alternative: 'less'},
		u1: 624.5,
		pValue: 0.001_150_050_523_032_178,
		method: 'asymptotic',
	},
];

describe('mannWhitneyU against SciPy', () => {
	it.each(references)('$name', ({x, y, options, u1, pValue, method}) => {
		const result = mannWhitneyU(x, y, options);
		expect(result.u1).toBe(u1);
		expect(result.u1 + result.u2).toBe(x.length * y.length);
		expect(result.method).toBe(method);
		expectClose(result.pValue, pValue, 1e-9);
	});
});

describe('mannWhitneyU edge cases', () => {
	it('gives p = 1 when every value is equal (SciPy: statistic 50, pvalue 1.0 for ten 5s against ten 5s)', () => {
		const result = mannWhitneyU(Array(10).fill(5), Array(10).fill(5));
		expect(result.u1).toBe(50);
		expect(result.pValue).toBe(1);
	});

	it('has no p-value when a sample is empty', () => {
		expect(mannWhitneyU([], [1, 2, 3]).pValue).toBeNull();
		expect(mannWhitneyU([1, 2, 3], []).pValue).toBeNull();
		expect(mannWhitneyU([], []).pValue).toBeNull();
	});

	it('handles a single point on each side', () => {
		const result = mannWhitneyU([2], [1]);
		expect(result.u1).toBe(1);
		expect(result.method).toBe('exact');
		// Two arrangements, each equally likely: P(U ≥ 1) = 1/2, doubled and capped.
		expect(result.pValue).toBe(1);
		expect(mannWhitneyU([2], [1], {alternative: 'greater'}).pValue).toBe(0.5);
	});

	it('skips NaN, null and infinite points instead of counting them', () => {
		const withGaps = mannWhitneyU([1.1, Number.NaN, 2.3, null, 3.5, 4.2, undefined, 5.9, Number.POSITIVE_INFINITY], shortRight);
		const clean = mannWhitneyU(shortLeft, shortRight);
		expect(withGaps).toEqual(clean);
	});

	it('falls back to the normal approximation when exact counts would lose precision', () => {
		const large = Array.from({length: 60}, (_, index) => index + 0.5);
		// C(63, 3) ≈ 4e4 arrangements: exact; C(60, 30) ≈ 1.2e17 > 2^53: asymptotic.
		expect(mannWhitneyU([1, 2, 3], large, {method: 'exact'}).method).toBe('exact');
		expect(mannWhitneyU(large.slice(0, 30), large.slice(30), {method: 'exact'}).method).toBe('asymptotic');
	});
});

const sample = fc.array(fc.double({min: -1e6, max: 1e6, noNaN: true}), {minLength: 1, maxLength: 40});
const alternatives: Alternative[] = ['two-sided', 'greater', 'less'];

describe('mannWhitneyU properties', () => {
	it('U1 + U2 = n1 · n2, and swapping the samples swaps U1 and U2', () => {
		fc.assert(
			fc.property(sample, sample, (x, y) => {
				const forward = mannWhitneyU(x, y);
				const backward = mannWhitneyU(y, x);
				expect(forward.u1 + forward.u2).toBeCloseTo(x.length * y.length, 6);
				expect(backward.u1).toBeCloseTo(forward.u2, 6);
				expect(backward.pValue).toBeCloseTo(forward.pValue!, 12);
			}),
		);
	});

	it('gives a p-value in [0, 1], and greater(x, y) = less(y, x)', () => {
		fc.assert(
			fc.property(sample, sample, fc.constantFrom(...alternatives), (x, y, alternative) => {
				const result = mannWhitneyU(x, y, {alternative});
				expect(result.pValue).toBeGreaterThanOrEqual(0);
				expect(result.pValue).toBeLessThanOrEqual(1);
				if (alternative === 'greater') expect(mannWhitneyU(y, x, {alternative: 'less'}).pValue).toBeCloseTo(result.pValue!, 12);
			}),
		);
	});
});
