/**
 * `modeldeck --demo --record FILE.cast` in a real pseudo-terminal: the file it writes is asciinema v2, and played back
 * into a fresh terminal of the header's size it shows exactly what the real terminal showed — in the middle of the
 * session (the program frozen so nothing moves while both are read, after a resize), and after quitting.
 */
import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {parseCast, replayCast, terminalState} from '../support/cast.ts';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
let terminal: PtyTerminal | undefined;

afterEach(() => {
	try {
		// A test that failed while the program was frozen must not leave it stopped.
		if (terminal) process.kill(terminal.process.pid, 'SIGCONT');
	} catch {
		// Already gone.
	}

	terminal?.kill();
	terminal = undefined;
});

/** The recording so far, replayed, against the terminal now; the program is frozen while both are read. */
async function compareWhileFrozen(term: PtyTerminal, file: string): Promise<{replayed: string; real: string}> {
	process.kill(term.process.pid, 'SIGSTOP');
	try {
		await term.settle(200);
		const real = terminalState(term.xterm);
		const replayed = terminalState(await replayCast(parseCast(readFileSync(file, 'utf8'))));
		return {replayed, real};
	} finally {
		process.kill(term.process.pid, 'SIGCONT');
	}
}

describe('--record', () => {
	it('writes an asciinema v2 file that replays to the same screen as the terminal showed', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
		const folder = mkdtempSync(path.join(tmpdir(), 'modeldeck-record-'));
		const file = path.join(folder, 'x.cast');
		const term = PtyTerminal.spawn(process.execPath, [cli, '--demo', '--record', file], {
			cols: 100,
			rows: 30,
			env: {MODELDECK_CONFIG_DIR: folder, SHELL: '/bin/sh'},
		});
		terminal = term;
		await term.waitFor(/sentiment/);
		await term.waitFor(/\d+\.\d/);
		// A few of the clock's frames, then a resize, then the model view.
		await new Promise((resolve) => setTimeout(resolve, 2500));
		term.xterm.resize(80, 24);
		term.process.resize(80, 24);
		await term.waitFor((screen) => screen.split('\n').length === 24 && /enter open/.test(screen.split('\n').at(-1) ?? ''));
		term.press('enter');
		await term.waitFor(/CANARY|STABLE/);
		await term.settle(300);

		// A frame may land between freezing and reading: then the two differ by it, and the next try agrees.
		let compared = await compareWhileFrozen(term, file);
		for (let attempt = 0; attempt < 3 && compared.replayed !== compared.real; attempt++) {
			await term.settle(300);
			compared = await compareWhileFrozen(term, file);
		}

		expect(compared.real).toMatch(/^alternate screen 80x24/);
		expect(compared.replayed).toBe(compared.real);

		term.press('q');
		expect(await term.exited).toBe(0);
		await term.settle(200);
		const cast = parseCast(readFileSync(file, 'utf8'));
		expect(cast.header).toMatchObject({version: 2, width: 100, height: 30, env: {TERM: 'xterm-256color', SHELL: '/bin/sh'}});
		expect(Math.abs(cast.header.timestamp - Date.now() / 1000)).toBeLessThan(600);
		expect(cast.events.filter(([, code]) => code === 'r').map(([, , data]) => data)).toEqual(['80x24']);
		expect(cast.events.filter(([, code]) => code === 'o').length).toBeGreaterThan(3);
		// After quitting: back on the normal screen, and the replay agrees to the cell.
		const finalState = terminalState(term.xterm);
		expect(finalState).toMatch(/^normal screen 80x24/);
		expect(terminalState(await replayCast(cast))).toBe(finalState);
	});

	it('refuses a file it cannot write before the console starts, saying how to fix it', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
		const folder = mkdtempSync(path.join(tmpdir(), 'modeldeck-record-'));
		const missing = path.join(folder, 'no-such-folder', 'x.cast');
		const term = PtyTerminal.spawn(process.execPath, [cli, '--demo', '--record', missing], {
			cols: 100,
			rows: 30,
			env: {MODELDECK_CONFIG_DIR: folder},
		});
		terminal = term;
		expect(await term.exited).toBe(2);
		await term.settle(100);
		expect(term.screen()).toContain(`Cannot record to ${missing}: its folder does not exist.`);
		expect(term.screen()).not.toContain('MODEL');
	});
});
