// k9s for the cluster benchmark (`npm run bench:cluster`, bench/cluster.ts): built once from the Go module proxy
// with `go install github.com/derailed/k9s@<version>` and cached as ${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin/
// k9s-<version> (built under a temporary name, then renamed), as harness/build-binaries.ts caches the control plane.
// MODELDECK_K9S names a k9s binary to use instead. TypeScript that Node runs directly, without a build step:
// `node bench/k9s.ts` builds it (if missing) and prints its path.

import {spawn} from 'node:child_process';
import {accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {binDir} from '../harness/build-binaries.ts';

export const K9S_VERSION = 'v0.50.16';

function isExecutable(file: string): boolean {
	try {
		accessSync(file, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

/**
 * The k9s binary to run: MODELDECK_K9S, else the cached build, else built now (several minutes on 2 cores, with
 * `nice`; says so through `log`).
 */
export async function ensureK9s(options: {log?: (line: string) => void} = {}): Promise<string> {
	const log = options.log ?? ((line: string) => console.log(`[k9s] ${line}`));
	const fromEnv = process.env.MODELDECK_K9S;
	if (fromEnv) {
		if (!isExecutable(fromEnv)) throw new Error(`MODELDECK_K9S=${fromEnv} is not an executable file`);
		return fromEnv;
	}
	const cached = path.join(binDir(), `k9s-${K9S_VERSION}`);
	if (isExecutable(cached)) return cached;

	mkdirSync(binDir(), {recursive: true});
	const tmp = mkdtempSync(path.join(binDir(), '.build-k9s-'));
	const started = Date.now();
	log(`k9s ${K9S_VERSION} is not in ${binDir()}: building it with go install (first time: ~10-20 min on 2 cores) ...`);
	try {
		await new Promise((resolve, reject) => {
			const child = spawn('nice', ['go', 'install', '-trimpath', '-ldflags=-s -w', `github.com/derailed/k9s@${K9S_VERSION}`], {
				cwd: tmp,
				env: {...process.env, CGO_ENABLED: '0', GOBIN: tmp, GOFLAGS: (process.env.GOFLAGS || '').replace(/-mod=\S+/g, '')},
				stdio: ['ignore', 'inherit', 'inherit'],
			});
			child.on('error', (error) =>
				reject(new Error(`building k9s needs Go on PATH, or MODELDECK_K9S naming a k9s binary (${error.message})`)),
			);
			child.on('exit', (code, signal) =>
				code === 0
					? resolve(undefined)
					: reject(new Error(`go install github.com/derailed/k9s@${K9S_VERSION} failed (${signal ?? `exit ${code}`})`)),
			);
		});
		renameSync(path.join(tmp, 'k9s'), cached);
	} finally {
		rmSync(tmp, {recursive: true, force: true});
	}
	log(`built k9s in ${((Date.now() - started) / 1000).toFixed(0)} s: ${cached}`);
	return cached;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await ensureK9s());
