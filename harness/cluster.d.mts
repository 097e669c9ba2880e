// Types for cluster.mjs (plain JavaScript so it runs without a build step).

export declare const NAMESPACES: readonly ['team-a', 'team-b'];
export declare const OPERATOR_NAMESPACE: 'team-a';
export declare const FAKE_NODES: readonly ['kwok-node-0', 'kwok-node-1'];

export interface Tokens {
	admin: string;
	viewer: string;
	operator: string;
}

export interface ProcessRecord {
	name: string;
	pid: number;
	bin: string;
	log: string;
}

export interface Cluster {
	/** kubeconfig with contexts admin (current), viewer and operator */
	kubeconfig: string;
	/** https://127.0.0.1:<port> */
	server: string;
	/** the CA that signed the API server's certificate */
	caFile: string;
	tokens: Tokens;
	/** state dir: pki/, logs/, kubeconfigs/, etcd/, pids.json, kubeconfig */
	dir: string;
	/** what the API server reports, e.g. v1.34.4 */
	version: string;
	processes: ProcessRecord[];
	/** SIGTERM then SIGKILL to every process started; removes the state dir if startCluster made it */
	stop(): Promise<void>;
}

export interface StartOptions {
	/** state dir (wiped first, kept after stop); default: a new temporary dir, removed by stop() */
	dir?: string;
	log?: (line: string) => void;
	/** processes outlive this Node process (cluster:up); default false: they are killed when it exits */
	detached?: boolean;
	/** per wait (etcd health, apiserver readyz, ...); default 120000 */
	timeoutMs?: number;
	/** the controller manager's client rate, requests/s (default its own, 20): a benchmark's big fleet rolls out faster */
	controllerApiQps?: number;
}

export declare function startCluster(options?: StartOptions): Promise<Cluster>;
export declare function stopCluster(dir?: string): Promise<number>;
export declare function alivePids(dir?: string): ProcessRecord[];
export declare function readClusterState(
	dir?: string,
): {server: string; kubeconfig: string; caFile: string; version: string; tokens: Tokens} | undefined;
export declare function defaultStateDir(): string;
/** A Node object kwok manages (32 cores, 256 GiB, 110 pods); FAKE_NODES are made by startCluster. */
export declare function fakeNode(name: string): Record<string, unknown>;
