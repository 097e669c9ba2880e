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

import {spawn, spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, accessSync, constants, readdirSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {ensureRolloutsController, rolloutsControllerPath} from './argo-rollouts.ts';
// A cycle (flagger.ts takes binDir from here) that is safe: neither module calls the other while it loads.
import {ensureFlagger} from './flagger.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const kubeModule = path.join(here, 'go', 'kube');
const etcdModule = path.join(here, 'go', 'etcd');

/** kwok has no module of ours: it is `go install`ed at this tag with its own go.mod and go.sum. */
export const KWOK_VERSION = 'v0.8.0';

/**
 * kustomize, `go install`ed the same way (sigs.k8s.io/kustomize/kustomize/v5, verified by its own go.sum). v5.8.2 is
 * the newest whose go.mod asks for no newer Go than 1.26 (v5.8.3 needs 1.27).
 */
export const KUSTOMIZE_VERSION = 'v5.8.2';

function requiredVersion(goModPath: string, modulePath: string): string {
	const text = readFileSync(goModPath, 'utf8');
	const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
	const m = text.match(new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v[^\\s]+)`, 'm'));
	if (!m?.[1]) throw new Error(`${goModPath} does not require ${modulePath}`);
	return m[1];
}

/** Versions pinned by the Go modules in harness/go. */
export const KUBE_VERSION = requiredVersion(path.join(kubeModule, 'go.mod'), 'k8s.io/kubernetes');
export const ETCD_VERSION = requiredVersion(path.join(etcdModule, 'go.mod'), 'go.etcd.io/etcd/server/v3');

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
export type ToolName = 'kustomize';

export interface BinarySpec<Name extends string = BinaryName | ToolName> {
	name: Name;
	env: string;
	version: string;
	minVersion: [number, number];
	versionArgs: string[];
}

export interface ResolvedBinary {
	path: string;
	source: 'env' | 'path' | 'cache' | 'missing';
	version: string;
}

export type ResolvedBinaries = Record<BinaryName, ResolvedBinary>;
export type ResolvedTools = Record<ToolName, ResolvedBinary>;

export const BINARIES: BinarySpec<BinaryName>[] = [
	{name: 'etcd', env: 'MODELDECK_ETCD', version: ETCD_VERSION, minVersion: [3, 6], versionArgs: ['--version']},
	{name: 'kube-apiserver', env: 'MODELDECK_KUBE_APISERVER', version: KUBE_VERSION, minVersion: [1, 34], versionArgs: ['--version']},
	{
		name: 'kube-controller-manager',
		env: 'MODELDECK_KUBE_CONTROLLER_MANAGER',
		version: KUBE_VERSION,
		minVersion: [1, 34],
		versionArgs: ['--version'],
	},
	{name: 'kube-scheduler', env: 'MODELDECK_KUBE_SCHEDULER', version: KUBE_VERSION, minVersion: [1, 34], versionArgs: ['--version']},
	{name: 'kwok', env: 'MODELDECK_KWOK', version: KWOK_VERSION, minVersion: [0, 6], versionArgs: ['--version']},
];

/** Not part of the control plane (startCluster does not need them), built and cached alongside it. */
export const TOOLS: BinarySpec<ToolName>[] = [
	{name: 'kustomize', env: 'MODELDECK_KUSTOMIZE', version: KUSTOMIZE_VERSION, minVersion: [5, 0], versionArgs: ['version']},
];

export function cacheRoot(): string {
	const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
	return path.join(base, 'modeldeck');
}

export function binDir(): string {
	return path.join(cacheRoot(), 'bin');
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

function onPath(name: string): string | undefined {
	for (const dir of (process.env.PATH || '').split(path.delimiter)) {
		if (!dir) continue;
		const candidate = path.join(dir, name);
		if (isExecutable(candidate)) return candidate;
	}
	return undefined;
}

/** The version a binary reports, e.g. "v1.34.4", "3.6.16", "v0.8.0"; undefined if it says none. */
function reportedVersion(file: string, args: string[]): string | undefined {
	const r = spawnSync(file, args, {encoding: 'utf8', timeout: 10_000});
	const out = `${r.stdout || ''}\n${r.stderr || ''}`;
	const m = out.match(/(?:Kubernetes |etcd Version: |version )v?(\d+\.\d+\.\d+[^\s]*)/i) || out.match(/v?(\d+\.\d+\.\d+)/);
	return m ? m[1] : undefined;
}

function atLeast(version: string | undefined, min: [number, number]): boolean {
	if (!version) return false;
	const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
	return major > min[0] || (major === min[0] && minor >= min[1]);
}

/**
 * Where each binary comes from, without building anything. PATH binaries older than the harness needs
 * (Debian's etcd 3.4, say) are passed over.
 */
export function resolveBinaries(options: {log?: (line: string) => void} = {}): ResolvedBinaries {
	return resolveSpecs(BINARIES, options);
}

/** Where kustomize comes from, without building anything (same order: env var, PATH, cache). */
export function resolveTools(options: {log?: (line: string) => void} = {}): ResolvedTools {
	return resolveSpecs(TOOLS, options);
}

/** The kustomize binary to run; throws, saying how to get one, if there is none. */
export function kustomizePath(): string {
	const k = resolveTools().kustomize;
	if (k.source === 'missing') {
		throw new Error(
			`kustomize not found (not on PATH, MODELDECK_KUSTOMIZE unset, not in ${binDir()}): run ` +
				'`npm run harness:build` (builds it with Go, about a minute) or set MODELDECK_KUSTOMIZE to a kustomize v5 binary',
		);
	}
	return k.path;
}

function resolveSpecs<Name extends string>(
	specs: BinarySpec<Name>[],
	options: {log?: (line: string) => void},
): Record<Name, ResolvedBinary> {
	const log = options.log ?? (() => {});
	const out = {} as Record<Name, ResolvedBinary>;
	for (const spec of specs) {
		const fromEnv = process.env[spec.env];
		if (fromEnv) {
			if (!isExecutable(fromEnv)) throw new Error(`${spec.env}=${fromEnv} is not an executable file`);
			out[spec.name] = {path: fromEnv, source: 'env', version: reportedVersion(fromEnv, spec.versionArgs) ?? 'unknown'};
			continue;
		}
		const found = onPath(spec.name);
		if (found) {
			const v = reportedVersion(found, spec.versionArgs);
			if (atLeast(v, spec.minVersion)) {
				out[spec.name] = {path: found, source: 'path', version: v ?? 'unknown'};
				continue;
			}
			log(`ignoring ${found} (version ${v ?? 'unknown'}; need ${spec.minVersion.join('.')} or newer)`);
		}
		const cached = path.join(binDir(), `${spec.name}-${spec.version}`);
		out[spec.name] = {path: cached, source: isExecutable(cached) ? 'cache' : 'missing', version: spec.version};
	}
	return out;
}

function run(cmd: string, args: string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv}): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, {cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'inherit', 'inherit']});
		child.on('error', reject);
		child.on('exit', (code, signal) => {
			if (code === 0) resolve();
			else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
		});
	});
}

function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(1)} s`;
}

function goVersionOrThrow(): string {
	const r = spawnSync('go', ['version'], {encoding: 'utf8'});
	if (r.error || r.status !== 0) {
		throw new Error(
			'building the harness binaries needs Go (1.26 or newer) on PATH; or name prebuilt binaries with ' +
				[...BINARIES, ...TOOLS].map((b) => b.env).join(', '),
		);
	}
	return r.stdout.trim();
}

function moduleTime(module: string, modulePath: string, env: NodeJS.ProcessEnv): string | undefined {
	const r = spawnSync('go', ['list', '-m', '-json', modulePath], {cwd: module, env, encoding: 'utf8'});
	if (r.status !== 0) return undefined;
	try {
		const time: unknown = (JSON.parse(r.stdout) as {Time?: unknown}).Time;
		return typeof time === 'string' ? time : undefined;
	} catch {
		return undefined;
	}
}

/**
 * Builds whatever is missing (or everything with force) into the cache and returns where each binary is.
 */
export async function ensureBinaries(options: {log?: (line: string) => void; force?: boolean} = {}): Promise<ResolvedBinaries> {
	const log = options.log ?? ((line: string) => console.log(`[harness:build] ${line}`));
	const resolved: Record<BinaryName | ToolName, ResolvedBinary> = {...resolveBinaries({log}), ...resolveTools({log})};
	const all: BinarySpec[] = [...BINARIES, ...TOOLS];
	const toBuild = all.filter((b) => resolved[b.name]?.source === 'missing' || (options.force && resolved[b.name]?.source === 'cache'));
	for (const b of all) {
		const r = resolved[b.name];
		if (r && !toBuild.includes(b)) log(`${b.name} ${r.version}: ${r.path} (${r.source})`);
	}
	if (toBuild.length === 0) return resolved;

	log(`using ${goVersionOrThrow()}`);
	const dir = binDir();
	mkdirSync(dir, {recursive: true});
	const tmp = mkdtempSync(path.join(dir, '.build-'));
	const env: NodeJS.ProcessEnv = {
		...process.env,
		CGO_ENABLED: '0',
		// Keep go's own module and build caches (shared with any other Go work on the machine).
	};
	const totalStart = Date.now();
	try {
		const kube = toBuild.filter((b) => b.name.startsWith('kube-'));
		if (kube.length > 0) {
			const started = Date.now();
			const names = kube.map((b) => b.name);
			log(`building ${names.join(', ')} ${KUBE_VERSION} with go build (first time: ~10-20 min on 2 cores) ...`);
			const [major, minor] = KUBE_VERSION.replace(/^v/, '').split('.');
			const buildDate = moduleTime(kubeModule, 'k8s.io/kubernetes', env) ?? '1970-01-01T00:00:00Z';
			const x: string[] = [];
			for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
				x.push(
					`-X ${pkg}.gitVersion=${KUBE_VERSION}`,
					`-X ${pkg}.gitMajor=${major}`,
					`-X ${pkg}.gitMinor=${minor}`,
					`-X ${pkg}.gitTreeState=clean`,
					`-X ${pkg}.buildDate=${buildDate}`,
				);
			}
			await run(
				'go',
				[
					'build',
					'-trimpath',
					'-tags=notest,grpcnotrace',
					`-ldflags=-s -w ${x.join(' ')}`,
					'-o',
					`${tmp}${path.sep}`,
					...names.map((n) => `./cmd/${n}`),
				],
				{cwd: kubeModule, env},
			);
			for (const n of names) renameSync(path.join(tmp, n), path.join(dir, `${n}-${KUBE_VERSION}`));
			log(`built ${names.join(', ')} in ${seconds(Date.now() - started)}`);
		}
		if (toBuild.some((b) => b.name === 'etcd')) {
			const started = Date.now();
			log(`building etcd ${ETCD_VERSION} with go build ...`);
			await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', path.join(tmp, 'etcd'), '.'], {cwd: etcdModule, env});
			renameSync(path.join(tmp, 'etcd'), path.join(dir, `etcd-${ETCD_VERSION}`));
			log(`built etcd in ${seconds(Date.now() - started)}`);
		}
		// kwok and kustomize build from their own modules with `go install` (no go.work of ours needed).
		const goInstall = async (name: string, modulePath: string, version: string) => {
			const started = Date.now();
			log(`building ${name} ${version} with go install ...`);
			await run('go', ['install', '-trimpath', '-ldflags=-s -w', `${modulePath}@${version}`], {
				cwd: tmp,
				env: {...env, GOBIN: tmp, GOFLAGS: (env.GOFLAGS || '').replace(/-mod=\S+/g, '')},
			});
			renameSync(path.join(tmp, name), path.join(dir, `${name}-${version}`));
			log(`built ${name} in ${seconds(Date.now() - started)}`);
		};
		if (toBuild.some((b) => b.name === 'kwok')) await goInstall('kwok', 'sigs.k8s.io/kwok/cmd/kwok', KWOK_VERSION);
		if (toBuild.some((b) => b.name === 'kustomize')) await goInstall('kustomize', 'sigs.k8s.io/kustomize/kustomize/v5', KUSTOMIZE_VERSION);
	} finally {
		rmSync(tmp, {recursive: true, force: true});
	}
	log(`done in ${seconds(Date.now() - totalStart)}; cache ${dir}: ${cacheSize(dir)}`);
	return resolveBinaries();
}

function cacheSize(dir: string): string {
	let bytes = 0;
	for (const f of readdirSync(dir)) {
		try {
			const s = statSync(path.join(dir, f));
			if (s.isFile()) bytes += s.size;
		} catch {
			// raced with a removal
		}
	}
	return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

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
