/**
 * A rollout's screens at the smallest and the largest supported terminal, on the demo fleet (its rollouts run by the
 * agent's DeliveryRunner): the dialog, the confirmation of the plan, the fleet with the rollout's marker, the model
 * view with its progress, the abort's confirmation and the ended rollout — each frame fits, overlaps nothing and shows
 * what it is for.
 */
import {appendFileSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {createDemoSources, type DemoSources} from '../../source/demo/index.ts';
import {currentModel} from '../../source/state/selectors.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

let sources: DemoSources | undefined;
let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	sources?.stop();
	cleanup = undefined;
	sources = undefined;
});

describe.each([
	[60, 15],
	[240, 60],
])('a rollout at %ix%i', (columns, rows) => {
	it('fits and says what it is at every step: dialog, plan, fleet marker, progress, abort', async () => {
		sources = createDemoSources({actionDelayMs: 0, predictionsPerSecond: 20});
		const ui = await renderAtSize({sources}, columns, rows);
		cleanup = ui.cleanup;
		const report: Record<string, string[]> = {};
		const check = async (screen: string, ...texts: string[]) => {
			await settle(60);
			const frame = ui.frame();
			const problems = [
				...frameProblems(frame, ui.violations(), columns, rows),
				...texts.filter((text) => !frame.includes(text)).map((text) => `"${text}" is missing`),
			];
			if (problems.length > 0) report[screen] = [...problems, 'frame:', ...frame.split('\n')];
			// SCREENS_DUMP=file: every frame appended, to look at them all at once.
			if (process.env['SCREENS_DUMP']) appendFileSync(process.env['SCREENS_DUMP'], `=== ${columns}x${rows} ${screen}\n${frame}\n`);
		};

		await ui.waitFor('MODEL');
		const model = currentModel(ui.controller.state)!;
		await ui.press('d');
		await check('dialog', 'Roll out', 'image', 'steps', '5,25,50,100');
		await ui.type('registry.local/demo:v99');
		await ui.press('tab', 'tab', 'tab', 'backspace', 'backspace');
		await ui.type('5m');
		await ui.press('enter');
		await ui.waitFor('confirm');
		await check('confirmation', 'Roll out', 'new version v99');
		await ui.press('y');
		await ui.waitFor((frame) => /↗ (\d+% \d\/4|waiting ready|smoke testing|starting)/.test(frame), 15_000);
		await ui.waitFor('↗ 5% 1/4', 15_000);
		await check('fleet with the marker', '↗ 5% 1/4', 'MODEL');
		await ui.press('enter');
		await ui.waitFor('rollout v99');
		await check('model view with the rollout', model.name, 'rollout v99', 'step 1/4 · 5% · judging in', 'CANARY v99');
		await ui.press('X');
		await ui.waitFor('Abort the rollout');
		await check('abort confirmation', 'rolls it back');
		await ui.press('y');
		await ui.waitFor('last rollout v99', 15_000);
		await check('ended rollout', 'last rollout v99', 'aborted');
		expect(report).toEqual({});
	}, 90_000);
});
