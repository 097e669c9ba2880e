// Records the README's animated demo: runs the built program in a real terminal (node-pty + headless xterm) with
// --record, checks the recording replays, and draws it as an animated SVG (GitHub shows that in the README; it does
// not play a .cast). Run with `npm run record-demo` (builds first).
//
//   node scripts/record-demo.ts                          runbook play runbooks/tour.yaml, to its end (the README's)
//   node scripts/record-demo.ts --seconds 60 -- --demo --scenario latency-regression
//   node scripts/record-demo.ts -- runbook play runbooks/latency-regression.yaml
//
// The words after `--` are modeldeck's arguments; `--record screenshots/demo.cast` is added to them. A runbook
// played is advanced as an operator would: once a narrated step is done (✓ in the panel) and has been on screen for
// --dwell seconds, the script presses ctrl+n; at the end it presses ctrl+x. Anything still running after --seconds
// is sent `q`. Flags: --seconds N (default 180), --dwell N (default 3), --cols N and --rows N (default 110x32),
// --out FILE (the .cast), --svg FILE (default: --out with .svg), --frame SECONDS (default 0.5: how often the SVG
// takes the screen).
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import {parseCast, replayCast, terminalState} from '../test/support/cast.ts';
import {castFrames} from '../test/support/cast-frames.ts';
import {type AnimationFrame, animatedSvg} from '../test/support/svg-animation.ts';
import {PtyTerminal} from '../test/support/terminal.ts';

const separator = process.argv.indexOf('--', 2);
const own = separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator);
const command = separator === -1 ? ['runbook', 'play', 'runbooks/tour.yaml'] : process.argv.slice(separator + 1);
const {values} = parseArgs({
	args: own,
	options: {
		seconds: {type: 'string', default: '180'},
		dwell: {type: 'string', default: '3'},
		frame: {type: 'string', default: '0.5'},
		svg: {type: 'string'},
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
const dwell = whole('dwell', values.dwell, 0, 60);
const frameStep = Number(values.frame);
if (!(frameStep >= 0.1 && frameStep <= 10)) {
	console.error(`--frame takes seconds from 0.1 to 10 (got "${values.frame}").`);
	process.exit(2);
}

const out = path.resolve(values.out);
const svgOut = path.resolve(values.svg ?? `${out.replace(/\.cast$/, '')}.svg`);
const playing = command[0] === 'runbook' && command[1] === 'play';
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
let exited = false;
void term.exited.then(() => {
	exited = true;
});
if (playing) void advance();
const ended = await Promise.race([
	term.exited.then(() => true),
	// unref: a timer left over must not keep the script running once the program has ended.
	new Promise<false>((resolve) => setTimeout(() => resolve(false), seconds * 1000).unref()),
]);
if (!ended) term.press('q');
const code = await Promise.race([term.exited, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000).unref())]);
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

writeSvg(await castFrames(cast, {step: frameStep, hold: 4}));
const duration = cast.events.at(-1)?.[0] ?? 0;
console.log(
	`wrote ${path.relative(process.cwd(), out)}: ${cast.events.length} events, ${duration.toFixed(1)} s, ${cast.header.width}x${cast.header.height}`,
);

/** Plays the runbook as an operator would: ctrl+n once a narrated step is done and has been read, ctrl+x at the end. */
async function advance(): Promise<void> {
	const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
	let seen = '';
	let since = 0;
	while (!exited) {
		await sleep(250);
		const lines = term.screen().split('\n');
		// The narration panel is the bottom rows: its head (▶ title, step i/n or done), the narration, and the status.
		const head = lines.findLast((line) => line.startsWith('▶ ')) ?? '';
		const status = (lines.at(-1) ?? '').trim();
		const position = / done · /.test(head) ? 'done' : (/step (\d+\/\d+)/.exec(head)?.[1] ?? '');
		const ready = position === 'done' || status.startsWith('✓');
		const moment = `${position} ${ready}`;
		if (moment !== seen) {
			seen = moment;
			since = Date.now();
		}

		if (!ready || Date.now() - since < dwell * 1000) continue;
		term.write(position === 'done' ? '\u0018' : '\u000E');
		seen = '';
		await sleep(500);
	}
}

function writeSvg(frames: AnimationFrame[]): void {
	const title = `modeldeck ${command.join(' ')} (recorded by npm run record-demo)`;
	const svg = animatedSvg({cols, rows, title, frames});
	writeFileSync(svgOut, svg);
	const seconds = frames.reduce((sum, frame) => sum + frame.duration, 0);
	console.log(
		`wrote ${path.relative(process.cwd(), svgOut)}: ${frames.length} frames, ${seconds.toFixed(1)} s, ${(svg.length / 1024).toFixed(0)} KiB`,
	);
}
