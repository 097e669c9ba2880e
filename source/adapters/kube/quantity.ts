/** Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1G`, `1e3`) as plain numbers of the base unit. */

const suffixes: Record<string, number> = {
	n: 1e-9,
	u: 1e-6,
	m: 1e-3,
	'': 1,
	k: 1e3,
	M: 1e6,
	G: 1e9,
	T: 1e12,
	P: 1e15,
	E: 1e18,
	Ki: 2 ** 10,
	Mi: 2 ** 20,
	Gi: 2 ** 30,
	Ti: 2 ** 40,
	Pi: 2 ** 50,
	Ei: 2 ** 60,
};

/** Parse a quantity; undefined when it is not one (outside input never throws). */
export function parseQuantity(input: string | number | undefined): number | undefined {
	if (typeof input === 'number') return Number.isFinite(input) ? input : undefined;
	if (typeof input !== 'string') return undefined;
	const match = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
	if (!match) return undefined;
	const [, numberText, suffix = ''] = match;
	const multiplier = suffixes[suffix];
	if (multiplier === undefined) return undefined;
	const value = Number(numberText) * multiplier;
	return Number.isFinite(value) ? value : undefined;
}
