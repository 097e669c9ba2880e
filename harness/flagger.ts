/**
 * The real Flagger controller (github.com/fluxcd/flagger) for tests: built once from the Go module proxy and cached as
 * ${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin/flagger-<version> (its CRD beside it, flagger-<version>-crd.yaml), its
 * CRDs installed in a harness cluster, and the controller started against it out of cluster (`-kubeconfig`).
 *
 * Flagger's module is built as itself (its own go.mod and go.sum; no replace directives needed): the module is
 * downloaded with `go mod download -json`, copied to a temporary directory (the module cache is read-only) and built
 * there with `go build -trimpath -ldflags='-s -w' ./cmd/flagger`, under `nice`. The binary is written to a temporary
 * name, then renamed.
 *
 * Usage: node harness/flagger.ts [--print]   (builds if missing; --print says where it is, builds nothing)
 */
import {existsSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ensureFlagger, FLAGGER_VERSION, flaggerPath, loadtesterPath} from './flagger/build.ts';

export {ensureFlagger, FLAGGER_MODULE, FLAGGER_VERSION, flaggerCrdPath, flaggerPath, loadtesterPath} from './flagger/build.ts';
export {
	type FlaggerCluster,
	installFlaggerCrds,
	type RunningFlagger,
	type RunningLoadtester,
	type StartFlaggerOptions,
	startFlagger,
	startLoadtester,
} from './flagger/start.ts';

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	try {
		if (process.argv.includes('--print')) {
			console.log(`flagger\t${FLAGGER_VERSION}\t${existsSync(flaggerPath()) ? flaggerPath() : 'missing'}`);
			console.log(`flagger-loadtester\t${FLAGGER_VERSION}\t${existsSync(loadtesterPath()) ? loadtesterPath() : 'missing'}`);
		} else {
			await ensureFlagger({force: process.argv.includes('--force')});
		}
	} catch (error) {
		console.error(`[harness:flagger] ${error instanceof Error ? error.message : String(error)}`);
		process.exit(1);
	}
}
