import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {finiteValues} from '../../../../source/domain/stats/finite-values.ts';
import {MAD_TO_SIGMA, medianAbsoluteDeviation} from '../../../../source/domain/stats/median-absolute-deviation.ts';
import {medianInPlace} from '../../../../source/domain/stats/median-in-place.ts';
import {median} from '../../../../source/domain/stats/median.ts';
import {rankWithTies} from '../../../../source/domain/stats/rank-with-ties.ts';
import {selectKth} from '../../../../source/domain/stats/select-kth.ts';

describe('median and MAD', () => {
	it.each([
		{values: [], median: Number.NaN, mad: Number.NaN},
		{values: [7], median: 7, mad: 0},
		{values: [3, 1, 2], median: 2, mad: 1},
		{values: [4, 1, 3, 2], median: 2.5, mad: 1},
		{values: [5, 5, 5, 5], median: 5, mad: 0},
		// SciPy 1.17.1: scipy.stats.median_abs_deviation([1, 2, 3, 4, 100]) == 1.0
		{values: [1, 2, 3, 4, 100], median: 3, mad: 1},
	])('$values', ({values, median: expectedMedian, mad}) => {
		expect(median(values)).toEqual(expectedMedian);
		expect(medianAbsoluteDeviation(values)).toEqual(mad);
	});

	it('does not reorder its input', () => {
		const values = [3, 1, 2];
		median(values);
		expect(values).toEqual([3, 1, 2]);
	});

	it('scales MAD to σ with 1/Φ⁻¹(3/4) (SciPy: 1/scipy.stats.norm.ppf(0.75) = 1.482602218505602)', () => {
		expect(MAD_TO_SIGMA).toBeCloseTo(1.482_602_218_505_602, 15);
	});
});

describe('rankWithTies', () => {
	it('gives mid-ranks as scipy.stats.rankdata([3, 1, 4, 1, 5, 9, 2, 6, 5]) = [4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5]', () => {
		const {ranks, tieGroupSizes} = rankWithTies([3, 1, 4, 1, 5, 9, 2, 6, 5]);
		expect(ranks).toEqual([4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5]);
		expect(tieGroupSizes.toSorted((a, b) => b - a).slice(0, 3)).toEqual([2, 2, 1]);
		expect(tieGroupSizes.reduce((sum, size) => sum + size, 0)).toBe(9);
	});
});

describe('finiteValues', () => {
	it('drops gaps instead of reading them as zero', () => {
		expect(finiteValues([1, null, Number.NaN, undefined, 2, Number.POSITIVE_INFINITY, 0])).toEqual([1, 2, 0]);
	});
});

describe('selectKth and medianInPlace', () => {
	const values = fc.array(fc.oneof(fc.integer({min: -20, max: 20}), fc.double({min: -1e6, max: 1e6, noNaN: true})), {
		minLength: 1,
		maxLength: 200,
	});

	it('agree with sorting, ties included, and leave the array partitioned around k', () => {
		fc.assert(
			fc.property(values, fc.nat(), (list, seed) => {
				const k = seed % list.length;
				const sorted = [...list].sort((a, b) => a - b);
				const buffer = Float64Array.from(list);
				const selected = selectKth(buffer, k);
				// `+ 0` folds −0 into 0: sorting cannot tell them apart either.
				expect(selected + 0).toBe(sorted[k]! + 0);
				for (let index = 0; index < buffer.length; index++) {
					if (index < k) expect(buffer[index]).toBeLessThanOrEqual(selected);
					if (index > k) expect(buffer[index]).toBeGreaterThanOrEqual(selected);
				}

				expect(medianInPlace(Float64Array.from(list)) + 0).toBe(median(list) + 0);
			}),
		);
	});

	it('are NaN for an empty buffer or k out of range', () => {
		expect(medianInPlace(new Float64Array())).toBeNaN();
		expect(selectKth(Float64Array.from([1, 2]), 2)).toBeNaN();
		expect(selectKth(Float64Array.from([1, 2]), -1)).toBeNaN();
	});

	it('stay linear on sorted, reversed and constant input', () => {
		const size = 100_001;
		expect(medianInPlace(Float64Array.from({length: size}, (_, index) => index))).toBe(50_000);
		expect(medianInPlace(Float64Array.from({length: size}, (_, index) => size - index))).toBe(50_001);
		expect(medianInPlace(new Float64Array(size).fill(3))).toBe(3);
	});
});
