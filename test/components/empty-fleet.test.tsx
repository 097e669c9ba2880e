/**
 * A cluster without models: the fleet says what was looked for and how to label a Deployment, at the smallest and the
 * largest supported terminal, without overflowing or drawing over itself.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {fakeSources} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	cleanup = undefined;
});

describe.each([
	[60, 15],
	[240, 60],
])('the empty fleet at %ix%i', (columns, rows) => {
	it('says what was looked for and how to label things, and fits', async () => {
		const sources = fakeSources();
		sources.cluster.models = [];
		const ui = await renderAtSize({sources}, columns, rows);
		cleanup = ui.cleanup;
		await ui.waitFor('Looked for');
		await settle(60);
		const frame = ui.frame();
		expect(frameProblems(frame, ui.violations(), columns, rows), frame).toEqual([]);
		const flat = frame.replace(/\s+/g, ' ');
		expect(flat).toContain('No models in');
		expect(flat).toContain('modeldeck.dev/model');
		for (const text of ['TrafficSplits', 'Seldon Experiments', 'app.kubernetes.io/name', 'kubectl label deployment']) {
			// A short terminal keeps the first lines; the largest shows every one.
			if (rows >= 60) expect(flat).toContain(text);
		}

		expect(flat).not.toContain('No models in any namespace. Models are');
	});
});
