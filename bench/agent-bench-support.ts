// Helpers of the agent benchmarks: the agent and a model server as child processes (so they get their own CPU),
// stopped by PID.
import {spawn} from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** A child process of a benchmark, stopped by PID. */
export interface BenchProcess {
	pid: number;
	output(): string;
	stop(): Promise<void>;
}

/** Spawns `node ARGS…`, waits for `ready` in its output, returns {pid, output, stop}. */
export async function spawnReady(args: string[], ready: string, env: NodeJS.ProcessEnv = {}): Promise<BenchProcess> {
	const child = spawn(process.execPath, args, {cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}});
	let output = '';
	child.stdout.on('data', (chunk) => (output += chunk));
	child.stderr.on('data', (chunk) => (output += chunk));
	const exited = new Promise((resolve) => child.once('exit', resolve));
	const pid = child.pid;
	if (pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
	const deadline = Date.now() + 30_000;
	while (!output.includes(ready)) {
		if (child.exitCode !== null) throw new Error(`child exited: ${output}`);
		if (Date.now() > deadline) throw new Error(`child not ready: ${output}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}

	return {
		pid,
		output: () => output,
		stop: async () => {
			if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
			const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 5000);
			await exited;
			clearTimeout(timer);
		},
	};
}

export async function startAgentProcess(
	extraArgs: string[] = [],
	nodeFlags: string[] = [],
): Promise<BenchProcess & {url: string; port: number}> {
	const port = await freePort();
	const agent = await spawnReady(
		[...nodeFlags, path.join(repoRoot, 'source/agent/run.ts'), '--listen', `127.0.0.1:${port}`, '--no-auth', ...extraArgs],
		'modeldeck agent listening',
		{KUBECONFIG: ''},
	);
	return {...agent, url: `http://127.0.0.1:${port}`, port};
}

export async function startModelServerProcess(args: string[] = []): Promise<BenchProcess & {url: string; port: number}> {
	const port = await freePort();
	const code = `import('./source/model-server/main.ts').then(async (m) => process.exit(await m.runModelServer(${JSON.stringify(['--listen', `127.0.0.1:${port}`, '--model', 'fraud', ...args])})))`;
	const server = await spawnReady(['--input-type=module', '-e', code], 'listening on');
	return {...server, url: `http://127.0.0.1:${port}`, port};
}

/** Agent's own resident memory and heap, from its /metrics. */
export async function agentMemory(url: string): Promise<{rssMb: number; heapMb: number}> {
	const text = await (await fetch(`${url}/metrics`)).text();
	const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
	return {
		rssMb: value('modeldeck_agent_process_resident_memory_bytes') / 2 ** 20,
		heapMb: value('modeldeck_agent_nodejs_heap_size_used_bytes') / 2 ** 20,
	};
}

export function mb(value: number): string {
	return `${value.toFixed(1)} MiB`;
}
