/**
 * `runbook play`: the console with the narration panel below it, at the smallest and the largest terminal. The panel
 * shows the step (i of n) and its narration; ctrl+n goes on, ctrl+p back; the steps' keys are pressed in the console.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {createDemoSources, type DemoSources} from '../../source/demo/index.ts';
import {parseRunbook} from '../../source/domain/runbook/parse-runbook.ts';
import {playRoot} from '../../source/runbook/play.tsx';
import {runbookVocabulary} from '../../source/runbook/vocabulary.ts';
import {frameProblems, renderAtSize} from '../support/screen-check.tsx';

const NEXT = '\u000E';
const BACK = '\u0010';

const text = `title: Calm walk
demo: {scenario: calm}
steps:
  - say: This is the fleet, one row per version.
    check: {screen: fleet}
  - say: Open fraud-detector to see its versions side by side.
    open: fraud-detector
  - keys: l
  - say: The prediction log of this model.
    check: {screen: log}
`;

const runbook = parseRunbook(text, runbookVocabulary()).runbook!;

let demo: DemoSources | undefined;
let opened: Awaited<ReturnType<typeof renderAtSize>> | undefined;
afterEach(() => {
	opened?.cleanup();
	demo?.stop();
	opened = undefined;
	demo = undefined;
});

describe.each([
	[60, 15],
	[240, 60],
])('at %ix%i', (columns, rows) => {
	it('narrates step by step: next performs the next step, back shows the one before', async () => {
		demo = createDemoSources({scenario: 'calm', actionDelayMs: 0});
		opened = await renderAtSize({sources: demo, root: playRoot(runbook, {keyPauseMs: 10})}, columns, rows);
		const console = opened;
		const check = (frame: string) => expect(frameProblems(frame, console.violations(), columns, rows)).toEqual([]);

		let frame = await console.waitFor((current) => current.includes('Calm walk') && current.includes('one row per version'));
		expect(frame).toMatch(columns >= 100 ? /step 1\/4 · ctrl\+n next · ctrl\+p back · ctrl\+x quit/ : /1\/4 · \^N \^P \^X/);
		frame = await console.waitFor('✓ check that the fleet screen is on show');
		check(frame);
		expect(console.store.getState().view.screen).toBe('fleet');

		await console.type(NEXT);
		frame = await console.waitFor('to see its versions side by side');
		await console.waitFor(() => console.store.getState().view.screen === 'model');
		expect(frame).toMatch(/2\/4/);
		check(frame);

		// Step 3 has no narration: once its key is pressed, the walk goes on to step 4 by itself.
		await console.type(NEXT);
		frame = await console.waitFor(
			(current) => current.includes('The prediction log of this model') && current.includes('✓ check that the log screen'),
		);
		expect(console.store.getState().view.screen).toBe('log');
		expect(frame).toMatch(/4\/4/);
		check(frame);

		// Back shows the step before without doing it again.
		await console.type(BACK);
		frame = await console.waitFor((current) => /3\/4/.test(current));
		expect(frame).toContain('keys l');
		expect(console.store.getState().view.screen).toBe('log');

		await console.type(NEXT);
		await console.type(NEXT);
		frame = await console.waitFor('End of the runbook');
		check(frame);
	}, 30_000);
});
