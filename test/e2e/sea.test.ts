/**
 * The single executable (`npm run sea`, scripts/sea.ts): built here for this machine's platform, then run with a PATH
 * that holds only this machine's own old Node (20 on the CI image), so nothing it does can lean on a Node 22+ outside
 * it. It draws the demo's first frame in a pty, prints its version, answers `status --demo --json`, runs the agent
 * with its SQLite store (node:sqlite inside the executable) and the model server.
 *
 * The build takes about a minute on a loaded 2-core machine; it runs every time, so the executable tested is the one
 * the current source makes. On a platform the build cannot target it is skipped, and says why.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {runProcess, type ProcessRun} from '../support/child-process.ts';
import {PtyTerminal} from '../support/terminal.ts';

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string};
const target = `${process.platform}-${process.arch}`;
const out = path.resolve('build/sea-test');
const executable = path.join(out, `modeldeck-${target}`);
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-sea-'));

/** Why the build cannot run here, or undefined when it can. */
function cannotBuild(): string | undefined {
	if (process.platform !== 'linux')
		return `the test builds only on Linux (this is ${target}); macOS executables are built and signed by the release workflow's macOS job`;
	if (!['x64', 'arm64'].includes(process.arch)) return `Node publishes no ${target} binary for the executable`;
	return undefined;
}

const skipReason = cannotBuild();
if (skipReason) console.warn(`test/e2e/sea.test.ts skipped: ${skipReason}`);

/** This machine's own Node older than 22 (the engines range), found as test/e2e/node-version.test.ts finds it. */
function oldNode(): string {
	for (const candidate of [process.env['MODELDECK_OLD_NODE'], '/usr/bin/node', '/usr/local/bin/node']) {
		if (!candidate || !existsSync(candidate)) continue;
		const version = spawnSync(candidate, ['--version'], {encoding: 'utf8'}).stdout?.trim() ?? '';
		const major = Number(/^v(\d+)\./.exec(version)?.[1]);
		if (major < 22) return candidate;
	}

	throw new Error(
		'No Node.js older than 22 at /usr/bin/node or /usr/local/bin/node (the CI image has 20 at /usr/bin/node); set MODELDECK_OLD_NODE=/path/to/an/old/node.',
	);
}

/** A directory holding nothing but `node`, this machine's old Node: the whole PATH of every run below. */
const onlyOldNode = path.join(directory, 'path');
/** The environment of every run: PATH with only the old Node on it, no NODE_OPTIONS that would reach the executable's Node. */
let env: NodeJS.ProcessEnv = {};
const children: ChildProcess[] = [];
let terminal: PtyTerminal | undefined;

function run(args: string[], livenessMs = 30_000): Promise<ProcessRun> {
	return runProcess(executable, args, {cwd: directory, env, livenessMs});
}

/** Starts a server the executable runs and resolves with its first output line that matches LISTENING. */
function startServer(args: string[], listening: RegExp): Promise<RegExpExecArray> {
	const child = spawn(executable, args, {cwd: directory, env, stdio: ['ignore', 'pipe', 'pipe']});
	children.push(child);
	let output = '';
	return new Promise((resolve, reject) => {
		const seen = (chunk: Buffer) => {
			output += chunk.toString();
			const match = listening.exec(output);
			if (match) resolve(match);
		};
		child.stdout.on('data', seen);
		child.stderr.on('data', seen);
		child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${output}`)));
	});
}

beforeAll(async () => {
	if (skipReason) return;
	mkdirSync(onlyOldNode);
	symlinkSync(oldNode(), path.join(onlyOldNode, 'node'));
	env = {PATH: onlyOldNode, HOME: directory, TERM: 'xterm-256color', MODELDECK_CONFIG_DIR: path.join(directory, 'config')};
	rmSync(out, {recursive: true, force: true});
	// Built with this (new) Node, niced: other work shares the machine.
	const built = await runProcess('nice', [process.execPath, 'scripts/sea.ts', '--targets', 'host', '--out', out], {
		env: process.env,
		livenessMs: 240_000,
	});
	if (built.code !== 0) throw new Error(`npm run sea failed (exit ${built.code}):\n${built.stdout}\n${built.stderr}`);
}, 300_000);

afterEach(() => {
	terminal?.kill();
	terminal = undefined;
	for (const child of children.splice(0)) child.kill('SIGTERM');
});

afterAll(() => {
	rmSync(directory, {recursive: true, force: true});
	rmSync(out, {recursive: true, force: true});
});

describe.skipIf(skipReason !== undefined)(
	`the single executable for ${target}, with only Node ${process.platform === 'linux' ? '20' : 'old'} on PATH`,
	() => {
		it('is one native executable, not a script for a Node on PATH', () => {
			const head = readFileSync(executable).subarray(0, 4);
			expect([...head]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // ELF
			expect(statSync(executable).mode & 0o111).not.toBe(0);
			// The only other file built is the bundle it embeds.
			expect(existsSync(path.join(out, 'modeldeck.cjs'))).toBe(true);
		});

		it('prints its version, answers `status --demo --json` and prints its completion script', async () => {
			expect(await run(['--version'])).toEqual({code: 0, stdout: `${manifest.version}\n`, stderr: ''});
			const status = await run(['status', '--demo', '--json']);
			expect(status.stderr).toBe('');
			expect(status.code).toBe(0);
			const document = JSON.parse(status.stdout) as {schema: string; models: Array<{name: string}>};
			expect(document.schema).toBe('modeldeck.status/v1');
			expect(document.models.map((model) => model.name)).toContain('fraud-detector');
			const completion = await run(['completion', 'bash']);
			expect(completion.code).toBe(0);
			expect(completion.stdout).toContain('complete -F _modeldeck modeldeck');
			expect((await run(['__complete', 'models', '--', 'weight', '--demo'])).stdout.split('\n')).toContain('fraud-detector');
		});

		it('draws the demo to its first frame in a pty and quits on q', async () => {
			terminal = PtyTerminal.spawn(executable, ['--demo'], {cwd: directory, env: {...env, COLORTERM: undefined}});
			const screen = await terminal.waitFor(/sentiment/, 30_000);
			expect(screen).toContain('DEMO');
			expect(screen).toContain('fraud-detector');
			terminal.press('q');
			expect(await terminal.exited).toBe(0);
		});

		it('runs the agent with its SQLite store: a logged prediction is stored in the file and found by its request id', async () => {
			const kubeconfig = path.join(directory, 'kubeconfig');
			// An API server that is not there: the agent starts, serves, and retries the cluster in the background.
			await import('node:fs/promises').then(({writeFile}) =>
				writeFile(
					kubeconfig,
					'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
				),
			);
			const database = path.join(directory, 'agent.db');
			const [, port] = await startServer(
				['agent', '--listen', '127.0.0.1:0', '--kubeconfig', kubeconfig, '--db', database, '--no-auth'],
				/listening on 127\.0\.0\.1:(\d+)/,
			);
			const base = `http://127.0.0.1:${port}`;
			const logged = await fetch(`${base}/v1/logs`, {
				method: 'POST',
				headers: {'content-type': 'application/json'},
				body: JSON.stringify({requestId: 'sea-check-1', model: 'fraud', namespace: 'team-a', version: 'v1', latencyMs: 5}),
			});
			expect(logged.status).toBeLessThan(300);
			const found = (await (await fetch(`${base}/v1/predictions?requestId=sea-check-1`)).json()) as unknown;
			expect(JSON.stringify(found)).toContain('"sea-check-1"');
			// SQLite's own file header: node:sqlite wrote it.
			expect(readFileSync(database).subarray(0, 15).toString()).toBe('SQLite format 3');
		});

		it('runs the model server, which answers an inference', async () => {
			const [, url] = await startServer(
				['model-server', '--listen', '127.0.0.1:0', '--model', 'fraud', '--model-version', 'v2'],
				/listening on (http:\/\/\S+?) /,
			);
			const response = await fetch(`${url}/v2/models/fraud/infer`, {
				method: 'POST',
				headers: {'content-type': 'application/json'},
				body: JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]}),
			});
			expect(response.status).toBe(200);
			const body = (await response.json()) as {model_name: string; outputs: unknown[]};
			expect(body.model_name).toBe('fraud');
			expect(body.outputs.length).toBeGreaterThan(0);
		});
	},
);
