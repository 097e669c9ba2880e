#!/usr/bin/env node
// Builds the control-plane binaries the harness runs (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok), and the kustomize CLI the deploy tests render deploy/ with, once, from the Go module proxy,
// and caches them by version in ${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin/<name>-<version>. What is cached is
// skipped; a binary named by its environment variable (MODELDECK_ETCD, MODELDECK_KUBE_APISERVER,
// MODELDECK_KUBE_CONTROLLER_MANAGER, MODELDECK_KUBE_SCHEDULER, MODELDECK_KWOK, MODELDECK_KUSTOMIZE) or found on PATH
// at a suitable version is used instead.
//
// Usage: node harness/build-binaries.ts [--print] [--force]
//   --print   print where each binary comes from, build nothing
//   --force   rebuild the cached binaries even if they exist
//
// Also importable: `resolveBinaries()` (the control plane, no building), `resolveTools()` (kustomize, no
// building), `kustomizePath()` (throws with what to run if it is missing) and `ensureBinaries()` (builds both).

import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ensureRolloutsController, rolloutsControllerPath} from './argo-rollouts.ts';
import {ensureBinaries} from './build-binaries/build.ts';
import {resolveBinaries, resolveTools} from './build-binaries/resolve.ts';
import {ensureFlagger} from './flagger.ts';

export {ensureBinaries} from './build-binaries/build.ts';
export {kustomizePath, resolveBinaries, resolveTools} from './build-binaries/resolve.ts';
export {
	BINARIES,
	type BinaryName,
	type BinarySpec,
	binDir,
	cacheRoot,
	ETCD_VERSION,
	KUBE_VERSION,
	KUSTOMIZE_VERSION,
	KWOK_VERSION,
	type ResolvedBinaries,
	type ResolvedBinary,
	type ResolvedTools,
	TOOLS,
	type ToolName,
} from './build-binaries/specs.ts';

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const args = process.argv.slice(2);
	try {
		if (args.includes('--print')) {
			const r = {...resolveBinaries({log: (l) => console.log(l)}), ...resolveTools({log: (l) => console.log(l)})};
			for (const [name, b] of Object.entries(r)) console.log(`${name}\t${b.version}\t${b.source}\t${b.path}`);
			const rollouts = rolloutsControllerPath();
			console.log(`rollouts-controller\tv1.10.1\t${rollouts ? 'cache' : 'missing'}\t${rollouts ?? ''}`);
			process.exit(Object.values(r).some((b) => b.source === 'missing') || !rollouts ? 1 : 0);
		}
		await ensureBinaries({force: args.includes('--force')});
		// Flagger and its loadtester, for the tests of modeldeck against them (harness/flagger.ts).
		await ensureFlagger({force: args.includes('--force')});
		// The Argo Rollouts controller, for the tests of modeldeck against it (harness/argo-rollouts.ts).
		await ensureRolloutsController({force: args.includes('--force')});
	} catch (err) {
		console.error(`[harness:build] ${err instanceof Error ? err.message : String(err)}`);
		process.exit(1);
	}
}
