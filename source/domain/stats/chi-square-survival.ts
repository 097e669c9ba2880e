import {regularizedGammaQ} from './regularized-gamma.ts';

/** P(X ≥ x) for a chi-square variable with `degreesOfFreedom` > 0: the p-value of a chi-square statistic. */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
	if (!(degreesOfFreedom > 0) || Number.isNaN(x)) return Number.NaN;
	if (x <= 0) return 1;
	return regularizedGammaQ(degreesOfFreedom / 2, x / 2);
}
