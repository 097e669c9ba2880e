import {regularizedGammaQ} from './regularized-gamma.ts';

/**
 * Upper tail of the standard normal distribution, P(Z ≥ z). Uses erfc(t) = Q(½, t²), so tails far from zero keep
 * their relative precision (a p-value of 1e-12 is 1e-12, not 0).
 */
export function normalSurvival(z: number): number {
	if (Number.isNaN(z)) return Number.NaN;
	const tail = 0.5 * regularizedGammaQ(0.5, (z * z) / 2);
	return z >= 0 ? tail : 1 - tail;
}
