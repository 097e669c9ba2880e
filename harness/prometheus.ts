/**
 * Starts a real Prometheus for tests, benchmarks and the local environment: its own config, data directory and free
 * port on 127.0.0.1; waits for /-/ready; stopped by PID. TypeScript that Node runs directly, so anything can import it unbuilt.
 *
 * The binary comes from $MODELDECK_PROMETHEUS, then PATH, then /usr/bin/prometheus, then the cache that
 * harness/ensure-prometheus.sh builds into (${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin). promtool likewise from
 * $MODELDECK_PROMTOOL, beside the prometheus binary, PATH, /usr/bin/promtool.
 */
import {spawn} from 'node:child_process';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {prometheusBinary} from './prometheus/binaries.ts';
import {createBlocks, prometheusConfig, type ScrapeTarget} from './prometheus/config.ts';

export {cacheBinDir, prometheusBinary, promtoolBinary} from './prometheus/binaries.ts';
export {createBlocks, prometheusConfig, type ScrapeTarget} from './prometheus/config.ts';

export interface StartPrometheusOptions {
	/** What to scrape. Default none. */
	scrapeTargets?: ScrapeTarget[];
	/** Default 1. */
	scrapeIntervalSeconds?: number;
	/** TSDB directory. Default a fresh temporary directory, removed on stop. */
	dataDir?: string;
	/**
	 * An OpenMetrics file turned into TSDB blocks (promtool tsdb create-blocks-from openmetrics) in the data directory
	 * before Prometheus starts.
	 */
	storageBlocksFrom?: string;
	/** How long to wait for /-/ready. Default 30000. */
	readyTimeoutMs?: number;
	/** The address to listen on. Default `127.0.0.1`; a non-loopback one (or `0.0.0.0`) to be reached through a Service. */
	listenHost?: string;
	/** More prometheus flags. */
	extraArgs?: string[];
}

export interface RunningPrometheus {
	/** e.g. `http://127.0.0.1:40123` */
	url: string;
	port: number;
	pid: number;
	dataDir: string;
	/** The prometheus binary used. */
	binary: string;
	/** Prometheus's stderr so far (for failure messages). */
	logs(): string;
	/** SIGTERM by PID, SIGKILL after 5 s; removes the directories it created. */
	stop(): Promise<void>;
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
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

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<RunningPrometheus> {
	const binary = prometheusBinary();
	const scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 1;
	const workDir = await mkdtemp(path.join(os.tmpdir(), 'modeldeck-prometheus-'));
	const dataDir = options.dataDir ?? path.join(workDir, 'data');
	await mkdir(dataDir, {recursive: true});
	const configFile = path.join(workDir, 'prometheus.yml');
	await writeFile(configFile, prometheusConfig(options.scrapeTargets ?? [], scrapeIntervalSeconds));
	if (options.storageBlocksFrom) await createBlocks(options.storageBlocksFrom, dataDir);

	const port = await freePort();
	// Behind a Service of the local control plane (the API server's service proxy dials no loopback address), it
	// listens on the host's own address instead.
	const listenHost = options.listenHost ?? '127.0.0.1';
	const url = `http://${listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost}:${port}`;
	const child = spawn(
		binary,
		[
			`--config.file=${configFile}`,
			`--storage.tsdb.path=${dataDir}`,
			`--web.listen-address=${listenHost}:${port}`,
			// Imported blocks may be old; keep them whatever their age.
			'--storage.tsdb.retention.time=100y',
			'--web.enable-lifecycle',
			'--log.level=warn',
			...(options.extraArgs ?? []),
		],
		{stdio: ['ignore', 'ignore', 'pipe']},
	);
	let stderr = '';
	child.stderr?.setEncoding('utf8');
	child.stderr?.on('data', (chunk) => {
		stderr = (stderr + chunk).slice(-20_000);
	});
	let exitCode: number | null = null;
	let exited = false;
	const exitedPromise = new Promise<void>((resolve) => {
		child.once('exit', (code, signal) => {
			exited = true;
			exitCode = code ?? (signal ? 128 : null);
			resolve();
		});
	});
	const pid = child.pid;
	if (pid === undefined) {
		await rm(workDir, {recursive: true, force: true});
		throw new Error(`Could not start ${binary}`);
	}

	const stop = async () => {
		if (!exited) {
			process.kill(pid, 'SIGTERM');
			const killer = setTimeout(() => {
				if (!exited) process.kill(pid, 'SIGKILL');
			}, 5000);
			await exitedPromise;
			clearTimeout(killer);
		}
		// The data directory goes with the work directory unless the caller gave its own.
		await rm(workDir, {recursive: true, force: true});
	};

	const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
	for (;;) {
		if (exited) {
			await stop();
			throw new Error(`Prometheus (${binary}) exited with code ${exitCode} before it was ready:\n${stderr.trim()}`);
		}
		try {
			const response = await fetch(`${url}/-/ready`, {signal: AbortSignal.timeout(1000)});
			if (response.ok) break;
		} catch {
			// Not listening yet.
		}
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`Prometheus (${binary}) was not ready at ${url} within the timeout:\n${stderr.trim()}`);
		}
		await sleep(100);
	}

	return {url, port, pid, dataDir, binary, logs: () => stderr, stop};
}

/**
 * Waits until at least `options.targets` of the targets Prometheus (at base URL `url`) scrapes are up.
 */
export async function waitForTargets(url: string, options: {targets: number; timeoutMs?: number}): Promise<void> {
	const deadline = Date.now() + (options.timeoutMs ?? 30_000);
	for (;;) {
		try {
			const response = await fetch(`${url}/api/v1/targets?state=active`, {signal: AbortSignal.timeout(2000)});
			const body = (await response.json()) as {data: {activeTargets: Array<{health: string}>}};
			const healthy = body.data.activeTargets.filter((target) => target.health === 'up').length;
			if (healthy >= options.targets) return;
		} catch {
			// Try again.
		}
		if (Date.now() > deadline) throw new Error(`Prometheus at ${url}: fewer than ${options.targets} targets up in time`);
		await sleep(200);
	}
}
