/**
 * End to end, as an on-call engineer walks it at 80x24 (issue 12, "Trust under pressure"): the built
 * `modeldeck --demo --scenario latency-regression` in a real pseudo-terminal, five minutes into its incident
 * (`--at 5m`, the simulation fast-forwarded on its own clock, so fraud-detector's canary is already flagged critical).
 * A weight typed as `4.5` is refused and nothing is applied; promote on search-ranker lists all three of its versions;
 * promote on the critical canary stops at the danger gate until the model's name is typed; the verdict reads fail;
 * and every screen visited holds at 80x24: header on the first row, footer on the last, no line wider than 80.
 * The steps share one console, in order, as one operator's walk. `npm test` builds dist/ before the tests run.
 */
import {existsSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
const cols = 80;
const rows = 24;
let term: PtyTerminal;

/**
 * What is wrong with the screen at 80x24. A line wider than the terminal is wrapped by it onto the next row, which
 * xterm marks as a continuation: that, not the length of a row (never more than 80), is what shows it.
 */
function screenProblems(): string[] {
	const buffer = term.xterm.buffer.active;
	const lines: string[] = [];
	const problems: string[] = [];
	for (let row = 0; row < rows; row++) {
		const line = buffer.getLine(buffer.viewportY + row);
		const text = line?.translateToString(true, 0, cols) ?? '';
		lines.push(text);
		if (line?.isWrapped) problems.push(`row ${row + 1} is the rest of a line wider than ${cols}: "${text}"`);
	}

	const headers = lines.filter((line) => line.startsWith('modeldeck DEMO')).length;
	if (headers !== 1) problems.push(`${headers} header lines`);
	if (!lines[0]?.startsWith('modeldeck DEMO')) problems.push('the header is not on the first row');
	const footers = lines.filter((line) => line.includes('? help')).length;
	if (footers !== 1) problems.push(`${footers} footer lines`);
	if (!lines.at(-1)?.includes('? help')) problems.push('the footer is not on the last row');
	return problems;
}

/** The screen once it shows MATCH, checked for the invariants of every screen. */
async function visit(name: string, match: string | RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
	const screen = await term.waitFor(match, timeoutMs);
	expect(screenProblems(), `${name} at ${cols}x${rows}:\n${term.screen()}`).toEqual([]);
	return screen;
}

/** Back to the fleet with only MODEL's rows, the cursor on its first. */
async function filterFleet(model: string): Promise<void> {
	if (term.screen().includes('only rows matching')) {
		// The filter prompt edits the filter in force: clear it first.
		term.press('esc');
		await term.waitFor((screen) => !screen.includes('only rows matching'));
	}

	term.press('/');
	await term.waitFor(/filter/i);
	term.write(model);
	term.press('enter');
	await term.waitFor(`only rows matching "${model}"`);
	term.press('g');
	await term.settle();
}

const noDialog = (screen: string) => !screen.includes('╭');

beforeAll(async () => {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
	term = PtyTerminal.spawn(process.execPath, [cli, '--demo', '--scenario', 'latency-regression', '--at', '5m'], {
		cols,
		rows,
		env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-walk-'))},
	});
	await term.waitFor(/sentiment/, 30_000);
});

afterAll(() => {
	term?.kill();
});

describe('an operator walks modeldeck --demo --scenario latency-regression --at 5m at 80x24', () => {
	it('the fleet: every model, the critical canary flagged, header and footer in place', async () => {
		const screen = await visit('fleet', /v13\s+canary.*✖/, 30_000);
		expect(screen).toMatch(/search-ranker\s+v7\s+stable\s+\S+\s+80%/);
	});

	it('weight: 4.5 is shown as typed with what is wrong, enter applies nothing, the weight is unchanged (it became 45%)', async () => {
		await filterFleet('search-ranker');
		expect(term.screen()).toMatch(/v8\s+canary\s+\S+\s+15%/);
		term.press('w');
		await visit('weight dialog', /Set canary v8 weight \(now 15%\)/);
		term.write('4.5');
		let screen = await visit('weight dialog with 4.5', /"4\.5" is not a weight: type a whole number from 0 to 100/);
		expect(screen).toMatch(/new weight 0–100: 4\.5 %/);
		term.press('enter');
		await term.settle(500);
		screen = await visit('weight dialog after enter', /new weight 0–100: 4\.5 %/);
		expect(screen).toContain('"4.5" is not a weight');
		expect(screen).not.toMatch(/15% → 45%|15% → 4%|→ 45%/);
		term.press('esc');
		screen = await visit('fleet after the refused weight', noDialog);
		expect(screen).toMatch(/v8\s+canary\s+\S+\s+15%/);
		expect(screen).toMatch(/v8-dist\S*\s+canary\s+\S+\s+5%/);
	});

	it('the audit log has no entry for the refused weight', async () => {
		term.press('a');
		const screen = await visit('audit log', 'Audit log');
		expect(screen).toContain('No actions yet.');
		term.press('esc');
		await visit('fleet', noDialog);
		await term.waitFor(/MODEL\s+VERSION/);
	});

	it('promote on search-ranker lists all three versions with before → after (v8-distilled went 5% → 0% unseen)', async () => {
		await filterFleet('search-ranker');
		term.press('p');
		const screen = await visit('promote dialog', /Promote search-ranker/);
		expect(screen).toMatch(/stable v7: 80% → 0%/);
		expect(screen).toMatch(/canary v8: 15% → 100%/);
		expect(screen).toMatch(/canary v8-distilled: 5% → 0%/);
		expect(screen).toMatch(/y\/enter confirm · esc\/n\/q cancel/);
		term.press('esc');
		const after = await visit('fleet after the cancelled promote', noDialog);
		expect(after).toMatch(/v8\s+canary\s+\S+\s+15%/);
	});

	it('promote on the critical canary: the gate shows the evidence first, and enter without the model name does nothing', async () => {
		await filterFleet('fraud-detector');
		term.press('p');
		let screen = await visit('danger gate', /type fraud-detector to go ahead/);
		expect(screen).toMatch(/DANGER: v13 would get more traffic \(10% → 100%\)/);
		expect(screen).toMatch(/critical: canary p99 \d+ ms is \d+% worse than stable \d+ ms/);
		expect(screen).toMatch(/verdict fail: fail: /);
		expect(screen).toMatch(/canary v13: 10% → 100%/);
		term.press('enter');
		screen = await visit('danger gate after enter', /type fraud-detector to go ahead despite the above/);
		expect(screen).toContain('DANGER');
		// Typing part of the name is not the name.
		term.write('fraud');
		term.press('enter');
		await term.settle(500);
		screen = await visit('danger gate with part of the name', /type fraud-detector to go ahead: fraud/);
		term.press('esc');
		screen = await visit('fleet after the refused promote', noDialog);
		expect(screen).toMatch(/v13\s+canary\s+\S+\s+10%/);
		term.press('a');
		screen = await visit('audit log', 'Audit log');
		expect(screen).toContain('No actions yet.');
		term.press('esc');
		await visit('fleet', /MODEL\s+VERSION/);
	});

	it('the model view: fraud-detector reads fail beside the critical flag', async () => {
		term.press('g');
		term.press('enter');
		const screen = await visit('model view', /verdict: fail: /);
		expect(screen).toMatch(/STABLE v12/);
		expect(screen).toMatch(/CANARY v13/);
		expect(screen).toMatch(/✖ v13: canary p99 \d+ ms is \d+% worse than stable/);
		expect(screen).not.toMatch(/verdict: pass/);
	});

	it('x, l, ?, : and back: each screen holds at 80x24', async () => {
		term.press('x');
		await visit('queries (x)', /Queries behind fraud-detector/);
		term.press('esc');
		await visit('model view', /verdict: /);
		term.press('l');
		await visit('prediction log (l)', /Predictions of payments\/fraud-detector/);
		await visit('prediction log with lines', /fraud-detector v1[23]/);
		term.press('esc');
		await visit('model view', /verdict: /);
		term.press('?');
		await visit('help (?)', /Keys \(esc closes/);
		term.press('esc');
		await visit('model view', /verdict: /);
		term.press(':');
		await visit('palette (:)', /Command palette/);
		term.press('esc');
		await visit('model view', /verdict: /);
		term.press('esc');
		await visit('fleet', /MODEL\s+VERSION/);
		term.press('q');
		expect(await term.exited).toBe(0);
	});
});
