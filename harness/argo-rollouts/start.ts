// The Argo Rollouts controller in a harness cluster: its CRDs applied, the operator user granted what Argo's
// aggregate-to-edit role gives, and the controller started on the host against the cluster's admin context.

import {spawn} from 'node:child_process';
import {mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {parseAllDocuments} from 'yaml';
import {grant} from '../rbac.ts';
import {ARGO_ROLLOUTS_VERSION, ENV, moduleDir, rolloutsControllerPath} from './build.ts';

/**
 * Installs the Argo Rollouts CRDs (Rollout, AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate, Experiment: the
 * controller watches them all) from the module's manifests/crds, and waits until they are Established. Resolves with
 * their names.
 */
export async function installRolloutsCrds(cluster: ApiCluster): Promise<string[]> {
	const crdDir = path.join(moduleDir(), 'manifests', 'crds');
	const names: string[] = [];
	for (const file of readdirSync(crdDir)
		.filter((name) => name.endsWith('-crd.yaml'))
		.sort()) {
		for (const doc of parseAllDocuments(readFileSync(path.join(crdDir, file), 'utf8'))) {
			const crd = doc.toJS() as {kind?: string; metadata: {name: string}} | null;
			if (crd?.kind !== 'CustomResourceDefinition') continue;
			const response = await api(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
			if (response.status !== 201 && response.status !== 409)
				throw new Error(`creating CRD ${crd.metadata.name}: HTTP ${response.status} ${response.body.slice(0, 300)}`);
			names.push(crd.metadata.name);
		}
	}
	const deadline = Date.now() + 60_000;
	for (const name of names) {
		for (;;) {
			const response = await api(cluster, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
			const established =
				response.status === 200 &&
				((JSON.parse(response.body) as {status?: {conditions?: {type: string; status: string}[]}}).status?.conditions ?? []).some(
					(c) => c.type === 'Established' && c.status === 'True',
				);
			if (established) break;
			if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after 60 s`);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}
	return names;
}

/**
 * The harness's operator user gets what Argo Rollouts' own install gives editors (its aggregate-to-edit role): read
 * Rollouts and AnalysisRuns everywhere, patch Rollouts and their status in the operator's namespace (team-a).
 */
async function grantOperator(cluster: ApiCluster): Promise<void> {
	const read = ['get', 'list', 'watch'];
	const objects = [
		...grant('modeldeck:operator-argo-rollouts-read', 'operator', [
			{apiGroups: ['argoproj.io'], resources: ['rollouts', 'analysisruns', 'analysistemplates'], verbs: read},
		]),
		...grant(
			'modeldeck:operator-argo-rollouts',
			'operator',
			[{apiGroups: ['argoproj.io'], resources: ['rollouts', 'rollouts/status'], verbs: [...read, 'patch']}],
			'team-a',
		),
	];
	for (const [collection, object] of objects) {
		const response = await api(cluster, 'POST', collection, object);
		if (response.status !== 201 && response.status !== 409)
			throw new Error(`creating ${object.kind} ${object.metadata.name}: HTTP ${response.status} ${response.body.slice(0, 300)}`);
	}
}

/** What the controller's helpers need of a harness cluster to call its API server as admin. */
export interface ApiCluster {
	server: string;
	caFile: string;
	tokens: {admin: string};
}

/** A harness cluster, as startRolloutsController needs it. */
export interface ClusterForRollouts extends ApiCluster {
	kubeconfig: string;
	dir: string;
}

export interface RunningRolloutsController {
	pid: number;
	/** The controller's log file, under the cluster's state dir. */
	log: string;
	/** SIGTERM, then SIGKILL after 5 s, to the process started. */
	stop(): Promise<void>;
}

async function api(cluster: ApiCluster, method: string, pathname: string, body?: unknown): Promise<{status: number; body: string}> {
	const https = await import('node:https');
	return new Promise((resolve, reject) => {
		const payload = body === undefined ? undefined : JSON.stringify(body);
		const request = https.request(
			new URL(pathname, cluster.server),
			{
				method,
				ca: readFileSync(cluster.caFile),
				headers: {
					authorization: `Bearer ${cluster.tokens.admin}`,
					accept: 'application/json',
					...(payload ? {'content-type': 'application/json'} : {}),
				},
				agent: false,
				timeout: 30_000,
			},
			(response) => {
				let text = '';
				response.setEncoding('utf8');
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => resolve({status: response.statusCode ?? 0, body: text}));
			},
		);
		request.on('timeout', () => request.destroy(new Error(`timed out: ${method} ${pathname}`)));
		request.on('error', reject);
		if (payload) request.write(payload);
		request.end();
	});
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}

/**
 * Installs the CRDs and starts the controller against the cluster's admin context; resolves once it answers its
 * health check. `stop()` ends the process it started (SIGTERM, then SIGKILL).
 */
export async function startRolloutsController(
	cluster: ClusterForRollouts,
	options: {log?: (line: string) => void; timeoutMs?: number} = {},
): Promise<RunningRolloutsController> {
	const binary = rolloutsControllerPath();
	if (!binary)
		throw new Error(
			`no rollouts-controller: run \`node harness/argo-rollouts.ts\` (or npm run harness:build) to build ${ARGO_ROLLOUTS_VERSION}, or set ${ENV}`,
		);
	await installRolloutsCrds(cluster);
	await grantOperator(cluster);
	const [metricsPort, healthzPort] = [await freePort(), await freePort()];
	const logFile = path.join(cluster.dir, 'logs', 'rollouts-controller.log');
	mkdirSync(path.dirname(logFile), {recursive: true});
	const out = openSync(logFile, 'a');
	// Run it as `rollouts-controller`, the name it has in Argo's image: its writes are then recorded in managedFields
	// under the manager name a real cluster shows (client-go names the manager after the binary).
	const named = path.join(cluster.dir, 'bin', 'rollouts-controller');
	mkdirSync(path.dirname(named), {recursive: true});
	rmSync(named, {force: true});
	symlinkSync(binary, named);
	const child = spawn(
		named,
		[
			`--kubeconfig=${cluster.kubeconfig}`,
			'--context=admin',
			'--leader-elect=false',
			`--metricsPort=${metricsPort}`,
			`--healthzPort=${healthzPort}`,
			'--loglevel=info',
			'--logformat=text',
			// Short resyncs: the tests read back what the controller does within seconds.
			'--rollout-resync=10',
		],
		{stdio: ['ignore', out, out], env: {...process.env, HOME: cluster.dir}},
	);
	const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
	const deadline = Date.now() + (options.timeoutMs ?? 60_000);
	for (;;) {
		const gone = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 250))]);
		if (gone) throw new Error(`rollouts-controller ended (${gone}) before it was healthy: ${tail(logFile)}`);
		const healthy = await fetch(`http://127.0.0.1:${healthzPort}/healthz`).then(
			(r) => r.ok,
			() => false,
		);
		if (healthy) break;
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`rollouts-controller not healthy after ${options.timeoutMs ?? 60_000} ms: ${tail(logFile)}`);
		}
	}
	options.log?.(`rollouts-controller ${ARGO_ROLLOUTS_VERSION} pid ${child.pid} up; log ${logFile}`);
	return {
		pid: child.pid ?? 0,
		log: logFile,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) return;
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
			await exited;
			clearTimeout(timer);
		},
	};
}

function tail(file: string): string {
	try {
		return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
	} catch {
		return '(no log)';
	}
}
