// @ts-check
/**
 * Starts a real Prometheus for tests, benchmarks and the local environment: its own config, data directory and free
 * port on 127.0.0.1; waits for /-/ready; stopped by PID. Plain ESM with JSDoc so anything can import it unbuilt.
 *
 * The binary comes from $MODELDECK_PROMETHEUS, then PATH, then /usr/bin/prometheus, then the cache that
 * harness/ensure-prometheus.sh builds into (${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin). promtool likewise from
 * $MODELDECK_PROMTOOL, beside the prometheus binary, PATH, /usr/bin/promtool.
 */
import {spawn, execFile} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * @typedef {object} ScrapeTarget
 * @property {string} job Job name.
 * @property {string[]} targets `host:port` addresses, e.g. `['127.0.0.1:8080']`.
 * @property {Record<string, string>} [labels] Static labels added to every series of these targets (e.g. `{namespace: 'ml'}`).
 * @property {string} [metricsPath] Default `/metrics`.
 */

/**
 * @typedef {object} StartPrometheusOptions
 * @property {ScrapeTarget[]} [scrapeTargets] What to scrape. Default none.
 * @property {number} [scrapeIntervalSeconds] Default 1.
 * @property {string} [dataDir] TSDB directory. Default a fresh temporary directory, removed on stop.
 * @property {string} [storageBlocksFrom] An OpenMetrics file turned into TSDB blocks (promtool tsdb
 *   create-blocks-from openmetrics) in the data directory before Prometheus starts.
 * @property {number} [readyTimeoutMs] How long to wait for /-/ready. Default 30000.
 * @property {string} [listenHost] The address to listen on. Default `127.0.0.1`; a non-loopback one (or `0.0.0.0`) to be reached through a Service.
 * @property {string[]} [extraArgs] More prometheus flags.
 */

/**
 * @typedef {object} RunningPrometheus
 * @property {string} url e.g. `http://127.0.0.1:40123`.
 * @property {number} port
 * @property {number} pid
 * @property {string} dataDir
 * @property {string} binary The prometheus binary used.
 * @property {() => string} logs Prometheus's stderr so far (for failure messages).
 * @property {() => Promise<void>} stop SIGTERM by PID, SIGKILL after 5 s; removes directories it created.
 */

export function cacheBinDir() {
	const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
	return path.join(cache, 'modeldeck', 'bin');
}

/**
 * @param {string} name
 * @returns {string | undefined}
 */
function onPath(name) {
	for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
		if (!directory) continue;
		const candidate = path.join(directory, name);
		if (existsSync(candidate)) return candidate;
	}
	return undefined;
}

/** @returns {string} */
export function prometheusBinary() {
	const candidates = [
		process.env.MODELDECK_PROMETHEUS,
		onPath('prometheus'),
		'/usr/bin/prometheus',
		path.join(cacheBinDir(), 'prometheus'),
	];
	for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
	throw new Error(
		'Prometheus is not installed: set MODELDECK_PROMETHEUS to its binary, or run `bash harness/ensure-prometheus.sh` ' +
			"(installs Debian's prometheus package, or builds it with Go).",
	);
}

/** @returns {string} */
export function promtoolBinary() {
	let beside;
	try {
		beside = path.join(path.dirname(prometheusBinary()), 'promtool');
	} catch {
		beside = undefined;
	}
	const candidates = [
		process.env.MODELDECK_PROMTOOL,
		beside,
		onPath('promtool'),
		'/usr/bin/promtool',
		path.join(cacheBinDir(), 'promtool'),
	];
	for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
	throw new Error('promtool is not installed: set MODELDECK_PROMTOOL to its binary, or run `bash harness/ensure-prometheus.sh`.');
}

/** @returns {Promise<number>} a port free on 127.0.0.1 right now. */
export function freePort() {
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

/**
 * The prometheus.yml for these targets. YAML is written by hand: every value is quoted JSON, which is valid YAML.
 * @param {ScrapeTarget[]} scrapeTargets
 * @param {number} scrapeIntervalSeconds
 * @returns {string}
 */
export function prometheusConfig(scrapeTargets, scrapeIntervalSeconds) {
	const lines = [
		'global:',
		`  scrape_interval: ${Math.round(scrapeIntervalSeconds * 1000)}ms`,
		`  evaluation_interval: ${Math.round(scrapeIntervalSeconds * 1000)}ms`,
		// Prometheus durations take whole units, so milliseconds.
		`  scrape_timeout: ${Math.round(Math.max(0.5, Math.min(10, scrapeIntervalSeconds * 0.8)) * 1000)}ms`,
		'scrape_configs:',
	];
	if (scrapeTargets.length === 0) lines[lines.length - 1] = 'scrape_configs: []';
	for (const target of scrapeTargets) {
		lines.push(`  - job_name: ${JSON.stringify(target.job)}`);
		lines.push(`    metrics_path: ${JSON.stringify(target.metricsPath ?? '/metrics')}`);
		lines.push('    static_configs:');
		lines.push(`      - targets: ${JSON.stringify(target.targets)}`);
		if (target.labels && Object.keys(target.labels).length > 0) {
			lines.push('        labels:');
			for (const [name, value] of Object.entries(target.labels)) {
				lines.push(`          ${name}: ${JSON.stringify(value)}`);
			}
		}
	}
	return `${lines.join('\n')}\n`;
}

/**
 * Turns an OpenMetrics file into TSDB blocks in `dataDir`.
 * @param {string} openMetricsFile
 * @param {string} dataDir
 */
export async function createBlocks(openMetricsFile, dataDir) {
	const promtool = promtoolBinary();
	try {
		await execFileAsync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', openMetricsFile, dataDir], {
			maxBuffer: 16 * 1024 * 1024,
		});
	} catch (error) {
		const detail = /** @type {{stderr?: string, message: string}} */ (error);
		throw new Error(`promtool could not turn ${openMetricsFile} into TSDB blocks: ${(detail.stderr || detail.message).trim()}`);
	}
}

/**
 * @param {number} ms
 */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {StartPrometheusOptions} [options]
 * @returns {Promise<RunningPrometheus>}
 */
export async function startPrometheus(options = {}) {
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
	/** @type {number | null} */
	let exitCode = null;
	let exited = false;
	const exitedPromise = new Promise((resolve) => {
		child.once('exit', (code, signal) => {
			exited = true;
			exitCode = code ?? (signal ? 128 : null);
			resolve(undefined);
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
 * Waits until every target Prometheus scrapes is up and has been scraped `scrapes` times (by watching `up`).
 * @param {string} url Prometheus base URL.
 * @param {{targets: number, timeoutMs?: number}} options
 */
export async function waitForTargets(url, options) {
	const deadline = Date.now() + (options.timeoutMs ?? 30_000);
	for (;;) {
		try {
			const response = await fetch(`${url}/api/v1/targets?state=active`, {signal: AbortSignal.timeout(2000)});
			const body = /** @type {{data: {activeTargets: Array<{health: string}>}}} */ (await response.json());
			const healthy = body.data.activeTargets.filter((target) => target.health === 'up').length;
			if (healthy >= options.targets) return;
		} catch {
			// Try again.
		}
		if (Date.now() > deadline) throw new Error(`Prometheus at ${url}: fewer than ${options.targets} targets up in time`);
		await sleep(200);
	}
}
