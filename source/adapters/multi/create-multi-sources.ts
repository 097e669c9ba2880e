/**
 * The sources of a console showing several kubeconfig contexts at once: a Kubernetes port per context (each loaded
 * after the first frame, as the single one is) merged into one, and a Prometheus per context that has one. No agent:
 * an agent acts in its own cluster only, and the prediction log does not say which cluster a prediction came from, so
 * with several clusters every change goes straight to its model's own cluster with the operator's credentials
 * (audited in the console), and the log needs a console on one context.
 */
import type {ClusterPort, MetricsPort, Sources} from '../../domain/ports.ts';
import type {Context} from '../../domain/types.ts';
import {LazyClusterPort} from '../lazy-cluster.ts';
import {LazyMetricsPort} from '../lazy-metrics.ts';
import {MergedClusterPort} from './merged-cluster.ts';
import {MergedMetricsPort} from './merged-metrics.ts';

export interface MultiSourcesOptions {
	kubeconfigPath: string;
	contexts: string[];
	/** The kubeconfig's contexts, as read before the client loads (the picker's list until then). */
	known: Context[];
	/** --namespace NS for every context, `all`, or undefined: every namespace (contexts may default to different ones). */
	namespace: string | 'all' | undefined;
	promoteKeepsOldStable: boolean;
	/** A context's Prometheus URL (its settings, else the flag or the global setting), or undefined for none. */
	prometheusUrl: (context: string) => string | undefined;
	/** A context's Prometheus Service from its settings (`namespace/service:port`), used when it has no URL. */
	prometheusService?: (context: string) => string | undefined;
	profiles: Record<string, Record<string, string>>;
	/** Why changes in a context are refused, or undefined. */
	readOnly: (context: string) => string | undefined;
}

export function createMultiSources(options: MultiSourcesOptions): Sources {
	const members = options.contexts.map((context) => ({
		context,
		port: new LazyClusterPort(
			async () => {
				await new Promise((resolve) => setTimeout(resolve, 0));
				const {createKubeCluster} = await import('../kube/index.ts');
				return createKubeCluster({
					kubeconfigPath: options.kubeconfigPath,
					context,
					namespace: options.namespace ?? 'all',
					promoteKeepsOldStable: options.promoteKeepsOldStable,
				});
			},
			context,
			options.known,
		) as ClusterPort,
	}));
	const cluster = new MergedClusterPort({members, readOnly: options.readOnly});
	// Each context's Prometheus: its URL, else the Service named in its settings, else the one found in that cluster
	// (through its API server's service proxy, with that context's credentials).
	const metricsMembers = options.contexts.map((context) => {
		const url = options.prometheusUrl(context);
		const port: MetricsPort = new LazyMetricsPort(async () => {
			if (url) {
				const {createPrometheusMetrics} = await import('../prometheus/index.ts');
				return createPrometheusMetrics({url, profiles: options.profiles});
			}

			const {prometheusInCluster} = await import('../prometheus/discover.ts');
			const service = options.prometheusService?.(context);
			return prometheusInCluster({
				kubeconfig: options.kubeconfigPath,
				context,
				...(service ? {service} : {}),
				metrics: {profiles: options.profiles},
			});
		}, url ?? `prometheus in ${context}`);
		return {context, port};
	});
	return {cluster, metrics: new MergedMetricsPort(metricsMembers), demo: false};
}
