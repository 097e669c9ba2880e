/** Reaching the cluster and metrics a command works on: the demo given by the composition root, else a kubeconfig and Prometheus. */
import type {ClusterPort, MetricsPort} from '../domain/ports.ts';
import type {CommandArgs} from './command-args.ts';
import type {Deadline} from './deadline.ts';
import type {CommandOptions} from './command-options.ts';
import {Refusal, UsageRefusal} from './refusals.ts';

export interface Connection {
	cluster: ClusterPort;
	metrics?: MetricsPort;
	/** Namespace to watch; undefined means all. */
	namespace: string | undefined;
	cleanup?: () => void;
	deadline?: Deadline;
}

export async function connect(args: CommandArgs, options: CommandOptions): Promise<Connection> {
	const modelNamespace = args.model?.includes('/') ? args.model.split('/')[0] : undefined;
	const chosen = modelNamespace ?? (args.namespace === 'all' ? undefined : args.namespace);
	if (options.cluster) {
		const own = (options.cluster as {namespace?: string}).namespace;
		return {cluster: options.cluster, metrics: options.metrics, namespace: args.namespace === 'all' ? modelNamespace : (chosen ?? own)};
	}

	if (args.demo) {
		if (!options.demo) throw new Refusal('--demo is not available here: the program was started without the demo');
		const sources = await options.demo({scenario: args.scenario, atSeconds: args.atSeconds});
		if ('usage' in sources) throw new UsageRefusal(sources.usage);
		if (args.context !== undefined) {
			const known = sources.cluster.contexts().map((context) => context.name);
			if (!known.includes(args.context)) {
				sources.stop();
				throw new UsageRefusal(`context ${args.context} is not in the demo (contexts: ${known.join(', ')})`);
			}

			await sources.cluster.switchContext(args.context);
		}

		return {cluster: sources.cluster, metrics: options.metrics ?? sources.metrics, namespace: chosen, cleanup: () => sources.stop()};
	}

	const {createKubeCluster, UnknownContextError} = await import('../adapters/kube/index.ts');
	const cluster = await createKubeCluster({
		kubeconfigPath: args.kubeconfig,
		context: args.context,
		namespace: args.namespace,
		conventions: options.conventions,
		promoteKeepsOldStable: options.promoteKeepsOldStable,
	}).catch((error: unknown) => {
		throw error instanceof UnknownContextError ? new UsageRefusal(error.message) : error;
	});
	return {
		cluster,
		metrics: options.metrics ?? (await prometheusFor(args, options)),
		namespace: args.namespace === 'all' ? modelNamespace : (chosen ?? cluster.namespace),
	};
}

/**
 * Prometheus from --prometheus, else from settings (per context, then global); else, for status, the settings'
 * Service or the Prometheus found in the cluster (looked for when first asked); else none.
 */
async function prometheusFor(args: CommandArgs, options: CommandOptions): Promise<MetricsPort | undefined> {
	const url = args.prometheus ?? options.prometheusUrl;
	const profiles = options.profiles ? {profiles: options.profiles} : {};
	if (!url) {
		if (args.command !== 'status') return undefined;
		const [{LazyMetricsPort}, {prometheusInCluster}] = await Promise.all([
			import('../adapters/lazy-metrics.ts'),
			import('../adapters/prometheus/discover.ts'),
		]);
		return new LazyMetricsPort(
			() =>
				prometheusInCluster({
					kubeconfig: args.kubeconfig,
					context: args.context,
					service: options.prometheusService,
					metrics: profiles,
				}),
			'prometheus in the cluster',
		);
	}

	const {createPrometheusMetrics} = await import('../adapters/prometheus/index.ts');
	return createPrometheusMetrics({url, ...profiles});
}
