/**
 * The registry watcher inside the agent: its MLflow client (token from the environment), its memory in the agent's
 * store, its audit records in the agent's trail, its metrics in the agent's registry, and the webhook's secret.
 */
import {Counter} from 'prom-client';
import type {DeliveryStarter} from '../../domain/delivery.ts';
import type {AgentCore} from '../agent.ts';
import {MlflowClient} from './mlflow-client.ts';
import type {RegistrySettings} from './settings.ts';
import {RegistryWatcher} from './watcher.ts';
import type {RegistryClient, RegistryWatcherMetrics} from './watcher.ts';

export interface RegistryOptions {
	settings: RegistrySettings;
	/** Starts the rollouts. Default: the agent's own delivery runner (`AgentCore.deliveries`). */
	starter?: DeliveryStarter;
	/** Where `mlflow.tokenEnv` and `mlflow.webhookSecretEnv` are read. Default process.env. */
	env?: NodeJS.ProcessEnv;
	/** Default: MLflow's REST API at `mlflow.url`. */
	client?: RegistryClient;
	fetch?: typeof fetch;
}

export interface RunningRegistry {
	watcher: RegistryWatcher;
	/** The webhook's secret; undefined when none is set (then only Kubernetes tokens are accepted). */
	webhookSecret: string | undefined;
	close(): void;
}

function registryMetrics(core: AgentCore): RegistryWatcherMetrics {
	const registers = [core.metrics.registry];
	const polls = new Counter({
		name: 'modeldeck_agent_registry_polls_total',
		help: 'Looks at a followed registry alias, by result (ok: MLflow answered; error: it did not).',
		labelNames: ['result'],
		registers,
	});
	const problems = new Counter({
		name: 'modeldeck_agent_registry_problems_total',
		help: 'Problems of the registry watcher, by kind (unreachable, model-missing, alias-missing, refused, bad-answer, mapping: no image or version from the model version, starter, memory).',
		labelNames: ['kind'],
		registers,
	});
	const starts = new Counter({
		name: 'modeldeck_agent_registry_rollouts_total',
		help: 'Rollouts the registry watcher asked for, by result (ok: started; refused: the runner refused).',
		labelNames: ['result'],
		registers,
	});
	return {
		polls: (result) => polls.inc({result}),
		problem: (kind) => problems.inc({kind}),
		started: (result) => starts.inc({result}),
	};
}

/** Throws when there is nothing to start rollouts with (an agent without a cluster). */
export function startRegistry(core: AgentCore, options: RegistryOptions, log: (line: string) => void): RunningRegistry {
	const starter = options.starter ?? core.deliveries;
	if (!starter)
		throw new Error(
			'the registry watcher needs the agent to run rollouts, which needs a cluster: drop --registry-config or give the agent a cluster',
		);
	const env = options.env ?? process.env;
	const {mlflow} = options.settings;
	const token = mlflow.tokenEnv ? env[mlflow.tokenEnv] : undefined;
	if (mlflow.tokenEnv && !token) log(`registry: ${mlflow.tokenEnv} (mlflow.tokenEnv) is not set: calling MLflow without a token`);
	const webhookSecret = mlflow.webhookSecretEnv ? env[mlflow.webhookSecretEnv] || undefined : undefined;
	if (mlflow.webhookSecretEnv && !webhookSecret)
		log(`registry: ${mlflow.webhookSecretEnv} (mlflow.webhookSecretEnv) is not set: signed webhooks are refused`);
	const client =
		options.client ?? new MlflowClient({url: mlflow.url, ...(token ? {token} : {}), ...(options.fetch ? {fetch: options.fetch} : {})});
	const watcher = new RegistryWatcher({
		settings: options.settings,
		client,
		starter,
		memory: {get: (key) => core.store.readMeta(key), set: (key, value) => core.store.writeMeta(key, value)},
		audit: (entry, namespace) => core.auditor.record(entry, namespace, undefined, 'ModeldeckRegistry'),
		metrics: registryMetrics(core),
		log,
	});
	watcher.start();
	return {watcher, webhookSecret, close: () => watcher.close()};
}
