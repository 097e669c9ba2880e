/**
 * A command run as a child process to its exit, its output collected: what the e2e tests of the built CLI, the packed
 * tarball and the Node check all need. A process still alive after `livenessMs` is killed and the run fails: a
 * liveness bound with room for a loaded machine, never a speed target.
 */
import {spawn} from 'node:child_process';

export interface ProcessRun {
	code: number | null;
	stdout: string;
	stderr: string;
}

export interface ProcessOptions {
	/** The whole environment of the child (not merged with this process's). */
	env?: NodeJS.ProcessEnv;
	cwd?: string;
	livenessMs: number;
	/** Runs the child in its own process group and kills the group, so nothing it started is left behind. */
	ownGroup?: boolean;
	/** How the liveness failure names the command; `command args…` unless given. */
	label?: string;
	/** Why a process that outlived the bound is a failure, added to its message. */
	stillRunningMeans?: string;
}

export function runProcess(command: string, args: string[], options: ProcessOptions): Promise<ProcessRun> {
	const child = spawn(command, args, {
		cwd: options.cwd,
		env: options.env,
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: options.ownGroup ?? false,
	});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	return new Promise((resolve, reject) => {
		const liveness = setTimeout(() => {
			if (options.ownGroup) process.kill(-child.pid!, 'SIGKILL');
			else child.kill('SIGKILL');
			const label = options.label ?? `${command} ${args.join(' ')}`;
			const means = options.stillRunningMeans ? `: ${options.stillRunningMeans}` : '';
			reject(new Error(`${label} was still running after ${options.livenessMs} ms${means}. stderr: ${stderr}`));
		}, options.livenessMs);
		child.on('error', reject);
		child.on('exit', (code) => {
			clearTimeout(liveness);
			resolve({code, stdout, stderr});
		});
	});
}
