// Flagger in a harness cluster: its CRDs applied, the controller and its loadtester started on the host.

import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import {parseAllDocuments} from 'yaml';
import {flaggerCrdPath, flaggerPath, loadtesterPath} from './build.ts';

/** What Flagger's helpers need of a harness cluster. */
export interface FlaggerCluster {
	server: string;
	caFile: string;
	tokens: {admin: string};
}

interface CustomResourceDefinition {
	kind?: string;
	metadata: {name: string};
}

function apiRequest(cluster: FlaggerCluster, method: string, apiPath: string, body?: unknown): Promise<{status: number; body: string}> {
	return new Promise((resolve, reject) => {
		const payload = body === undefined ? undefined : JSON.stringify(body);
		const request = https.request(
			new URL(apiPath, cluster.server),
			{
				method,
				ca: readFileSync(cluster.caFile),
				agent: false,
				timeout: 10_000,
				headers: {
					accept: 'application/json',
					authorization: `Bearer ${cluster.tokens.admin}`,
					...(payload === undefined ? {} : {'content-type': 'application/json'}),
				},
			},
			(response) => {
				let text = '';
				response.setEncoding('utf8');
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => resolve({status: response.statusCode ?? 0, body: text}));
				response.on('error', reject);
			},
		);
		request.on('timeout', () => request.destroy(new Error(`timed out: ${method} ${apiPath}`)));
		request.on('error', reject);
		if (payload !== undefined) request.write(payload);
		request.end();
	});
}

/** Applies Flagger's CRDs (Canary, MetricTemplate, AlertProvider) and waits until they are Established. */
export async function installFlaggerCrds(cluster: FlaggerCluster): Promise<void> {
	const names: string[] = [];
	for (const document of parseAllDocuments(readFileSync(flaggerCrdPath(), 'utf8'))) {
		const crd = document.toJS() as CustomResourceDefinition | null;
		if (crd?.kind !== 'CustomResourceDefinition') continue;
		const created = await apiRequest(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
		if (created.status !== 201 && created.status !== 409)
			throw new Error(`creating CRD ${crd.metadata?.name}: HTTP ${created.status} ${created.body.slice(0, 400)}`);
		names.push(crd.metadata.name);
	}

	const deadline = Date.now() + 60_000;
	for (const name of names) {
		for (;;) {
			const got = await apiRequest(cluster, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
			const conditions: {type: string; status: string}[] =
				got.status === 200
					? ((JSON.parse(got.body) as {status?: {conditions?: {type: string; status: string}[]}}).status?.conditions ?? [])
					: [];
			if (conditions.some((condition) => condition.type === 'Established' && condition.status === 'True')) break;
			if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after 60 s`);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

export interface RunningFlagger {
	pid: number;
	/** Flagger's own HTTP port (/healthz, /metrics). */
	port: number;
	/** Flagger's log so far (JSON lines). */
	logs(): string;
	/** SIGTERM by PID, SIGKILL after 5 s. */
	stop(): Promise<void>;
}

export interface StartFlaggerOptions {
	/** `istio` (default), `gatewayapi:v1`, … */
	meshProvider?: string;
	/** Prometheus URL; default an address where nothing answers (Canaries without metric checks need none). */
	metricsServer?: string;
	namespace?: string;
	/** Default `1s`. */
	controlLoopInterval?: string;
	/** How long to wait for "Started operator workers". Default 60000. */
	timeoutMs?: number;
}

/**
 * Starts Flagger against a harness cluster (its admin kubeconfig context) and waits until its caches are synced.
 */
export async function startFlagger(cluster: {kubeconfig: string}, options: StartFlaggerOptions = {}): Promise<RunningFlagger> {
	const port = await freePort();
	const args = [
		`-kubeconfig=${cluster.kubeconfig}`,
		`-mesh-provider=${options.meshProvider ?? 'istio'}`,
		`-metrics-server=${options.metricsServer ?? 'http://127.0.0.1:9'}`,
		`-control-loop-interval=${options.controlLoopInterval ?? '1s'}`,
		`-port=${port}`,
		'-log-level=debug',
		'-enable-config-tracking=false',
	];
	if (options.namespace) args.push(`-namespace=${options.namespace}`);
	const child = spawn(flaggerPath(), args, {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	child.stdout?.setEncoding('utf8').on('data', (chunk) => (output += chunk));
	child.stderr?.setEncoding('utf8').on('data', (chunk) => (output += chunk));
	const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
	let gone = false;
	void exited.then(() => (gone = true));
	const stop = async () => {
		if (gone || child.pid === undefined) return;
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
		await exited;
		clearTimeout(timer);
	};

	const deadline = Date.now() + (options.timeoutMs ?? 60_000);
	while (!output.includes('Started operator workers')) {
		if (gone) throw new Error(`flagger exited before it started: ${output.slice(-2000)}`);
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`flagger did not start within ${options.timeoutMs ?? 60_000} ms: ${output.slice(-2000)}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 100));
	}

	return {pid: child.pid ?? 0, port, logs: () => output, stop};
}

export interface RunningLoadtester {
	/** e.g. `http://127.0.0.1:40123`: its gates are `${url}/gate/check`, `/gate/open`, `/rollback/check`, … */
	url: string;
	pid: number;
	logs(): string;
	stop(): Promise<void>;
}

/** Starts Flagger's loadtester on 127.0.0.1 (its gates keep their state in memory) and waits for /healthz. */
export async function startLoadtester(): Promise<RunningLoadtester> {
	const port = await freePort();
	const child = spawn(loadtesterPath(), [`-port=${port}`, '-log-level=info'], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	child.stdout?.setEncoding('utf8').on('data', (chunk) => (output += chunk));
	child.stderr?.setEncoding('utf8').on('data', (chunk) => (output += chunk));
	let gone = false;
	const exited = new Promise((resolve) => child.on('exit', () => resolve((gone = true))));
	const stop = async () => {
		if (gone) return;
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
		await exited;
		clearTimeout(timer);
	};

	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 30_000;
	for (;;) {
		if (gone) throw new Error(`the loadtester exited: ${output.slice(-2000)}`);
		try {
			if ((await fetch(`${url}/healthz`)).ok) break;
		} catch {
			// not listening yet
		}

		if (Date.now() > deadline) {
			await stop();
			throw new Error(`the loadtester did not answer /healthz within 30 s: ${output.slice(-2000)}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 100));
	}

	return {url, pid: child.pid ?? 0, logs: () => output, stop};
}
