/**
 * A small JSON client for the API server, authenticated by client-node's KubeConfig (tokens, client certificates,
 * exec plugins). Objects stay plain JSON as the API server sends them — the same shape watch events have — so that
 * discovery, actions and fixtures all see one shape.
 */
import http from 'node:http';
import https from 'node:https';
import type {KubeConfig} from '@kubernetes/client-node';
import {KubeApiError} from './errors.ts';
import {ListReader} from './list-reader.ts';

export type PatchType = 'json' | 'merge';

export interface RequestOptions {
	query?: Record<string, string | number | boolean | undefined>;
	body?: unknown;
	patchType?: PatchType;
	/** Default 30 s: a request that takes longer fails with a TimeoutError. */
	timeoutMs?: number;
}

const contentTypes: Record<PatchType, string> = {
	json: 'application/json-patch+json',
	merge: 'application/merge-patch+json',
};

export class KubeHttp {
	private readonly kubeConfig: KubeConfig;

	constructor(kubeConfig: KubeConfig) {
		this.kubeConfig = kubeConfig;
	}

	/** API server URL of the current context (for messages). */
	get server(): string {
		return this.kubeConfig.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
	}

	/** The kubeconfig user of the current context (for messages). */
	get user(): string | undefined {
		return this.kubeConfig.getCurrentUser()?.name;
	}

	get<T>(path: string, options: RequestOptions = {}): Promise<T> {
		return this.request<T>('GET', path, options);
	}

	patch<T>(path: string, body: unknown, patchType: PatchType = 'json'): Promise<T> {
		return this.request<T>('PATCH', path, {body, patchType});
	}

	/**
	 * GET a list, its items parsed (and cut by TRIM) while the body arrives (list-reader.ts): a relist of a cluster's pods
	 * never exists as one string of megabytes plus its untrimmed parse. The result is what `get` and the trim give.
	 */
	async list<T>(path: string, options: RequestOptions = {}, trim?: (item: unknown) => unknown): Promise<T> {
		const {url, read} = await this.#exchange('GET', path, options, () => new ListReader(trim));
		const result = read?.end();
		if (!result?.ok) throw new Error(`GET ${url.pathname}: the API server sent something that is not a JSON list`);
		return result.list as T;
	}

	async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
		const {url, text} = await this.#exchange(method, path, options);
		if (!text) return undefined as T;
		try {
			return JSON.parse(text) as T;
		} catch {
			throw new Error(`${method} ${url.pathname}: the API server sent something that is not JSON`);
		}
	}

	/**
	 * Sends the request (again after a 429, see below) and gathers a 2xx answer's body: given to a reader made by READER,
	 * else as text. Throws KubeApiError for any other status, with the answer's text.
	 */
	async #exchange(
		method: string,
		path: string,
		options: RequestOptions,
		reader?: () => ListReader,
	): Promise<{url: URL; text: string; read: ListReader | undefined}> {
		const cluster = this.kubeConfig.getCurrentCluster();
		if (!cluster) throw new Error('the kubeconfig has no cluster for the current context; pick a context with --context');
		const url = new URL(cluster.server.replace(/\/$/, '') + path);
		for (const [key, value] of Object.entries(options.query ?? {})) {
			if (value !== undefined) url.searchParams.set(key, String(value));
		}

		const requestOptions: https.RequestOptions = {method, headers: {Accept: 'application/json'}};
		await this.kubeConfig.applyToHTTPSOptions(requestOptions);
		const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
		const headers = requestOptions.headers as Record<string, string>;
		if (payload !== undefined) {
			headers['Content-Type'] = method === 'PATCH' ? contentTypes[options.patchType ?? 'json'] : 'application/json';
			headers['Content-Length'] = String(Buffer.byteLength(payload));
		}

		const transport = url.protocol === 'http:' ? http : https;
		if (url.protocol === 'http:') delete requestOptions.agent;
		const timeoutMs = options.timeoutMs ?? 30_000;
		const send = () =>
			new Promise<{status: number; text: string; read: ListReader | undefined; retryAfter: string | undefined}>((resolve, reject) => {
				const request = transport.request(url, {...requestOptions, signal: AbortSignal.timeout(timeoutMs)}, (response) => {
					const status = response.statusCode ?? 0;
					const read = status >= 200 && status <= 299 ? reader?.() : undefined;
					// Decoded chunk by chunk into a string on V8's heap: a big list (a cluster's pods, megabytes) joined as one
					// Buffer and decoded would take three copies of malloc'd memory at once (chunks, the joined Buffer, and the
					// external string Node makes of anything over 1 MB), which glibc keeps after they are freed: ~10 MB of RSS.
					// A character split between chunks is whole in the next one.
					response.setEncoding('utf8');
					let text = '';
					response.on('data', (chunk: string) => {
						if (read) read.push(chunk);
						else text += chunk;
					});
					response.on('end', () => {
						const retryAfter = response.headers['retry-after'];
						resolve({status, text, read, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter});
					});
					response.on('error', reject);
				});
				request.on('error', reject);
				if (payload !== undefined) request.write(payload);
				request.end();
			});
		let answer = await send();
		// A 429 is the API server asking to come back (its watch cache (re)initializing just after a CRD was created or
		// it restarted, or API Priority and Fairness shedding load): the request was not carried out, so it is sent again
		// after the Retry-After it gives, as client-go's REST client does — a few times, then said.
		for (let retry = 1; answer.status === 429 && retry <= retriesOn429; retry++) {
			await new Promise((resolve) => setTimeout(resolve, retryDelayMs(answer.retryAfter)));
			answer = await send();
		}

		const {status, text, read} = answer;
		if (status < 200 || status > 299) throw new KubeApiError(status, text, method, url.pathname);
		return {url, text, read};
	}
}

/** How many times a request answered 429 is sent again. */
const retriesOn429 = 3;

/** Retry-After (whole seconds, as the API server sends it) as a delay: 1 s when absent, at most 5 s. */
export function retryDelayMs(retryAfter: string | undefined): number {
	const seconds = retryAfter === undefined || retryAfter.trim() === '' ? Number.NaN : Number(retryAfter);
	return Number.isFinite(seconds) && seconds >= 0 ? Math.min(5, seconds) * 1000 : 1000;
}

export interface ResourceType {
	/** API group; '' for the core group. */
	group: string;
	version: string;
	/** Plural, lower case. */
	plural: string;
}

/** `/api/v1/namespaces/x/pods`, `/apis/apps/v1/deployments` (all namespaces), with an optional object name. */
export function resourcePath(type: ResourceType, namespace: string | undefined, name?: string): string {
	const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
	const scoped = namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}` : `${base}/${type.plural}`;
	return name ? `${scoped}/${encodeURIComponent(name)}` : scoped;
}

export const resourceTypes = {
	deployments: {group: 'apps', version: 'v1', plural: 'deployments'},
	replicaSets: {group: 'apps', version: 'v1', plural: 'replicasets'},
	pods: {group: '', version: 'v1', plural: 'pods'},
	services: {group: '', version: 'v1', plural: 'services'},
	autoscalers: {group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers'},
	httpRoutes: {group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes'},
	virtualServices: {group: 'networking.istio.io', version: 'v1', plural: 'virtualservices'},
	destinationRules: {group: 'networking.istio.io', version: 'v1', plural: 'destinationrules'},
	inferenceServices: {group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices'},
	trafficSplits: {group: 'split.smi-spec.io', version: 'v1alpha2', plural: 'trafficsplits'},
	seldonModels: {group: 'mlops.seldon.io', version: 'v1alpha1', plural: 'models'},
	seldonExperiments: {group: 'mlops.seldon.io', version: 'v1alpha1', plural: 'experiments'},
	rollouts: {group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts'},
	analysisRuns: {group: 'argoproj.io', version: 'v1alpha1', plural: 'analysisruns'},
	canaries: {group: 'flagger.app', version: 'v1beta1', plural: 'canaries'},
	events: {group: '', version: 'v1', plural: 'events'},
	deliveries: {group: 'modeldeck.dev', version: 'v1alpha1', plural: 'deliveries'},
} as const satisfies Record<string, ResourceType>;
