/** A ClusterPort over a kubeconfig: contexts and namespaces, discovery watches, actions. */
import {existsSync} from 'node:fs';
import {homedir} from 'node:os';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import type {ClusterPort, SourceError} from '../../domain/ports.ts';
import type {Context, Model, ModelRef, Unsubscribe} from '../../domain/types.ts';
import {KubeActions, type PlannedChange, type TrafficAction} from './actions.ts';
import type {DeliveryPlan, DeliveryPort, DeliverySpec} from '../../domain/delivery.ts';
import {KubeDeliveryPort} from './delivery/kube-delivery.ts';
import {type Conventions, withDefaults} from './conventions.ts';
import type {EarlyLists} from './early-lists.ts';
import {describeKubeError, statusOf} from './errors.ts';
import {KubeHttp, resourcePath} from './http.ts';
import type {KubeList} from './objects.ts';
import {type BackoffPolicy, type HealthTiming, watchModels} from './watch.ts';

export interface KubeClusterOptions {
	/** A kubeconfig file. Default: `$KUBECONFIG` (several files merged), else `~/.kube/config`, else in-cluster. */
	kubeconfigPath?: string;
	/** Context to use instead of the kubeconfig's current context. */
	context?: string;
	/** Namespace to show, or `all`. Default: the context's namespace, else `default`. */
	namespace?: string | 'all';
	/** Labels and annotations that mark models; see conventions.ts for the defaults. */
	conventions?: Partial<Conventions>;
	/** After a promotion keep the old stable's replicas (default false: scale it to zero). */
	promoteKeepsOldStable?: boolean;
	/** Retry timing of the watches (tests shorten it). */
	backoff?: BackoffPolicy;
	/** Heartbeat, request and watch timeouts that tell a live API server from a silent one (see watch.ts). */
	health?: Partial<HealthTiming>;
	/**
	 * The first lists, sent before this source was made (early-lists.ts): the first watch of their context and
	 * namespace takes them; a context switch drops them.
	 */
	earlyLists?: EarlyLists;
}

/** The ClusterPort plus what the command line needs from a Kubernetes cluster. */
export interface KubeCluster extends ClusterPort {
	/** Namespace chosen by the options or the context; undefined means all namespaces. */
	readonly namespace: string | undefined;
	/** API server URL of the current context. */
	readonly server: string;
	/** The model as the API server has it now (a fresh read, not the watch's view). */
	readModel(model: ModelRef): Promise<Model>;
	/** Every write the action would make now: what the agent authorises before acting (see actions.ts). */
	plannedChanges(action: TrafficAction): Promise<PlannedChange[]>;
	/** Carries out the action, refusing (ConflictError, before writing) a plan that writes outside `within`. */
	actWithin(action: TrafficAction, within: PlannedChange[]): Promise<void>;
	/** The DeliveryPort over this cluster's connection (delivery/kube-delivery.ts), for a DeliveryRunner. */
	deliveryPort(): DeliveryPort;
	planDelivery(spec: DeliverySpec): Promise<DeliveryPlan>;
}

function loadKubeConfig(options: KubeClusterOptions): KubeConfig {
	const kubeConfig = new KubeConfig();
	const file = options.kubeconfigPath;
	try {
		if (file) {
			if (!existsSync(file)) throw new Error('no such file');
			kubeConfig.loadFromFile(file);
		} else {
			const hasDefault =
				Boolean(process.env.KUBECONFIG) ||
				existsSync(path.join(homedir(), '.kube', 'config')) ||
				Boolean(process.env.KUBERNETES_SERVICE_HOST);
			if (!hasDefault) {
				throw new Error('no kubeconfig found: set KUBECONFIG, pass --kubeconfig FILE, or run with --demo');
			}

			kubeConfig.loadFromDefault();
		}
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		throw new Error(file ? `cannot read kubeconfig ${file}: ${reason}` : reason, {cause: error});
	}

	if (kubeConfig.getContexts().length === 0) {
		throw new Error(`the kubeconfig${file ? ` ${file}` : ''} has no contexts; add one or pass --kubeconfig FILE`);
	}

	return kubeConfig;
}

/** A context asked for by name that the kubeconfig does not have: a usage error for the command line. */
export class UnknownContextError extends Error {
	override name = 'UnknownContextError';
}

function selectContext(kubeConfig: KubeConfig, name: string): void {
	if (!kubeConfig.getContextObject(name)) {
		const known = kubeConfig
			.getContexts()
			.map((context) => context.name)
			.join(', ');
		throw new UnknownContextError(`context ${name} is not in the kubeconfig (contexts: ${known}); pick one of them with --context NAME`);
	}

	kubeConfig.setCurrentContext(name);
}

/** A copy pinned to one context, so that switching contexts later does not move running watches. */
function pinnedCopy(kubeConfig: KubeConfig): KubeConfig {
	const copy = new KubeConfig();
	copy.loadFromOptions({
		clusters: kubeConfig.clusters,
		users: kubeConfig.users,
		contexts: kubeConfig.contexts,
		currentContext: kubeConfig.currentContext,
	});
	return copy;
}

export async function createKubeCluster(options: KubeClusterOptions = {}): Promise<KubeCluster> {
	const kubeConfig = loadKubeConfig(options);
	if (options.context) selectContext(kubeConfig, options.context);
	// A kubeconfig without current-context but with one context has one context in force: that one (kubectl would
	// refuse, and the console would show a context that does not exist).
	else if (!kubeConfig.getCurrentContext() && kubeConfig.getContexts().length === 1)
		selectContext(kubeConfig, kubeConfig.getContexts()[0]!.name);
	if (!kubeConfig.getCurrentContext()) {
		const known = kubeConfig
			.getContexts()
			.map((context) => context.name)
			.join(', ');
		throw new Error(`the kubeconfig sets no current-context: pick one with --context NAME (contexts: ${known})`);
	}

	if (!kubeConfig.getCurrentCluster()) {
		throw new Error(
			`context ${kubeConfig.getCurrentContext()} names no cluster in the kubeconfig; fix the kubeconfig or pick another --context`,
		);
	}

	const conventions = withDefaults(options.conventions);
	const namespaceFor = () => {
		if (options.namespace === 'all') return undefined;
		return options.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
	};

	let http = new KubeHttp(pinnedCopy(kubeConfig));
	let namespace = namespaceFor();
	let earlyLists = options.earlyLists;
	/** The early lists, for the first watch on their context and server only; then dropped. */
	const takeEarlyLists = () => {
		const early =
			earlyLists && earlyLists.context === kubeConfig.getCurrentContext() && earlyLists.server === kubeConfig.getCurrentCluster()?.server
				? earlyLists
				: undefined;
		if (!early) earlyLists?.discard();
		earlyLists = undefined;
		return early;
	};
	const actions = new KubeActions(() => http, {conventions, promoteKeepsOldStable: options.promoteKeepsOldStable ?? false});
	const deliveries = new KubeDeliveryPort(() => http, actions, conventions, namespace ? [namespace] : undefined);

	const cluster: KubeCluster = {
		get label() {
			return kubeConfig.getCurrentContext();
		},
		get namespace() {
			return namespace;
		},
		get server() {
			return http.server;
		},
		contexts(): Context[] {
			return kubeConfig.getContexts().map((context) => {
				const entry: Context = {name: context.name, cluster: context.cluster};
				if (context.user) entry.user = context.user;
				if (context.namespace) entry.namespace = context.namespace;
				return entry;
			});
		},
		currentContext() {
			return kubeConfig.getCurrentContext();
		},
		async switchContext(name: string) {
			selectContext(kubeConfig, name);
			earlyLists?.discard();
			earlyLists = undefined;
			http = new KubeHttp(pinnedCopy(kubeConfig));
			namespace = namespaceFor();
		},
		async namespaces() {
			try {
				const list = await http.get<KubeList>(resourcePath({group: '', version: 'v1', plural: 'namespaces'}, undefined));
				return (list?.items ?? [])
					.map((item) => item.metadata?.name ?? '')
					.filter(Boolean)
					.sort();
			} catch (error) {
				// Users allowed into one namespace cannot list namespaces: offer the one they have.
				if (statusOf(error) === 403) return namespace ? [namespace] : [];
				throw new Error(describeKubeError(error, {verb: 'list', resource: 'namespaces', server: http.server, user: http.user}), {
					cause: error,
				});
			}
		},
		watchModels(
			watchNamespace: string | undefined,
			onChange: (models: Model[]) => void,
			onError: (error: SourceError) => void,
			onAlive?: () => void,
		): Unsubscribe {
			const early = takeEarlyLists();
			return watchModels({
				...(early ? {earlyLists: early} : {}),
				kubeConfig: pinnedCopy(kubeConfig),
				namespace: watchNamespace,
				conventions,
				onChange,
				onError,
				backoff: options.backoff,
				...(onAlive ? {onAlive} : {}),
				...(options.health ? {timing: options.health} : {}),
			});
		},
		setCanaryWeight: (model: ModelRef, canary: string, weight: number, expectedWeight?: number) =>
			actions.setCanaryWeight(model, canary, weight, expectedWeight),
		promote: (model: ModelRef, canary: string) => actions.promote(model, canary),
		rollback: (model: ModelRef, canary: string) => actions.rollback(model, canary),
		switchTraffic: (model: ModelRef, to: string) => actions.switchTraffic(model, to),
		plan: (action: TrafficAction) => actions.plan(action),
		act: (action: TrafficAction) => actions.act(action),
		readModel: async (model: ModelRef) => (await actions.read(model)).model,
		plannedChanges: (action: TrafficAction) => actions.plannedChanges(action),
		actWithin: (action: TrafficAction, within: PlannedChange[]) => actions.act(action, {within}),
		deliveryPort: () => deliveries,
		planDelivery: async (spec: DeliverySpec) => deliveries.planDelivery(spec),
	};
	return cluster;
}
