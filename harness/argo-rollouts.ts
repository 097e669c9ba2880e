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

import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ARGO_ROLLOUTS_VERSION, ensureRolloutsController, rolloutsControllerPath} from './argo-rollouts/build.ts';

export {
	ARGO_ROLLOUTS_MODULE,
	ARGO_ROLLOUTS_VERSION,
	cachedControllerPath,
	ensureRolloutsController,
	moduleDir,
	rolloutsControllerPath,
} from './argo-rollouts/build.ts';
export {
	type ApiCluster,
	type ClusterForRollouts,
	installRolloutsCrds,
	type RunningRolloutsController,
	startRolloutsController,
} from './argo-rollouts/start.ts';

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
