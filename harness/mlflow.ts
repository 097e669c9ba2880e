/**
 * A real MLflow tracking server (with its Model Registry) for the registry watcher's tests: MLflow from PyPI, every
 * package pinned in harness/mlflow-requirements.txt, installed once into a Python virtual environment cached in
 * ${XDG_CACHE_HOME:-~/.cache}/modeldeck/mlflow-<version> (installed into a temporary directory, then renamed, so an
 * interrupted install leaves nothing half-made; a changed requirements file installs afresh), then `mlflow server`
 * with a SQLite backend store on a free port of 127.0.0.1, waited for (/health), and stopped by its process group.
 *
 * Usage: node harness/mlflow.ts [--print]    installs MLflow if it is not cached (what .ci/run calls)
 *
 * The venv is run as `<venv>/bin/python -m mlflow`: a venv's console scripts carry the path they were installed at
 * in their shebang, which the rename changes, while its python finds the venv from pyvenv.cfg beside it.
 *
 * Which packages: the full `mlflow` package is 900 MB (scikit-learn, scipy, pyarrow, matplotlib); `mlflow-skinny`
 * alone cannot run `mlflow server` (no Flask, SQLAlchemy, Alembic; its FastAPI app imports numpy and pandas). The
 * requirements file is mlflow-skinny plus exactly what the server imports: 360 MB. It has no web UI's files (the
 * REST API, which is all the tests use, works without them).
 */
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, renameSync, rmSync, mkdirSync, copyFileSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

/** 3.18.0 is the newest MLflow, but its `mlflow-tracing==3.18.0` is not published; 3.17.2 installs. */
export const MLFLOW_VERSION = '3.17.2';

const requirements = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mlflow-requirements.txt');

export function mlflowDir(): string {
	const cache = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
	return path.join(cache, 'modeldeck', `mlflow-${MLFLOW_VERSION}`);
}

/** The venv's python, which runs `-m mlflow`. */
export function mlflowPython(): string {
	return path.join(mlflowDir(), 'bin', 'python');
}

function python3(): string {
	for (const candidate of [process.env['MODELDECK_PYTHON'], 'python3']) {
		if (!candidate) continue;
		const probe = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info[:2] >= (3, 10))'], {encoding: 'utf8'});
		if (probe.status === 0 && probe.stdout.trim() === 'True') return candidate;
	}

	throw new Error(
		'MLflow needs Python 3.10 or newer with venv: install python3 and python3-venv (apt-get install python3-venv), or set MODELDECK_PYTHON',
	);
}

/** Installs MLflow into the cache when it is not there yet; returns the venv's python. */
export function ensureMlflow(options: {log?: (line: string) => void} = {}): string {
	const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
	const target = mlflowDir();
	const wanted = readFileSync(requirements, 'utf8');
	const installed = path.join(target, 'requirements.txt');
	if (existsSync(path.join(target, 'bin', 'python')) && existsSync(installed) && readFileSync(installed, 'utf8') === wanted)
		return mlflowPython();
	const python = python3();
	mkdirSync(path.dirname(target), {recursive: true});
	const temporary = mkdtempSync(`${target}.partial-`);
	const started = Date.now();
	try {
		log(`mlflow: installing MLflow ${MLFLOW_VERSION} (harness/mlflow-requirements.txt) from PyPI into ${target} (once; a few minutes)`);
		run(python, ['-m', 'venv', temporary]);
		run(path.join(temporary, 'bin', 'python'), [
			'-m',
			'pip',
			'install',
			'--quiet',
			'--disable-pip-version-check',
			'--no-input',
			'--requirement',
			requirements,
		]);
		run(path.join(temporary, 'bin', 'python'), [
			'-W',
			'ignore',
			'-c',
			'import mlflow.server.fastapi_app, mlflow.store.model_registry.sqlalchemy_store',
		]);
		copyFileSync(requirements, path.join(temporary, 'requirements.txt'));
		// A stale install (other requirements) goes only once the new one is complete.
		if (existsSync(target)) rmSync(target, {recursive: true, force: true});
		renameSync(temporary, target);
	} catch (error) {
		rmSync(temporary, {recursive: true, force: true});
		throw error;
	}

	log(`mlflow: installed in ${Math.round((Date.now() - started) / 1000)} s`);
	return mlflowPython();
}

function run(command: string, args: string[]): void {
	const result = spawnSync(command, args, {stdio: ['ignore', 'inherit', 'inherit'], env: {...process.env, PIP_NO_INPUT: '1'}});
	if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/** A port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface StartMlflowOptions {
	/** To start it again where it was (the same port and store), e.g. after stopping it. */
	port?: number;
	dir?: string;
	/** How long to wait for /health. Default 120000. */
	readyTimeoutMs?: number;
	/** More environment for the server, e.g. MLFLOW_WEBHOOK_ALLOWED_SCHEMES. */
	env?: Record<string, string>;
}

export interface RunningMlflow {
	/** e.g. `http://127.0.0.1:40123` */
	url: string;
	port: number;
	pid: number;
	/** Its work directory (the SQLite file, the artifacts); removed on stop unless the caller gave it. */
	dir: string;
	/** Its output so far. */
	logs(): string;
	/** SIGTERM to its process group, SIGKILL after 5 s. */
	stop(): Promise<void>;
}

/** Starts `mlflow server` with a SQLite backend store; resolves once /health answers. */
export async function startMlflow(options: StartMlflowOptions = {}): Promise<RunningMlflow> {
	const python = ensureMlflow();
	const own = options.dir === undefined;
	const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'modeldeck-mlflow-')));
	const port = options.port ?? (await freePort());
	const url = `http://127.0.0.1:${port}`;
	const child = spawn(
		python,
		[
			'-m',
			'mlflow',
			'server',
			'--backend-store-uri',
			`sqlite:///${path.join(dir, 'mlflow.db')}`,
			'--default-artifact-root',
			path.join(dir, 'artifacts'),
			'--host',
			'127.0.0.1',
			'--port',
			String(port),
			'--workers',
			'1',
		],
		{cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: {...process.env, ...options.env}},
	);
	let output = '';
	for (const stream of [child.stdout, child.stderr]) {
		stream?.setEncoding('utf8');
		stream?.on('data', (chunk: string) => {
			output = (output + chunk).slice(-20_000);
		});
	}

	let exited = false;
	let exitCode: number | null = null;
	const exitedPromise = new Promise((resolve) => {
		child.once('exit', (code, signal) => {
			exited = true;
			exitCode = code ?? (signal ? 128 : null);
			resolve(undefined);
		});
	});
	const pid = child.pid;
	if (pid === undefined) throw new Error(`could not start ${python} -m mlflow server`);

	const signalGroup = (signal: NodeJS.Signals) => {
		try {
			process.kill(-pid, signal);
		} catch {
			// Already gone.
		}
	};

	const stop = async () => {
		if (!exited) {
			signalGroup('SIGTERM');
			const killer = setTimeout(() => signalGroup('SIGKILL'), 5000);
			await exitedPromise;
			clearTimeout(killer);
		}

		// Workers it forked may outlive the parent for a moment.
		signalGroup('SIGKILL');
		if (own) await rm(dir, {recursive: true, force: true});
	};

	const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
	for (;;) {
		if (exited) {
			await stop();
			throw new Error(`mlflow server exited with code ${exitCode} before it was ready:\n${output.trim()}`);
		}

		try {
			const response = await fetch(`${url}/health`, {signal: AbortSignal.timeout(1000)});
			if (response.ok) break;
		} catch {
			// Not listening yet.
		}

		if (Date.now() > deadline) {
			await stop();
			throw new Error(`mlflow server was not ready at ${url} within the timeout:\n${output.trim()}`);
		}

		await sleep(200);
	}

	return {url, port, pid, dir, logs: () => output, stop};
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	if (process.argv.includes('--print')) {
		const there = existsSync(mlflowPython());
		process.stdout.write(`mlflow ${MLFLOW_VERSION}: ${there ? mlflowDir() : 'missing (run node harness/mlflow.ts)'}\n`);
		process.exit(there ? 0 : 1);
	}

	const started = Date.now();
	ensureMlflow();
	process.stdout.write(`mlflow ${MLFLOW_VERSION} ready in ${mlflowDir()} (${Date.now() - started} ms)\n`);
}
