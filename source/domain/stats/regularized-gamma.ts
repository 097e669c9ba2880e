import {logGamma} from './log-gamma.ts';

const MAX_ITERATIONS = 10_000;
const EPSILON = 1e-16;
const TINY = 1e-300;

/**
 * Upper regularized incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and x ≥ 0 (NaN otherwise).
 * Series for x < a + 1, Lentz's continued fraction above (Numerical Recipes §6.2): each converges fast where it is
 * used, and computing the small tail directly keeps p-values near zero accurate instead of 1 − (almost 1).
 */
export function regularizedGammaQ(a: number, x: number): number {
	if (!(a > 0) || !(x >= 0) || Number.isNaN(x)) return Number.NaN;
	if (x === 0) return 1;
	if (x === Number.POSITIVE_INFINITY) return 0;
	return x < a + 1 ? 1 - lowerSeries(a, x) : upperContinuedFraction(a, x);
}

/** Lower regularized incomplete gamma function P(a, x) = 1 − Q(a, x). */
export function regularizedGammaP(a: number, x: number): number {
	if (!(a > 0) || !(x >= 0) || Number.isNaN(x)) return Number.NaN;
	if (x === 0) return 0;
	if (x === Number.POSITIVE_INFINITY) return 1;
	return x < a + 1 ? lowerSeries(a, x) : 1 - upperContinuedFraction(a, x);
}

function prefactor(a: number, x: number): number {
	return Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function lowerSeries(a: number, x: number): number {
	let term = 1 / a;
	let sum = term;
	for (let n = 1; n < MAX_ITERATIONS; n++) {
		term *= x / (a + n);
		sum += term;
		if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
	}

	return sum * prefactor(a, x);
}

function upperContinuedFraction(a: number, x: number): number {
	let b = x + 1 - a;
	let c = 1 / TINY;
	let d = 1 / b;
	let fraction = d;
	for (let n = 1; n < MAX_ITERATIONS; n++) {
		const an = -n * (n - a);
		b += 2;
		d = an * d + b;
		if (Math.abs(d) < TINY) d = TINY;
		c = b + an / c;
		if (Math.abs(c) < TINY) c = TINY;
		d = 1 / d;
		const delta = d * c;
		fraction *= delta;
		if (Math.abs(delta - 1) < EPSILON) break;
	}

	return fraction * prefactor(a, x);
}
