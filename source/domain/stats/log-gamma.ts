// Lanczos approximation (g = 7, n = 9), relative error below 1e-15 for positive arguments.
const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
	0.999_999_999_999_809_9, 676.520_368_121_885_1, -1259.139_216_722_402_8, 771.323_428_777_653_1, -176.615_029_162_140_6,
	12.507_343_278_686_905, -0.138_571_095_265_720_12, 9.984_369_578_019_571_6e-6, 1.505_632_735_149_311_6e-7,
];

/** Natural logarithm of the gamma function for x > 0 (NaN otherwise). */
export function logGamma(x: number): number {
	if (!(x > 0)) return Number.NaN;
	if (x < 0.5) {
		// Reflection keeps the approximation in the range where it is accurate.
		return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
	}

	const shifted = x - 1;
	let sum = LANCZOS_COEFFICIENTS[0]!;
	for (let index = 1; index < LANCZOS_G + 2; index++) sum += LANCZOS_COEFFICIENTS[index]! / (shifted + index);
	const t = shifted + LANCZOS_G + 0.5;
	return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}
