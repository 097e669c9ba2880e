import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {kolmogorovSmirnov} from '../../../../source/domain/stats/kolmogorov-smirnov.ts';
import {expectClose} from './expect-close.ts';

// Same formula in Python: [(i*0.618034)%1 for i in range(1,61)], [((j*0.414214)%1)*0.8+0.15 for j in range(1,81)].
const uniform = Array.from({length: 60}, (_, index) => ((index + 1) * 0.618_034) % 1);
const narrower = Array.from({length: 80}, (_, index) => (((index + 1) * 0.414_214) % 1) * 0.8 + 0.15);

/**
 * D: SciPy 1.17.1 `scipy.stats.ks_2samp(x, y).statistic`. p-value: the asymptotic (Smirnov) p-value,
 * `scipy.stats.kstwobign.sf(math.sqrt(n1*n2/(n1+n2)) * D)`. (`ks_2samp` itself uses an exact or finite-n method, so
 * its p-value differs for these sizes: e.g. 0.02597 instead of 0.04529 for the first case.)
 */
const references = [
	{name: '5 vs 6', x: [1.1, 2.3, 3.5, 4.2, 5.9], y: [2, 6.1, 7.4, 8.8, 9.3, 10.2], d: 0.833_333_333_333_333_4, p: 0.045_286_639_785_189_58},
	{
		name: '8 vs 20',
		x: [12.1, 15.3, 11.8, 14.2, 13.9, 16.4, 12.7, 15],
		y: [14.8, 17.2, 16.1, 18.4, 15.9, 17.7, 19.3, 16.6, 18, 17.1, 20.2, 15.4, 16.9, 18.8, 17.5, 19.9, 16.3, 18.6, 17.9, 21],
		d: 0.825,
		p: 0.000_837_219_523_151_948_6,
	},
	{
		name: 'ties across samples',
		x: [1, 2, 2, 3, 3, 3, 4],
		y: [2, 2, 3, 3, 4, 4, 4, 5],
		d: 0.357_142_857_142_857_15,
		p: 0.727_703_558_779_012_8,
	},
	{
		name: 'ties within samples',
		x: [3, 4, 2, 6, 2, 5, 4, 4, 5, 6, 7, 3],
		y: [6, 7, 8, 6, 9, 7, 8, 10, 5, 6, 7, 8, 9],
		d: 0.673_076_923_076_923_1,
		p: 0.007_008_027_394_599_968,
	},
	{name: '60 vs 80', x: uniform, y: narrower, d: 0.166_666_666_666_666_66, p: 0.296_734_214_910_264_64},
];

describe('kolmogorovSmirnov against SciPy', () => {
	it.each(references)('$name', ({x, y, d, p}) => {
		const result = kolmogorovSmirnov(x, y);
		expect(result.statistic).toBeCloseTo(d, 14);
		expectClose(result.pValue, p, 1e-11);
	});
});

describe('kolmogorovSmirnov edge cases', () => {
	it('is D = 0, p = 1 for identical and for constant samples', () => {
		expect(kolmogorovSmirnov([1, 2, 3], [1, 2, 3])).toMatchObject({statistic: 0, pValue: 1});
		expect(kolmogorovSmirnov([4, 4, 4], [4, 4])).toMatchObject({statistic: 0, pValue: 1});
	});

	it('is D = 1 for two different constants', () => {
		expect(kolmogorovSmirnov([1, 1, 1], [2, 2]).statistic).toBe(1);
	});

	it('has no p-value when a sample is empty, and skips missing points', () => {
		expect(kolmogorovSmirnov([], [1, 2])).toMatchObject({pValue: null, n1: 0, n2: 2});
		expect(kolmogorovSmirnov([1, Number.NaN, null, 2], [1, 2])).toMatchObject({statistic: 0, n1: 2});
	});

	it('keeps D in [0, 1], symmetric in its samples, with p in [0, 1]', () => {
		const sample = fc.array(fc.double({min: -1e3, max: 1e3, noNaN: true}), {minLength: 1, maxLength: 50});
		fc.assert(
			fc.property(sample, sample, (x, y) => {
				const result = kolmogorovSmirnov(x, y);
				expect(result.statistic).toBeGreaterThanOrEqual(0);
				expect(result.statistic).toBeLessThanOrEqual(1);
				expect(kolmogorovSmirnov(y, x).statistic).toBeCloseTo(result.statistic, 12);
				expect(result.pValue).toBeGreaterThanOrEqual(0);
				expect(result.pValue).toBeLessThanOrEqual(1);
			}),
		);
	});
});
