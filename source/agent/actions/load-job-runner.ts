/**
 * Runs a large load test as a Kubernetes Job through the API server: creates the Job (load-job.ts builds it), polls
 * its status every second, reads each finished worker's result line from its pod's log (pods/log) and merges them.
 * Every worker gets the same start time in its args (`--start-at`), set far enough ahead for the pods to be scheduled
 * and started, so that their measured windows are the same wall-clock interval and their rates add up. A worker that
 * starts after that time starts at once; the merged rate is then over the union of the windows, and a message says
 * by how much the windows were apart.
 */
import {BatchV1Api, CoreV1Api} from '@kubernetes/client-node';
import type {KubeConfig} from '@kubernetes/client-node';
import {buildLoadTestJob, mergeWorkerResults, parseWorkerOutput} from './load-job.ts';
import type {WorkerResult} from './load-job.ts';
import type {LoadRun} from './load-generator.ts';
import type {LoadJobPlan, LoadJobRunner, PreparedTarget} from './load-test.ts';

export interface KubeLoadJobRunnerOptions {
	/** Where Jobs run: the agent's namespace. */
	namespace: string;
	/** The agent's image; workers run `modeldeck agent loadtest-worker`. */
	image: string;
	/** The workers' service account (one with no permissions: workers only send HTTP to the model). */
	serviceAccountName?: string;
	/** How often the Job's status is read. Default 1 s. */
	pollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class KubeLoadJobRunner implements LoadJobRunner {
	readonly #batch: BatchV1Api;
	readonly #core: CoreV1Api;
	readonly #options: KubeLoadJobRunnerOptions;

	constructor(config: KubeConfig, options: KubeLoadJobRunnerOptions) {
		this.#batch = config.makeApiClient(BatchV1Api);
		this.#core = config.makeApiClient(CoreV1Api);
		this.#options = options;
	}

	async run(target: PreparedTarget, plan: LoadJobPlan, onMessage: (message: string) => void, signal?: AbortSignal): Promise<LoadRun> {
		const loadTestId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
		const name = `modeldeck-loadtest-${target.target.name}-${loadTestId}`.slice(0, 63).replace(/-+$/, '');
		const namespace = this.#options.namespace;
		const startAt = plan.startAt ?? Date.now() + 30_000;
		const startDelaySeconds = Math.max(0, (startAt - Date.now()) / 1000);
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
			startAt,
			startDelaySeconds,
			loadTestId,
			...(this.#options.serviceAccountName ? {serviceAccountName: this.#options.serviceAccountName} : {}),
		});
		await this.#batch.createNamespacedJob({namespace, body: job});
		onMessage(`created Job ${namespace}/${name} with ${plan.workers} workers`);
		const deadline = Date.now() + (startDelaySeconds + plan.warmupSeconds + plan.durationSeconds + 300) * 1000;
		let finished = false;
		try {
			while (true) {
				if (signal?.aborted) throw new Error('cancelled');
				if (Date.now() > deadline) throw new Error(`Job ${name} did not finish in time`);
				await sleep(this.#options.pollMs ?? 1000);
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
			const late = results.filter(
				(result) => result.windowStart !== undefined && result.windowStart - plan.warmupSeconds * 1000 > startAt + 1000,
			);
			if (late.length > 0) {
				const worst = Math.max(...late.map((result) => result.windowStart! - plan.warmupSeconds * 1000 - startAt));
				onMessage(
					`${late.length} of ${results.length} workers started after the shared start time (up to ${(worst / 1000).toFixed(1)} s late): the rate is over the union of their windows`,
				);
			}

			finished = true;
			onMessage(`merged the results of ${results.length} workers`);
			return mergeWorkerResults(results);
		} finally {
			if (!finished && signal?.aborted) {
				await this.#batch.deleteNamespacedJob({name, namespace, propagationPolicy: 'Background'}).catch(() => undefined);
			}
		}
	}
}
