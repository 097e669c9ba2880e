// Flagger and its loadtester, built from the Go module proxy into the harness's cache (with Flagger's CRD file).

import {spawn, spawnSync} from 'node:child_process';
import {copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {binDir} from '../build-binaries/specs.ts';

export const FLAGGER_MODULE = 'github.com/fluxcd/flagger';
export const FLAGGER_VERSION = 'v1.36.1';

/** $MODELDECK_FLAGGER, else ~/.cache/modeldeck/bin/flagger-<version>. */
export function flaggerPath(): string {
	return process.env.MODELDECK_FLAGGER || path.join(binDir(), `flagger-${FLAGGER_VERSION}`);
}

/** Flagger's loadtester (cmd/loadtester), which serves the manual gates (`/gate/check`, `/gate/open`, `/rollback/…`). */
export function loadtesterPath(): string {
	return process.env.MODELDECK_FLAGGER_LOADTESTER || path.join(binDir(), `flagger-loadtester-${FLAGGER_VERSION}`);
}

/** Flagger's own CRDs (Canary, MetricTemplate, AlertProvider), from the module's artifacts/flagger/crd.yaml. */
export function flaggerCrdPath(): string {
	return path.join(binDir(), `flagger-${FLAGGER_VERSION}-crd.yaml`);
}

function run(cmd: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, {cwd: options.cwd, env: options.env, stdio: ['ignore', 'inherit', 'inherit']});
		child.on('error', reject);
		child.on('exit', (code, signal) =>
			code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
		);
	});
}

/**
 * Builds and caches Flagger, its loadtester and its CRD file if they are not cached yet. Returns the binary's path.
 */
export async function ensureFlagger(options: {log?: (line: string) => void; force?: boolean} = {}): Promise<string> {
	const log = options.log ?? ((line: string) => console.error(`[harness:flagger] ${line}`));
	const binary = flaggerPath();
	if (!options.force && existsSync(binary) && existsSync(loadtesterPath()) && existsSync(flaggerCrdPath())) return binary;
	const go = spawnSync('go', ['version'], {encoding: 'utf8'});
	if (go.status !== 0)
		throw new Error('Go is needed to build Flagger: install Go 1.22 or newer, or set MODELDECK_FLAGGER to a flagger binary');
	const dir = binDir();
	mkdirSync(dir, {recursive: true});
	const download = spawnSync('go', ['mod', 'download', '-json', `${FLAGGER_MODULE}@${FLAGGER_VERSION}`], {
		encoding: 'utf8',
		cwd: os.tmpdir(),
	});
	if (download.status !== 0)
		throw new Error(`go mod download ${FLAGGER_MODULE}@${FLAGGER_VERSION} failed: ${download.stdout}${download.stderr}`);
	const moduleDir = (JSON.parse(download.stdout) as {Dir?: string}).Dir;
	if (!moduleDir) throw new Error(`go mod download ${FLAGGER_MODULE}@${FLAGGER_VERSION} gave no directory`);
	const tmp = mkdtempSync(path.join(dir, '.flagger-build-'));
	try {
		const source = path.join(tmp, 'src');
		cpSync(moduleDir, source, {recursive: true});
		spawnSync('chmod', ['-R', 'u+w', source]);
		const started = Date.now();
		log(`building flagger and its loadtester ${FLAGGER_VERSION} with go build (first time: several minutes on 2 cores) ...`);
		await run('nice', ['go', 'build', '-trimpath', '-ldflags=-s -w', '-o', `${tmp}${path.sep}`, './cmd/flagger', './cmd/loadtester'], {
			cwd: source,
			env: {...process.env, GOFLAGS: (process.env.GOFLAGS || '').replace(/-mod=\S+/g, ''), GOWORK: 'off'},
		});
		copyFileSync(path.join(source, 'artifacts', 'flagger', 'crd.yaml'), path.join(tmp, 'crd.yaml'));
		renameSync(path.join(tmp, 'crd.yaml'), flaggerCrdPath());
		renameSync(path.join(tmp, 'loadtester'), path.join(dir, `flagger-loadtester-${FLAGGER_VERSION}`));
		renameSync(path.join(tmp, 'flagger'), path.join(dir, `flagger-${FLAGGER_VERSION}`));
		log(`built flagger in ${Math.round((Date.now() - started) / 1000)} s`);
	} finally {
		rmSync(tmp, {recursive: true, force: true});
	}

	return binary;
}
