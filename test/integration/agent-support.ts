/** Shared helpers of the agent's integration tests: free ports, a cuttable TCP proxy, the agent as a child process. */
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import type {AgentEvent, AgentPort, PredictionFilter} from '../../source/domain/ports.ts';
import type {Prediction} from '../../source/domain/types.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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

export async function eventually<T>(
	what: string,
	timeoutMs: number,
	check: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value !== undefined && value !== false) return value;
		} catch (error) {
			last = error;
		}

		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

export function plainPrediction(requestId: string, extra: Partial<Prediction> & Record<string, unknown> = {}): Record<string, unknown> {
	return {requestId, model: 'fraud', namespace: 'team-a', version: 'v1', latencyMs: 5, ...extra};
}

export async function postLogs(
	baseUrl: string,
	body: unknown,
	headers: Record<string, string> = {},
): Promise<{status: number; body: unknown}> {
	const response = await fetch(`${baseUrl}/v1/logs`, {
		method: 'POST',
		headers: {'content-type': 'application/json', ...headers},
		body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
	});
	const text = await response.text();
	let parsed: unknown = text;
	try {
		parsed = JSON.parse(text);
	} catch {
		// Keep the text.
	}

	return {status: response.status, body: parsed};
}

/** Subscribes and keeps every event. */
export function collect(agent: AgentPort, filter: PredictionFilter = {}, fromSeq?: number) {
	const events: AgentEvent[] = [];
	const unsubscribe = agent.predictions(filter, fromSeq, (event) => events.push(event));
	const predictions = (): Prediction[] => events.flatMap((event) => (event.type === 'prediction' ? [event.prediction] : []));
	return {
		events,
		predictions,
		unsubscribe,
		connected: () =>
			eventually('the stream to connect', 10_000, () => events.some((event) => event.type === 'connection' && event.connected)),
		waitForPredictions: (count: number, timeoutMs = 15_000) =>
			eventually(`${count} predictions (have ${predictions().length})`, timeoutMs, () => predictions().length >= count && predictions()),
	};
}

/** A TCP proxy in front of a port whose connections a test can cut, as a network failure would. */
export async function cuttableProxy(targetPort: number): Promise<{port: number; cutAll: () => void; close: () => Promise<void>}> {
	const sockets = new Set<net.Socket>();
	const server = net.createServer((client) => {
		const upstream = net.connect(targetPort, '127.0.0.1');
		sockets.add(client);
		sockets.add(upstream);
		client.pipe(upstream).pipe(client);
		const end = () => {
			client.destroy();
			upstream.destroy();
			sockets.delete(client);
			sockets.delete(upstream);
		};

		client.on('error', end);
		upstream.on('error', end);
		client.on('close', end);
		upstream.on('close', end);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as net.AddressInfo).port,
		cutAll: () => {
			for (const socket of sockets) socket.destroy();
		},
		close: () =>
			new Promise<void>((resolve) => {
				for (const socket of sockets) socket.destroy();
				server.close(() => resolve());
			}),
	};
}

export interface AgentProcess {
	child: ChildProcess;
	output: () => string;
	/** Kills by PID and waits for the exit. */
	kill: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts `node source/agent/run.ts …` and waits until it listens. */
export async function spawnAgent(args: string[]): Promise<AgentProcess> {
	const child = spawn(process.execPath, [path.join(repoRoot, 'source/agent/run.ts'), ...args], {
		cwd: repoRoot,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	await eventually(`the agent to listen (output so far: ${output.slice(-500)})`, 20_000, () => {
		if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}: ${output}`);
		return output.includes('modeldeck agent listening');
	});
	return {
		child,
		output: () => output,
		kill: async (signal = 'SIGKILL') => {
			if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, signal);
			await exited;
		},
	};
}
