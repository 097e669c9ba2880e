// Types for argo-rollouts.mjs (plain JavaScript so it runs without a build step).

export declare const ARGO_ROLLOUTS_MODULE: 'github.com/argoproj/argo-rollouts';
export declare const ARGO_ROLLOUTS_VERSION: string;
/** ~/.cache/modeldeck/bin/rollouts-controller-<version> */
export declare function cachedControllerPath(): string;
/** $MODELDECK_ROLLOUTS_CONTROLLER, else the cached binary; undefined when there is none. */
export declare function rolloutsControllerPath(): string | undefined;
/** The module's source in the Go module cache (downloaded from the Go module proxy if missing). */
export declare function moduleDir(): string;
/** Builds the controller into the cache unless it is there; returns the binary. */
export declare function ensureRolloutsController(options?: {log?: (line: string) => void; force?: boolean}): Promise<string>;

export interface ClusterForRollouts {
	kubeconfig: string;
	server: string;
	caFile: string;
	tokens: {admin: string};
	dir: string;
}

/** Installs the Argo Rollouts CRDs from the module's manifests/crds; resolves with their names once Established. */
export declare function installRolloutsCrds(cluster: Omit<ClusterForRollouts, 'dir'>): Promise<string[]>;

export interface RunningRolloutsController {
	pid: number;
	/** The controller's log file, under the cluster's state dir. */
	log: string;
	/** SIGTERM, then SIGKILL after 5 s, to the process started. */
	stop(): Promise<void>;
}

/**
 * Installs the CRDs, lets the harness's operator user read Rollouts and patch them (and their status) in team-a, and
 * starts the controller, as `rollouts-controller`, against the cluster's admin context; resolves once it is healthy.
 */
export declare function startRolloutsController(
	cluster: ClusterForRollouts,
	options?: {log?: (line: string) => void; timeoutMs?: number},
): Promise<RunningRolloutsController>;
