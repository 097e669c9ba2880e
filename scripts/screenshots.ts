// Renders the real program in a real terminal (node-pty + headless xterm) into SVG pictures in screenshots/.
// Run with `npm run screenshots` (builds first).
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {screenToSvg} from '../test/support/svg.ts';
import {PtyTerminal} from '../test/support/terminal.ts';

const outDir = 'screenshots';
mkdirSync(outDir, {recursive: true});

interface Shot {
	file: string;
	title: string;
	args: string[];
	cols?: number;
	rows?: number;
	/** Written to the shot's settings file (config.json). */
	settings?: Record<string, unknown>;
	steps: (term: PtyTerminal) => Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the demo's incident (and `settleMs` more), sorts the worst model to the top, and opens it. */
async function openWorstModel(term: PtyTerminal, settleMs = 0): Promise<void> {
	await term.waitFor('MODEL');
	await term.waitFor(/✖/, 60_000);
	await pause(settleMs);
	term.press('o');
	await term.settle(200);
	term.press('g');
	await term.settle(200);
	term.press('enter');
	await term.waitFor('CANARY');
}

/** The fleet filtered down to MODEL, the cursor on its first row. */
async function filterTo(term: PtyTerminal, model: string): Promise<void> {
	await term.waitFor('MODEL');
	term.press('/');
	term.write(model);
	term.press('enter');
	await term.waitFor(`only rows matching "${model}"`);
	term.press('g');
	await term.settle(200);
}

const shots: Shot[] = [
	{
		file: 'fleet.svg',
		title: 'modeldeck --demo: the fleet table',
		args: ['--demo', '--scenario', 'latency-regression'],
		cols: 120,
		rows: 32,
		async steps(term) {
			await term.waitFor('MODEL');
			await pause(9000);
		},
	},
	{
		file: 'model-incident.svg',
		title: 'modeldeck --demo --scenario latency-regression: a canary regressing',
		args: ['--demo', '--scenario', 'latency-regression'],
		cols: 120,
		rows: 32,
		async steps(term) {
			await openWorstModel(term, 6000);
			await pause(2500);
		},
	},
	{
		file: 'model-tests.svg',
		title: 'modeldeck --demo: smoke tests and a load test of stable and canary, side by side',
		args: ['--demo', '--scenario', 'latency-regression'],
		cols: 120,
		rows: 40,
		settings: {loadTest: {rps: 50, durationSeconds: 10, warmupSeconds: 2}},
		async steps(term) {
			await openWorstModel(term);
			term.press('s');
			await term.waitFor(/smoke \S+ \d+\/\d+ checks passed[^\n]*smoke \S+ \d+\/\d+ checks passed/, 30_000);
			term.press('t');
			await term.waitFor('requests/s to each of');
			term.press('y');
			await term.waitFor(/✔ Load test/, 60_000);
			await pause(1500);
		},
	},
	{
		file: 'help.svg',
		title: 'modeldeck: every key (?)',
		args: ['--demo'],
		cols: 120,
		rows: 40,
		async steps(term) {
			await term.waitFor('MODEL');
			term.press('?');
			await term.waitFor('Keys');
		},
	},
	{
		file: 'prediction-log.svg',
		title: 'modeldeck: the live prediction log',
		args: ['--demo'],
		cols: 120,
		rows: 32,
		async steps(term) {
			await term.waitFor('MODEL');
			term.press('l');
			await term.waitFor('Predictions');
			await pause(2000);
		},
	},
	{
		file: 'plan-dialog.svg',
		title: 'modeldeck: promote on a model with two canaries lists every version that changes',
		args: ['--demo', '--scenario', 'healthy-canary'],
		cols: 100,
		rows: 24,
		async steps(term) {
			await filterTo(term, 'search-ranker');
			await pause(3000);
			term.press('p');
			await term.waitFor('canary v8-distilled: 5% → 0%');
		},
	},
	{
		file: 'danger-gate.svg',
		title: 'modeldeck --demo --scenario latency-regression --at 5m: promote on a critical canary stops at the danger gate',
		args: ['--demo', '--scenario', 'latency-regression', '--at', '5m'],
		cols: 100,
		rows: 30,
		async steps(term) {
			await term.waitFor(/v13\s+canary.*✖/, 30_000);
			await filterTo(term, 'fraud-detector');
			term.press('p');
			await term.waitFor('type fraud-detector to go ahead');
			term.press('enter');
			await term.waitFor('to go ahead despite the above');
		},
	},
	{
		file: 'weight-refused.svg',
		title: 'modeldeck: the weight dialog shows what was typed and why it is not a weight',
		args: ['--demo', '--scenario', 'healthy-canary'],
		cols: 100,
		rows: 24,
		async steps(term) {
			await filterTo(term, 'search-ranker');
			await pause(3000);
			term.press('w');
			await term.waitFor('Set canary v8 weight');
			term.write('4.5');
			term.press('enter');
			await term.waitFor('"4.5" is not a weight');
		},
	},
	{
		file: 'rollout-plan.svg',
		title: 'modeldeck --demo: d rolls out a new version; the confirmation is the plan (every object created or changed)',
		args: ['--demo', '--scenario', 'calm'],
		cols: 110,
		rows: 30,
		async steps(term) {
			await filterTo(term, 'search-ranker');
			await pause(3000);
			term.press('d');
			await term.waitFor('Roll out a new version of');
			term.write('registry.example/search-ranker:v9');
			await term.waitFor(/version\s+v9/);
			term.press('tab');
			term.press('tab');
			for (let index = 0; index < 11; index++) term.press('backspace');
			term.write('10,50,100');
			term.press('tab');
			for (let index = 0; index < 4; index++) term.press('backspace');
			term.write('20s');
			await term.waitFor(/pause\s+20s/);
			term.press('enter');
			await term.waitFor(/Roll out \S+ v9 \(registry\.example\/search-ranker:v9\)\?/);
		},
	},
	{
		file: 'rollout-progress.svg',
		title: 'modeldeck --demo: a rollout under way — step, weight, time to the next judgement, the last judgement and its events',
		args: ['--demo', '--scenario', 'calm'],
		cols: 120,
		rows: 34,
		async steps(term) {
			await filterTo(term, 'search-ranker');
			await pause(3000);
			term.press('d');
			await term.waitFor('Roll out a new version of');
			term.write('registry.example/search-ranker:v9');
			await term.waitFor(/version\s+v9/);
			term.press('tab');
			term.press('tab');
			for (let index = 0; index < 11; index++) term.press('backspace');
			term.write('10,50,100');
			term.press('tab');
			for (let index = 0; index < 4; index++) term.press('backspace');
			term.write('8s');
			await term.waitFor(/pause\s+8s/);
			term.press('enter');
			await term.waitFor(/Roll out \S+ v9/);
			term.press('y');
			await term.waitFor('↗ 10% 1/3', 30_000);
			term.press('enter');
			await term.waitFor(/rollout v9 over \S+: step 2\/3 · 50% · judging in \d+s/, 40_000);
			await pause(2000);
		},
	},
	{
		file: 'fleet-80x24.svg',
		title: 'modeldeck --demo at 80x24',
		args: ['--demo', '--scenario', 'error-burst'],
		cols: 80,
		rows: 24,
		async steps(term) {
			await term.waitFor('MODEL');
			await pause(8000);
		},
	},
];

for (const shot of shots) {
	const configDir = mkdtempSync(path.join(tmpdir(), 'modeldeck-shot-'));
	if (shot.settings) writeFileSync(path.join(configDir, 'config.json'), JSON.stringify(shot.settings));
	const term = PtyTerminal.spawn(process.execPath, [path.resolve('dist/cli.js'), ...shot.args], {
		cols: shot.cols ?? 100,
		rows: shot.rows ?? 30,
		env: {MODELDECK_CONFIG_DIR: configDir},
	});
	try {
		await shot.steps(term);
		await term.settle(200);
		writeFileSync(path.join(outDir, shot.file), screenToSvg(term.xterm, shot.title));
		console.log(`screenshots/${shot.file}`);
	} finally {
		term.press('q');
		await Promise.race([term.exited, pause(2000)]);
		term.kill();
	}
}
