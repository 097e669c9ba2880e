/**
 * End to end: the built `modeldeck --demo` in a real pseudo-terminal, keys typed, the screen read back.
 * `npm test` builds dist/ before the tests run.
 */
import {existsSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
let terminal: PtyTerminal | undefined;

function start(args: string[], size = {cols: 100, rows: 30}, env: Record<string, string> = {}) {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
	terminal = PtyTerminal.spawn(process.execPath, [cli, ...args], {
		...size,
		env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-')), ...env},
	});
	return terminal;
}

afterEach(() => {
	terminal?.kill();
	terminal = undefined;
});

describe('modeldeck --demo in a pty', () => {
	it('draws the fleet, opens a model, shifts weight through the confirmation, shows help, quits', async () => {
		const term = start(['--demo', '--scenario', 'latency-regression']);
		let screen = await term.waitFor(/sentiment/);
		expect(screen).toContain('DEMO');
		expect(screen).toMatch(/fraud-detector/);
		await term.waitFor(/\d+\.\d/); // figures arrived

		term.press('j');
		await term.settle();
		screen = term.screen();
		const selected = screen.split('\n').find((line) => line.includes('›'));
		expect(selected).toBeDefined();

		term.press('enter');
		screen = await term.waitFor(/STABLE|CANARY/);
		expect(screen).toContain('p99 ms');

		term.press('esc');
		await term.waitFor('MODEL');
		term.press('g');
		await term.settle();
		// Find a model with a canary: the first row's model in the demo has one.
		term.press('+');
		screen = await term.waitFor('→');
		const change = /canary (\S+): (\d+)% → (\d+)%/.exec(screen);
		expect(change).not.toBeNull();
		const [, canary, from, to] = change!;
		expect(Number(to)).toBeGreaterThan(Number(from));
		// A canary the demo already flags critical is behind the danger gate: its model's name is typed to go ahead.
		const gate = /type (\S+) to go ahead/.exec(screen);
		if (gate) {
			term.write(gate[1]!);
			term.press('enter');
		} else {
			term.press('y');
		}

		screen = await term.waitFor((text) => !text.includes('y/enter confirm') && !text.includes('to go ahead'));
		// The table shows the new weight once the (simulated) write lands.
		screen = await term.waitFor(new RegExp(`${canary}\\s+canary\\s+\\S*\\s*${to}%`));

		term.press('?');
		screen = await term.waitFor('Show every key');
		expect(screen).toContain('Promote: all traffic to the canary');
		term.press('esc');
		await term.waitFor('MODEL');

		term.press('q');
		expect(await term.exited).toBe(0);
	});

	it('works at 80x24', async () => {
		const term = start(['--demo'], {cols: 80, rows: 24});
		await term.waitFor(/sentiment/);
		await term.settle();
		const screen = term.screen();
		expect(screen.split('\n').every((line) => line.length <= 80)).toBe(true);
		expect(screen).toContain('DEMO');
		term.press('q');
		expect(await term.exited).toBe(0);
	});

	it('read-only shows it and refuses nothing silently: dangerous keys are gone', async () => {
		const term = start(['--demo', '--read-only']);
		await term.waitFor('read-only');
		term.press('p');
		await term.settle(300);
		expect(term.screen()).not.toContain('becomes stable');
		term.press('q');
		expect(await term.exited).toBe(0);
	});
});

describe('command line', () => {
	it('an unknown flag says how to fix it, exit code 2', async () => {
		const term = start(['--demoo']);
		const screen = await term.waitFor('Unknown flag');
		expect(screen).toContain('Did you mean --demo?');
		expect(await term.exited).toBe(2);
	});

	it('a bad scenario lists the ones that exist', async () => {
		const term = start(['--demo', '--scenario', 'nope']);
		const screen = await term.waitFor('--scenario must be one of');
		expect(screen).toContain('latency-regression');
		expect(await term.exited).toBe(2);
	});

	it('a broken settings file is reported with its path and key, and left alone', async () => {
		const {writeFileSync, readFileSync} = await import('node:fs');
		const dir = mkdtempSync(path.join(tmpdir(), 'modeldeck-settings-'));
		writeFileSync(path.join(dir, 'config.json'), '{"weightStep": 500}');
		const term = start(['--demo'], undefined, {MODELDECK_CONFIG_DIR: dir});
		const screen = await term.waitFor('invalid');
		expect(screen.replaceAll('\n', '')).toContain(path.join(dir, 'config.json'));
		expect(screen).toContain('weightStep');
		expect(await term.exited).toBe(1);
		expect(readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe('{"weightStep": 500}');
	});

	it('config path prints where settings live', async () => {
		const term = start(['config', 'path'], undefined, {MODELDECK_CONFIG_DIR: '/tmp/md-config-x'});
		const screen = await term.waitFor('config.json');
		expect(screen).toContain('/tmp/md-config-x/config.json');
		expect(await term.exited).toBe(0);
	});
});
