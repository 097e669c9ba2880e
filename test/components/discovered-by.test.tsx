/** The model view says how the model was found, on a line of its own when there is room, at the smallest and largest sizes. */
import {afterEach, describe, expect, it} from 'vitest';
import {fakeSources, fixtureModels} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	cleanup = undefined;
});

describe.each([
	[60, 15],
	[240, 60],
])('the model view at %ix%i', (columns, rows) => {
	it('fits, and says how the model was found when there is a line for it', async () => {
		const sources = fakeSources();
		sources.cluster.models = fixtureModels().map((model) => ({
			...model,
			discoveredBy: model.routerObject ? `${model.routerObject} backends` : 'app + version labels',
		}));
		const ui = await renderAtSize({sources}, columns, rows);
		cleanup = ui.cleanup;
		await ui.waitFor('fraud-detector');
		await ui.press('enter');
		await ui.waitFor('STABLE');
		await settle(100);
		const frame = ui.frame();
		expect(frameProblems(frame, ui.violations(), columns, rows), frame).toEqual([]);
		if (rows >= 60) expect(frame).toContain('found by HTTPRoute/fraud-detector backends');
		else expect(frame).toContain('fraud-detector');
	});
});
