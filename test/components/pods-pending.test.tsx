/**
 * The first rows at start-up are drawn before the pods are listed (adapters/kube/early-lists.ts): restarts are shown as
 * not known (…), never as 0, in the fleet's RST column and the model view, until the pods are in. At the smallest and
 * largest sizes.
 */
import {afterEach, describe, expect, it} from 'vitest';
import type {Model} from '../../source/domain/types.ts';
import {fakeSources, fixtureModels} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	cleanup = undefined;
});

/** The fixture's fleet with a canary that restarted 4 times, as the pods show it, or before they are listed. */
function fleet(podsListed: boolean): Model[] {
	return fixtureModels().map((model) => ({
		...model,
		versions: model.versions.map((version) => ({
			...version,
			...(version.track === 'canary' && model.name === 'fraud-detector' ? {restarts: 4} : {}),
			...(podsListed ? {} : {restarts: 0, podsPending: true}),
		})),
	}));
}

/** The fraud-detector canary's row of the fleet table, and the RST column's text on it. */
function restartsCell(frame: string): string | undefined {
	const lines = frame.split('\n');
	const header = lines.find((line) => /\bRST\b/.test(line));
	const row = lines.find((line) => /v13/.test(line));
	if (!header || !row) return undefined;
	const end = header.indexOf('RST') + 3;
	return row.slice(end - 3, end).trim();
}

describe.each([
	[60, 15],
	[240, 60],
])('at %ix%i', (columns, rows) => {
	it('restarts are not known (…) until the pods are listed, then their count', async () => {
		const sources = fakeSources();
		sources.cluster.models = fleet(false);
		const ui = await renderAtSize({sources}, columns, rows);
		cleanup = ui.cleanup;
		await ui.waitFor('fraud-detector');
		await settle(100);
		let frame = ui.frame();
		expect(frameProblems(frame, ui.violations(), columns, rows), frame).toEqual([]);
		// The RST column has room only on a wide terminal.
		if (columns >= 240) expect(restartsCell(frame), frame).toBe('…');
		else expect(frame).not.toMatch(/\bRST\b/);

		await ui.press('enter');
		await ui.waitFor('STABLE');
		await settle(100);
		frame = ui.frame();
		expect(frameProblems(frame, ui.violations(), columns, rows), frame).toEqual([]);
		if (rows >= 60) expect(frame).toContain('rst … (pods not listed yet)');
		expect(frame).not.toMatch(/rst 0\b/);
		await ui.press('esc');
		await ui.waitFor('fraud-detector');

		// The pods are in: the count, the canary's 4 restarts included.
		sources.cluster.models = fleet(true);
		for (const listener of sources.cluster.listeners) listener(sources.cluster.models);
		await settle(100);
		frame = ui.frame();
		if (columns >= 240) expect(restartsCell(frame), frame).toBe('4');
		expect(frame).not.toContain('pods not listed yet');
	});
});
