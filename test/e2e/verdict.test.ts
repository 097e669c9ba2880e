/**
 * End to end: the canary verdict in the built `modeldeck --demo`, in a real pseudo-terminal, as an operator reads it
 * in the model view: failing beside the evidence for a regressed canary, ready to promote for a healthy one.
 * `npm test` builds dist/ before the tests run.
 */
import {existsSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
let terminal: PtyTerminal | undefined;

function start(scenario: string): PtyTerminal {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
	terminal = PtyTerminal.spawn(process.execPath, [cli, '--demo', '--scenario', scenario], {
		cols: 120,
		rows: 40,
		env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))},
	});
	return terminal;
}

/** Filter the fleet down to one model and open it. */
async function open(term: PtyTerminal, model: string): Promise<void> {
	await term.waitFor(/sentiment/, 20_000);
	term.press('/');
	term.write(model);
	term.press('enter');
	await term.settle();
	term.press('enter');
	await term.waitFor(/STABLE|CANARY/, 15_000);
}

function verdictLine(screen: string): string | undefined {
	return screen.split('\n').find((line) => line.includes('verdict:'));
}

afterEach(() => {
	terminal?.kill();
	terminal = undefined;
});

describe('canary verdicts in the demo, in a pty', () => {
	const regressions: Array<[string, string, RegExp]> = [
		['latency-regression', 'fraud-detector', /✖ v13: canary p99 \d+ ms is \d+% worse than stable/],
		['error-burst', 'recommender', /✖ 2\.5\.0: canary errors [\d.]+% vs stable/],
	];
	for (const [scenario, model, evidence] of regressions) {
		it(`${scenario}: ${model}'s verdict fails beside the critical flag, never pass`, async () => {
			const term = start(scenario);
			await open(term, model);
			const screen = await term.waitFor(evidence, 30_000);
			// Once the flag is on screen the verdict with it says fail (a frame may show the flag a refresh before).
			const failing = await term.waitFor((text) => /verdict: fail: /.test(verdictLine(text) ?? ''), 10_000);
			expect(verdictLine(failing)).toMatch(/verdict: fail: /);
			expect(verdictLine(screen) ?? '').not.toMatch(/verdict: pass/);
			term.press('q');
			expect(await term.exited).toBe(0);
		});
	}

	it('latency-regression: the judge fails v13 on its own figures, naming p99 latency', async () => {
		const term = start('latency-regression');
		await open(term, 'fraud-detector');
		// The judge weighs the history every 30 s, and the newest 2m30s of it on their own: about two minutes after the
		// regression began, its slow points are enough of them for the judge to fail it without the flag's help.
		const screen = await term.waitFor((text) => /verdict: fail: worse .*p99 latency \(critical\)/.test(verdictLine(text) ?? ''), 200_000);
		expect(verdictLine(screen)).toMatch(/score \d+ \(\d of 6 metrics passed\) over 10m/);
		term.press('q');
		expect(await term.exited).toBe(0);
	}, 240_000);

	it('memory-leak: image-classifier warns of the leak, with the time left, and its verdict fails', async () => {
		const term = start('memory-leak');
		await open(term, 'image-classifier');
		await term.waitFor(/memory growing steadily \(\+[\d.]+ [GM]iB\/min\): (<1|~\d+) min to the 4 GiB limit/, 40_000);
		const screen = await term.waitFor((text) => /verdict: fail: /.test(verdictLine(text) ?? ''), 120_000);
		expect(verdictLine(screen)).toMatch(/verdict: fail: /);
		term.press('q');
		expect(await term.exited).toBe(0);
	}, 180_000);

	it('healthy-canary: search-ranker passes and says it is ready to promote', async () => {
		const term = start('healthy-canary');
		await open(term, 'search-ranker');
		const screen = await term.waitFor((text) => /verdict: pass: score 100 .* — ready to promote/.test(verdictLine(text) ?? ''), 90_000);
		expect(screen).not.toMatch(/✖ v8/);
		term.press('q');
		expect(await term.exited).toBe(0);
	}, 120_000);
});
