/** Weight arithmetic: canary weights are whole percentages 0–100. */

export function clampWeight(weight: number): number {
	if (!Number.isFinite(weight)) return 0;
	return Math.min(100, Math.max(0, Math.round(weight)));
}

/** Step the canary weight up or down, landing on multiples of the step where possible (13 + 10 → 20). */
export function stepWeight(current: number, step: number, direction: 1 | -1): number {
	if (step <= 0) return clampWeight(current);
	const aligned = direction === 1 ? Math.floor(current / step) * step + step : Math.ceil(current / step) * step - step;
	return clampWeight(aligned);
}

/** Parse operator input such as `25`, `25%` or ` 25 % `. Returns an error message saying how to fix it. */
export function parseWeight(input: string): {weight: number} | {error: string} {
	const trimmed = input.trim().replace(/%$/, '').trim();
	if (!/^\d{1,3}$/.test(trimmed)) return {error: `"${input}" is not a weight: type a whole number from 0 to 100`};
	const weight = Number(trimmed);
	if (weight > 100) return {error: `${weight} is above 100: type a whole number from 0 to 100`};
	return {weight};
}

/** Split traffic by ready replicas when no router exists (as Argo Rollouts does). Sums to 100 when any are ready. */
export function weightsFromReplicas(ready: number[]): number[] {
	const total = ready.reduce((sum, value) => sum + value, 0);
	if (total === 0) return ready.map(() => 0);
	const raw = ready.map((value) => (value / total) * 100);
	const floored = raw.map(Math.floor);
	let remainder = 100 - floored.reduce((sum, value) => sum + value, 0);
	const order = raw.map((value, index) => ({index, fraction: value - Math.floor(value)})).sort((a, b) => b.fraction - a.fraction);
	for (const {index} of order) {
		if (remainder <= 0) break;
		floored[index] = floored[index]! + 1;
		remainder--;
	}

	return floored;
}
