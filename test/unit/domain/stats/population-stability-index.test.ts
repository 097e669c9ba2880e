import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {populationStabilityIndex} from '../../../../source/domain/stats/population-stability-index.ts';

/**
 * PSI has no SciPy function; the references are its definition evaluated with NumPy 2.4.6:
 * `pe = np.maximum(e/e.sum(), 1e-4); pa = np.maximum(a/a.sum(), 1e-4); np.sum((pa-pe)*np.log(pa/pe))`.
 */
const references = [
	{name: 'moderate shift', reference: [30, 45, 25], comparison: [50, 30, 20], psi: 0.174_142_068_535_133_3},
	{name: 'tiny shift', reference: [500, 500], comparison: [520, 480], psi: 0.001_600_854_153_470_731_4},
	{name: 'new class (empty bin on one side)', reference: [100, 50, 0], comparison: [90, 40, 20], psi: 0.980_572_374_254_181_4},
	{name: 'identical', reference: [10, 20, 30, 40], comparison: [10, 20, 30, 40], psi: 0},
];

describe('populationStabilityIndex', () => {
	it.each(references)('$name', ({reference, comparison, psi}) => {
		expect(populationStabilityIndex(reference, comparison)).toBeCloseTo(psi, 14);
	});

	it('is NaN when a side has no counts', () => {
		expect(populationStabilityIndex([0, 0], [1, 2])).toBeNaN();
		expect(populationStabilityIndex([], [])).toBeNaN();
	});

	it('treats a missing trailing bin as empty', () => {
		expect(populationStabilityIndex([100, 50], [90, 40, 20])).toBeCloseTo(0.980_572_374_254_181_4, 14);
	});

	it('is ≥ 0, symmetric, and 0 for proportional counts', () => {
		const counts = fc.array(fc.integer({min: 0, max: 1000}), {minLength: 1, maxLength: 8});
		fc.assert(
			fc.property(counts, counts, fc.integer({min: 1, max: 9}), (a, b, factor) => {
				const psi = populationStabilityIndex(a, b);
				if (Number.isNaN(psi)) return;
				expect(psi).toBeGreaterThanOrEqual(0);
				expect(populationStabilityIndex(b, a)).toBeCloseTo(psi, 12);
				expect(
					populationStabilityIndex(
						a,
						a.map((count) => count * factor),
					),
				).toBeCloseTo(0, 12);
			}),
		);
	});
});
