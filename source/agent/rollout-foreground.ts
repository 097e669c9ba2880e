/**
 * What `modeldeck rollout` (commands/rollout.ts) runs on: the Kubernetes source for the model and its DeliveryPort,
 * the agent (--agent URL, else found in the cluster), and for the foreground the agent's own delivery host
 * (deliveries.ts: the same runner, judge and audit) in this process. Its audit goes to stderr; the smoke test is
 * skipped in the foreground, where the cluster's Services are out of reach.
 */
import type {AgentPort, MetricsPort} from '../domain/ports.ts';
import type {Settings} from '../settings/settings.ts';
import type {DeliveryRunner} from '../delivery/runner.ts';
import {AgentDeliveries} from './deliveries.ts';

/** The flags of `modeldeck rollout` this needs (commands/rollout-args.ts's RolloutArgs). */
interface Flags {
	namespace?: string;
	context?: string;
	kubeconfig?: string;
	agent?: string;
	prometheus?: string;
}

interface Connection {
	namespace: string;
	readModel: (model: {namespace: string; name: string}) => Promise<import('../domain/types.ts').Model>;
	close?(): void;
}

export function rolloutDependencies(settings: Settings, stderr: {write(chunk: string): unknown} = process.stderr) {
	let cluster: import('../adapters/kube/index.ts').KubeCluster | undefined;
	const kubeconfigPath = (flags: Flags) => flags.kubeconfig ?? process.env['KUBECONFIG']?.split(':')[0];
	return {
		requestedBy:
			process.env['GITHUB_ACTIONS'] === 'true' ? `pipeline ${process.env['GITHUB_REPOSITORY'] ?? ''}`.trim() : 'modeldeck rollout',
		async connect(flags: Flags): Promise<Connection> {
			const {createKubeCluster} = await import('../adapters/kube/index.ts');
			const path = kubeconfigPath(flags);
			cluster = await createKubeCluster({
				...(path ? {kubeconfigPath: path} : {}),
				...(flags.context ? {context: flags.context} : {}),
				...(flags.namespace ? {namespace: flags.namespace} : {}),
				promoteKeepsOldStable: settings.promoteKeepsOldStable,
			});
			const connected = cluster;
			return {namespace: connected.namespace ?? 'default', readModel: async (model) => connected.readModel(model)};
		},
		async agent(flags: Flags): Promise<AgentPort | undefined> {
			const {createAgentClient} = await import('../adapters/agent-client.ts');
			const {findAgent, kubeconfigToken} = await import('../adapters/agent-client/find-agent.ts');
			const path = kubeconfigPath(flags);
			if (flags.agent) {
				const token =
					process.env['MODELDECK_TOKEN'] || (path ? await kubeconfigToken(path, flags.context).catch(() => undefined) : undefined);
				return createAgentClient({url: flags.agent, ...(token ? {token} : {})});
			}

			try {
				const found = await findAgent({...(path ? {kubeconfig: path} : {}), ...(flags.context ? {context: flags.context} : {})});
				return found ? createAgentClient(found.clientOptions) : undefined;
			} catch (error) {
				stderr.write(`modeldeck rollout: could not look for the agent: ${(error as Error).message}\n`);
				return undefined;
			}
		},
		async foreground(flags: Flags, connection: Connection): Promise<DeliveryRunner> {
			if (!cluster) throw new Error('not connected');
			const metrics = await metricsFor(flags, settings, kubeconfigPath(flags));
			const deliveries = new AgentDeliveries({
				port: cluster.deliveryPort(),
				findModel: async (ref) => connection.readModel(ref),
				metrics,
				resolveEndpoint: () => {
					throw new Error('not reachable from here');
				},
				skipSmoke: 'the rollout runs outside the cluster, where its Services are out of reach (an agent in the cluster smoke-tests)',
				audit: async (entry) => {
					stderr.write(
						`audit: ${entry.user} ${entry.action} ${entry.target}: ${entry.before} → ${entry.after}${entry.message ? ` (${entry.message})` : ''}\n`,
					);
				},
				log: (line) => stderr.write(`modeldeck rollout: ${line}\n`),
			});
			return deliveries.runner;
		},
	};
}

async function metricsFor(flags: Flags, settings: Settings, kubeconfig: string | undefined): Promise<MetricsPort> {
	const url = flags.prometheus ?? (flags.context ? settings.contexts[flags.context]?.prometheusUrl : undefined) ?? settings.prometheusUrl;
	if (url) {
		const {createPrometheusMetrics} = await import('../adapters/prometheus/index.ts');
		return createPrometheusMetrics({url, profiles: settings.profiles});
	}

	const {prometheusInCluster} = await import('../adapters/prometheus/discover.ts');
	return prometheusInCluster({kubeconfig, context: flags.context, metrics: {profiles: settings.profiles}});
}
