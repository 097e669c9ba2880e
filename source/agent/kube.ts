/**
 * The agent's own connection to the Kubernetes API server: its credentials (in-cluster service account, or a
 * kubeconfig when run locally), and what it does there besides the ClusterPort's actions: Events on changed objects
 * and a reachability probe for /readyz. Load-test Jobs: actions/load-job-runner.ts.
 */
import {CoreV1Api, KubeConfig, KubernetesObjectApi, VersionApi} from '@kubernetes/client-node';
import {hostname} from 'node:os';
import type {InvolvedObject} from './kube-objects.ts';

export interface KubeConnectionOptions {
	kubeconfig?: string;
	context?: string;
}

/** In a pod (service account files present, no kubeconfig given): in-cluster config; else the kubeconfig. */
export function loadKubeConfig(options: KubeConnectionOptions): KubeConfig {
	const config = new KubeConfig();
	if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
	else if (process.env['KUBERNETES_SERVICE_HOST']) config.loadFromCluster();
	else config.loadFromDefault();
	if (options.context) config.setCurrentContext(options.context);
	return config;
}

export class KubeAgentClient {
	readonly config: KubeConfig;
	readonly #core: CoreV1Api;
	readonly #version: VersionApi;
	readonly #objects: KubernetesObjectApi;
	#reachable: {ok: boolean; checked: number; message: string} = {ok: false, checked: 0, message: 'not checked yet'};

	constructor(config: KubeConfig) {
		this.config = config;
		this.#core = config.makeApiClient(CoreV1Api);
		this.#version = config.makeApiClient(VersionApi);
		this.#objects = KubernetesObjectApi.makeApiClient(config);
	}

	get server(): string {
		return this.config.getCurrentCluster()?.server ?? '(no cluster)';
	}

	/** Whether the API server answered within the last 10 s (asks again when older). */
	async reachable(): Promise<{ok: boolean; message: string}> {
		if (Date.now() - this.#reachable.checked < 10_000) return this.#reachable;
		try {
			const info = await this.#version.getCode();
			this.#reachable = {ok: true, checked: Date.now(), message: `API server ${info.gitVersion}`};
		} catch (error) {
			this.#reachable = {ok: false, checked: Date.now(), message: `API server ${this.server} unreachable: ${(error as Error).message}`};
		}

		return this.#reachable;
	}

	/**
	 * The reference with the object's uid and resourceVersion as the API server has them now, which `kubectl
	 * describe` needs to list the Event with the object. Without them (the object is gone, or the agent may not read
	 * it) the Event is still recorded, by name, and found with `kubectl get events --field-selector
	 * involvedObject.name=NAME`.
	 */
	async #identified(object: InvolvedObject): Promise<InvolvedObject> {
		if (object.uid) return object;
		try {
			// A list by name, not a get: the agent's ClusterRole lets it list and watch the objects it acts on, and
			// does not grant get on all of them.
			const list = await this.#objects.list(
				object.apiVersion,
				object.kind,
				object.namespace,
				undefined,
				undefined,
				undefined,
				`metadata.name=${object.name}`,
			);
			const found = list.items[0];
			if (!found) return object;
			return {
				...object,
				...(found.metadata?.uid ? {uid: found.metadata.uid} : {}),
				...(found.metadata?.resourceVersion ? {resourceVersion: found.metadata.resourceVersion} : {}),
			};
		} catch {
			return object;
		}
	}

	/** Records a core/v1 Event on the object. */
	async recordEvent(reference: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
		const object = await this.#identified(reference);
		const now = new Date();
		await this.#core.createNamespacedEvent({
			namespace: object.namespace,
			body: {
				metadata: {generateName: `${object.name}.modeldeck.`, namespace: object.namespace},
				involvedObject: object,
				reason,
				// The API server refuses Event messages over 1 KiB.
				message: message.slice(0, 1000),
				type,
				source: {component: 'modeldeck-agent', host: hostname()},
				reportingComponent: 'modeldeck.dev/agent',
				reportingInstance: hostname(),
				firstTimestamp: now,
				lastTimestamp: now,
				count: 1,
			},
		});
	}
}
