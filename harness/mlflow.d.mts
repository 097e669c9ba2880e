// Types for mlflow.mjs (plain JavaScript so tests and scripts import it without a build step).

export declare const MLFLOW_VERSION: string;
/** The cached virtual environment, `${XDG_CACHE_HOME:-~/.cache}/modeldeck/mlflow-<version>`. */
export declare function mlflowDir(): string;
export declare function mlflowPython(): string;
/** Installs MLflow into the cache when it is not there (or its requirements changed); returns the venv's python. */
export declare function ensureMlflow(options?: {log?: (line: string) => void}): string;

export interface StartMlflowOptions {
	/** To start it again where it was (the same port and store). */
	port?: number;
	dir?: string;
	/** How long to wait for /health. Default 120000. */
	readyTimeoutMs?: number;
	/** More environment for the server, e.g. MLFLOW_WEBHOOK_ALLOWED_SCHEMES. */
	env?: Record<string, string>;
}

export interface RunningMlflow {
	/** e.g. `http://127.0.0.1:40123` */
	url: string;
	port: number;
	pid: number;
	/** Its work directory (the SQLite file, the artifacts); removed on stop unless the caller gave it. */
	dir: string;
	/** Its output so far. */
	logs(): string;
	/** SIGTERM to its process group, SIGKILL after 5 s. */
	stop(): Promise<void>;
}

export declare function startMlflow(options?: StartMlflowOptions): Promise<RunningMlflow>;
