import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {chiSquareSurvival} from '../../../../source/domain/stats/chi-square-survival.ts';
import {kolmogorovSurvival} from '../../../../source/domain/stats/kolmogorov-survival.ts';
import {logGamma} from '../../../../source/domain/stats/log-gamma.ts';
import {normalSurvival} from '../../../../source/domain/stats/normal-survival.ts';
import {regularizedGammaP, regularizedGammaQ} from '../../../../source/domain/stats/regularized-gamma.ts';
import {expectClose} from './expect-close.ts';

// All reference values: SciPy 1.17.1 (NumPy 2.4.6), Python 3.11, printed with repr().

/** `scipy.special.gammaln(x)` */
const logGammaReferences = [
	[0.1, 2.252_712_651_734_206],
	[0.5, 0.572_364_942_924_7],
	[1.5, -0.120_782_237_635_245_26],
	[3.7, 1.428_072_326_665_388],
	[10, 12.801_827_480_081_469],
	[171.3, 708.114_947_038_997_1],
	[1e-5, 11.512_919_692_895_826],
] as const;

/** `scipy.special.gammaincc(a, x)` */
const gammaQReferences = [
	[0.5, 0.1, 0.654_720_846_018_576_8],
	[0.5, 4, 0.004_677_734_981_047_276],
	[2.5, 1, 0.849_145_036_084_609_6],
	[10, 12, 0.242_392_161_670_512_45],
	[10, 3, 0.998_897_511_869_884_5],
	[100, 90, 0.841_779_010_813_57],
	[1, 30, 9.357_622_968_840_163e-14],
] as const;

/** `scipy.stats.norm.sf(z)` */
const normalReferences = [
	[0, 0.5],
	[1.96, 0.024_997_895_148_220_435],
	[-1.5, 0.933_192_798_731_141_9],
	[3, 0.001_349_898_031_630_093_3],
	[5, 2.866_515_718_791_933e-7],
	[10, 7.619_853_024_160_47e-24],
	[-8, 0.999_999_999_999_999_3],
	[37, 5.725_571_222_523_926_6e-300],
] as const;

/** `scipy.stats.chi2.sf(x, df)` */
const chiSquareReferences = [
	[3.841_458_820_694_124, 1, 0.049_999_999_999_999_89],
	[10, 3, 0.018_566_135_463_043_25],
	[0.5, 2, 0.778_800_783_071_404_9],
	[100, 50, 3.454_931_382_984_871e-5],
	[1e-3, 1, 0.974_772_879_369_960_4],
	[300, 4, 1.083_439_491_947_837e-63],
	[7.5, 7, 0.378_736_906_048_213_53],
	[20, 1, 7.744_216_431_044_088e-6],
] as const;

/** `scipy.stats.kstwobign.sf(lambda)` */
const kolmogorovReferences = [
	[0.2, 0.999_999_999_999_495],
	[0.5, 0.963_945_243_664_875_1],
	[0.8, 0.544_142_411_574_198_1],
	[0.99, 0.280_873_839_225_548_9],
	[1, 0.269_999_671_677_354_56],
	[1.2, 0.112_249_666_670_724_97],
	[1.36, 0.049_485_876_755_377_876],
	[2, 0.000_670_925_255_779_695_3],
	[3, 3.045_995_948_942_526e-8],
] as const;

describe('special functions against SciPy', () => {
	it.each(logGammaReferences)('logGamma(%d)', (x, expected) => {
		expectClose(logGamma(x), expected, 1e-13);
	});

	it.each(gammaQReferences)('regularizedGammaQ(%d, %d)', (a, x, expected) => {
		expectClose(regularizedGammaQ(a, x), expected, 1e-11);
	});

	it.each(normalReferences)('normalSurvival(%d)', (z, expected) => {
		expectClose(normalSurvival(z), expected, 1e-11);
	});

	it.each(chiSquareReferences)('chiSquareSurvival(%d, df %d)', (x, degreesOfFreedom, expected) => {
		expectClose(chiSquareSurvival(x, degreesOfFreedom), expected, 1e-11);
	});

	it.each(kolmogorovReferences)('kolmogorovSurvival(%d)', (lambda, expected) => {
		expectClose(kolmogorovSurvival(lambda), expected, 1e-12);
	});
});

describe('special functions at their edges', () => {
	it('rejects arguments outside their domain with NaN instead of throwing', () => {
		expect(logGamma(0)).toBeNaN();
		expect(logGamma(-1)).toBeNaN();
		expect(regularizedGammaQ(0, 1)).toBeNaN();
		expect(regularizedGammaQ(1, -1)).toBeNaN();
		expect(chiSquareSurvival(1, 0)).toBeNaN();
		expect(normalSurvival(Number.NaN)).toBeNaN();
		expect(kolmogorovSurvival(Number.NaN)).toBeNaN();
	});

	it('gives the limits at zero and infinity', () => {
		expect(regularizedGammaQ(2, 0)).toBe(1);
		expect(regularizedGammaQ(2, Number.POSITIVE_INFINITY)).toBe(0);
		expect(chiSquareSurvival(0, 3)).toBe(1);
		expect(chiSquareSurvival(-2, 3)).toBe(1);
		expect(kolmogorovSurvival(0)).toBe(1);
		expect(normalSurvival(Number.POSITIVE_INFINITY)).toBe(0);
		expect(normalSurvival(Number.NEGATIVE_INFINITY)).toBe(1);
	});

	it('P + Q = 1 and Q falls as x grows', () => {
		fc.assert(
			fc.property(fc.double({min: 0.01, max: 200, noNaN: true}), fc.double({min: 0, max: 400, noNaN: true}), (a, x) => {
				const q = regularizedGammaQ(a, x);
				expect(regularizedGammaP(a, x) + q).toBeCloseTo(1, 12);
				expect(q).toBeGreaterThanOrEqual(0);
				expect(q).toBeLessThanOrEqual(1);
				expect(regularizedGammaQ(a, x + 1)).toBeLessThanOrEqual(q + 1e-15);
			}),
		);
	});

	it('normalSurvival(z) + normalSurvival(−z) = 1', () => {
		fc.assert(
			fc.property(fc.double({min: -30, max: 30, noNaN: true}), (z) => {
				expect(normalSurvival(z) + normalSurvival(-z)).toBeCloseTo(1, 14);
			}),
		);
	});
});
