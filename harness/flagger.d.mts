// Types for flagger.mjs (plain JavaScript so it runs without a build step).

export declare const FLAGGER_MODULE: 'github.com/fluxcd/flagger';
export declare const FLAGGER_VERSION: string;

/** $MODELDECK_FLAGGER, else ~/.cache/modeldeck/bin/flagger-<version>. */
export declare function flaggerPath(): string;
/** $MODELDECK_FLAGGER_LOADTESTER, else ~/.cache/modeldeck/bin/flagger-loadtester-<version>. */
export declare function loadtesterPath(): string;
/** Flagger's CRDs, cached beside the binary. */
export declare function flaggerCrdPath(): string;
/** Builds and caches Flagger, its loadtester and its CRD file if missing; returns the binary's path. */
export declare function ensureFlagger(options?: {log?: (line: string) => void; force?: boolean}): Promise<string>;

export interface FlaggerCluster {
	server: string;
	caFile: string;
	tokens: {admin: string};
}

/** Applies Flagger's CRDs (Canary, MetricTemplate, AlertProvider) and waits until they are Established. */
export declare function installFlaggerCrds(cluster: FlaggerCluster): Promise<void>;

export interface RunningFlagger {
	pid: number;
	/** Flagger's own HTTP port (/healthz, /metrics). */
	port: number;
	/** Flagger's log so far (JSON lines). */
	logs(): string;
	/** SIGTERM by PID, SIGKILL after 5 s. */
	stop(): Promise<void>;
}

export interface StartFlaggerOptions {
	/** `istio` (default), `gatewayapi:v1`, … */
	meshProvider?: string;
	/** Prometheus URL; default an address where nothing answers (Canaries without metric checks need none). */
	metricsServer?: string;
	namespace?: string;
	/** Default `1s`. */
	controlLoopInterval?: string;
	/** How long to wait for "Started operator workers". Default 60000. */
	timeoutMs?: number;
}

/** Starts Flagger against the cluster's kubeconfig (its current context) and waits until its workers run. */
export declare function startFlagger(cluster: {kubeconfig: string}, options?: StartFlaggerOptions): Promise<RunningFlagger>;

export interface RunningLoadtester {
	/** e.g. `http://127.0.0.1:40123`: its gates are `${url}/gate/check`, `/gate/open`, `/rollback/check`, … */
	url: string;
	pid: number;
	logs(): string;
	stop(): Promise<void>;
}

/** Starts Flagger's loadtester on 127.0.0.1 and waits for /healthz. */
export declare function startLoadtester(): Promise<RunningLoadtester>;
