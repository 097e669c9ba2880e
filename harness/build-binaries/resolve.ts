// Where each binary comes from, without building anything: its environment variable, PATH (at a suitable version),
// or the cache.

import {accessSync, constants, statSync} from 'node:fs';
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {BINARIES, type BinarySpec, binDir, type ResolvedBinaries, type ResolvedBinary, type ResolvedTools, TOOLS} from './specs.ts';

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
