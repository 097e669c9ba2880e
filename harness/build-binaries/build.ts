// Builds what is missing into the cache with Go: the Kubernetes binaries and etcd from the modules in harness/go,
// kwok and kustomize with `go install` at their tags. Each is built under a temporary name, then renamed.

import {spawn, spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs';
import path from 'node:path';
import {resolveBinaries, resolveTools} from './resolve.ts';
import {
	BINARIES,
	type BinaryName,
	type BinarySpec,
	binDir,
	ETCD_VERSION,
	etcdModule,
	KUBE_VERSION,
	KUSTOMIZE_VERSION,
	KWOK_VERSION,
	kubeModule,
	type ResolvedBinaries,
	type ResolvedBinary,
	TOOLS,
	type ToolName,
} from './specs.ts';

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
