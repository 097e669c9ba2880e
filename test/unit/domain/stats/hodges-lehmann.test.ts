import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {hodgesLehmannShift} from '../../../../source/domain/stats/hodges-lehmann.ts';

/** Reference values: NumPy 2.4.6, `numpy.median(numpy.subtract.outer(x, y))` (the definition of the estimator). */
const references = [
	{name: 'interleaved', x: [1.1, 2.3, 3.5, 4.2, 5.9], y: [2, 6.1, 7.4, 8.8, 9.3, 10.2], shift: -4.45},
	{name: 'ties', x: [3, 4, 2, 6, 2, 5, 4, 4, 5, 6, 7, 3], y: [6, 7, 8, 6, 9, 7, 8, 10, 5, 6, 7, 8, 9], shift: -3},
	{
		name: '8 vs 20',
		x: [12.1, 15.3, 11.8, 14.2, 13.9, 16.4, 12.7, 15],
		y: [14.8, 17.2, 16.1, 18.4, 15.9, 17.7, 19.3, 16.6, 18, 17.1, 20.2, 15.4, 16.9, 18.8, 17.5, 19.9, 16.3, 18.6, 17.9, 21],
		shift: -3.75,
	},
	{
		name: 'mostly zeros',
		x: [0.01, 0, 0, 0.02, 0, 0, 0.01, 0, 0, 0, 0.03, 0, 0, 0.01, 0],
		y: [0, 0, 0, 0, 0.01, 0, 0, 0, 0, 0, 0, 0, 0.01, 0, 0, 0, 0],
		shift: 0,
	},
	{name: 'small with ties', x: [1, 2, 2, 3], y: [2, 3, 4, 4, 5], shift: -2},
];

describe('hodgesLehmannShift', () => {
	it.each(references)('$name', ({x, y, shift}) => {
		expect(hodgesLehmannShift(x, y)).toBeCloseTo(shift, 12);
	});

	it('is NaN for an empty sample and skips missing points', () => {
		expect(hodgesLehmannShift([], [1])).toBeNaN();
		expect(hodgesLehmannShift([1, Number.NaN], [null, 0.5])).toBe(0.5);
	});

	it('is zero for equal constant samples', () => {
		expect(hodgesLehmannShift([7, 7, 7], [7, 7])).toBe(0);
	});

	it('moves with a shift of the data and changes sign when the samples swap', () => {
		const sample = fc.array(fc.integer({min: -1000, max: 1000}), {minLength: 1, maxLength: 25});
		fc.assert(
			fc.property(sample, sample, fc.integer({min: -500, max: 500}), (x, y, offset) => {
				const shift = hodgesLehmannShift(x, y);
				// `+ 0` turns −0 into 0: the shift of equal samples has no sign.
				expect(hodgesLehmannShift(y, x) + 0).toBe(-shift + 0);
				expect(
					hodgesLehmannShift(
						x.map((value) => value + offset),
						y,
					) + 0,
				).toBe(shift + offset + 0);
			}),
		);
	});
});
