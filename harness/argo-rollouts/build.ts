// The Argo Rollouts controller, built from the Go module proxy into the harness's cache: inside a copy of its module
// (whose go.mod carries the `replace` directives it needs), under a temporary name, then renamed.

import {spawn, spawnSync} from 'node:child_process';
import {accessSync, chmodSync, constants, cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {binDir} from '../build-binaries/specs.ts';

export const ARGO_ROLLOUTS_MODULE = 'github.com/argoproj/argo-rollouts';
export const ARGO_ROLLOUTS_VERSION = 'v1.10.1';
export const ENV = 'MODELDECK_ROLLOUTS_CONTROLLER';

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
