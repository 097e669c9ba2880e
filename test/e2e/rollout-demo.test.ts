/**
 * End to end: the built `modeldeck --demo` in a real pseudo-terminal rolls out a new version with `d` — the dialog
 * filled, the plan confirmed, the progress seen to advance on the fleet row and in the model view — then aborts it with
 * `X` and sees it rolled back and audited. `npm run build` first (npm test does).
 */
import {existsSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
let terminal: PtyTerminal | undefined;

afterEach(() => {
	terminal?.kill();
	terminal = undefined;
});

describe('a rollout in the demo, in a pty', () => {
	it('starts with d, advances, aborts with X and is rolled back', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
		const term = (terminal = PtyTerminal.spawn(process.execPath, [cli, '--demo'], {
			cols: 140,
			rows: 40,
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))},
		}));
		await term.waitFor(/fraud-detector/);
		await term.waitFor(/\d+\.\d/);
		term.press('g');
		await term.settle();
		const model = /›\s*(\S+)/.exec(term.screen())?.[1];
		expect(model).toBeDefined();

		term.press('d');
		let screen = await term.waitFor('Roll out a new version of');
		expect(screen).toContain('5,25,50,100');
		term.write('registry.local/demo:v77');
		await term.waitFor(/version\s+v77/);
		// Steps 5,25 with a 6 s pause: the progress moves while we look.
		term.press('tab');
		term.press('tab');
		for (let index = 0; index < 11; index++) term.press('backspace');
		term.write('5,25');
		term.press('tab');
		for (let index = 0; index < 4; index++) term.press('backspace');
		term.write('6s');
		await term.waitFor(/pause\s+6s/);
		term.press('enter');
		screen = await term.waitFor(/Roll out \S+ v77 \(registry\.local\/demo:v77\)\?/);
		expect(screen).toContain('new version v77 (registry.local/demo:v77) beside stable');
		expect(screen).toContain('steps 5% → 25%, 6s each');
		term.press('y');

		// The fleet row's marker: the first step, then the second.
		await term.waitFor('↗ 5% 1/2', 20_000);
		term.press('enter');
		screen = await term.waitFor(/rollout v77 over \S+: step 1\/2 · 5% · judging in \d+s/, 10_000);
		screen = await term.waitFor(/rollout v77 over \S+: step 2\/2 · 25%|rollout judged/, 30_000);

		term.press('X');
		screen = await term.waitFor('Abort the rollout of');
		expect(screen).toContain('rolls it back: all traffic to');
		term.press('y');
		screen = await term.waitFor(/last rollout v77 over \S+: aborted: aborted by/, 20_000);
		expect(screen).toMatch(/rolled back: \S+ takes all traffic/);
		// v77 is gone from the model: the stable takes it all.
		term.press('esc');
		screen = await term.waitFor('MODEL');
		expect(screen).not.toContain('v77');

		term.press('a');
		screen = await term.waitFor('Audit log');
		expect(screen).toMatch(/rollout (start|abort|weight|rollback)/);
		term.press('q');
		expect(await term.exited).toBe(0);
	}, 120_000);
});
