import {expect} from 'vitest';

/** Asserts `actual` is within a relative tolerance of `expected` (absolute near zero), for floating-point references. */
export function expectClose(actual: number | null | undefined, expected: number, relative = 1e-9): void {
	expect(actual).not.toBeNull();
	expect(actual).toBeTypeOf('number');
	const tolerance = Math.max(Math.abs(expected) * relative, 1e-300);
	const difference = Math.abs((actual as number) - expected);
	expect(difference, `${actual} should be within ${relative} (relative) of ${expected}`).toBeLessThanOrEqual(
		Math.max(tolerance, expected === 0 ? 1e-12 : 0),
	);
}
