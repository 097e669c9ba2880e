// Console benchmarks (issue 2): cold start to first full frame, steady-state CPU/RSS/bytes, key-to-frame latency.
// Run with `npm run bench` (builds first). BENCH_STEADY_SECONDS sets the steady-state window (default 60; the
// recorded figure used 600).
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {PtyTerminal} from '../test/support/terminal.ts';
import {memoryProbeFlags, type ProbeLine} from './memory-probe.ts';
import {cpuTicks, percentile, rssBytes, ticksPerSecond} from './proc.ts';

const cli = path.resolve('dist/cli.js');
const configDir = mkdtempSync(path.join(tmpdir(), 'modeldeck-bench-'));

/**
 * Distinct 4 KiB pages of memory the process touches in a second (median of `windows` one-second windows): the
 * kernel's referenced bits are cleared (/proc/PID/clear_refs) and counted a second later (smaps_rollup). On a VM
 * where a page touched after a second of sleep costs microseconds (`npm run bench:machine`), this is what a
 * once-a-second frame pays for.
 */
async function pagesTouchedPerSecond(pid: number, windows: number): Promise<number | undefined> {
	const counts: number[] = [];
	try {
		for (let window = 0; window < windows; window++) {
			writeFileSync(`/proc/${pid}/clear_refs`, '1');
			await new Promise((resolve) => setTimeout(resolve, 1000));
			const referenced = /^Referenced:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
			counts.push(Number(referenced?.[1] ?? 0) / 4);
		}
	} catch {
		return undefined; // Not Linux, or not allowed: the figure is left out.
	}

	return Math.round(percentile(counts, 50));
}

/** The V8 flags of the `modeldeck` bin's shebang line, so the benchmark runs what users run. */
const nodeFlags = /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(cli, 'utf8').slice(0, 200))?.[1]?.split(' ') ?? [];

/** The memory probe (`bench/memory-probe.ts`), preloaded into the steady-state console; its lines go to a file. */
const probeFile = path.join(configDir, 'memory-probe.jsonl');
const probeFlags = memoryProbeFlags({file: probeFile});

function probeLines(): ProbeLine[] {
	try {
		return readFileSync(probeFile, 'utf8')
			.trim()
			.split('\n')
			.filter(Boolean)
			.map((line) => JSON.parse(line) as ProbeLine);
	} catch {
		return [];
	}
}

/** The node process inside the pty is the pty's own child process. */
function spawnConsole(env: Record<string, string> = {}, cols = 120, rows = 40, extraFlags: string[] = []) {
	return PtyTerminal.spawn(process.execPath, [...extraFlags, ...nodeFlags, cli, '--demo'], {
		cols,
		rows,
		env: {MODELDECK_CONFIG_DIR: configDir, ...env},
	});
}

/** Frames the console traced (MODELDECK_TRACE_FRAMES): time, render ms, RSS, heap used, heap total, external. */
function tracedFrames(file: string, from: number, to: number) {
	const lines = readFileSync(file, 'utf8').trim().split('\n');
	return lines
		.map((line) => line.split(' ').map(Number))
		.filter(([time]) => time! >= from && time! <= to)
		.map(([time, renderMs, rss, heapUsed, heapTotal, external]) => ({
			time: time!,
			renderMs: renderMs!,
			rss: rss!,
			heapUsed: heapUsed!,
			heapTotal: heapTotal!,
			external: external!,
		}));
}

async function coldStart(runs: number) {
	const times: number[] = [];
	for (let run = 0; run < runs; run++) {
		const started = performance.now();
		const term = spawnConsole();
		// The first frame with the whole table drawn: the last model's last row is on screen.
		await term.waitForFirst((screen) => /sentiment[\s\S]*canary/.test(screen), 10_000);
		times.push(performance.now() - started);
		term.press('q');
		await term.exited;
	}

	return {runs, medianMs: percentile(times, 50), p90Ms: percentile(times, 90), minMs: Math.min(...times)};
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function steadyState(seconds: number) {
	// 40 versions: the 6 built-in models have 13 versions; 13 extra models with 2 versions each add 26 → 39–40.
	const traceFile = path.join(configDir, 'frames.txt');
	const term = spawnConsole(
		{MODELDECK_DEMO_RATE: '1000', MODELDECK_DEMO_EXTRA_MODELS: '14', MODELDECK_TRACE_FRAMES: traceFile},
		120,
		40,
		probeFlags,
	);
	await term.waitFor('MODEL');
	await new Promise((resolve) => setTimeout(resolve, 5000));
	const versions = term
		.screen()
		.split('\n')
		.filter((line) => /\b(stable|canary)\b/.test(line)).length;
	const pid = term.process.pid;

	// Phase 1: log hidden — bytes written to the terminal per second.
	const hiddenSeconds = Math.min(30, seconds);
	let bytesBefore = term.bytesReceived;
	await new Promise((resolve) => setTimeout(resolve, hiddenSeconds * 1000));
	const bytesPerSecondHidden = (term.bytesReceived - bytesBefore) / hiddenSeconds;

	// Phase 2: prediction log visible at 1,000 predictions/s — CPU and RSS over the window.
	term.press('l');
	await term.waitFor('Predictions');
	await new Promise((resolve) => setTimeout(resolve, 3000));
	const rss: number[] = [];
	const ticksStart = cpuTicks(pid);
	const started = performance.now();
	const startedAt = Date.now();
	bytesBefore = term.bytesReceived;
	process.kill(pid, 'SIGUSR2'); // The probe's first line: collections before the window are left out of it.
	let sampled = 0;
	while (performance.now() - started < seconds * 1000) {
		await new Promise((resolve) => setTimeout(resolve, 5000));
		rss.push(rssBytes(pid));
		// The probe every 30 s (a wake-up of its own: negligible against the console's one a second).
		if (++sampled % 6 === 0) process.kill(pid, 'SIGUSR2');
	}

	const elapsed = (performance.now() - started) / 1000;
	const frames = tracedFrames(traceFile, startedAt, Date.now());
	// RSS per minute of the window (mean of the samples in it), to see whether it is flat.
	const perMinute: number[] = [];
	for (let minute = 0; minute * 60 < elapsed; minute++) {
		const inMinute = frames.filter((frame) => frame.time - startedAt >= minute * 60_000 && frame.time - startedAt < (minute + 1) * 60_000);
		if (inMinute.length > 0) perMinute.push(inMinute.reduce((sum, frame) => sum + frame.rss, 0) / inMinute.length);
	}

	// Memory per minute from the probe: RSS (anonymous part), V8's committed heap, and the live heap after full GCs.
	process.kill(pid, 'SIGUSR2');
	await new Promise((resolve) => setTimeout(resolve, 200));
	const probes = probeLines().filter((line) => line.time >= startedAt);
	const memoryPerMinute: Array<{
		minute: number;
		rssAnonMb: number;
		heapCommittedMb: number;
		heapPeakMb: number;
		liveAfterFullGcMb: number | undefined;
		fullGcs: number;
	}> = [];
	for (let minute = 0; minute * 60 < elapsed; minute++) {
		const inMinute = probes.filter(
			(line) => line.time - startedAt > minute * 60_000 && line.time - startedAt <= (minute + 1) * 60_000 + 1000,
		);
		if (inMinute.length === 0) continue;
		const last = inMinute.at(-1)!;
		const live = inMinute.flatMap((line) => line.afterFullGc);
		memoryPerMinute.push({
			minute: minute + 1,
			rssAnonMb: mb(last.rssAnon),
			heapCommittedMb: mb(last.heapTotal),
			heapPeakMb: mb(Math.max(...inMinute.map((line) => line.heapPeak))),
			liveAfterFullGcMb: live.length > 0 ? mb(Math.max(...live)) : undefined,
			fullGcs: live.length,
		});
	}

	const lastProbe = probes.at(-1);
	const cpuPercent = ((cpuTicks(pid) - ticksStart) / ticksPerSecond / elapsed) * 100;
	const bytesPerSecondLog = (term.bytesReceived - bytesBefore) / elapsed;
	// After the CPU window (clearing the referenced bits costs the console page-table work of its own).
	const pagesTouched = await pagesTouchedPerSecond(pid, 5);

	// Phase 3: key press to updated frame under that load (log visible, then fleet).
	term.press('esc');
	await term.waitFor('WEIGHT');
	const latencies: number[] = [];
	term.press('g');
	await term.settle(100);
	// Down the table and back up: every press moves the selection (alternating j/k could arrive as one chunk and
	// cancel out).
	for (let press = 0; press < 60; press++) {
		const before = term.screen();
		const pressed = performance.now();
		term.press(press < 30 ? 'j' : 'k');
		// Wait for the selected row to change (the table scrolls to keep the selection in view, so the marker's
		// screen row may stay put while its content changes).
		const selectedLine = (text: string) => text.split('\n').find((line) => line.startsWith('›')) ?? '';
		await term.waitForFirst((screen) => selectedLine(screen) !== selectedLine(before), 2000).catch(() => undefined);
		latencies.push(performance.now() - pressed);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}

	term.press('q');
	await term.exited;
	return {
		versionsOnScreen: versions,
		windowSeconds: Math.round(elapsed),
		cpuPercentOfOneCore: Math.round(cpuPercent * 10) / 10,
		rssMbFirst: mb(rss[0] ?? 0),
		rssMbLast: mb(rss.at(-1) ?? 0),
		rssMbMax: mb(Math.max(...rss)),
		rssMbPerMinute: perMinute.map(mb),
		memoryPerMinute,
		rssFileMbLast: mb(lastProbe?.rssFile ?? 0),
		heapSpacesMbLast: Object.fromEntries(
			Object.entries(lastProbe?.spaces ?? {}).map(([name, space]) => [name, `${mb(space.used)} used of ${mb(space.committed)}`]),
		),
		heapUsedMbLast: mb(frames.at(-1)?.heapUsed ?? 0),
		heapTotalMbLast: mb(frames.at(-1)?.heapTotal ?? 0),
		externalMbLast: mb(frames.at(-1)?.external ?? 0),
		framesPerSecond: Math.round((frames.length / elapsed) * 100) / 100,
		renderMsMean: Math.round((frames.reduce((sum, frame) => sum + frame.renderMs, 0) / Math.max(1, frames.length)) * 10) / 10,
		pagesTouchedPerSecond: pagesTouched,
		bytesPerSecondLogHidden: Math.round(bytesPerSecondHidden),
		bytesPerSecondLogVisible: Math.round(bytesPerSecondLog),
		keyToFrameP50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
		keyToFrameP99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
	};
}

const steadySeconds = Number(process.env['BENCH_STEADY_SECONDS'] ?? 60);
console.log('cold start to first full frame (target ≤ 250 ms):', await coldStart(10));
console.log(
	`steady state, 1,000 predictions/s, 2 s refresh, ${steadySeconds} s (targets: CPU ≤ 5%, RSS ≤ 150 MB flat, ≤ 4 KB/s log hidden, key p99 ≤ 50 ms):`,
	await steadyState(steadySeconds),
);
