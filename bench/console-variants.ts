// Builds of the console compared interleaved (bench/RESULTS.md, "console"): every build running the benchmark's
// steady state (`--demo`, 1,000 predictions/s, 14 extra models, 120x40), all but one stopped with SIGSTOP, each
// measured alone in turns, so the hour's cost of waking up on a shared VM falls on each alike. Two phases: the
// fleet (log hidden: CPU and the bytes target) and the prediction log visible (CPU).
//
//   node bench/console-variants.ts NAME=DIST_DIR NAME=DIST_DIR … [--turns 8] [--turn-seconds 15]
//
// Each DIST_DIR is a copy of a `npm run build` output (dist/) kept inside the repository (e.g. build/variants/NAME/),
// so the bundle still finds package.json above it.
import {mkdtempSync, readFileSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import {PtyTerminal} from '../test/support/terminal.ts';
import {idleInterleaved, type Program, quitAll, startAll} from './cluster-measure.ts';

const {values, positionals} = parseArgs({
	allowPositionals: true,
	options: {turns: {type: 'string', default: '8'}, 'turn-seconds': {type: 'string', default: '15'}},
});
const turns = Number(values.turns);
const turnSeconds = Number(values['turn-seconds']);
const variants = positionals.map((argument) => {
	const [name, directory] = argument.split('=');
	if (!name || !directory) throw new Error(`Give each build as NAME=DIST_DIR (got "${argument}").`);
	return {name, cli: path.resolve(directory, 'cli.js')};
});
if (variants.length < 2 || !Number.isInteger(turns) || turns < 1 || !(turnSeconds >= 1)) {
	console.error('Usage: node bench/console-variants.ts NAME=DIST_DIR NAME=DIST_DIR … [--turns N] [--turn-seconds S]');
	process.exit(2);
}

const configDir = mkdtempSync(path.join(tmpdir(), 'modeldeck-variants-'));
const versionLine = /\b(stable|canary)\b/;
const programs: Program[] = variants.map(({name, cli}) => {
	// The V8 flags of that build's bin, as users run it.
	const nodeFlags = /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(cli, 'utf8').slice(0, 200))?.[1]?.split(' ') ?? [];
	return {
		name,
		spawn: () =>
			PtyTerminal.spawn(process.execPath, [...nodeFlags, cli, '--demo'], {
				cols: 120,
				rows: 40,
				env: {MODELDECK_CONFIG_DIR: configDir, MODELDECK_DEMO_RATE: '1000', MODELDECK_DEMO_EXTRA_MODELS: '14'},
			}),
		showsRows: (screen) => versionLine.test(screen),
		quit: (terminal) => terminal.press('q'),
	};
});

const load = () =>
	loadavg()
		.map((value) => value.toFixed(2))
		.join(' ');
console.log(`${new Date().toISOString()} load average ${load()}; ${variants.length} builds, ${turns} turns of ${turnSeconds} s`);
const running = await startAll(programs, 5000);
const fleet = await idleInterleaved(running, turns, turnSeconds);
console.log(`${new Date().toISOString()} fleet (log hidden), load average ${load()}:`, fleet);
for (const entry of running) {
	entry.terminal.press('l');
	await entry.terminal.waitFor('Predictions');
}

await new Promise((resolve) => setTimeout(resolve, 3000));
const log = await idleInterleaved(running, turns, turnSeconds);
console.log(`${new Date().toISOString()} prediction log visible, load average ${load()}:`, log);
await quitAll(running);
