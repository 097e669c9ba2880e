/**
 * Milliseconds from `now` to the next multiple of `intervalMs` (a whole interval when `now` is on one): for work that
 * runs on the second (the clock's tick, the demo's predictions, aligned refreshes), so that it shares one wake-up.
 */
export function untilAligned(now: number, intervalMs: number): number {
	const remainder = now % intervalMs;
	return remainder === 0 ? intervalMs : intervalMs - remainder;
}
