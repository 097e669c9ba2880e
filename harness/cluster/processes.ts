// The control plane's processes: started with their output in logs/<name>.log, recorded by PID in the state
// directory (pids.json), waited on with a check that fails early when the process dies, and stopped by PID.

import {type ChildProcess, spawn} from 'node:child_process';
import {closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';

export const PID_FILE = 'pids.json';

export interface ProcessRecord {
	name: string;
	pid: number;
	bin: string;
	log: string;
}

/** What startCluster started so far, and how to start and stop more. */
export interface Launcher {
	processes: ProcessRecord[];
	children: Map<number, ChildProcess>;
	/** Starts `bin` with its output appended to logs/<name>.log and records it in pids.json. */
	launch(name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv): ProcessRecord;
	/** Stops every process started (once), removes pids.json, and the state dir if `ownsDir`. */
	stop(): Promise<void>;
}

/**
 * Processes started in `dir` (its logs/ must exist before the first launch). With `detached`, they get their own
 * session and outlive this Node process; otherwise they are also killed when this process exits.
 */
export function createLauncher(options: {dir: string; ownsDir: boolean; detached?: boolean; log: (line: string) => void}): Launcher {
	const {dir, ownsDir, log} = options;
	const processes: ProcessRecord[] = [];
	const children = new Map<number, ChildProcess>();
	const killOnExit = () => {
		for (const p of processes) {
			try {
				process.kill(p.pid, 'SIGKILL');
			} catch {
				// already gone
			}
		}
	};
	if (!options.detached) process.on('exit', killOnExit);

	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		await stopProcesses(processes, children);
		rmSync(path.join(dir, PID_FILE), {force: true});
		if (!options.detached) process.off('exit', killOnExit);
		if (ownsDir) rmSync(dir, {recursive: true, force: true});
	};

	const launch = (name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv): ProcessRecord => {
		const logFile = path.join(dir, 'logs', `${name}.log`);
		const fd = openSync(logFile, 'a');
		writeFileSync(fd, `# ${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
		const child = spawn(bin, args, {
			cwd: dir,
			env: env ?? process.env,
			stdio: ['ignore', fd, fd],
			detached: Boolean(options.detached),
		});
		closeSync(fd);
		if (child.pid === undefined) throw new Error(`could not start ${name} (${bin})`);
		if (options.detached) child.unref();
		child.on('error', () => {});
		const rec = {name, pid: child.pid, bin, log: logFile};
		processes.push(rec);
		children.set(child.pid, child);
		writeFileSync(path.join(dir, PID_FILE), JSON.stringify(processes, null, 2));
		log(`started ${name} (pid ${child.pid}), log ${logFile}`);
		return rec;
	};

	return {processes, children, launch, stop};
}

export function readPids(dir: string): ProcessRecord[] {
	try {
		const list: unknown = JSON.parse(readFileSync(path.join(dir, PID_FILE), 'utf8'));
		return Array.isArray(list) ? list.filter((p: Partial<ProcessRecord> | null) => Number.isInteger(p?.pid) && p!.pid! > 1) : [];
	} catch {
		return [];
	}
}

export function isSameProcess(p: ProcessRecord): boolean {
	try {
		const argv0 = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0];
		return argv0 === p.bin;
	} catch {
		return false;
	}
}

function running(pid: number): boolean {
	try {
		// A zombie (exited, not yet reaped by its parent) counts as gone.
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
	} catch {
		return false;
	}
}

/**
 * SIGTERM to each (components first, etcd last), then SIGKILL to whatever is still there after a grace period.
 */
export async function stopProcesses(records: ProcessRecord[], children: Map<number, ChildProcess>): Promise<void> {
	const order = [...records].reverse();
	const groups = [
		order.filter((p) => p.name !== 'kube-apiserver' && p.name !== 'etcd'),
		order.filter((p) => p.name === 'kube-apiserver'),
		order.filter((p) => p.name === 'etcd'),
	];
	for (const group of groups) {
		for (const p of group) signal(p.pid, 'SIGTERM');
		const deadline = Date.now() + 10_000;
		while (group.some((p) => running(p.pid)) && Date.now() < deadline) await sleep(100);
		for (const p of group) if (running(p.pid)) signal(p.pid, 'SIGKILL');
		const killDeadline = Date.now() + 5_000;
		while (group.some((p) => running(p.pid)) && Date.now() < killDeadline) await sleep(50);
	}
	for (const p of records) children.get(p.pid)?.removeAllListeners();
}

function signal(pid: number, sig: NodeJS.Signals): void {
	try {
		process.kill(pid, sig);
	} catch {
		// gone
	}
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` until it says yes; fails early, with the tail of the component's log, if the component exits.
 */
export async function waitFor(
	what: string,
	proc: ProcessRecord,
	children: Map<number, ChildProcess>,
	timeoutMs: number,
	check: () => Promise<boolean>,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let lastError = '';
	for (;;) {
		const child = children.get(proc.pid);
		if (!running(proc.pid) || (child && child.exitCode !== null)) {
			throw new Error(
				`${proc.name} exited ${what === proc.name ? 'before it was ready' : `while waiting for ${what}`} (exit ${child?.exitCode ?? '?'}${child?.signalCode ? `, ${child.signalCode}` : ''}); ` +
					`last lines of ${proc.log}:\n${tail(proc.log)}`,
			);
		}
		try {
			if (await check()) return;
			lastError = '';
		} catch (err) {
			lastError = err instanceof Error ? err.message : String(err);
		}
		if (Date.now() > deadline) {
			throw new Error(
				`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (${lastError})` : ''}; ` +
					`last lines of ${proc.log}:\n${tail(proc.log)}`,
			);
		}
		await sleep(250);
	}
}

function tail(file: string, n = 30): string {
	try {
		if (!existsSync(file)) return '(no log)';
		return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
	} catch {
		return '(log unreadable)';
	}
}
