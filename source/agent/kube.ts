/**
 * The agent's own connection to the Kubernetes API server: its credentials (in-cluster service account, or a
 * kubeconfig when run locally), and what it does there besides the ClusterPort's actions: Events on changed objects,
 * load-test Jobs, and a reachability probe for /readyz.
 */
import {BatchV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, VersionApi} from '@kubernetes/client-node';
import {hostname} from 'node:os';
import {buildLoadTestJob, mergeWorkerResults, parseWorkerOutput} from './actions/load-job.ts';
import type {WorkerResult} from './actions/load-job.ts';
import type {LoadRun} from './actions/load-generator.ts';
import type {LoadJobRunner, PreparedTarget} from './actions/load-test.ts';
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
	readonly #batch: BatchV1Api;
	readonly #version: VersionApi;
	readonly #objects: KubernetesObjectApi;
	#reachable: {ok: boolean; checked: number; message: string} = {ok: false, checked: 0, message: 'not checked yet'};

	constructor(config: KubeConfig) {
		this.config = config;
		this.#core = config.makeApiClient(CoreV1Api);
		this.#batch = config.makeApiClient(BatchV1Api);
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
			const list = await this.#objects.list(object.apiVersion, object.kind, object.namespace, undefined, undefined, undefined, `metadata.name=${object.name}`);
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

	jobRunner(options: {namespace: string; image: string; serviceAccountName?: string; pollMs?: number}): LoadJobRunner {
		return new KubeLoadJobRunner(this.#batch, this.#core, options);
	}
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class KubeLoadJobRunner implements LoadJobRunner {
	readonly #batch: BatchV1Api;
	readonly #core: CoreV1Api;
	readonly #options: {namespace: string; image: string; serviceAccountName?: string; pollMs?: number};

	constructor(batch: BatchV1Api, core: CoreV1Api, options: {namespace: string; image: string; serviceAccountName?: string; pollMs?: number}) {
		this.#batch = batch;
		this.#core = core;
		this.#options = options;
	}

	async run(
		target: PreparedTarget,
		plan: {rps: number; workers: number; durationSeconds: number; warmupSeconds: number},
		onMessage: (message: string) => void,
		signal?: AbortSignal,
	): Promise<LoadRun> {
		const loadTestId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
		const name = `modeldeck-loadtest-${target.target.name}-${loadTestId}`.slice(0, 63).replace(/-+$/, '');
		const namespace = this.#options.namespace;
		const job = buildLoadTestJob({
			name,
			namespace,
			image: this.#options.image,
			workers: plan.workers,
			target: target.target,
			url: target.url,
			body: target.body,
			rps: plan.rps,
			durationSeconds: plan.durationSeconds,
			warmupSeconds: plan.warmupSeconds,
			loadTestId,
			...(this.#options.serviceAccountName ? {serviceAccountName: this.#options.serviceAccountName} : {}),
		});
		await this.#batch.createNamespacedJob({namespace, body: job});
		onMessage(`created Job ${namespace}/${name} with ${plan.workers} workers`);
		const deadline = Date.now() + (plan.warmupSeconds + plan.durationSeconds + 300) * 1000;
		try {
			while (true) {
				if (signal?.aborted) throw new Error('cancelled');
				if (Date.now() > deadline) throw new Error(`Job ${name} did not finish in time`);
				await sleep(this.#options.pollMs ?? 2000);
				const status = (await this.#batch.readNamespacedJob({name, namespace})).status;
				const succeeded = status?.succeeded ?? 0;
				const failed = status?.failed ?? 0;
				onMessage(`Job ${name}: ${status?.active ?? 0} running, ${succeeded} done, ${failed} failed of ${plan.workers}`);
				if (failed > 0) throw new Error(`${failed} worker(s) of Job ${name} failed; see kubectl logs -n ${namespace} -l job-name=${name}`);
				if (succeeded >= plan.workers) break;
			}

			const pods = await this.#core.listNamespacedPod({namespace, labelSelector: `job-name=${name}`});
			const results: WorkerResult[] = [];
			for (const pod of pods.items) {
				if (pod.status?.phase !== 'Succeeded' || !pod.metadata?.name) continue;
				const log = await this.#core.readNamespacedPodLog({name: pod.metadata.name, namespace});
				const result = parseWorkerOutput(log);
				if (typeof result === 'string') throw new Error(`pod ${pod.metadata.name}: ${result}`);
				results.push(result);
			}

			if (results.length < plan.workers) throw new Error(`only ${results.length} of ${plan.workers} workers left results`);
			onMessage(`merged the results of ${results.length} workers`);
			return mergeWorkerResults(results);
		} finally {
			if (signal?.aborted) {
				await this.#batch.deleteNamespacedJob({name, namespace, propagationPolicy: 'Background'}).catch(() => undefined);
			}
		}
	}
}
