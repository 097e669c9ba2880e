/**
 * P(K ≥ λ) for the Kolmogorov distribution, the limit of √n · D (SciPy's `kstwobign.sf`). Two series, each used
 * where it converges in a few terms: the alternating tail series above λ = 1, the Jacobi theta form below.
 */
export function kolmogorovSurvival(lambda: number): number {
	if (Number.isNaN(lambda)) return Number.NaN;
	if (lambda <= 0) return 1;
	if (lambda >= 1) {
		let sum = 0;
		for (let k = 1; k <= 100; k++) {
			const term = Math.exp(-2 * k * k * lambda * lambda);
			sum += k % 2 === 1 ? term : -term;
			if (term < 1e-17 * Math.max(sum, 1e-300)) break;
		}

		return Math.min(1, Math.max(0, 2 * sum));
	}

	// P(K ≤ λ) = √(2π)/λ · Σ_{k≥1} exp(−(2k−1)²π² / (8λ²))
	let sum = 0;
	for (let k = 1; k <= 100; k++) {
		const odd = 2 * k - 1;
		const term = Math.exp((-odd * odd * Math.PI * Math.PI) / (8 * lambda * lambda));
		sum += term;
		if (term < 1e-17 * sum) break;
	}

	return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
}
