/**
 * A model server in a process of its own (node running source/model-server/server.ts), so that what a judge measures
 * on it is not the noise of the test's own event loop (an agent, a runner and Prometheus queries share that one, and a
 * server started in it answers late whenever they are busy).
 */
import {spawn} from 'node:child_process';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

export interface ModelServerProcess {
	url: string;
	port: number;
	close(): Promise<void>;
}

const serverModule = pathToFileURL(path.resolve(import.meta.dirname, '../../source/model-server/server.ts')).href;

export async function startModelServerProcess(options: {
	model: string;
	version: string;
	namespace: string;
	latencyMs: number;
}): Promise<ModelServerProcess> {
	const script = `
import {startModelServer} from ${JSON.stringify(serverModule)};
const server = await startModelServer(${JSON.stringify({model: options.model, modelVersion: options.version, namespace: options.namespace, port: 0, knobs: {latencyMs: options.latencyMs}})});
process.stdout.write('listening ' + server.port + '\\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
`;
	const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const port = await new Promise<number>((resolve, reject) => {
		child.stdout!.on('data', (chunk: Buffer) => {
			output += chunk.toString();
			const match = /listening (\d+)/.exec(output);
			if (match) resolve(Number(match[1]));
		});
		child.once('exit', (code) => reject(new Error(`the model server exited with ${code}: ${output}`)));
	});
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		async close() {
			if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
			await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
			if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
		},
	};
}
