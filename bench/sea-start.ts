// The single executable against the npm install (issue 16): what each weighs on disk, and cold start to the first
// full frame of `--demo` in a real pty, as bench/console.ts measures it (spawn → the whole table drawn), the two run
// in turn so that the machine's load falls on both alike.
//
//   npm run sea -- --targets host && npm run bench:sea
//
// The npm install is made as `npm install -g` makes it, from `npm pack` of this checkout, into a temporary prefix.
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {PtyTerminal} from '../test/support/terminal.ts';

const target = `${process.platform}-${process.arch}`;
const executable = path.resolve(`build/sea/modeldeck-${target}`);
const runs = Number(process.env['BENCH_RUNS'] ?? 10);
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-bench-sea-'));

function bytesUnder(file: string): number {
	const stat = statSync(file);
	if (!stat.isDirectory()) return stat.size;
	return readdirSync(file).reduce((sum, entry) => sum + bytesUnder(path.join(file, entry)), 0);
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
}

async function firstFrameMs(command: string): Promise<number> {
	const started = performance.now();
	// PATH holds this Node for the npm bin's `env node`; the executable needs none.
	const terminal = PtyTerminal.spawn(command, ['--demo'], {
		cols: 120,
		rows: 40,
		env: {MODELDECK_CONFIG_DIR: directory, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`},
	});
	await terminal.waitForFirst((screen) => /sentiment[\s\S]*canary/.test(screen), 30_000);
	const elapsed = performance.now() - started;
	terminal.press('q');
	await terminal.exited;
	return elapsed;
}

try {
	statSync(executable);
} catch {
	console.error(`No ${executable}: run npm run sea -- --targets host first.`);
	process.exit(1);
}

const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', directory], {encoding: 'utf8'}).trim().split('\n').at(-1)!;
const prefix = path.join(directory, 'prefix');
execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', path.join(directory, packed)], {
	stdio: 'ignore',
});
const installedBin = path.join(prefix, 'bin', 'modeldeck');

const times = {sea: [] as number[], npm: [] as number[]};
for (let run = 0; run < runs; run++) {
	times.sea.push(await firstFrameMs(executable));
	times.npm.push(await firstFrameMs(installedBin));
}

const report = (values: number[]) =>
	`median ${percentile(values, 50)} ms, min ${Math.round(Math.min(...values))}, p90 ${percentile(values, 90)} (${values.length} runs)`;
console.log(`single executable ${path.basename(executable)}: ${mib(statSync(executable).size)}, needs nothing else`);
console.log(
	`npm install: tarball ${mib(statSync(path.join(directory, packed)).size)}, installed ${mib(bytesUnder(prefix))}, plus Node.js itself (${mib(statSync(process.execPath).size)} here)`,
);
console.log(`cold start to first full frame, executable: ${report(times.sea)}`);
console.log(`cold start to first full frame, npm install: ${report(times.npm)}`);
rmSync(directory, {recursive: true, force: true});
