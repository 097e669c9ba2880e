#!/usr/bin/env node
// npm run cluster:up — starts the local control plane (harness/cluster.ts) in the background and prints
// KUBECONFIG=<path> as its last line. Builds the binaries first if they are not cached (see harness/README.md).
// State (certs, tokens, logs, PIDs, kubeconfig) lives in $MODELDECK_CLUSTER_DIR or
// ${XDG_CACHE_HOME:-~/.cache}/modeldeck/cluster. `npm run cluster:down` stops it.
import {ensureBinaries} from '../harness/build-binaries.ts';
import {alivePids, defaultStateDir, readClusterState, startCluster, stopCluster} from '../harness/cluster.ts';

const dir = process.env.MODELDECK_CLUSTER_DIR || defaultStateDir();
const say = (line: string) => console.log(`[cluster:up] ${line}`);

try {
	const state = readClusterState(dir);
	if (alivePids(dir).length > 0) {
		if (state && (await apiserverReady(state.server))) {
			say(`already running (${state.version}) from ${dir}`);
			printUsage(state.kubeconfig);
			process.exit(0);
		}
		say('a previous cluster is half-running; stopping it first');
		await stopCluster(dir);
	}
	await ensureBinaries({log: (l) => say(l)});
	const started = Date.now();
	const cluster = await startCluster({dir, detached: true, log: say});
	say(`${cluster.version} up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cluster.server}; logs in ${dir}/logs`);
	printUsage(cluster.kubeconfig);
	process.exit(0);
} catch (err) {
	console.error(`[cluster:up] ${err instanceof Error ? err.message : String(err)}`);
	process.exit(1);
}

function printUsage(kubeconfig: string): void {
	say('contexts: admin (cluster-admin), viewer (read-only), operator (changes in team-a only); namespaces team-a, team-b');
	say('stop with: npm run cluster:down');
	console.log(`KUBECONFIG=${kubeconfig}`);
}

async function apiserverReady(server: string): Promise<boolean> {
	// /livez answers anonymously; a refused connection means the apiserver is gone.
	try {
		const {request} = await import('node:https');
		return await new Promise<boolean>((resolve) => {
			const req = request(`${server}/livez`, {rejectUnauthorized: false, timeout: 3000}, (res) => {
				res.resume();
				resolve(res.statusCode === 200);
			});
			req.on('error', () => resolve(false));
			req.on('timeout', () => req.destroy());
			req.end();
		});
	} catch {
		return false;
	}
}
