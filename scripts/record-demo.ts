// Records the README's animated demo: runs the built program in a real terminal (node-pty + headless xterm) with
// --record, and checks the recording replays. Run with `npm run record-demo` (builds first).
//
//   node scripts/record-demo.ts                          the demo (--demo) for 30 s
//   node scripts/record-demo.ts --seconds 60 -- --demo --scenario latency-regression
//   node scripts/record-demo.ts -- runbook play runbooks/tour.yaml     a runbook, until it ends
//
// The words after `--` are modeldeck's arguments; `--record screenshots/demo.cast` is added to them. A command that
// ends by itself (a runbook played to its end) is recorded until it does; anything still running after --seconds is
// sent `q`. Flags: --seconds N (default 30), --cols N and --rows N (default 110x32), --out FILE.
import {existsSync, mkdirSync, mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import {parseCast, replayCast, terminalState} from '../test/support/cast.ts';
import {PtyTerminal} from '../test/support/terminal.ts';

const separator = process.argv.indexOf('--', 2);
const own = separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator);
const command = separator === -1 ? ['--demo'] : process.argv.slice(separator + 1);
const {values} = parseArgs({
	args: own,
	options: {
		seconds: {type: 'string', default: '30'},
		cols: {type: 'string', default: '110'},
		rows: {type: 'string', default: '32'},
		out: {type: 'string', default: 'screenshots/demo.cast'},
	},
});
const whole = (name: string, text: string, min: number, max: number): number => {
	const value = Number(text);
	if (!Number.isInteger(value) || value < min || value > max) {
		console.error(`--${name} takes a whole number from ${min} to ${max} (got "${text}").`);
		process.exit(2);
	}

	return value;
};

const seconds = whole('seconds', values.seconds, 1, 3600);
const cols = whole('cols', values.cols, 40, 400);
const rows = whole('rows', values.rows, 10, 200);
const out = path.resolve(values.out);
const cli = path.resolve('dist/cli.js');
if (!existsSync(cli)) {
	console.error('dist/cli.js is missing: run `npm run build` first (npm run record-demo does).');
	process.exit(1);
}

if (command.includes('--record')) {
	console.error('Leave --record out of the command: the script adds --record with --out (default screenshots/demo.cast).');
	process.exit(2);
}

mkdirSync(path.dirname(out), {recursive: true});
const args = [...command, '--record', out];
console.log(`recording modeldeck ${args.join(' ')} at ${cols}x${rows}, for up to ${seconds} s`);
const term = PtyTerminal.spawn(process.execPath, [cli, ...args], {
	cols,
	rows,
	// A settings folder of its own: the demo looks the same whoever records it.
	env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-record-')), SHELL: '/bin/bash'},
});
const ended = await Promise.race([
	term.exited.then(() => true),
	new Promise<false>((resolve) => setTimeout(() => resolve(false), seconds * 1000)),
]);
if (!ended) term.press('q');
const code = await Promise.race([term.exited, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000))]);
if (code !== 0) {
	term.kill();
	console.error(`modeldeck exited with ${code === -1 ? 'no answer to q within 10 s' : `code ${code}`}. Its screen:\n${term.screen()}`);
	process.exit(1);
}

await term.settle(200);
const cast = parseCast(readFileSync(out, 'utf8'));
// The recording must replay to what the terminal showed, or it is not worth putting in the README.
const replayed = terminalState(await replayCast(cast));
if (replayed !== terminalState(term.xterm)) {
	console.error(`${out} does not replay to the terminal's last screen:\n${replayed}\n---\n${terminalState(term.xterm)}`);
	process.exit(1);
}

const duration = cast.events.at(-1)?.[0] ?? 0;
console.log(
	`wrote ${path.relative(process.cwd(), out)}: ${cast.events.length} events, ${duration.toFixed(1)} s, ${cast.header.width}x${cast.header.height}`,
);
