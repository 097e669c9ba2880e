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
//
// This file puts the components together; each is in harness/cluster/: pki.ts (certificates, keys, tokens),
// etcd.ts, apiserver.ts, controllers.ts (controller manager, scheduler), kwok.ts, kubeconfig.ts, bootstrap.ts
// (namespaces, RBAC, CRDs, nodes), processes.ts (start, wait, stop by PID), state.ts (the state dir), api.ts.

import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {resolveBinaries} from './build-binaries.ts';
import {apiClient, freePorts} from './cluster/api.ts';
import {startApiServer} from './cluster/apiserver.ts';
import {createBootstrapObjects, NAMESPACES, waitForCrds} from './cluster/bootstrap.ts';
import {
	launchControllerManager,
	launchScheduler,
	waitForScheduler,
	waitForServiceAccounts,
	waitForViewAggregation,
} from './cluster/controllers.ts';
import {startEtcd} from './cluster/etcd.ts';
import {writeComponentKubeconfig, writeUserKubeconfig} from './cluster/kubeconfig.ts';
import {installLogsCrd, launchKwok, waitForFakeNodes} from './cluster/kwok.ts';
import {makePki, type Tokens, writeTokens} from './cluster/pki.ts';
import {createLauncher, type ProcessRecord} from './cluster/processes.ts';
import {alivePids, writeClusterState} from './cluster/state.ts';

export type {KubeObject} from './cluster/api.ts';
export {NAMESPACES, OPERATOR_NAMESPACE} from './cluster/bootstrap.ts';
export {FAKE_NODES, fakeNode} from './cluster/kwok.ts';
export type {Tokens} from './cluster/pki.ts';
export type {ProcessRecord} from './cluster/processes.ts';
export {alivePids, type ClusterState, defaultStateDir, readClusterState, stopCluster} from './cluster/state.ts';

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

	const launcher = createLauncher({dir, ownsDir, detached: options.detached, log});
	try {
		for (const sub of ['logs', 'pki', 'etcd', 'kubeconfigs', 'kwok-home']) mkdirSync(path.join(dir, sub), {recursive: true});
		const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort, kwokPort] = await freePorts(6);
		const server = `https://127.0.0.1:${apiPort}`;

		// --- certificates and keys; static tokens: people, and one system:masters user per component
		const pki = path.join(dir, 'pki');
		makePki(pki);
		const caData = readFileSync(path.join(pki, 'ca.crt'));
		const {tokens, componentTokens, tokenFile} = writeTokens(pki);
		const kcmKubeconfig = writeComponentKubeconfig(dir, server, caData, 'kube-controller-manager', componentTokens.kcm);
		const schedKubeconfig = writeComponentKubeconfig(dir, server, caData, 'kube-scheduler', componentTokens.scheduler);
		const kwokKubeconfig = writeComponentKubeconfig(dir, server, caData, 'kwok', componentTokens.kwok);

		// --- etcd, then the API server on it
		await startEtcd(launcher, {bin: bins.etcd.path, dir, clientPort: etcdClient, peerPort: etcdPeer, timeoutMs});
		log('etcd is healthy');
		const apiserver = await startApiServer(launcher, {
			bin: bins['kube-apiserver'].path,
			pki,
			etcdClientPort: etcdClient,
			port: apiPort,
			tokenFile,
			server,
			caData,
			adminToken: tokens.admin,
			timeoutMs,
		});
		log(`kube-apiserver is ready at ${server}`);
		const api = apiClient(server, caData, tokens.admin);
		const versionBody = JSON.parse((await api('GET', '/version')).body) as {gitVersion?: unknown};
		const version = String(versionBody.gitVersion);

		// --- controllers, scheduler, kwok (whose Logs CRD comes first: it reads those objects from the API server)
		const kcm = launchControllerManager(launcher, {
			bin: bins['kube-controller-manager'].path,
			kubeconfig: kcmKubeconfig,
			port: kcmPort,
			pki,
			apiQps: options.controllerApiQps,
		});
		const scheduler = launchScheduler(launcher, {bin: bins['kube-scheduler'].path, kubeconfig: schedKubeconfig, port: schedPort});
		await installLogsCrd(api);
		const kwok = launchKwok(launcher, {bin: bins.kwok.path, kubeconfig: kwokKubeconfig, port: kwokPort, pki, dir});

		// --- objects: namespaces, RBAC, CRDs, nodes
		const crdNames = await createBootstrapObjects(api);

		// --- wait until it is all usable
		await waitForCrds(launcher, apiserver, api, crdNames, timeoutMs);
		await waitForServiceAccounts(launcher, kcm, api, ['default', ...NAMESPACES], timeoutMs);
		await waitForScheduler(launcher, scheduler, schedPort, timeoutMs);
		await waitForFakeNodes(launcher, kwok, api, timeoutMs);
		await waitForViewAggregation(launcher, kcm, api, timeoutMs);
		log('kube-controller-manager, kube-scheduler and kwok are up');

		// --- the kubeconfig people and tests use
		const kubeconfig = writeUserKubeconfig(dir, server, caData, tokens);
		const caFile = path.join(pki, 'ca.crt');
		writeClusterState(dir, {server, kubeconfig, caFile, version, tokens});
		log(`cluster ${version} ready; KUBECONFIG=${kubeconfig}`);
		return {kubeconfig, server, caFile, tokens, dir, version, processes: launcher.processes, stop: launcher.stop};
	} catch (err) {
		await launcher.stop().catch(() => {});
		throw err;
	}
}
