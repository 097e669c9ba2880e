// Where modeldeck's start-up time and memory go on a running cluster (issue 13 item 8): `node bench/cluster-startup.ts
// --kubeconfig FILE [--runs N] [--settle S]` runs the built console (`dist/cli.js -A`, with the bin's V8 flags) in a
// real pty N times and prints, per run, the wall time to the first frame showing a fleet row (bench/cluster-fleet.ts's
// FLEET_ROW) and the stages of `MODELDECK_TRACE_STARTUP` (written to a file), then, S seconds after that, what the
// resident memory is made of (/proc/PID/smaps_rollup and the memory probe's process.memoryUsage() and V8 heap spaces).
// Point it at a cluster that holds the fleet (bench/cluster.ts grows one; so does `--grow N` here, on a fresh
// harness cluster kept in --dir until `npm run cluster:down` with MODELDECK_CLUSTER_DIR=DIR). Nothing is asserted.
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
const cli = path.resolve(flag('--cli') ?? 'dist/cli.js');
// --node-flags replaces the bin's V8 flags (to try others); --env NAME=VALUE,... adds to the environment.
const nodeFlags = (flag('--node-flags') ?? /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(cli, 'utf8').slice(0, 200))?.[1] ?? '')
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

console.log(`load average ${load()}; ${cli} ${nodeFlags.join(' ')}`);
const walls: number[] = [];
const rssFigures: number[] = [];
const stages = new Map<string, number[]>();
const cpuByStage = new Map<string, number[]>();
/** The main thread's own CPU time by then (process.threadCpuUsage, Node ≥ 23.9): the process's includes V8's helpers. */
const mainByStage = new Map<string, number[]>();
for (let run = 0; run < runs; run++) {
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
			...nodeFlags,
			cli,
			'--kubeconfig',
			kubeconfig,
			'-A',
		],
		{
			cols: 120,
			rows: 40,
			env: {
				MODELDECK_CONFIG_DIR: path.join(work, 'config'),
				MODELDECK_TRACE_STARTUP: '1',
				TRACE_FILE: traceFile,
				KUBECONFIG: kubeconfig,
				...extraEnv,
			},
		},
	);
	await terminal.waitForFirst((screen) => FLEET_ROW.test(screen), 60_000, 'rows');
	const wall = Math.round(performance.now() - started);
	walls.push(wall);
	await sleep(settleSeconds * 1000);
	const pid = terminal.process.pid;
	process.kill(pid, 'SIGUSR2');
	await sleep(300);
	const rollup = smaps(pid);
	rssFigures.push(rollup['Rss']!);
	const probe = readFileSync(probeFile, 'utf8')
		.trim()
		.split('\n')
		.map((line) => JSON.parse(line) as ProbeLine & {spaces: Record<string, {committed: number; used: number}>})
		.at(-1)!;
	terminal.press('q');
	await Promise.race([terminal.exited, sleep(5000)]);
	terminal.kill();
	const trace = readFileSync(traceFile, 'utf8')
		.split('\n')
		.map((line) => /^\[startup\] (.*) (\d+) ms cpu (\d+) ms(?: main (\d+) ms)?$/.exec(line))
		.filter((match) => match !== null);
	for (const match of trace) {
		if (match[1]!.startsWith('render took')) continue;
		const list = stages.get(match[1]!) ?? [];
		list.push(Number(match[2]));
		stages.set(match[1]!, list);
		cpuByStage.set(match[1]!, [...(cpuByStage.get(match[1]!) ?? []), Number(match[3])]);
		if (match[4] !== undefined) mainByStage.set(match[1]!, [...(mainByStage.get(match[1]!) ?? []), Number(match[4])]);
	}

	const spaces = Object.entries(probe.spaces as Record<string, {committed: number; used: number}>)
		.map(([name, space]) => `${name.replace('_space', '')} ${mb(space.committed)}/${mb(space.used)}`)
		.join(', ');
	console.log(
		`run ${run + 1}: rows at ${wall} ms; ${trace.map((match) => `${match[1]} ${match[2]} (cpu ${match[3]}${match[4] === undefined ? '' : `, main ${match[4]}`})`).join(' | ')}\n` +
			`  after ${settleSeconds} s: RSS ${mb(rollup['Rss']!)} MB (anon ${mb(rollup['Anonymous']!)}, file ${mb(rollup['Rss']! - rollup['Anonymous']! - (rollup['Shmem'] ?? 0))}), ` +
			`heapTotal ${mb(probe.heapTotal)}, heapUsed ${mb(probe.heapUsed)}, external ${mb(probe.external)}, arrayBuffers ${mb(probe.arrayBuffers)}; ` +
			`spaces committed/used: ${spaces}`,
	);
}

const rss = rssFigures.map((value) => Number(mb(value)));
console.log(`\nRSS after ${settleSeconds} s: median ${percentile(rss, 50)} MB (${rss.join(', ')})`);
console.log(`wall to rows: median ${percentile(walls, 50)} ms (${walls.join(', ')}); load average ${load()}`);
for (const [stage, list] of stages)
	console.log(
		`  ${stage}: median ${percentile(list, 50)} ms, CPU used by then ${percentile(cpuByStage.get(stage)!, 50)} ms` +
			(mainByStage.has(stage) ? ` (main thread ${percentile(mainByStage.get(stage)!, 50)} ms)` : ''),
	);
rmSync(work, {recursive: true, force: true});
