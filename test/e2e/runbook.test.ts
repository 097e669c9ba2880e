/**
 * End to end: the built `modeldeck runbook`. Every shipped runbook runs headless against the demo and passes; a
 * deliberately wrong check fails with exit 1 and a report saying what was expected and what the console showed;
 * `runbook check` points at the line of a malformed step; `runbook play` narrates in a real pty.
 */
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {parseCast, replayCast, terminalState} from '../support/cast.ts';
import {runProcess} from '../support/child-process.ts';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-runbook-e2e-'));
const env = {...process.env, MODELDECK_CONFIG_DIR: directory, NO_COLOR: '1'};

function modeldeck(args: string[], livenessMs = 240_000) {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
	return runProcess(process.execPath, [cli, ...args], {env, livenessMs});
}

const shipped = readdirSync('runbooks')
	.filter((file) => file.endsWith('.yaml'))
	.sort();

describe('every shipped runbook, headless against the demo', () => {
	it('there is one for each demo scenario', () => {
		const scenarios = shipped.map((file) => /scenario: (\S+)/.exec(readFileSync(`runbooks/${file}`, 'utf8'))?.[1]);
		for (const scenario of ['tour', 'calm', 'latency-regression', 'error-burst', 'memory-leak', 'prediction-drift', 'healthy-canary']) {
			expect(scenarios).toContain(scenario);
		}
	});

	it.each(shipped)(
		'%s passes',
		async (file) => {
			const junit = path.join(directory, `${file}.xml`);
			const run = await modeldeck(['runbook', 'run', `runbooks/${file}`, '--junit', junit]);
			expect(run.stdout, run.stderr).toMatch(/^passed: \d+ passed, 0 failed in/m);
			expect(run.code).toBe(0);
			expect(run.stdout).not.toContain('✗');
			const steps = run.stdout.split('\n').filter((line) => line.startsWith('✓ '));
			expect(readFileSync(junit, 'utf8').match(/<testcase /g)).toHaveLength(steps.length);
		},
		240_000,
	);
});

it('a deliberately wrong check fails with exit 1 and a clear report', async () => {
	const wrong = readFileSync('runbooks/latency-regression.yaml', 'utf8').replace(
		'check: {model: fraud-detector, version: stable, weight: 100}',
		'check: {model: fraud-detector, version: stable, weight: 50}',
	);
	expect(wrong).toContain('weight: 50}');
	const file = path.join(directory, 'wrong.yaml');
	writeFileSync(file, wrong);
	const junit = path.join(directory, 'wrong.xml');
	const run = await modeldeck(['runbook', 'run', file, '--junit', junit]);
	expect(run.code).toBe(1);
	expect(run.stdout).toMatch(/✗ 12 {2}check that the weight of fraud-detector stable is 50% {2}\(\d+ ms, line 29\)/);
	expect(run.stdout).toContain('expected: the weight of fraud-detector stable is 50%');
	expect(run.stdout).toMatch(/shown: {4}the weight of payments\/fraud-detector v12 is 100%/);
	expect(run.stdout).toContain('FAILED: 11 passed, 1 failed');
	expect(readFileSync(junit, 'utf8')).toContain('failures="1"');
}, 240_000);

it('runbook check points at the line of a malformed step, exit 2; a valid one is ok, exit 0', async () => {
	const file = path.join(directory, 'malformed.yaml');
	writeFileSync(file, 'title: Malformed\nsteps:\n  - say: fine\n  - wait: {model: fraud-detector, p99: above 5 furlongs, timeout: 30s}\n');
	const bad = await modeldeck(['runbook', 'check', file], 60_000);
	expect(bad.code).toBe(2);
	expect(bad.stderr).toContain(`${file}:4:`);
	expect(bad.stderr).toContain('"furlongs" is not a unit of p99: use ms, s');
	const good = await modeldeck(['runbook', 'check', ...shipped.map((name) => `runbooks/${name}`)], 60_000);
	expect(good.stderr).toBe('');
	expect(good.code).toBe(0);
	expect(good.stdout.split('\n').filter((line) => line.includes(': ok,'))).toHaveLength(shipped.length);
	const missing = await modeldeck(['runbook', 'run', path.join(directory, 'absent.yaml')], 60_000);
	expect(missing.code).toBe(2);
	expect(missing.stderr).toContain('no such file');
}, 120_000);

describe('runbook play in a pty', () => {
	let terminal: PtyTerminal | undefined;
	afterEach(() => {
		terminal?.kill();
		terminal = undefined;
	});

	it('narrates the calm tour: ctrl+n performs the next step on the console, ctrl+x quits', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first.');
		terminal = PtyTerminal.spawn(process.execPath, [cli, 'runbook', 'play', 'runbooks/calm.yaml'], {
			cols: 100,
			rows: 30,
			env: {MODELDECK_CONFIG_DIR: directory},
		});
		const term = terminal;
		const next = async (step: number) => {
			term.write('\u000E');
			return term.waitFor(`step ${step}/13`);
		};
		let screen = await term.waitFor((text) => text.includes('A calm fleet, screen by screen') && text.includes('step 1/13'));
		expect(screen).toContain('DEMO');
		expect(screen).toContain('ctrl+n next · ctrl+p back · ctrl+x quit');
		await term.waitFor('✓ check that the fleet screen is on show');
		await next(2);
		await next(3);
		await next(5);
		// Narrated steps wait for the operator; steps without narration go on by themselves: 6 (enter) and 7 to 8 (l).
		term.write('\u000E');
		screen = await term.waitFor((text) => text.includes('step 8/13') && text.includes('✓ keys l'));
		expect(screen).toContain('l shows the predictions this model is making');
		// ctrl+p shows the step before; nothing is done again.
		term.write('\u0010');
		screen = await term.waitFor('step 7/13');
		expect(screen).toContain('✓ check that the model screen is on show');
		term.write('\u0018');
		expect(await term.exited).toBe(0);
	}, 60_000);

	it('records the walkthrough with --record: an asciinema v2 file that replays to the screen it ended on', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first.');
		const file = path.join(directory, 'calm.cast');
		terminal = PtyTerminal.spawn(process.execPath, [cli, 'runbook', 'play', 'runbooks/calm.yaml', '--record', file], {
			cols: 100,
			rows: 30,
			env: {MODELDECK_CONFIG_DIR: directory},
		});
		const term = terminal;
		await term.waitFor((text) => text.includes('A calm fleet, screen by screen') && text.includes('step 1/13'));
		await term.waitFor('✓ check that the fleet screen is on show');
		term.write('\u000E');
		await term.waitFor('step 2/13');
		term.write('\u0018');
		expect(await term.exited).toBe(0);
		const cast = parseCast(readFileSync(file, 'utf8'));
		expect(cast.header).toMatchObject({version: 2, width: 100, height: 30});
		// What was drawn includes the narration at step 2, and the file replays to the screen the terminal ended on.
		expect(cast.events.map(([, , data]) => data).join('')).toContain('step 2/13');
		expect(terminalState(await replayCast(cast))).toBe(terminalState(term.xterm));
	}, 60_000);
});
