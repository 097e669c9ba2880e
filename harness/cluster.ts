// A real local Kubernetes control plane for tests and for people trying modeldeck without a cluster:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback, with RBAC, static-token users
// (admin, viewer, operator), service-account token signing, modeldeck's CRDs and two fake nodes on which kwok makes
// pods Running and Ready. Everything it starts is recorded by PID in the state directory and stopped by PID.
//
// TypeScript that Node runs directly (types stripped): no build step, importable from tests and from scripts.
//
//   import { startCluster } from '../../harness/cluster.ts';
//   const cluster = await startCluster();          // a temporary state dir, removed by stop()
//   ... cluster.kubeconfig, cluster.tokens.viewer ...
//   await cluster.stop();

import {type ChildProcess, execFileSync, spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseAllDocuments} from 'yaml';
import {cacheRoot, resolveBinaries} from './build-binaries.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.dirname(here);
const crdDir = path.join(repoRoot, 'deploy', 'crds');
const kwokStages = path.join(here, 'kwok-stages.yaml');

/** Namespaces the harness creates; the operator may change things in the first only. */
export const NAMESPACES = ['team-a', 'team-b'] as const;
export const OPERATOR_NAMESPACE = 'team-a' as const;
export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1'] as const;
const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1';
const PID_FILE = 'pids.json';
const STATE_FILE = 'cluster.json';

export interface Tokens {
	admin: string;
	viewer: string;
	operator: string;
}

export interface ProcessRecord {
	name: string;
	pid: number;
	bin: string;
	log: string;
}

export interface Cluster {
	/** kubeconfig with contexts admin (current), viewer and operator */
	kubeconfig: string;
	/** https://127.0.0.1:<port> */
	server: string;
	/** the CA that signed the API server's certificate */
	caFile: string;
	tokens: Tokens;
	/** state dir: pki/, logs/, kubeconfigs/, etcd/, pids.json, kubeconfig */
	dir: string;
	/** what the API server reports, e.g. v1.34.4 */
	version: string;
	processes: ProcessRecord[];
	/** SIGTERM then SIGKILL to every process started; removes the state dir if startCluster made it */
	stop(): Promise<void>;
}

export interface StartOptions {
	/** state dir (wiped first, kept after stop); default: a new temporary dir, removed by stop() */
	dir?: string;
	log?: (line: string) => void;
	/** processes outlive this Node process (cluster:up); default false: they are killed when it exits */
	detached?: boolean;
	/** per wait (etcd health, apiserver readyz, ...); default 120000 */
	timeoutMs?: number;
	/** the controller manager's client rate, requests/s (default its own, 20): a benchmark's big fleet rolls out faster */
	controllerApiQps?: number;
}

/** What startCluster writes to the state dir (cluster.json). */
export interface ClusterState {
	server: string;
	kubeconfig: string;
	caFile: string;
	version: string;
	tokens: Tokens;
}

export function defaultStateDir(): string {
	return path.join(cacheRoot(), 'cluster');
}

/**
 * Starts a fresh cluster. With `dir`, state lives there (wiped first, kept after stop for its logs); without, in a
 * new temporary directory that stop() removes. With `detached`, the processes get their own session and outlive
 * this Node process (what `npm run cluster:up` uses); otherwise they are also killed when this process exits.
 */
export async function startCluster(options: StartOptions = {}): Promise<Cluster> {
	// Ports are picked free and then handed to the processes: another program can take one in between. Try again then.
	for (let attempt = 1; ; attempt++) {
		try {
			return await startOnce(options);
		} catch (err) {
			if (attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
			options.log?.(`a port was taken meanwhile; starting again (attempt ${attempt + 1})`);
		}
	}
}

async function startOnce(options: StartOptions): Promise<Cluster> {
	const log = options.log ?? (() => {});
	const timeoutMs = options.timeoutMs ?? 120_000;
	const ownsDir = !options.dir;
	const dir = options.dir ? path.resolve(options.dir) : mkdtempSync(path.join(os.tmpdir(), 'modeldeck-cluster-'));
	if (options.dir) {
		if (alivePids(dir).length > 0) {
			throw new Error(`a cluster is already running from ${dir}; stop it first (npm run cluster:down)`);
		}
		mkdirSync(dir, {recursive: true});
		for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), {recursive: true, force: true});
	}

	const bins = resolveBinaries({log});
	const missing = Object.entries(bins)
		.filter(([, b]) => b.source === 'missing')
		.map(([n]) => n);
	if (missing.length > 0) {
		if (ownsDir) rmSync(dir, {recursive: true, force: true});
		throw new Error(
			`harness binaries missing (${missing.join(', ')}): run \`npm run harness:build\` first ` +
				'(or name prebuilt ones with MODELDECK_ETCD, MODELDECK_KUBE_APISERVER, ...)',
		);
	}

	const processes: ProcessRecord[] = [];
	const children = new Map<number, ChildProcess>();
	const killOnExit = () => {
		for (const p of processes) {
			try {
				process.kill(p.pid, 'SIGKILL');
			} catch {
				// already gone
			}
		}
	};
	if (!options.detached) process.on('exit', killOnExit);

	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		await stopProcesses(processes, children);
		rmSync(path.join(dir, PID_FILE), {force: true});
		if (!options.detached) process.off('exit', killOnExit);
		if (ownsDir) rmSync(dir, {recursive: true, force: true});
	};

	const launch = (name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv): ProcessRecord => {
		const logFile = path.join(dir, 'logs', `${name}.log`);
		const fd = openSync(logFile, 'a');
		writeFileSync(fd, `# ${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
		const child = spawn(bin, args, {
			cwd: dir,
			env: env ?? process.env,
			stdio: ['ignore', fd, fd],
			detached: Boolean(options.detached),
		});
		closeSync(fd);
		if (child.pid === undefined) throw new Error(`could not start ${name} (${bin})`);
		if (options.detached) child.unref();
		child.on('error', () => {});
		const rec = {name, pid: child.pid, bin, log: logFile};
		processes.push(rec);
		children.set(child.pid, child);
		writeFileSync(path.join(dir, PID_FILE), JSON.stringify(processes, null, 2));
		log(`started ${name} (pid ${child.pid}), log ${logFile}`);
		return rec;
	};

	try {
		for (const sub of ['logs', 'pki', 'etcd', 'kubeconfigs', 'kwok-home']) mkdirSync(path.join(dir, sub), {recursive: true});
		const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort, kwokPort] = await freePorts(6);
		const server = `https://127.0.0.1:${apiPort}`;

		// --- certificates and keys
		const pki = path.join(dir, 'pki');
		makePki(pki);
		const caData = readFileSync(path.join(pki, 'ca.crt'));

		// --- static tokens: people, and one system:masters user per component
		const tokens: Tokens = {admin: token(), viewer: token(), operator: token()};
		const componentTokens = {kcm: token(), scheduler: token(), kwok: token()};
		const tokenFile = path.join(pki, 'tokens.csv');
		writeFileSync(
			tokenFile,
			[
				`${tokens.admin},admin,admin,"system:masters"`,
				`${tokens.viewer},viewer,viewer`,
				`${tokens.operator},operator,operator`,
				`${componentTokens.kcm},system:kube-controller-manager,kcm,"system:masters"`,
				`${componentTokens.scheduler},system:kube-scheduler,scheduler,"system:masters"`,
				`${componentTokens.kwok},kwok,kwok,"system:masters"`,
				'',
			].join('\n'),
			{mode: 0o600},
		);

		const kubeconfigs = path.join(dir, 'kubeconfigs');
		const componentKubeconfig = (name: string, tok: string) => {
			const file = path.join(kubeconfigs, `${name}.kubeconfig`);
			writeFileSync(file, kubeconfigYaml(server, caData, [{name, token: tok, namespace: 'default'}], name), {mode: 0o600});
			return file;
		};
		const kcmKubeconfig = componentKubeconfig('kube-controller-manager', componentTokens.kcm);
		const schedKubeconfig = componentKubeconfig('kube-scheduler', componentTokens.scheduler);
		const kwokKubeconfig = componentKubeconfig('kwok', componentTokens.kwok);

		// --- etcd
		const etcd = launch('etcd', bins.etcd.path, [
			'--name=modeldeck',
			`--data-dir=${path.join(dir, 'etcd')}`,
			`--listen-client-urls=http://127.0.0.1:${etcdClient}`,
			`--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
			`--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
			`--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
			`--initial-cluster=modeldeck=http://127.0.0.1:${etcdPeer}`,
			'--initial-cluster-state=new',
			'--unsafe-no-fsync', // throwaway data: don't pay for fsync on a shared test machine
			'--log-level=warn',
		]);
		await waitFor('etcd', etcd, children, timeoutMs, async () => {
			const r = await request(`http://127.0.0.1:${etcdClient}/health`, {});
			return r.status === 200 && /"health":\s*"true"/.test(r.body);
		});
		log('etcd is healthy');

		// --- kube-apiserver
		const apiserver = launch('kube-apiserver', bins['kube-apiserver'].path, [
			`--etcd-servers=http://127.0.0.1:${etcdClient}`,
			'--bind-address=127.0.0.1',
			'--advertise-address=127.0.0.1',
			`--secure-port=${apiPort}`,
			`--cert-dir=${pki}`,
			`--tls-cert-file=${path.join(pki, 'apiserver.crt')}`,
			`--tls-private-key-file=${path.join(pki, 'apiserver.key')}`,
			`--client-ca-file=${path.join(pki, 'ca.crt')}`,
			`--token-auth-file=${tokenFile}`,
			'--authorization-mode=Node,RBAC',
			'--service-account-issuer=https://kubernetes.default.svc.cluster.local',
			`--service-account-key-file=${path.join(pki, 'sa.pub')}`,
			`--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
			`--service-cluster-ip-range=${SERVICE_CIDR}`,
			'--allow-privileged=true',
			'--profiling=false',
			// The kubernetes Service cannot have a loopback endpoint; nothing here runs in-cluster, so none is kept.
			'--endpoint-reconciler-type=none',
			`--requestheader-client-ca-file=${path.join(pki, 'front-proxy-ca.crt')}`,
			'--requestheader-allowed-names=front-proxy-client',
			'--requestheader-username-headers=X-Remote-User',
			'--requestheader-group-headers=X-Remote-Group',
			'--requestheader-extra-headers-prefix=X-Remote-Extra-',
			`--proxy-client-cert-file=${path.join(pki, 'front-proxy-client.crt')}`,
			`--proxy-client-key-file=${path.join(pki, 'front-proxy-client.key')}`,
			// pods/log (and exec, port-forward) go to the "kubelet" of the pod's node: kwok's server, at the node's
			// InternalIP (the node name resolves to nothing) and the port in its daemonEndpoints, over TLS checked
			// against the harness CA, with a client certificate as a real kubelet would ask for.
			'--kubelet-preferred-address-types=InternalIP',
			`--kubelet-certificate-authority=${path.join(pki, 'ca.crt')}`,
			`--kubelet-client-certificate=${path.join(pki, 'apiserver-kubelet-client.crt')}`,
			`--kubelet-client-key=${path.join(pki, 'apiserver-kubelet-client.key')}`,
		]);
		await waitFor('kube-apiserver', apiserver, children, timeoutMs, async () => {
			const r = await request(`${server}/readyz`, {ca: caData, token: tokens.admin});
			return r.status === 200;
		});
		log(`kube-apiserver is ready at ${server}`);
		const api: Api = (method, p, body, contentType) =>
			request(`${server}${p}`, {
				method,
				body,
				contentType,
				ca: caData,
				token: tokens.admin,
			});
		const versionBody = JSON.parse((await api('GET', '/version')).body) as {gitVersion?: unknown};
		const version = String(versionBody.gitVersion);

		// --- controllers, scheduler, kwok
		const componentArgs = (kc: string, port: number) => [
			`--kubeconfig=${kc}`,
			`--authentication-kubeconfig=${kc}`,
			`--authorization-kubeconfig=${kc}`,
			'--bind-address=127.0.0.1',
			`--secure-port=${port}`,
			'--leader-elect=false',
		];
		const kcm = launch('kube-controller-manager', bins['kube-controller-manager'].path, [
			...componentArgs(kcmKubeconfig, kcmPort),
			// Every default controller; the cloud ones would be skipped anyway without a cloud provider.
			'--controllers=*,-service-lb-controller,-cloud-node-lifecycle-controller,-node-route-controller',
			'--use-service-account-credentials=false',
			`--service-account-private-key-file=${path.join(pki, 'sa.key')}`,
			`--root-ca-file=${path.join(pki, 'ca.crt')}`,
			`--cluster-signing-cert-file=${path.join(pki, 'ca.crt')}`,
			`--cluster-signing-key-file=${path.join(pki, 'ca.key')}`,
			`--service-cluster-ip-range=${SERVICE_CIDR}`,
			'--cluster-name=modeldeck',
			// Its client's default (20 requests/s, bursts of 30) makes a fleet of a thousand pods take minutes to roll out.
			...(options.controllerApiQps
				? [`--kube-api-qps=${options.controllerApiQps}`, `--kube-api-burst=${options.controllerApiQps * 2}`]
				: []),
		]);
		const scheduler = launch('kube-scheduler', bins['kube-scheduler'].path, componentArgs(schedKubeconfig, schedPort));
		// kwok reads its Logs objects (pod -> log file on this host) from the API server, so their CRD comes first.
		await ensure(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', KWOK_LOGS_CRD);
		const kwok = launch(
			'kwok',
			bins.kwok.path,
			[
				`--kubeconfig=${kwokKubeconfig}`,
				`--config=${kwokStages}`,
				'--manage-all-nodes=false',
				'--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
				'--node-lease-duration-seconds=40',
				// kwok's server plays the nodes' kubelet: the API server's pods/log requests land here (see the
				// --kubelet-* flags above). --node-port puts the port into each node's daemonEndpoints.kubeletEndpoint.
				`--server-address=127.0.0.1:${kwokPort}`,
				`--node-port=${kwokPort}`,
				`--tls-cert-file=${path.join(pki, 'kwok-kubelet.crt')}`,
				`--tls-private-key-file=${path.join(pki, 'kwok-kubelet.key')}`,
				// Which file is a pod's log: kwok.x-k8s.io/v1alpha1 Logs objects, one per pod, created by whoever plays the
				// container runtime (a test), since pod names are known only once the pods exist.
				'--enable-crds=Logs',
				'--cidr=10.244.0.0/16',
				'--node-ip=127.0.0.1',
			],
			{...process.env, HOME: path.join(dir, 'kwok-home')},
		); // no ~/.kwok/kwok.yaml of the user's

		// --- objects: namespaces, RBAC, CRDs, nodes
		for (const ns of NAMESPACES) await ensure(api, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}});
		for (const [collection, obj] of rbacObjects()) await ensure(api, collection, obj);
		const crdNames = [KWOK_LOGS_CRD.metadata.name];
		for (const file of readdirSync(crdDir)
			.filter((f) => /\.ya?ml$/.test(f))
			.sort()) {
			for (const doc of parseAllDocuments(readFileSync(path.join(crdDir, file), 'utf8'))) {
				const crd = doc.toJS() as KubeObject | null;
				if (crd?.kind !== 'CustomResourceDefinition') continue;
				await ensure(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
				crdNames.push(crd.metadata.name);
			}
		}
		for (const name of FAKE_NODES) await ensure(api, '/api/v1/nodes', fakeNode(name));

		// --- wait until it is all usable
		await waitFor('CRDs Established', apiserver, children, timeoutMs, async () => {
			for (const name of crdNames) {
				const r = await api('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
				if (r.status !== 200 || !hasCondition(JSON.parse(r.body), 'Established')) return false;
			}
			return true;
		});
		await waitFor('kube-controller-manager (default service accounts)', kcm, children, timeoutMs, async () => {
			for (const ns of ['default', ...NAMESPACES]) {
				if ((await api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status !== 200) return false;
			}
			return true;
		});
		await waitFor('kube-scheduler', scheduler, children, timeoutMs, async () => {
			const r = await request(`https://127.0.0.1:${schedPort}/readyz`, {insecure: true});
			return r.status === 200;
		});
		await waitFor('kwok (fake nodes Ready)', kwok, children, timeoutMs, async () => {
			for (const name of FAKE_NODES) {
				const r = await api('GET', `/api/v1/nodes/${name}`);
				if (r.status !== 200 || !hasCondition(JSON.parse(r.body), 'Ready')) return false;
			}
			return true;
		});
		await waitFor('RBAC aggregation into the view role', kcm, children, timeoutMs, async () => {
			const r = await api('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/view');
			return r.status === 200 && r.body.includes('inferenceservices');
		});
		log('kube-controller-manager, kube-scheduler and kwok are up');

		// --- the kubeconfig people and tests use
		const kubeconfig = path.join(dir, 'kubeconfig');
		writeFileSync(
			kubeconfig,
			kubeconfigYaml(
				server,
				caData,
				[
					{name: 'admin', token: tokens.admin, namespace: 'default'},
					{name: 'viewer', token: tokens.viewer, namespace: OPERATOR_NAMESPACE},
					{name: 'operator', token: tokens.operator, namespace: OPERATOR_NAMESPACE},
				],
				'admin',
			),
			{mode: 0o600},
		);
		const caFile = path.join(pki, 'ca.crt');
		writeFileSync(
			path.join(dir, STATE_FILE),
			JSON.stringify({server, kubeconfig, caFile, version, tokens, startedAt: new Date().toISOString()}, null, 2),
			{mode: 0o600},
		);
		log(`cluster ${version} ready; KUBECONFIG=${kubeconfig}`);
		return {kubeconfig, server, caFile, tokens, dir, version, processes, stop};
	} catch (err) {
		await stop().catch(() => {});
		throw err;
	}
}

/**
 * Stops the cluster whose state is in `dir` (default: the `cluster:up` state dir) by the PIDs recorded there. Only a
 * PID whose process still runs the recorded binary is signalled. Returns how many processes were stopped.
 */
export async function stopCluster(dir: string = defaultStateDir()): Promise<number> {
	const records = readPids(dir).filter((p) => isSameProcess(p));
	await stopProcesses(records, new Map());
	rmSync(path.join(dir, PID_FILE), {force: true});
	return records.length;
}

/** The PIDs from `dir` that are still running their recorded binaries. */
export function alivePids(dir: string = defaultStateDir()): ProcessRecord[] {
	return readPids(dir).filter((p) => isSameProcess(p));
}

/** What `startCluster` wrote to the state dir (server, kubeconfig, tokens), or undefined. */
export function readClusterState(dir: string = defaultStateDir()): ClusterState | undefined {
	try {
		return JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')) as ClusterState;
	} catch {
		return undefined;
	}
}

// ---------------------------------------------------------------------------------------------------------------

function readPids(dir: string): ProcessRecord[] {
	try {
		const list: unknown = JSON.parse(readFileSync(path.join(dir, PID_FILE), 'utf8'));
		return Array.isArray(list) ? list.filter((p: Partial<ProcessRecord> | null) => Number.isInteger(p?.pid) && p!.pid! > 1) : [];
	} catch {
		return [];
	}
}

function isSameProcess(p: ProcessRecord): boolean {
	try {
		const argv0 = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0];
		return argv0 === p.bin;
	} catch {
		return false;
	}
}

function running(pid: number): boolean {
	try {
		// A zombie (exited, not yet reaped by its parent) counts as gone.
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
	} catch {
		return false;
	}
}

/**
 * SIGTERM to each (components first, etcd last), then SIGKILL to whatever is still there after a grace period.
 */
async function stopProcesses(records: ProcessRecord[], children: Map<number, ChildProcess>): Promise<void> {
	const order = [...records].reverse();
	const groups = [
		order.filter((p) => p.name !== 'kube-apiserver' && p.name !== 'etcd'),
		order.filter((p) => p.name === 'kube-apiserver'),
		order.filter((p) => p.name === 'etcd'),
	];
	for (const group of groups) {
		for (const p of group) signal(p.pid, 'SIGTERM');
		const deadline = Date.now() + 10_000;
		while (group.some((p) => running(p.pid)) && Date.now() < deadline) await sleep(100);
		for (const p of group) if (running(p.pid)) signal(p.pid, 'SIGKILL');
		const killDeadline = Date.now() + 5_000;
		while (group.some((p) => running(p.pid)) && Date.now() < killDeadline) await sleep(50);
	}
	for (const p of records) children.get(p.pid)?.removeAllListeners();
}

function signal(pid: number, sig: NodeJS.Signals): void {
	try {
		process.kill(pid, sig);
	} catch {
		// gone
	}
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

function token(): string {
	return randomBytes(24).toString('hex');
}

/** `n` numbers, each one of them once. */
type Ports<N extends number, Acc extends number[] = []> = Acc['length'] extends N ? Acc : Ports<N, [...Acc, number]>;

async function freePorts<N extends number>(n: N): Promise<Ports<N>> {
	const servers: net.Server[] = [];
	const ports: number[] = [];
	try {
		for (let i = 0; i < n; i++) {
			const s = net.createServer();
			servers.push(s);
			await new Promise<void>((resolve, reject) => {
				s.once('error', reject);
				s.listen(0, '127.0.0.1', () => resolve());
			});
			ports.push((s.address() as net.AddressInfo).port);
		}
	} finally {
		await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
	}
	return ports as Ports<N>;
}

function makePki(pki: string): void {
	const openssl = (args: string[]) => {
		try {
			execFileSync('openssl', args, {cwd: pki, stdio: ['ignore', 'pipe', 'pipe']});
		} catch (err) {
			const e = err as {stderr?: Buffer; message: string};
			throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() || e.message}`);
		}
	};
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'];
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-keyout',
		'ca.key',
		'-out',
		'ca.crt',
		'-subj',
		'/CN=modeldeck-local-ca',
		'-addext',
		'basicConstraints=critical,CA:TRUE',
		'-addext',
		'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
	]);
	const sans = [
		'DNS:localhost',
		'DNS:kubernetes',
		'DNS:kubernetes.default',
		'DNS:kubernetes.default.svc',
		'DNS:kubernetes.default.svc.cluster.local',
		'IP:127.0.0.1',
		`IP:${SERVICE_IP}`,
	].join(',');
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'ca.crt',
		'-CAkey',
		'ca.key',
		'-keyout',
		'apiserver.key',
		'-out',
		'apiserver.crt',
		'-subj',
		'/CN=kube-apiserver',
		'-addext',
		`subjectAltName=${sans}`,
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=serverAuth',
	]);
	// The aggregation layer's front proxy: its own CA (which kube-controller-manager and kube-scheduler read from
	// kube-system/extension-apiserver-authentication) and the client certificate the API server proxies with.
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-keyout',
		'front-proxy-ca.key',
		'-out',
		'front-proxy-ca.crt',
		'-subj',
		'/CN=modeldeck-front-proxy-ca',
		'-addext',
		'basicConstraints=critical,CA:TRUE',
		'-addext',
		'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
	]);
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'front-proxy-ca.crt',
		'-CAkey',
		'front-proxy-ca.key',
		'-keyout',
		'front-proxy-client.key',
		'-out',
		'front-proxy-client.crt',
		'-subj',
		'/CN=front-proxy-client',
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=clientAuth',
	]);
	// kwok's server as the nodes' kubelet (serving, checked by the API server against this CA), and the API server's
	// client certificate towards kubelets.
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'ca.crt',
		'-CAkey',
		'ca.key',
		'-keyout',
		'kwok-kubelet.key',
		'-out',
		'kwok-kubelet.crt',
		'-subj',
		'/CN=kwok-kubelet',
		'-addext',
		'subjectAltName=IP:127.0.0.1,DNS:localhost',
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=serverAuth',
	]);
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'ca.crt',
		'-CAkey',
		'ca.key',
		'-keyout',
		'apiserver-kubelet-client.key',
		'-out',
		'apiserver-kubelet-client.crt',
		'-subj',
		'/O=system:masters/CN=kube-apiserver-kubelet-client',
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=clientAuth',
	]);
	openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
	openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

interface KubeconfigUser {
	name: string;
	token: string;
	namespace: string;
}

function kubeconfigYaml(server: string, caData: Buffer, users: KubeconfigUser[], current: string): string {
	const ca = caData.toString('base64');
	const lines = [
		'apiVersion: v1',
		'kind: Config',
		'clusters:',
		'- name: modeldeck-local',
		'  cluster:',
		`    server: ${server}`,
		`    certificate-authority-data: ${ca}`,
		'users:',
		...users.flatMap((u) => [`- name: ${u.name}`, '  user:', `    token: ${u.token}`]),
		'contexts:',
		...users.flatMap((u) => [
			`- name: ${u.name}`,
			'  context:',
			'    cluster: modeldeck-local',
			`    user: ${u.name}`,
			`    namespace: ${u.namespace}`,
		]),
		`current-context: ${current}`,
		'preferences: {}',
		'',
	];
	return lines.join('\n');
}

/**
 * kwok's Logs resource (sigs.k8s.io/kwok v0.8.0 kustomize/crd/bases/kwok.x-k8s.io_logs.yaml, descriptions and the
 * unused status left out): `spec.logs[]` maps a pod's containers to a log file on this host, in the CRI log format
 * (`<RFC 3339 time> stdout F <line>`), which kwok's server returns for the API server's pods/log.
 */
const KWOK_LOGS_CRD = {
	apiVersion: 'apiextensions.k8s.io/v1',
	kind: 'CustomResourceDefinition',
	metadata: {name: 'logs.kwok.x-k8s.io'},
	spec: {
		group: 'kwok.x-k8s.io',
		names: {kind: 'Logs', listKind: 'LogsList', plural: 'logs', singular: 'logs'},
		scope: 'Namespaced',
		versions: [
			{
				name: 'v1alpha1',
				served: true,
				storage: true,
				subresources: {status: {}},
				schema: {
					openAPIV3Schema: {
						type: 'object',
						properties: {
							apiVersion: {type: 'string'},
							kind: {type: 'string'},
							metadata: {type: 'object'},
							spec: {
								type: 'object',
								required: ['logs'],
								properties: {
									logs: {
										type: 'array',
										items: {
											type: 'object',
											properties: {
												containers: {type: 'array', items: {type: 'string'}},
												follow: {type: 'boolean'},
												logsFile: {type: 'string'},
												previousLogsFile: {type: 'string'},
											},
										},
									},
								},
							},
							status: {type: 'object', 'x-kubernetes-preserve-unknown-fields': true},
						},
					},
				},
			},
		],
	},
};

/** The resources the operator changes in its namespace and reads everywhere (with pods, HPAs and namespaces). */
const OPERATED = [
	{apiGroups: ['apps'], resources: ['deployments', 'replicasets']},
	{apiGroups: [''], resources: ['services']},
	{apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes']},
	{apiGroups: ['networking.istio.io'], resources: ['virtualservices', 'destinationrules']},
	{apiGroups: ['serving.kserve.io'], resources: ['inferenceservices']},
	{apiGroups: ['split.smi-spec.io'], resources: ['trafficsplits']},
	{apiGroups: ['mlops.seldon.io'], resources: ['models', 'experiments']},
	{apiGroups: ['flagger.app'], resources: ['canaries']},
	{apiGroups: ['argoproj.io'], resources: ['rollouts', 'analysisruns']},
];
const READ = ['get', 'list', 'watch'];

function rbacObjects(): [string, KubeObject][] {
	const rbac = '/apis/rbac.authorization.k8s.io/v1';
	return [
		// The CRDs' resources join the built-in view role (kube-controller-manager aggregates them), as upstream CRDs do.
		[
			`${rbac}/clusterroles`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'ClusterRole',
				metadata: {name: 'modeldeck:crds-view', labels: {'rbac.authorization.k8s.io/aggregate-to-view': 'true'}},
				rules: OPERATED.filter((r) => r.apiGroups[0] !== 'apps' && r.apiGroups[0] !== '').map((r) => ({...r, verbs: READ})),
			},
		],
		[
			`${rbac}/clusterrolebindings`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'ClusterRoleBinding',
				metadata: {name: 'modeldeck:viewer'},
				roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view'},
				subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer'}],
			},
		],
		[
			`${rbac}/clusterroles`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'ClusterRole',
				metadata: {name: 'modeldeck:operator-read'},
				rules: [
					...OPERATED.map((r) => ({...r, verbs: READ})),
					{apiGroups: [''], resources: ['pods', 'namespaces', 'events'], verbs: READ},
					{apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ},
				],
			},
		],
		[
			`${rbac}/clusterrolebindings`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'ClusterRoleBinding',
				metadata: {name: 'modeldeck:operator-read'},
				roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'modeldeck:operator-read'},
				subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'operator'}],
			},
		],
		[
			`${rbac}/namespaces/${OPERATOR_NAMESPACE}/roles`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'Role',
				metadata: {name: 'modeldeck:operator', namespace: OPERATOR_NAMESPACE},
				rules: OPERATED.map((r) => ({...r, verbs: [...READ, 'patch', 'update']})),
			},
		],
		[
			`${rbac}/namespaces/${OPERATOR_NAMESPACE}/rolebindings`,
			{
				apiVersion: 'rbac.authorization.k8s.io/v1',
				kind: 'RoleBinding',
				metadata: {name: 'modeldeck:operator', namespace: OPERATOR_NAMESPACE},
				roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'modeldeck:operator'},
				subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'operator'}],
			},
		],
	];
}

/**
 * A node kwok manages (32 cores, 256 GiB, 110 pods): the harness makes FAKE_NODES; a test or benchmark that needs
 * room for more pods creates more.
 */
export function fakeNode(name: string): KubeObject {
	return {
		apiVersion: 'v1',
		kind: 'Node',
		metadata: {
			name,
			annotations: {'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0'},
			labels: {
				'kubernetes.io/hostname': name,
				'kubernetes.io/os': 'linux',
				'kubernetes.io/arch': 'amd64',
				'kubernetes.io/role': 'agent',
				'node-role.kubernetes.io/agent': '',
				type: 'kwok',
			},
		},
		status: {
			allocatable: {cpu: '32', memory: '256Gi', pods: '110'},
			capacity: {cpu: '32', memory: '256Gi', pods: '110'},
		},
	};
}

/** A Kubernetes object as the harness writes it: a kind and a name, the rest free. */
export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: {name: string; namespace?: string; [key: string]: unknown};
	[key: string]: unknown;
}

interface Condition {
	type: string;
	status: string;
}

function hasCondition(obj: {status?: {conditions?: Condition[]}} | null, type: string): boolean {
	return (obj?.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

interface HttpResponse {
	status: number;
	body: string;
}

type Api = (method: string, path: string, body?: unknown, contentType?: string) => Promise<HttpResponse>;

/** Creates an object; an existing one is fine. */
async function ensure(api: Api, collection: string, obj: KubeObject): Promise<void> {
	const r = await api('POST', collection, obj);
	if (r.status !== 201 && r.status !== 200 && r.status !== 409) {
		throw new Error(`creating ${obj.kind} ${obj.metadata?.name}: HTTP ${r.status} ${r.body.slice(0, 500)}`);
	}
}

interface RequestOptions {
	method?: string;
	body?: unknown;
	contentType?: string | undefined;
	ca?: Buffer;
	token?: string;
	insecure?: boolean;
}

function request(url: string, opts: RequestOptions): Promise<HttpResponse> {
	return new Promise((resolve, reject) => {
		const u = new URL(url);
		const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
		const headers: Record<string, string> = {accept: 'application/json'};
		if (opts.token) headers.authorization = `Bearer ${opts.token}`;
		if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
		const lib = u.protocol === 'https:' ? https : http;
		const req = lib.request(
			u,
			{
				method: opts.method ?? 'GET',
				headers,
				timeout: 10_000,
				...(u.protocol === 'https:' ? {ca: opts.ca, rejectUnauthorized: !opts.insecure, agent: false} : {agent: false}),
			},
			(res) => {
				let body = '';
				res.setEncoding('utf8');
				res.on('data', (c) => (body += c));
				res.on('end', () => resolve({status: res.statusCode ?? 0, body}));
				res.on('error', reject);
			},
		);
		req.on('timeout', () => req.destroy(new Error(`timed out: ${opts.method ?? 'GET'} ${url}`)));
		req.on('error', reject);
		if (payload !== undefined) req.write(payload);
		req.end();
	});
}

/**
 * Polls `check` until it says yes; fails early, with the tail of the component's log, if the component exits.
 */
async function waitFor(
	what: string,
	proc: ProcessRecord,
	children: Map<number, ChildProcess>,
	timeoutMs: number,
	check: () => Promise<boolean>,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let lastError = '';
	for (;;) {
		const child = children.get(proc.pid);
		if (!running(proc.pid) || (child && child.exitCode !== null)) {
			throw new Error(
				`${proc.name} exited ${what === proc.name ? 'before it was ready' : `while waiting for ${what}`} (exit ${child?.exitCode ?? '?'}${child?.signalCode ? `, ${child.signalCode}` : ''}); ` +
					`last lines of ${proc.log}:\n${tail(proc.log)}`,
			);
		}
		try {
			if (await check()) return;
			lastError = '';
		} catch (err) {
			lastError = err instanceof Error ? err.message : String(err);
		}
		if (Date.now() > deadline) {
			throw new Error(
				`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (${lastError})` : ''}; ` +
					`last lines of ${proc.log}:\n${tail(proc.log)}`,
			);
		}
		await sleep(250);
	}
}

function tail(file: string, n = 30): string {
	try {
		if (!existsSync(file)) return '(no log)';
		return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
	} catch {
		return '(log unreadable)';
	}
}
