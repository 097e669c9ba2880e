/** What a one-shot command is given: where it writes and reads, and the settings and sources the program chose. */
import type {ClusterPort, MetricsPort} from '../domain/ports.ts';
import type {ThresholdSettings} from '../domain/thresholds.ts';
import type {Conventions} from '../adapters/kube/conventions.ts';

export interface CommandIo {
	stdout: {write(chunk: string): unknown};
	stderr: {write(chunk: string): unknown};
	stdin: NodeJS.ReadableStream & {isTTY?: boolean};
}

export interface CommandOptions {
	/** Metrics for `status`; without it versions have `metrics: null` and only readiness flags. */
	metrics?: MetricsPort;
	/** Threshold settings for status flags (global and per model). */
	thresholds?: ThresholdSettings;
	/** Metrics window for status samples, in seconds. Default 60. */
	metricsWindowSeconds?: number;
	/** Refuse every change, as `--read-only` does (the lead passes the setting). */
	readOnly?: boolean;
	/** Why readOnly holds (e.g. the settings file's readOnly), for the refusal message. */
	readOnlyReason?: string;
	/** Use this cluster instead of one made from the kubeconfig. */
	cluster?: ClusterPort;
	/** Discovery conventions and promotion behaviour for clusters made from the kubeconfig. */
	conventions?: Partial<Conventions>;
	promoteKeepsOldStable?: boolean;
	/** Epoch-ms clock. Default Date.now. */
	now?: () => number;
	/** Contexts that settings mark read-only: changes there are refused whichever way the context was chosen. */
	readOnlyContexts?: string[];
	/** Prometheus URL from settings, used by status when --prometheus is not given. */
	prometheusUrl?: string;
	/** Settings' `prometheusService` (`namespace/service:port`) for the context: status reaches it through the API server. */
	prometheusService?: string;
	/** Custom PromQL profiles from settings. */
	profiles?: Record<string, Record<string, string>>;
	/** The simulated fleet for `--demo`, given by the composition root: commands do not import the demo. */
	demo?: DemoConnector;
}

/**
 * Starts the simulated fleet for `--demo` (with `--scenario`, `--at`): its cluster and metrics, stopped when the
 * command ends, or a usage message (exit 2) when the flags name nothing there.
 */
export type DemoConnector = (options: {scenario?: string | undefined; atSeconds?: number | undefined}) => DemoFleet | Promise<DemoFleet>;

type DemoFleet = {cluster: ClusterPort; metrics: MetricsPort; stop(): void} | {usage: string};
