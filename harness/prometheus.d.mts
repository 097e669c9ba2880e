// Types for prometheus.mjs (plain JavaScript so tests and scripts import it without a build step).

export interface ScrapeTarget {
	/** Job name. */
	job: string;
	/** `host:port` addresses, e.g. `['127.0.0.1:8080']`. */
	targets: string[];
	/** Static labels added to every series of these targets, e.g. `{namespace: 'ml'}`. */
	labels?: Record<string, string>;
	/** Default `/metrics`. */
	metricsPath?: string;
}

export interface StartPrometheusOptions {
	/** What to scrape. Default none. */
	scrapeTargets?: ScrapeTarget[];
	/** Default 1. */
	scrapeIntervalSeconds?: number;
	/** TSDB directory. Default a fresh temporary directory, removed on stop. */
	dataDir?: string;
	/** An OpenMetrics file turned into TSDB blocks (promtool tsdb create-blocks-from openmetrics) before start. */
	storageBlocksFrom?: string;
	/** How long to wait for /-/ready. Default 30000. */
	readyTimeoutMs?: number;
	/** The address to listen on. Default `127.0.0.1`; a non-loopback one (or `0.0.0.0`) to be reached through a Service. */
	listenHost?: string;
	/** More prometheus flags. */
	extraArgs?: string[];
}

export interface RunningPrometheus {
	/** e.g. `http://127.0.0.1:40123` */
	url: string;
	port: number;
	pid: number;
	dataDir: string;
	/** The prometheus binary used. */
	binary: string;
	/** Prometheus's stderr so far. */
	logs(): string;
	/** SIGTERM by PID, SIGKILL after 5 s; removes the directories it created. */
	stop(): Promise<void>;
}

export declare function cacheBinDir(): string;
export declare function prometheusBinary(): string;
export declare function promtoolBinary(): string;
export declare function freePort(): Promise<number>;
export declare function prometheusConfig(scrapeTargets: ScrapeTarget[], scrapeIntervalSeconds: number): string;
export declare function createBlocks(openMetricsFile: string, dataDir: string): Promise<void>;
export declare function startPrometheus(options?: StartPrometheusOptions): Promise<RunningPrometheus>;
/** Waits until at least `targets` scrape targets are up. */
export declare function waitForTargets(url: string, options: {targets: number; timeoutMs?: number}): Promise<void>;
