// What the harness runs and where it is cached: the control-plane binaries and kustomize, their versions (pinned by
// the Go modules in harness/go, or by tag) and the cache directory, ${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin.

import {readFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const kubeModule = path.join(here, 'go', 'kube');
export const etcdModule = path.join(here, 'go', 'etcd');

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
