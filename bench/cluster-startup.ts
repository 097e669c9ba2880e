// Where modeldeck's start-up time and memory go on a running cluster (issue 13 item 8): `node bench/cluster-startup.ts
// --kubeconfig FILE [--runs N] [--settle S] [--cli A.js[,B.js]]` runs the built console (`dist/cli.js -A`, with the
// bin's V8 flags) in a real pty N times and prints, per run, the wall time to the first frame showing a fleet row
// (bench/cluster-fleet.ts's FLEET_ROW) and the stages of `MODELDECK_TRACE_STARTUP` (written to a file), then, S seconds
// after that, what the resident memory is made of (/proc/PID/smaps_rollup and the memory probe's process.memoryUsage()
// and V8 heap spaces).
// Two builds (--cli A,B) are compared on one machine whose speed drifts: they take turns (A B, then B A, …), and the
// difference of each pair of runs (B − A, first frame and RSS) is summarised as well as each build's own figures.
// Point it at a cluster that holds the fleet (bench/cluster.ts grows one on the harness's control plane). Nothing is
// asserted.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import path from 'node:path';
import {PtyTerminal} from '../test/support/terminal.ts';
import {FLEET_ROW} from './cluster-fleet.ts';
import {memoryProbeFlags, type ProbeLine} from './memory-probe.ts';
import {percentile} from './proc.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => {
	const index = argv.indexOf(name);
	return index >= 0 ? argv[index + 1] : undefined;
};
const kubeconfig = flag('--kubeconfig');
if (!kubeconfig) throw new Error('--kubeconfig FILE: a cluster holding the fleet (see the comment at the top of bench/cluster-startup.ts)');
const runs = Number(flag('--runs') ?? 5);
const settleSeconds = Number(flag('--settle') ?? 10);
const clis = (flag('--cli') ?? 'dist/cli.js').split(',').map((file) => path.resolve(file));
if (clis.length > 2) throw new Error(`--cli takes one build or two to compare (A.js,B.js), not ${clis.length}`);
// --node-flags replaces the bin's V8 flags (to try others); --env NAME=VALUE,... adds to the environment.
const binFlags = (cli: string) =>
	(flag('--node-flags') ?? /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(cli, 'utf8').slice(0, 200))?.[1] ?? '')
		.split(' ')
		.filter(Boolean);
const extraEnv = Object.fromEntries(
	(flag('--env') ?? '')
		.split(',')
		.filter(Boolean)
		.map((pair) => pair.split('=') as [string, string]),
);
const work = mkdtempSync(path.join(tmpdir(), 'modeldeck-startup-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const load = () =>
	loadavg()
		.map((value) => value.toFixed(1))
		.join(' ');

function smaps(pid: number): Record<string, number> {
	const fields: Record<string, number> = {};
	for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
		const match = /^(\w+):\s+(\d+) kB/.exec(line);
		if (match) fields[match[1]!] = Number(match[2]) * 1024;
	}

	return fields;
}

console.log(`load average ${load()}; ${clis.map((cli) => `${cli} ${binFlags(cli).join(' ')}`).join(' against ')}`);

interface Run {
	wall: number;
	rss: number;
	/** Each stage of the start-up trace: [name, wall ms, process CPU ms, main thread CPU ms or undefined]. */
	stages: Array<[string, number, number, number | undefined]>;
}

async function measure(cli: string, run: number): Promise<Run> {
	const traceFile = path.join(work, `trace-${run}.txt`);
	const probeFile = path.join(work, `probe-${run}.jsonl`);
	const started = performance.now();
	// The trace goes to a file: in the pty, stderr is the screen.
	const terminal = PtyTerminal.spawn(
		'/bin/sh',
		[
			'-c',
			'exec "$@" 2>"$TRACE_FILE"',
			'sh',
			process.execPath,
			...memoryProbeFlags({file: probeFile}),
			...binFlags(cli),
			cli,
			'--kubeconfig',
			kubeconfig!,
			'-A',
		],
		{
			cols: 120,
			rows: 40,
			env: {
				MODELDECK_CONFIG_DIR: path.join(work, 'config'),
				MODELDECK_TRACE_STARTUP: '1',
				TRACE_FILE: traceFile,
				KUBECONFIG: kubeconfig!,
				...extraEnv,
			},
		},
	);
	await terminal.waitForFirst((screen) => FLEET_ROW.test(screen), 60_000, 'rows');
	const wall = Math.round(performance.now() - started);
	await sleep(settleSeconds * 1000);
	const pid = terminal.process.pid;
	process.kill(pid, 'SIGUSR2');
	await sleep(300);
	const rollup = smaps(pid);
	const probe = readFileSync(probeFile, 'utf8')
		.trim()
		.split('\n')
		.map((line) => JSON.parse(line) as ProbeLine & {spaces: Record<string, {committed: number; used: number}>})
		.at(-1)!;
	terminal.press('q');
	await Promise.race([terminal.exited, sleep(5000)]);
	terminal.kill();
	const stages = readFileSync(traceFile, 'utf8')
		.split('\n')
		.map((line) => /^\[startup\] (.*) (\d+) ms cpu (\d+) ms(?: main (\d+) ms)?$/.exec(line))
		.filter((match) => match !== null && !match[1]!.startsWith('render took'))
		.map((match): Run['stages'][number] => [
			match![1]!,
			Number(match![2]),
			Number(match![3]),
			match![4] === undefined ? undefined : Number(match![4]),
		]);
	const spaces = Object.entries(probe.spaces as Record<string, {committed: number; used: number}>)
		.map(([name, space]) => `${name.replace('_space', '')} ${mb(space.committed)}/${mb(space.used)}`)
		.join(', ');
	console.log(
		`run ${run + 1}${clis.length > 1 ? ` (${clis.indexOf(cli) === 0 ? 'A' : 'B'})` : ''}: rows at ${wall} ms; ` +
			`${stages.map(([name, at, cpu, main]) => `${name} ${at} (cpu ${cpu}${main === undefined ? '' : `, main ${main}`})`).join(' | ')}\n` +
			`  after ${settleSeconds} s: RSS ${mb(rollup['Rss']!)} MB (anon ${mb(rollup['Anonymous']!)}, file ${mb(rollup['Rss']! - rollup['Anonymous']! - (rollup['Shmem'] ?? 0))}), ` +
			`heapTotal ${mb(probe.heapTotal)}, heapUsed ${mb(probe.heapUsed)}, external ${mb(probe.external)}, arrayBuffers ${mb(probe.arrayBuffers)}; ` +
			`spaces committed/used: ${spaces}`,
	);
	return {wall, rss: Number(mb(rollup['Rss']!)), stages};
}

const results = new Map<string, Run[]>(clis.map((cli) => [cli, []]));
for (let run = 0; run < runs; run++) {
	// A B, B A, A B, …: a drift in the machine's speed falls on both builds alike.
	const order = run % 2 === 0 ? clis : [...clis].reverse();
	for (const [index, cli] of order.entries()) results.get(cli)!.push(await measure(cli, run * clis.length + index));
}

for (const [cli, list] of results) {
	const stages = new Map<string, Array<Run['stages'][number]>>();
	for (const entry of list.flatMap((one) => one.stages)) stages.set(entry[0], [...(stages.get(entry[0]) ?? []), entry]);
	const walls = list.map((one) => one.wall);
	const rss = list.map((one) => one.rss);
	console.log(`\n${clis.length > 1 ? `${clis.indexOf(cli) === 0 ? 'A' : 'B'} ` : ''}${cli}`);
	console.log(`RSS after ${settleSeconds} s: median ${percentile(rss, 50)} MB (${rss.join(', ')})`);
	console.log(`wall to rows: median ${percentile(walls, 50)} ms (${walls.join(', ')}); load average ${load()}`);
	for (const [stage, entries] of stages) {
		const mains = entries.map((entry) => entry[3]).filter((value) => value !== undefined);
		const median = (index: 1 | 2) =>
			percentile(
				entries.map((entry) => entry[index]),
				50,
			);
		const main = mains.length > 0 ? ` (main thread ${percentile(mains, 50)} ms)` : '';
		console.log(`  ${stage}: median ${median(1)} ms, CPU used by then ${median(2)} ms${main}`);
	}
}

if (clis.length === 2) {
	const [a, b] = clis.map((cli) => results.get(cli)!) as [Run[], Run[]];
	const pairs = (figure: (run: Run) => number) => a.map((run, index) => figure(b[index]!) - figure(run));
	const summary = (differences: number[], unit: string) =>
		`median ${percentile(differences, 50).toFixed(unit === 'ms' ? 0 : 1)} ${unit} ` +
		`(quartiles ${percentile(differences, 25).toFixed(1)} to ${percentile(differences, 75).toFixed(1)}; B lower in ` +
		`${differences.filter((value) => value < 0).length} of ${differences.length} pairs)`;
	console.log(
		`\nB − A, run by run: first frame ${summary(
			pairs((run) => run.wall),
			'ms',
		)}; RSS ${summary(
			pairs((run) => run.rss),
			'MB',
		)}`,
	);
}

rmSync(work, {recursive: true, force: true});
