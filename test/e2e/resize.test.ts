/**
 * The built `modeldeck --demo` in a real pseudo-terminal, resized as an operator drags a window: 80x24 → 60x24 →
 * 60x15 → 120x40 → 80x24. After each resize the terminal must show one frame at the new size: one header, one footer on the last
 * row, each model once, nothing left over from the frame before.
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

const models = ['churn-predictor', 'fraud-detector', 'image-classifier', 'recommender', 'search-ranker', 'sentiment'];

/**
 * The screen as the operator sees it. xterm keeps the cells of a line beyond a narrower width (they are hidden, not
 * erased), so each row is read up to the terminal's width.
 */
function visible(term: PtyTerminal): string {
	const buffer = term.xterm.buffer.active;
	const lines: string[] = [];
	for (let row = 0; row < term.xterm.rows; row++) {
		lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true, 0, term.xterm.cols) ?? '');
	}

	return lines.join('\n');
}

/** What is wrong with the fleet screen as the terminal shows it: leftovers and doubles. */
function screenProblems(screen: string, rows: number): string[] {
	const lines = screen.split('\n');
	const problems: string[] = [];
	const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length;
	if (lines.length !== rows) problems.push(`${lines.length} rows read back, expected ${rows}`);
	const headers = count(/modeldeck/);
	if (headers !== 1) problems.push(`${headers} header lines`);
	if (!lines[0]?.startsWith('modeldeck')) problems.push('the header is not on the first row');
	const footers = count(/enter open/);
	if (footers !== 1) problems.push(`${footers} footer lines`);
	if (!/enter open/.test(lines.at(-1) ?? '')) problems.push('the footer is not on the last row');
	const headings = count(/^\s*MODEL\s/);
	if (headings !== 1) problems.push(`${headings} column heading lines`);
	for (const model of models) {
		const times = count(new RegExp(`^[› ]${model}\\b`));
		if (times > 1) problems.push(`${model} is on ${times} rows`);
	}

	return problems.length > 0 ? [...problems, 'screen:', ...lines] : [];
}

describe('resizing the terminal', () => {
	it('redraws one whole frame at each size, with nothing left behind', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
		const term = PtyTerminal.spawn(process.execPath, [cli, '--demo'], {
			cols: 80,
			rows: 24,
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))},
		});
		terminal = term;
		await term.waitFor(/sentiment/);
		await term.waitFor(/\d+\.\d/);
		expect(screenProblems(visible(term), 24)).toEqual([]);

		// First the width alone (the terminal reflows the old frame's long lines), then both, then larger.
		for (const [cols, rows] of [
			[60, 24],
			[60, 15],
			[120, 40],
			[80, 24],
		] as const) {
			// The terminal changes size first, as a terminal emulator does, then the program hears SIGWINCH.
			term.xterm.resize(cols, rows);
			term.process.resize(cols, rows);
			// A frame at the new width: at 60 columns the fleet has no room for RPS, at 120 it has P50.
			await term.waitFor(() => {
				const screen = visible(term);
				return cols < 80
					? !screen.includes('RPS')
					: cols >= 120
						? screen.includes('P50')
						: screen.includes('RPS') && !screen.includes('P50');
			});
			// The clock redraws the screen every second: leftovers would survive it only where nothing writes.
			await term.settle(1200);
			expect(screenProblems(visible(term), rows), `at ${cols}x${rows}`).toEqual([]);
		}

		term.press('q');
		expect(await term.exited).toBe(0);
	});
});
