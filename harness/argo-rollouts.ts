#!/usr/bin/env node
// The real Argo Rollouts controller for the harness: built once from the Go module proxy (module
// github.com/argoproj/argo-rollouts, whose go.mod carries the `replace` directives it needs, so it is built inside a
// copy of the module itself rather than `go install`ed), cached as ${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin/
// rollouts-controller-<version>, and started against a harness cluster after its CRDs (the module's manifests/crds)
// are installed. The test stops the process it started.
//
// Usage: node harness/argo-rollouts.ts [--print] [--force]   (build-binaries.ts calls ensureRolloutsController())
//
// v1.10.1, not v1.10.2: v1.10.2's go.mod asks for a newer Go 1.26 patch than this machine has.

import {spawn, spawnSync} from 'node:child_process';
import {
	accessSync,
	chmodSync,
	constants,
	cpSync,
	mkdirSync,
	mkdtempSync,
	openSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	symlinkSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseAllDocuments} from 'yaml';

export const ARGO_ROLLOUTS_MODULE = 'github.com/argoproj/argo-rollouts';
export const ARGO_ROLLOUTS_VERSION = 'v1.10.1';
const ENV = 'MODELDECK_ROLLOUTS_CONTROLLER';

/** The harness's binary cache (as build-binaries.ts has it; not imported from there, which imports this). */
function binDir(): string {
	return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'modeldeck', 'bin');
}

/** ~/.cache/modeldeck/bin/rollouts-controller-<version> */
export function cachedControllerPath(): string {
	return path.join(binDir(), `rollouts-controller-${ARGO_ROLLOUTS_VERSION}`);
}

function isExecutable(file: string): boolean {
	try {
		if (!statSync(file).isFile()) return false;
		accessSync(file, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

/** The controller binary: $MODELDECK_ROLLOUTS_CONTROLLER, else the cache; undefined when neither exists. */
export function rolloutsControllerPath(): string | undefined {
	const fromEnv = process.env[ENV];
	if (fromEnv) return fromEnv;
	const cached = cachedControllerPath();
	return isExecutable(cached) ? cached : undefined;
}

/** Where the Go module cache holds the module's source (downloaded from the Go module proxy if it is not there yet). */
export function moduleDir(): string {
	const tmp = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-argo-mod-'));
	try {
		const r = spawnSync('go', ['mod', 'download', '-json', `${ARGO_ROLLOUTS_MODULE}@${ARGO_ROLLOUTS_VERSION}`], {
			cwd: tmp,
			encoding: 'utf8',
			env: {...process.env, GO111MODULE: 'on', GOFLAGS: ''},
		});
		if (r.error || r.status !== 0) {
			throw new Error(
				`go mod download ${ARGO_ROLLOUTS_MODULE}@${ARGO_ROLLOUTS_VERSION} failed (needs Go 1.26 on PATH and the Go module proxy): ${r.error?.message ?? r.stderr}`,
			);
		}
		const info = JSON.parse(r.stdout) as {Dir?: string};
		if (!info.Dir) throw new Error(`go mod download gave no directory for ${ARGO_ROLLOUTS_MODULE}: ${r.stdout.slice(0, 300)}`);
		return info.Dir;
	} finally {
		rmSync(tmp, {recursive: true, force: true});
	}
}

function run(cmd: string, args: string[], opts: {cwd: string; env: NodeJS.ProcessEnv}): Promise<void> {
	return new Promise<void>((resolve, reject) => {
		const child = spawn(cmd, args, {cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'inherit', 'inherit']});
		child.on('error', reject);
		child.on('exit', (code, signal) =>
			code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
		);
	});
}

/**
 * Builds the controller into the cache unless it is there (or named by $MODELDECK_ROLLOUTS_CONTROLLER). Resolves with
 * the binary.
 */
export async function ensureRolloutsController(options: {log?: (line: string) => void; force?: boolean} = {}): Promise<string> {
	const log = options.log ?? ((line: string) => console.log(`[harness:build] ${line}`));
	const existing = rolloutsControllerPath();
	if (existing && !(options.force && existing === cachedControllerPath())) {
		log(`rollouts-controller ${ARGO_ROLLOUTS_VERSION}: ${existing} (${process.env[ENV] ? 'env' : 'cache'})`);
		return existing;
	}
	const started = Date.now();
	log(`building rollouts-controller ${ARGO_ROLLOUTS_VERSION} from ${ARGO_ROLLOUTS_MODULE} (first time: ~10-20 min on 2 cores) ...`);
	const source = moduleDir();
	const dir = binDir();
	mkdirSync(dir, {recursive: true});
	const tmp = mkdtempSync(path.join(dir, '.build-rollouts-'));
	try {
		// The module cache is read-only, and the build must run inside the module (its go.mod has the replaces).
		const work = path.join(tmp, 'src');
		cpSync(source, work, {recursive: true});
		chmodRecursive(work);
		await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', path.join(tmp, 'rollouts-controller'), './cmd/rollouts-controller'], {
			cwd: work,
			env: {...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local'},
		});
		renameSync(path.join(tmp, 'rollouts-controller'), cachedControllerPath());
	} finally {
		rmSync(tmp, {recursive: true, force: true});
	}
	log(`built rollouts-controller in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	return cachedControllerPath();
}

function chmodRecursive(dir: string): void {
	chmodSync(dir, 0o755);
	for (const entry of readdirSync(dir, {withFileTypes: true})) {
		const file = path.join(dir, entry.name);
		if (entry.isDirectory()) chmodRecursive(file);
		else chmodSync(file, 0o644);
	}
}

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
	const rbac = '/apis/rbac.authorization.k8s.io/v1';
	const read = ['get', 'list', 'watch'];
	const objects: [string, {kind: string; metadata: {name: string; namespace?: string}; [field: string]: unknown}][] = [
		[
			`${rbac}/clusterroles`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'ClusterRole',
				metadata: {name: 'modeldeck:operator-argo-rollouts-read'},
				rules: [{apiGroups: ['argoproj.io'], resources: ['rollouts', 'analysisruns', 'analysistemplates'], verbs: read}],
			},
		],
		[
			`${rbac}/clusterrolebindings`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'ClusterRoleBinding',
				metadata: {name: 'modeldeck:operator-argo-rollouts-read'},
				roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'modeldeck:operator-argo-rollouts-read'},
				subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'operator'}],
			},
		],
		[
			`${rbac}/namespaces/team-a/roles`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'Role',
				metadata: {name: 'modeldeck:operator-argo-rollouts', namespace: 'team-a'},
				rules: [{apiGroups: ['argoproj.io'], resources: ['rollouts', 'rollouts/status'], verbs: [...read, 'patch']}],
			},
		],
		[
			`${rbac}/namespaces/team-a/rolebindings`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'RoleBinding',
				metadata: {name: 'modeldeck:operator-argo-rollouts', namespace: 'team-a'},
				roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'modeldeck:operator-argo-rollouts'},
				subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'operator'}],
			},
		],
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

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const args = process.argv.slice(2);
	try {
		if (args.includes('--print')) {
			const found = rolloutsControllerPath();
			console.log(`rollouts-controller\t${ARGO_ROLLOUTS_VERSION}\t${found ?? 'missing'}`);
			process.exit(found ? 0 : 1);
		}
		await ensureRolloutsController({force: args.includes('--force')});
	} catch (error) {
		console.error(`[harness:build] ${error instanceof Error ? error.message : String(error)}`);
		process.exit(1);
	}
}
