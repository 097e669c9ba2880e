// The measurements of `npm run bench:cluster` (bench/cluster.ts), for any terminal program in a real pty: time to
// the first frame with rows, and CPU, RSS and bytes written while idle, measured interleaved (every program
// running, all but one stopped with SIGSTOP, each measured alone in turns, as bench/RESULTS.md explains), so that
// the hour's cost of waking up on this VM falls on each alike.
import {readdirSync, readFileSync} from 'node:fs';
import type {PtyTerminal} from '../test/support/terminal.ts';
import type {ProbeLine} from './memory-probe.ts';
import {cpuTicks, percentile, rssBytes, ticksPerSecond} from './proc.ts';

export interface Program {
	name: string;
	/** Starts it in a pty of the benchmark's size; `measured` for the instance whose idle figures are taken. */
	spawn(measured: boolean): PtyTerminal;
	/** Whether the screen shows the fleet's rows. */
	showsRows(screen: string): boolean;
	/** Quits it (a key, or a signal). */
	quit(terminal: PtyTerminal): void;
	/** The memory probe's lines (bench/memory-probe.ts) of its measured instance, if it has one. */
	probe?: {lines(): ProbeLine[]};
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** The process and its descendants (from /proc/PID/task/TID/children). */
export function processTree(pid: number): number[] {
	const pids = [pid];
	for (let index = 0; index < pids.length; index++) {
		try {
			for (const task of readdirSync(`/proc/${pids[index]}/task`)) {
				const children = readFileSync(`/proc/${pids[index]}/task/${task}/children`, 'utf8').trim();
				if (children) pids.push(...children.split(' ').map(Number));
			}
		} catch {
			// Gone meanwhile.
		}
	}

	return pids;
}

function sumOverTree(pid: number, read: (pid: number) => number): number {
	let total = 0;
	for (const member of processTree(pid)) {
		try {
			total += read(member);
		} catch {
			// Gone meanwhile.
		}
	}

	return total;
}

export const treeCpuTicks = (pid: number) => sumOverTree(pid, cpuTicks);
export const treeRssBytes = (pid: number) => sumOverTree(pid, rssBytes);

function signalTree(pid: number, signal: NodeJS.Signals): void {
	for (const member of processTree(pid)) {
		try {
			process.kill(member, signal);
		} catch {
			// Gone meanwhile.
		}
	}
}

async function quitAndWait(program: Program, terminal: PtyTerminal): Promise<void> {
	program.quit(terminal);
	const exited = await Promise.race([terminal.exited.then(() => true), sleep(5000).then(() => false)]);
	if (!exited) {
		terminal.kill();
		await Promise.race([terminal.exited, sleep(2000)]);
	}
}

export interface FirstFrame {
	runs: number[];
	medianMs: number;
	minMs: number;
	maxMs: number;
}

/** Spawn to the first frame with rows, `runs` times each, the programs taking turns. */
export async function firstFrames(programs: Program[], runs: number): Promise<Record<string, FirstFrame>> {
	const times: Record<string, number[]> = Object.fromEntries(programs.map((program) => [program.name, []]));
	for (let run = 0; run < runs; run++) {
		for (const program of programs) {
			const started = performance.now();
			const terminal = program.spawn(false);
			await terminal.waitForFirst(program.showsRows, 60_000, `${program.name}'s rows`);
			times[program.name]!.push(Math.round(performance.now() - started));
			await quitAndWait(program, terminal);
			await sleep(500);
		}
	}

	return Object.fromEntries(
		Object.entries(times).map(([name, list]) => [
			name,
			{runs: list, medianMs: percentile(list, 50), minMs: Math.min(...list), maxMs: Math.max(...list)},
		]),
	);
}

export interface Idle {
	seconds: number;
	cpuPercent: number;
	/** CPU % of each turn, to show the spread. */
	turns: number[];
	rssMbMedian: number;
	rssMbMax: number;
	bytesPerSecond: number;
	rowsOnScreen: number;
	/** From the memory probe, for a program that has one: the heap in use after the window's full GCs. */
	liveHeapAfterFullGcMb?: number;
	heapCommittedMb?: number;
}

export interface Running {
	program: Program;
	terminal: PtyTerminal;
}

/** Starts each program and waits for its rows, then `settleMs` for what follows the first frame. */
export async function startAll(programs: Program[], settleMs: number): Promise<Running[]> {
	const running: Running[] = [];
	for (const program of programs) {
		const terminal = program.spawn(true);
		await terminal.waitFor(program.showsRows, 60_000);
		running.push({program, terminal});
	}

	await sleep(settleMs);
	return running;
}

const rowsOnScreen = (running: Running) =>
	running.terminal
		.screen()
		.split('\n')
		.filter((line) => running.program.showsRows(line)).length;

/**
 * CPU (utime + stime of the process tree), RSS (VmRSS of the tree, every second) and bytes written to the pty, with
 * the programs measured in `turns` turns of `turnSeconds` each, one running at a time; after each resume
 * `catchUpMs` pass unmeasured (timers that came due while stopped fire then).
 */
export async function idleInterleaved(
	running: Running[],
	turns: number,
	turnSeconds: number,
	catchUpMs = 1500,
): Promise<Record<string, Idle>> {
	const figures = new Map(running.map((entry) => [entry, {ticks: 0, seconds: 0, bytes: 0, rss: [] as number[], turns: [] as number[]}]));
	for (const entry of running) entry.program.probe && process.kill(entry.terminal.process.pid, 'SIGUSR2');
	try {
		for (let turn = 0; turn < turns; turn++) {
			for (const entry of running) {
				for (const other of running) if (other !== entry) signalTree(other.terminal.process.pid, 'SIGSTOP');
				const pid = entry.terminal.process.pid;
				signalTree(pid, 'SIGCONT');
				await sleep(catchUpMs);
				const figure = figures.get(entry)!;
				const ticks = treeCpuTicks(pid);
				const bytes = entry.terminal.bytesReceived;
				const started = performance.now();
				for (let second = 0; second < turnSeconds; second++) {
					await sleep(1000);
					figure.rss.push(treeRssBytes(pid));
				}

				const seconds = (performance.now() - started) / 1000;
				const turnTicks = treeCpuTicks(pid) - ticks;
				figure.ticks += turnTicks;
				figure.seconds += seconds;
				figure.bytes += entry.terminal.bytesReceived - bytes;
				figure.turns.push(Math.round((turnTicks / ticksPerSecond / seconds) * 1000) / 10);
			}
		}
	} finally {
		for (const entry of running) signalTree(entry.terminal.process.pid, 'SIGCONT');
	}

	await sleep(catchUpMs);
	const result: Record<string, Idle> = {};
	for (const [entry, figure] of figures) {
		result[entry.program.name] = {
			seconds: Math.round(figure.seconds),
			cpuPercent: Math.round((figure.ticks / ticksPerSecond / figure.seconds) * 1000) / 10,
			turns: figure.turns,
			rssMbMedian: mb(percentile(figure.rss, 50)),
			rssMbMax: mb(Math.max(...figure.rss)),
			bytesPerSecond: Math.round(figure.bytes / figure.seconds),
			rowsOnScreen: rowsOnScreen(entry),
			...(await probeFigures(entry)),
		};
	}

	return result;
}

async function probeFigures(entry: Running): Promise<Pick<Idle, 'liveHeapAfterFullGcMb' | 'heapCommittedMb'>> {
	if (!entry.program.probe) return {};
	process.kill(entry.terminal.process.pid, 'SIGUSR2');
	await sleep(300);
	const last = entry.program.probe.lines().at(-1);
	if (!last) return {};
	return {
		...(last.afterFullGc.length > 0 ? {liveHeapAfterFullGcMb: mb(Math.max(...last.afterFullGc))} : {}),
		heapCommittedMb: mb(last.heapTotal),
	};
}

export async function quitAll(running: Running[]): Promise<void> {
	for (const entry of running) await quitAndWait(entry.program, entry.terminal);
}

export interface MinuteFigures {
	minute: number;
	rssMb: number;
	rssAnonMb: number | undefined;
	heapCommittedMb: number | undefined;
	liveAfterFullGcMb: number | undefined;
}

export interface Watch {
	minutes: number;
	cpuPercent: number;
	bytesPerSecond: number;
	perMinute: MinuteFigures[];
	/** Least-squares slope of the per-minute RSS over the second half of the watch. */
	rssMbPerMinuteSecondHalf: number;
}

/** One program alone for `minutes`: RSS every 5 s and the probe every 30 s, reported per minute. */
export async function watchAlone(entry: Running, minutes: number, log: (line: string) => void): Promise<Watch> {
	const pid = entry.terminal.process.pid;
	const samples: Array<{at: number; rss: number}> = [];
	const ticks = treeCpuTicks(pid);
	const bytes = entry.terminal.bytesReceived;
	const started = Date.now();
	if (entry.program.probe) process.kill(pid, 'SIGUSR2');
	for (let tick = 1; Date.now() - started < minutes * 60_000; tick++) {
		await sleep(5000);
		samples.push({at: Date.now() - started, rss: treeRssBytes(pid)});
		if (entry.program.probe && tick % 6 === 0) process.kill(pid, 'SIGUSR2');
		if (tick % 12 === 0) log(`  minute ${tick / 12}: RSS ${mb(samples.at(-1)!.rss)} MB`);
	}

	const seconds = (Date.now() - started) / 1000;
	const cpuPercent = Math.round(((treeCpuTicks(pid) - ticks) / ticksPerSecond / seconds) * 1000) / 10;
	const bytesPerSecond = Math.round((entry.terminal.bytesReceived - bytes) / seconds);
	if (entry.program.probe) process.kill(pid, 'SIGUSR2');
	await sleep(300);
	const probes = entry.program.probe?.lines().filter((line) => line.time >= started) ?? [];
	const perMinute: MinuteFigures[] = [];
	for (let minute = 0; minute < minutes; minute++) {
		const inMinute = samples.filter((sample) => sample.at > minute * 60_000 && sample.at <= (minute + 1) * 60_000);
		const lines = probes.filter((line) => line.time - started > minute * 60_000 && line.time - started <= (minute + 1) * 60_000 + 1000);
		const live = lines.flatMap((line) => line.afterFullGc);
		perMinute.push({
			minute: minute + 1,
			rssMb: mb(inMinute.reduce((sum, sample) => sum + sample.rss, 0) / Math.max(1, inMinute.length)),
			rssAnonMb: lines.length > 0 ? mb(lines.at(-1)!.rssAnon) : undefined,
			heapCommittedMb: lines.length > 0 ? mb(lines.at(-1)!.heapTotal) : undefined,
			liveAfterFullGcMb: live.length > 0 ? mb(Math.max(...live)) : undefined,
		});
	}

	return {
		minutes,
		cpuPercent,
		bytesPerSecond,
		perMinute,
		rssMbPerMinuteSecondHalf: slope(perMinute.slice(Math.floor(perMinute.length / 2))),
	};
}

function slope(points: MinuteFigures[]): number {
	if (points.length < 2) return 0;
	const meanX = points.reduce((sum, point) => sum + point.minute, 0) / points.length;
	const meanY = points.reduce((sum, point) => sum + point.rssMb, 0) / points.length;
	const covariance = points.reduce((sum, point) => sum + (point.minute - meanX) * (point.rssMb - meanY), 0);
	const variance = points.reduce((sum, point) => sum + (point.minute - meanX) ** 2, 0);
	return Math.round((covariance / variance) * 100) / 100;
}
