/**
 * A small seeded pseudo-random generator (mulberry32) with the few distributions the simulation needs.
 * Seeded so that a demo is reproducible and tests are deterministic; separate streams (see `deriveSeed`) keep the
 * metrics independent of how many predictions were streamed or how often a timer fired.
 */
export class Random {
	private state: number;
	private spareNormal: number | undefined;

	constructor(seed: number) {
		this.state = seed >>> 0 || 0x9e_37_79_b9;
	}

	/** Uniform in [0, 1). */
	next(): number {
		let t = (this.state = (this.state + 0x6d_2b_79_f5) | 0);
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	}

	uint32(): number {
		return Math.floor(this.next() * 4_294_967_296) >>> 0;
	}

	between(min: number, max: number): number {
		return min + (max - min) * this.next();
	}

	/** Whole number in [min, max]. */
	integer(min: number, max: number): number {
		return min + Math.floor(this.next() * (max - min + 1));
	}

	chance(probability: number): boolean {
		return this.next() < probability;
	}

	pick<T>(items: readonly T[]): T {
		return items[Math.floor(this.next() * items.length)]!;
	}

	/** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
	normal(): number {
		if (this.spareNormal !== undefined) {
			const spare = this.spareNormal;
			this.spareNormal = undefined;
			return spare;
		}

		let u = this.next();
		while (u === 0) u = this.next();
		const radius = Math.sqrt(-2 * Math.log(u));
		const angle = 2 * Math.PI * this.next();
		this.spareNormal = radius * Math.sin(angle);
		return radius * Math.cos(angle);
	}

	/** Log-normal with the given median (e^mu) and shape sigma. */
	logNormal(median: number, sigma: number): number {
		return median * Math.exp(sigma * this.normal());
	}

	/** Pareto with minimum 1 and tail index alpha: heavy tails such as GC pauses and cold caches. */
	pareto(alpha: number): number {
		let u = this.next();
		while (u === 0) u = this.next();
		return u ** (-1 / alpha);
	}

	/** Poisson count: exact for small means, normal approximation above (cheap at thousands of requests/s). */
	poisson(mean: number): number {
		if (!(mean > 0)) return 0;
		if (mean < 30) {
			const limit = Math.exp(-mean);
			let count = 0;
			let product = this.next();
			while (product > limit) {
				count++;
				product *= this.next();
			}

			return count;
		}

		return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
	}

	/** Binomial count of successes in `trials` with `probability` each. */
	binomial(trials: number, probability: number): number {
		if (trials <= 0 || probability <= 0) return 0;
		if (probability >= 1) return trials;
		const mean = trials * probability;
		if (trials < 40) {
			let count = 0;
			for (let index = 0; index < trials; index++) if (this.next() < probability) count++;
			return count;
		}

		if (mean < 30) return Math.min(trials, this.poisson(mean));
		const deviation = Math.sqrt(mean * (1 - probability));
		return Math.min(trials, Math.max(0, Math.round(mean + deviation * this.normal())));
	}

	/** Beta(alpha, beta) from two gamma draws: score distributions of classifiers. */
	beta(alpha: number, beta: number): number {
		const x = this.gamma(alpha);
		const y = this.gamma(beta);
		return x / (x + y);
	}

	/** Gamma(shape, 1) by Marsaglia–Tsang. */
	gamma(shape: number): number {
		if (shape < 1) return this.gamma(shape + 1) * this.next() ** (1 / shape);
		const d = shape - 1 / 3;
		const c = 1 / Math.sqrt(9 * d);
		for (;;) {
			let x: number;
			let v: number;
			do {
				x = this.normal();
				v = 1 + c * x;
			} while (v <= 0);
			v = v * v * v;
			const u = this.next();
			if (u < 1 - 0.0331 * x ** 4) return d * v;
			if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
		}
	}

	/** A UUID-shaped request id (version 4 layout) from this stream. */
	requestId(): string {
		const codes = requestIdCodes;
		let position = 0;
		for (let word = 0; word < 4; word++) {
			let value = this.uint32();
			if (word === 1) value = (value & 0xff_ff_0f_ff) | 0x00_00_40_00; // Version 4.
			if (word === 2) value = (value & 0x3f_ff_ff_ff) | 0x80_00_00_00; // Variant 10xx.
			for (let shift = 28; shift >= 0; shift -= 4) {
				if (position === 8 || position === 13 || position === 18 || position === 23) position++;
				codes[position++] = hexDigitCodes[(value >>> shift) & 0xf]!;
			}
		}

		// One flat string: a concatenation would keep a tree of pieces alive per prediction in the history.
		return String.fromCharCode(...codes);
	}
}

const hexDigitCodes = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));
const requestIdCodes: number[] = Array.from('00000000-0000-0000-0000-000000000000', (character) => character.charCodeAt(0));

/** A seed for an independent stream, derived from the demo seed and a stream name (FNV-1a over both). */
export function deriveSeed(seed: number, stream: string): number {
	let hash = 0x81_1c_9d_c5 ^ (seed >>> 0);
	hash = Math.imul(hash, 0x01_00_01_93);
	for (let index = 0; index < stream.length; index++) {
		hash ^= stream.charCodeAt(index);
		hash = Math.imul(hash, 0x01_00_01_93);
	}

	hash ^= seed >>> 16;
	return hash >>> 0;
}
