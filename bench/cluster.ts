// Cost at real scale, against k9s (issue 13 item 8): `npm run bench:cluster` (builds dist/ first).
//
// Starts the harness's control plane, grows a fleet of model Deployments labelled the modeldeck way (bench/
// cluster-fleet.ts: 60, then 600 Deployments with their Services and HTTPRoutes, kwok making ~1,050 pods Ready),
// and at each size measures the built modeldeck (`modeldeck -A`) and k9s (`k9s -c deploy -A`, built from the Go
// module proxy by bench/k9s.ts if it is not cached) side by side, each in a real pty at 120x40:
//   - time from spawn to the first frame showing the fleet's rows (median of 3 runs each, the two taking turns);
//   - CPU over 60 s idle (utime + stime of the process tree), RSS (VmRSS, every second) and bytes written to the
//     pty per second, measured interleaved (bench/cluster-measure.ts): 4 turns of 15 s each.
// With --long, modeldeck then runs alone at 600 for 10 minutes (RSS every 5 s, memory probe every 30 s).
// --sizes 600 measures one size only; --programs modeldeck leaves k9s out. Not part of `npm test`: nothing here is asserted; see bench/RESULTS.md.
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {cpus, loadavg, totalmem, tmpdir} from 'node:os';
import path from 'node:path';
import {startCluster} from '../harness/cluster.ts';
import {TestApi} from '../test/fixtures/kube/api.ts';
import {PtyTerminal} from '../test/support/terminal.ts';
import {FLEET_ROW, growFleet} from './cluster-fleet.ts';
import {firstFrames, type Idle, idleInterleaved, type Program, quitAll, startAll, watchAlone} from './cluster-measure.ts';
import {ensureK9s, K9S_VERSION} from './k9s.ts';
import {memoryProbeFlags, type ProbeLine} from './memory-probe.ts';

const argv = process.argv.slice(2);
const long = argv.includes('--long');
const sizesFlag = argv.indexOf('--sizes');
const sizes = (sizesFlag >= 0 ? argv[sizesFlag + 1]! : '60,600').split(',').map(Number);
if (sizes.some((size) => !Number.isInteger(size) || size < 2 || size % 2 !== 0)) {
	throw new Error(`--sizes takes even numbers of Deployments separated by commas (e.g. --sizes 60,600), not ${argv[sizesFlag + 1]}`);
}

const programsFlag = argv.indexOf('--programs');
const programNames = (programsFlag >= 0 ? argv[programsFlag + 1]! : 'modeldeck,k9s').split(',');
if (programNames.some((name) => name !== 'modeldeck' && name !== 'k9s'))
	throw new Error(`--programs takes modeldeck, k9s or both (modeldeck,k9s), not ${argv[programsFlag + 1]}`);

const cols = 120;
const rows = 40;
const firstFrameRuns = 3;
const turns = 4;
const turnSeconds = 15;
const log = (line: string) => console.log(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${line}`);

const cli = path.resolve('dist/cli.js');
const work = mkdtempSync(path.join(tmpdir(), 'modeldeck-bench-cluster-'));
/** The V8 flags of the `modeldeck` bin's shebang line, so the benchmark runs what users run. */
const nodeFlags = /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(cli, 'utf8').slice(0, 200))?.[1]?.split(' ') ?? [];
const probeFile = path.join(work, 'memory-probe.jsonl');

const k9s = programNames.includes('k9s') ? await ensureK9s({log}) : 'k9s (not measured)';
const started = Date.now();
/** Other work on the machine changes every figure here (bench/RESULTS.md): the load is printed with them. */
const load = () =>
	loadavg()
		.map((value) => value.toFixed(1))
		.join(' ');
log(
	`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${load()}; modeldeck ${cli}; k9s ${K9S_VERSION} ${k9s}`,
);
const cluster = await startCluster({controllerApiQps: 200});
log(`control plane ${cluster.version} up`);
const api = new TestApi(cluster.kubeconfig);

// k9s writes its config, logs and screen dumps under these; none of the user's are read.
const k9sHome = path.join(work, 'k9s-home');
const k9sConfig = path.join(k9sHome, 'config', 'k9s');
mkdirSync(k9sConfig, {recursive: true});
// No check for a newer release (a request to GitHub); the rest is k9s's defaults (2 s refresh, like modeldeck's).
writeFileSync(path.join(k9sConfig, 'config.yaml'), 'k9s:\n  refreshRate: 2\n  skipLatestRevCheck: true\n');
const k9sEnv = {
	HOME: k9sHome,
	K9S_CONFIG_DIR: k9sConfig,
	XDG_CONFIG_HOME: path.join(k9sHome, 'config'),
	XDG_STATE_HOME: path.join(k9sHome, 'state'),
	XDG_DATA_HOME: path.join(k9sHome, 'data'),
	XDG_CACHE_HOME: path.join(k9sHome, 'cache'),
	KUBECONFIG: cluster.kubeconfig,
};

const modeldeck: Program = {
	name: 'modeldeck',
	spawn: (measured) =>
		PtyTerminal.spawn(
			process.execPath,
			[...(measured ? memoryProbeFlags({file: probeFile}) : []), ...nodeFlags, cli, '--kubeconfig', cluster.kubeconfig, '-A'],
			{
				cols,
				rows,
				env: {MODELDECK_CONFIG_DIR: path.join(work, 'modeldeck-config'), KUBECONFIG: cluster.kubeconfig},
			},
		),
	showsRows: (screen) => FLEET_ROW.test(screen),
	quit: (terminal) => terminal.press('q'),
	probe: {
		lines: () => {
			try {
				return readFileSync(probeFile, 'utf8')
					.trim()
					.split('\n')
					.filter(Boolean)
					.map((line) => JSON.parse(line) as ProbeLine);
			} catch {
				return [];
			}
		},
	},
};

const k9sProgram: Program = {
	name: 'k9s',
	// --splashless: k9s's default splash screen holds the first frame back by a fixed second.
	spawn: () =>
		PtyTerminal.spawn(k9s, ['--kubeconfig', cluster.kubeconfig, '--command', 'deployments', '--all-namespaces', '--splashless'], {
			cols,
			rows,
			env: k9sEnv,
		}),
	showsRows: (screen) => FLEET_ROW.test(screen),
	quit: (terminal) => terminal.press('ctrlC'),
};

const programs = [modeldeck, k9sProgram].filter((program) => programNames.includes(program.name));
interface SizeResult {
	deployments: number;
	pods: number;
	/** The load average (1, 5, 15 minutes) when the idle window ended. */
	load: string;
	firstFrame: Awaited<ReturnType<typeof firstFrames>>;
	idle: Record<string, Idle>;
}

const results: SizeResult[] = [];
let watch: Awaited<ReturnType<typeof watchAlone>> | undefined;
try {
	for (const deployments of sizes) {
		log(`growing the fleet to ${deployments} Deployments`);
		const pods = await growFleet(api, deployments, log);
		log(`first frame with rows, ${firstFrameRuns} runs each`);
		const firstFrame = await firstFrames(programs, firstFrameRuns);
		log(
			`  ${Object.entries(firstFrame)
				.map(([name, figure]) => `${name} ${figure.runs.join(', ')} ms`)
				.join('; ')}`,
		);
		log(`idle: ${turns} turns of ${turnSeconds} s each, interleaved`);
		const running = await startAll(programs, 5000);
		const idle = await idleInterleaved(running, turns, turnSeconds);
		for (const [name, figure] of Object.entries(idle)) log(`  ${name}: ${JSON.stringify(figure)}`);
		log(`  load average ${load()}`);
		results.push({deployments, pods, load: load(), firstFrame, idle});
		if (long && deployments === Math.max(...sizes)) {
			await quitAll(running.filter((entry) => entry.program !== modeldeck));
			log('modeldeck alone for 10 minutes (--long)');
			watch = await watchAlone(running.find((entry) => entry.program === modeldeck)!, 10, log);
			await quitAll(running.filter((entry) => entry.program === modeldeck));
		} else {
			await quitAll(running);
		}
	}
} finally {
	await cluster.stop();
}

const row = (label: string, target: string, cell: (result: SizeResult, name: string) => string) =>
	`| ${label} | ${target} | ${results.flatMap((result) => programs.map((program) => cell(result, program.name))).join(' | ')} |`;
const table = [
	`| figure | target at 600 | ${results.flatMap((result) => programs.map((program) => `${program.name} @ ${result.deployments}`)).join(' | ')} |`,
	`|---|---|${results.flatMap(() => programs.map(() => '---|')).join('')}`,
	row('first frame with rows, median (min–max) of ' + firstFrameRuns, '≤ 500 ms', (result, name) => {
		const figure = result.firstFrame[name]!;
		return `${figure.medianMs} ms (${figure.minMs}–${figure.maxMs})`;
	}),
	row(
		`CPU idle, ${turns}×${turnSeconds} s interleaved (% of a core)`,
		"≤ k9s's",
		(result, name) => `${result.idle[name]!.cpuPercent}% (turns ${result.idle[name]!.turns.join(', ')})`,
	),
	row('RSS idle, median (max)', '≤ 150 MB', (result, name) => `${result.idle[name]!.rssMbMedian} MB (${result.idle[name]!.rssMbMax})`),
	row('bytes written to the pty, idle', '≤ 4 KB/s', (result, name) => `${(result.idle[name]!.bytesPerSecond / 1000).toFixed(2)} KB/s`),
	row('fleet rows on screen at the end', '—', (result, name) => String(result.idle[name]!.rowsOnScreen)),
];
console.log(
	`\nFleet: ${results.map((result) => `${result.deployments} Deployments / ${result.pods} pods (load average ${result.load})`).join(', ')}; ${cols}x${rows}; ${Math.round((Date.now() - started) / 1000)} s in all.\n`,
);
console.log(table.join('\n'));
if (watch) {
	console.log(
		`\nmodeldeck alone at ${Math.max(...sizes)} Deployments for ${watch.minutes} minutes: CPU ${watch.cpuPercent}%, ${(watch.bytesPerSecond / 1000).toFixed(2)} KB/s, RSS slope over the second half ${watch.rssMbPerMinuteSecondHalf} MB/minute`,
	);
	console.log('| minute | RSS (MB) | anonymous | V8 heap committed | live heap after full GCs |\n|---|---|---|---|---|');
	for (const minute of watch.perMinute)
		console.log(
			`| ${minute.minute} | ${minute.rssMb} | ${minute.rssAnonMb ?? '—'} | ${minute.heapCommittedMb ?? '—'} | ${minute.liveAfterFullGcMb ?? '—'} |`,
		);
}

console.log(`\n${JSON.stringify({date: new Date().toISOString(), results, watch})}`);
