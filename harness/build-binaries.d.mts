// Types for build-binaries.mjs (plain JavaScript so it runs without a build step).

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
export type ToolName = 'kustomize';

export interface BinarySpec {
	name: BinaryName | ToolName;
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

export declare const KWOK_VERSION: string;
export declare const KUSTOMIZE_VERSION: string;
export declare const KUBE_VERSION: string;
export declare const ETCD_VERSION: string;
export declare const BINARIES: BinarySpec[];
export declare const TOOLS: BinarySpec[];
export declare function cacheRoot(): string;
export declare function binDir(): string;
export declare function resolveBinaries(options?: {log?: (line: string) => void}): Record<BinaryName, ResolvedBinary>;
export declare function resolveTools(options?: {log?: (line: string) => void}): Record<ToolName, ResolvedBinary>;
/** The kustomize binary to run; throws, saying how to get one, if there is none. */
export declare function kustomizePath(): string;
export declare function ensureBinaries(options?: {
	log?: (line: string) => void;
	force?: boolean;
}): Promise<Record<BinaryName, ResolvedBinary>>;
