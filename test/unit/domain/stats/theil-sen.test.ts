import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {theilSen} from '../../../../source/domain/stats/theil-sen.ts';

describe('theilSen', () => {
	it('finds any straight line exactly, and keeps it with a few wild points', () => {
		fc.assert(
			fc.property(
				fc.double({min: -1000, max: 1000, noNaN: true}),
				fc.double({min: -1e6, max: 1e6, noNaN: true}),
				fc.integer({min: 10, max: 40}),
				fc.array(fc.double({min: -1e9, max: 1e9, noNaN: true}), {maxLength: 2}),
				(slope, intercept, count, wild) => {
					const x = Array.from({length: count}, (_, index) => index * 5);
					const y = x.map((value) => intercept + slope * value);
					const exact = theilSen(x, y);
					expect(exact.slope).toBeCloseTo(slope, 6);
					expect(exact.intercept).toBeCloseTo(intercept, 3);
					// Up to 2 wild points of 10 or more touch 2n − 3 of the n(n − 1)/2 pairs, fewer than half: the median slope
					// is still one of the clean ones, all equal to the line's.
					for (const [index, value] of wild.entries()) y[count - 1 - index] = value;
					const robust = theilSen(x, y);
					expect(Math.abs(robust.slope - slope)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(slope)));
				},
			),
		);
	});

	it('is NaN without two distinct x', () => {
		expect(theilSen([], []).slope).toBeNaN();
		expect(theilSen([1, 1, 1], [1, 2, 3]).slope).toBeNaN();
	});
});
