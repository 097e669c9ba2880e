/**
 * Every screen and dialog at every supported terminal size, on the demo fleet: each frame is checked for lines wider
 * than the terminal, more lines than rows, text drawn over other text or off the screen, its headings and titles,
 * a "↓ N more" when rows are hidden, and a model name on the first visible fleet row.
 */
import {appendFileSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {createDemoSources, type DemoSources} from '../../source/demo/index.ts';
import {findModel, fleetRows} from '../../source/state/selectors.ts';
import type {AppState} from '../../source/state/state.ts';
import {fakeSources} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

const sizes: Array<[number, number]> = [
	[60, 15],
	[80, 24],
	[100, 30],
	[160, 48],
	[240, 60],
];

const chartLabels = ['p50 ms', 'p95 ms', 'p99 ms', 'req/s', 'errors', 'CPU', 'memory'];

/** The fleet table as drawn: its column headings, and the lines after them up to the first that is not a row. */
function fleetLines(frame: string): {heading: string; rows: string[]} {
	const lines = frame.split('\n');
	const title = lines.findIndex((line) => /^\s*MODEL\s/.test(line));
	if (title < 0) return {heading: '', rows: []};
	const rows: string[] = [];
	for (const line of lines.slice(title + 1)) {
		if (line.trim() === '' || !/^[› ]/.test(line) || /^\s*[↑↓]/.test(line) || line.startsWith('/')) break;
		rows.push(line);
	}

	return {heading: lines[title]!, rows};
}

/** Problems of the fleet table: rows that cannot be told apart from their model, hidden rows nobody mentions. */
function fleetProblems(frame: string, state: AppState): string[] {
	const problems: string[] = [];
	if (!/\bMODEL\b/.test(frame)) problems.push('no MODEL column heading');
	const all = fleetRows(state);
	const {heading, rows} = fleetLines(frame);
	if (rows.length === 0) return [...problems, 'no fleet rows drawn'];
	if (rows.length < all.length && !/[↑↓] \d+ more/.test(frame)) {
		problems.push(`${rows.length} of ${all.length} rows shown and no "↓ N more" or "↑ N more"`);
	}

	// The model of every drawn row must be readable: named on the row, or on a row above it on screen.
	const modelStart = heading.indexOf('MODEL');
	const modelEnd = heading.slice(modelStart + 5).search(/\S/) + modelStart + 5;
	const versionStart = heading.indexOf('VERSION');
	const prefix = (text: string) => text.replace(/…$/, '');
	let model: string | undefined;
	for (const line of rows) {
		const named = line.slice(modelStart, modelEnd).trim();
		if (named) model = named;
		const owner = model === undefined ? undefined : state.models.find((candidate) => candidate.name.startsWith(prefix(model!)));
		if (!owner) {
			problems.push(`row "${line.trim()}" shows no model name and none is above it`);
			break;
		}

		const version = versionStart < 0 ? undefined : line.slice(versionStart).trim().split(/\s+/)[0];
		if (version !== undefined && !owner.versions.some((candidate) => candidate.name.startsWith(prefix(version)))) {
			problems.push(`row "${line.trim()}" reads as a version of ${owner.name}, which has no version ${version}`);
		}
	}

	return problems;
}

function modelProblems(frame: string, state: AppState, rows: number): string[] {
	const problems: string[] = [];
	const view = state.view;
	const model = view.screen === 'model' ? findModel(state, view.model) : undefined;
	if (!model) return ['no model open'];
	if (!frame.includes(model.name)) problems.push(`the model's name ${model.name} is missing`);
	for (const track of ['STABLE', 'CANARY']) if (!new RegExp(`${track} \\S`).test(frame)) problems.push(`no ${track} heading`);
	// From 24 rows every chart has its line, whatever else the view shows.
	if (rows >= 24) for (const label of chartLabels) if (!frame.includes(label)) problems.push(`no "${label}" chart`);
	return problems;
}

const includes =
	(...texts: string[]) =>
	(frame: string) =>
		texts.filter((text) => !frame.includes(text)).map((text) => `"${text}" is missing`);

async function waitUntil(test: () => boolean, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!test()) {
		if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms`);
		await settle(20);
	}
}

/**
 * Checks the screen shown now: its problems, and the frame, go into `report` under the screen's name. With `dump`, the
 * frame is also appended to the file SCREENS_DUMP names (to look at every size at once).
 */
function screenCheck(
	ui: Awaited<ReturnType<typeof renderAtSize>>,
	columns: number,
	rows: number,
	report: Record<string, string[]>,
	options: {dump?: boolean} = {},
) {
	return async (screen: string, specific: (frame: string, state: AppState) => string[]) => {
		await settle(60);
		const frame = ui.frame();
		const problems = [...frameProblems(frame, ui.violations(), columns, rows), ...specific(frame, ui.controller.state)];
		if (problems.length > 0) report[screen] = [...problems, 'frame:', ...frame.split('\n')];
		if (options.dump && process.env['SCREENS_DUMP'])
			appendFileSync(process.env['SCREENS_DUMP'], `=== ${columns}x${rows} ${screen}\n${frame}\n`);
	};
}

let sources: DemoSources | undefined;
let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	sources?.stop();
	cleanup = undefined;
	sources = undefined;
});

describe.each(sizes)('every screen at %ix%i', (columns, rows) => {
	it('fits, overlaps nothing, keeps its headings and says when rows are hidden', async () => {
		sources = createDemoSources({scenario: 'latency-regression', actionDelayMs: 0, predictionsPerSecond: 40});
		const ui = await renderAtSize({sources, loadTest: {rps: 20, durationSeconds: 1, warmupSeconds: 0}}, columns, rows);
		cleanup = ui.cleanup;
		const report: Record<string, string[]> = {};
		const check = screenCheck(ui, columns, rows, report, {dump: true});

		await ui.waitFor('MODEL');
		await ui.waitFor(/\d+\.\d/);
		await check('fleet', fleetProblems);
		// Every window the table can scroll to: from the last row up to the first.
		await ui.press('G');
		for (let row = fleetRows(ui.controller.state).length - 1; row >= 0; row--) {
			await check(`fleet, row ${row + 1} selected`, fleetProblems);
			await ui.press('k');
		}

		await ui.press('g', 'j', 'j', 'j');
		await ui.press('/');
		await check('filter', (frame, state) => [...fleetProblems(frame, state), ...includes('esc clears')(frame)]);
		await ui.press('esc', 'g', 'c');
		await check('pick context', includes('Switch context', 'demo-prod'));
		await ui.press('esc', 'n');
		await check('pick namespace', includes('Switch namespace'));
		await ui.press('esc', ':');
		await check('palette', includes('Command palette'));
		await ui.press('esc', '?');
		await check('help', includes('Keys', 'esc closes'));
		await ui.press('esc', 'enter');
		await settle(200);
		await check('model', (frame, state) => modelProblems(frame, state, rows));
		await ui.press('x');
		await check('queries (x)', (frame, state) => [
			...includes(state.overlay?.kind === 'explain' ? state.overlay.title : 'Queries behind', 'stable ', 'esc closes')(frame),
			...(frame.includes('p99Ms:') || /↓ \d+ more lines/.test(frame) ? [] : ['neither every query nor "↓ N more lines"']),
		]);
		await ui.press('esc', '+');
		await check('confirm', (frame, state) =>
			includes(
				state.overlay?.kind === 'confirm' ? state.overlay.title.slice(0, Math.min(20, columns - 8)) : '(no confirm dialog)',
				'cancel',
			)(frame),
		);
		await ui.press('n', 'w');
		await check('weight input', includes('Set canary', 'new weight'));
		await ui.press('esc', 's');
		const finished = (kind: string) => () =>
			ui.controller.state.tasks.some((task) => task.action.kind === kind && task.state !== 'running');
		await waitUntil(finished('smoke-test'));
		await ui.press('t', 'y');
		await waitUntil(finished('load-test'));
		await check('model with smoke and load results', (frame, state) => [
			...modelProblems(frame, state, rows),
			...includes('smoke', 'req/s p50')(frame),
		]);
		await ui.press('esc', 'l');
		await ui.waitFor(/\d\d:\d\d:\d\d \S+/);
		await check('prediction log', includes('Predictions', 'REQUEST ID'));
		await ui.press('f');
		await check('lookup', includes('Find a prediction by the start of its request id', 'request id:'));
		await ui.press('esc');
		await ui.press('esc', 'a');
		await check('audit', includes('Audit log'));
		// Every model of the demo: titles and version names of every length, search-ranker's three versions side by
		// side from 120 columns.
		await ui.press('esc');
		const firstRows = fleetRows(ui.controller.state).flatMap((row, index) => (row.firstOfModel ? [{index, name: row.model.name}] : []));
		for (const {index, name} of firstRows) {
			await ui.press('g', ...Array.from({length: index}, () => 'j'), 'enter');
			await settle(100);
			await check(`model ${name}`, (frame, state) => [
				...modelProblems(frame, state, rows),
				...(columns >= 120 && name === 'search-ranker' ? includes('v8-distilled')(frame) : []),
			]);
			if (name === 'search-ranker') {
				// Blue-green on three versions asks which one gets all traffic.
				await ui.press('b');
				await check('pick the version a switch sends all traffic to', includes('all traffic to', 'v7', 'v8-distilled', '80%'));
				await ui.press('esc');
			}

			await ui.press('esc');
		}

		expect(report).toEqual({});
	}, 180_000);
});

describe.each(sizes)('a flagged canary and a long audit log at %ix%i', (columns, rows) => {
	it('keeps the headings above the flags and says how many audit entries are hidden', async () => {
		const ui = await renderAtSize({sources: fakeSources({agent: true})}, columns, rows);
		cleanup = ui.cleanup;
		const report: Record<string, string[]> = {};
		const check = screenCheck(ui, columns, rows, report);

		await ui.waitFor('✖');
		await check('fleet with a flag', fleetProblems);
		await ui.press('enter');
		await check('model with a critical flag', (frame, state) => [...modelProblems(frame, state, rows), ...includes('✖ v13')(frame)]);
		const finished = (kind: string) => () =>
			ui.controller.state.tasks.some((task) => task.action.kind === kind && task.state !== 'running');
		await ui.press('s');
		await waitUntil(finished('smoke-test'));
		await ui.press('t', 'y');
		await waitUntil(finished('load-test'));
		await check('model with a critical flag, smoke and load results', (frame, state) => [
			...modelProblems(frame, state, rows),
			...includes('✖ v13', 'smoke')(frame),
		]);
		ui.cleanup();
		// Without an agent the console audits each change itself: twelve changes.
		// Without metrics, so that no danger gate stands between a key and its confirmation.
		const direct = await renderAtSize({sources: fakeSources({metrics: false})}, columns, rows);
		cleanup = direct.cleanup;
		await direct.waitFor('MODEL');
		for (let step = 0; step < 12; step++) {
			// Each change is planned first (asynchronously): confirm once its dialog is up, then wait for its audit.
			await direct.press(step % 2 === 0 ? '+' : '-');
			await waitUntil(() => direct.controller.state.overlay?.kind === 'confirm');
			await direct.press('y');
			await waitUntil(() => direct.controller.state.audit.length >= step + 1);
		}

		await waitUntil(() => direct.controller.state.audit.length >= 12);
		await direct.press('a');
		await settle(60);
		const frame = direct.frame();
		const state = direct.controller.state;
		const problems = [
			...frameProblems(frame, direct.violations(), columns, rows),
			...(() => {
				const shown = frame.split('\n').filter((line) => /^\d\d:\d\d:\d\d /.test(line)).length;
				return [
					...includes('Audit log')(frame),
					...(shown < state.audit.length && !/↓ \d+ older/.test(frame)
						? [`${shown} of ${state.audit.length} entries shown and no "↓ N older"`]
						: []),
				];
			})(),
		];
		if (problems.length > 0) report['audit with more entries than rows'] = [...problems, 'frame:', ...frame.split('\n')];
		expect(report).toEqual({});
	}, 120_000);
});
