/**
 * The first lists of the console's watches, sent as soon as the kubeconfig is read: the API server serves them while
 * the console and the Kubernetes client (big) load, instead of after. Each watch's first list takes its early response
 * (once) when it asks for the same thing of the same server; any other case, and any early request that failed, gets
 * the ordinary request, so errors are found and said as before.
 *
 * The lists also make the first models (`models()`) as soon as they are in, before the Kubernetes client has loaded:
 * the console draws its first rows from them, and loads the client after. Each list is parsed (and cut to what the watch
 * keeps, trim.ts) once, for the first models and the watch alike, a batch of items at a time while it arrives
 * (list-reader.ts).
 *
 * Pods and ReplicaSets (at 600 Deployments three quarters of the bytes: 4.6 and 2.0 MB of JSON against 2.1 for the
 * Deployments) are asked for once the Deployments are in, so that the API server, which encodes every list at once on
 * the same cores, serves the Deployments first; and the first models do not wait for them. A Deployment's readiness is
 * in its own status; only restarts and pod problems need the pods, and the first models say those are not known yet
 * (`podsPending`) rather than none. Where versions are made of pods or ReplicaSets (KServe revisions, Argo Rollouts),
 * the first models wait for them.
 *
 * Only for kubeconfigs whose credentials are plain (a token or token file, a client certificate, a username and
 * password; a CA or insecure-skip-tls-verify; no proxy): anything else (exec plugins, auth providers, impersonation,
 * proxies) waits for the Kubernetes client, which knows them.
 */
import {readFileSync} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import {parse} from 'yaml';
import type {Model} from '../../domain/types.ts';
import type {Conventions} from './conventions.ts';
import type {ClusterSnapshot} from './discovery/snapshot.ts';
import {traceStartup} from '../startup-trace.ts';
import {resourcePath} from './http.ts';
import {ListReader} from './list-reader.ts';
import {type WatchedKind, watchedKinds} from './watched-kinds.ts';

/** An early list as the watch keeps it: its items cut by the kind's trim (trim.ts), parsed once. */
export interface EarlyList {
	metadata?: {resourceVersion?: string};
	items: unknown[];
}

/** An early answer: the list, or the status it failed with (0: no answer). */
type Parsed = {list: EarlyList} | {status: number};

/** How to reach the API server of one context without the Kubernetes client. */
export interface EarlyAccess {
	context: string;
	server: string;
	/** The context's namespace, if it names one. */
	namespace: string | undefined;
	/** TLS material and the Authorization header. */
	options: https.RequestOptions & {headers: Record<string, string>};
}

export type Query = Record<string, string | number | boolean | undefined>;

/** A request as a key: the path and its query, in the order KubeHttp sets them. */
export function requestKey(resource: string, query: Query): string {
	const search = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
	const text = search.toString();
	return text ? `${resource}?${text}` : resource;
}

/** The query of a watched kind's list (`resourceVersion=0`: from the API server's watch cache; see watch.ts). */
export function listQuery(kind: WatchedKind): Query {
	return {labelSelector: kind.labelSelector, fieldSelector: kind.fieldSelector, resourceVersion: '0'};
}

const clusterKeys = new Set([
	'server',
	'certificate-authority',
	'certificate-authority-data',
	'insecure-skip-tls-verify',
	'tls-server-name',
	'extensions',
]);
const userKeys = new Set([
	'token',
	'tokenFile',
	'client-certificate',
	'client-certificate-data',
	'client-key',
	'client-key-data',
	'username',
	'password',
	'extensions',
]);
const proxyVariables = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function named(list: unknown, name: string, field: string): Record<string, unknown> | undefined {
	if (!Array.isArray(list)) return undefined;
	const entry: unknown = list.find((item: unknown) => isRecord(item) && item['name'] === name);
	return isRecord(entry) && isRecord(entry[field]) ? entry[field] : undefined;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * The plain credentials of CONTEXT (else the current context, else the only one) in the kubeconfig TEXT, or
 * undefined when the kubeconfig is not one this module can use alone (see the top of the file). Never throws.
 */
export function earlyAccess(
	kubeconfig: string,
	options: {directory: string; context?: string | undefined; env?: NodeJS.ProcessEnv; readFile?: (file: string) => Buffer},
): EarlyAccess | undefined {
	const env = options.env ?? process.env;
	const read = options.readFile ?? ((file: string) => readFileSync(file));
	if (proxyVariables.some((variable) => env[variable])) return undefined;
	try {
		const config: unknown = parse(kubeconfig);
		if (!isRecord(config)) return undefined;
		const contexts = Array.isArray(config['contexts']) ? (config['contexts'] as unknown[]) : [];
		const onlyContext = contexts.length === 1 && isRecord(contexts[0]) ? text(contexts[0]['name']) : undefined;
		const contextName = options.context ?? text(config['current-context']) ?? onlyContext;
		if (!contextName) return undefined;
		const context = named(contexts, contextName, 'context');
		const clusterName = text(context?.['cluster']);
		const userName = text(context?.['user']);
		if (!context || !clusterName) return undefined;
		const cluster = named(config['clusters'], clusterName, 'cluster');
		const user = userName ? named(config['users'], userName, 'user') : {};
		if (!cluster || !user) return undefined;
		if (Object.keys(cluster).some((key) => !clusterKeys.has(key)) || Object.keys(user).some((key) => !userKeys.has(key))) return undefined;
		const server = text(cluster['server']);
		if (!server || !/^https?:\/\/[^/]/.test(server)) return undefined;
		const file = (value: unknown) => {
			const name = text(value);
			return name ? read(path.resolve(options.directory, name)) : undefined;
		};
		const data = (value: unknown) => {
			const encoded = text(value);
			return encoded ? Buffer.from(encoded, 'base64') : undefined;
		};
		const requestOptions: EarlyAccess['options'] = {headers: {Accept: 'application/json'}};
		const ca = data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']);
		if (ca) requestOptions.ca = ca;
		if (cluster['insecure-skip-tls-verify'] === true) requestOptions.rejectUnauthorized = false;
		const serverName = text(cluster['tls-server-name']);
		if (serverName) requestOptions.servername = serverName;
		const cert = data(user['client-certificate-data']) ?? file(user['client-certificate']);
		const key = data(user['client-key-data']) ?? file(user['client-key']);
		if (cert && key) {
			requestOptions.cert = cert;
			requestOptions.key = key;
		} else if (cert || key) return undefined;
		const token = text(user['token']) ?? file(user['tokenFile'])?.toString('utf8').trim();
		const username = text(user['username']);
		const password = text(user['password']);
		if (token) requestOptions.headers['Authorization'] = `Bearer ${token}`;
		else if (username && password)
			requestOptions.headers['Authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
		return {context: contextName, server, namespace: text(context['namespace']), options: requestOptions};
	} catch {
		return undefined;
	}
}

/** The early responses of one context and namespace, each handed out once. */
export class EarlyLists {
	readonly context: string;
	readonly server: string;
	/** The namespace listed; undefined: every one. */
	readonly namespace: string | undefined;
	readonly #responses = new Map<string, Promise<Parsed>>();
	/** The answers already in (parsed or failed), by kind: what the first models can use without waiting. */
	readonly #arrived = new Map<WatchedKind['key'], Parsed>();
	/** Aborts the requests not taken. */
	readonly #untaken = new Map<string, AbortController>();
	readonly #keys = new Map<WatchedKind['key'], string>();

	constructor(access: EarlyAccess, namespace: string | undefined, timeoutMs = 30_000) {
		this.context = access.context;
		this.server = access.server;
		this.namespace = namespace;
		// One TLS context (the CA and client certificate parsed once) for all the lists, and a connection each: a small list
		// (a CRD not installed answers 404 at once) is not queued behind the pods; closed once every list is in.
		const {ca, cert, key, ...rest} = access.options;
		const secure = access.server.startsWith('https:') ? {secureContext: tls.createSecureContext({ca, cert, key})} : {};
		const kinds = watchedKinds();
		const agent = access.server.startsWith('https:')
			? new https.Agent({keepAlive: true, maxSockets: kinds.length})
			: new http.Agent({keepAlive: true, maxSockets: kinds.length});
		const shared = {...access, options: {...rest, ...secure, agent}};
		const sent: Array<Promise<Parsed>> = [];
		let deploymentsIn: Promise<unknown> = Promise.resolve();
		for (const kind of kinds) {
			const key = requestKey(resourcePath(kind.type, namespace), listQuery(kind));
			const controller = new AbortController();
			const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
			// A failure (no answer: status 0) is found again by the ordinary request that replaces it.
			const parsed = (
				deferredKinds.has(kind.key)
					? deploymentsIn.then(() => (signal.aborted ? Promise.reject(signal.reason) : send(shared, key, kind, signal)))
					: send(shared, key, kind, signal)
			).catch((): Parsed => ({status: 0}));
			if (kind.key === 'deployments') deploymentsIn = parsed;
			sent.push(parsed);
			this.#untaken.set(key, controller);
			this.#keys.set(kind.key, key);
			this.#responses.set(key, parsed);
			void parsed.then((answer) => this.#arrived.set(kind.key, answer));
		}

		void Promise.allSettled(sent).then(() => agent.destroy());
	}

	/** How many responses were taken (for tests and the start-up trace). */
	taken = 0;

	/**
	 * The early list of GET KEY (see requestKey), once: its items already trimmed; undefined when there is none, and a
	 * promise of undefined when the request failed (the ordinary request then finds and says why).
	 */
	take(key: string): Promise<EarlyList | undefined> | undefined {
		const parsed = this.#responses.get(key);
		if (!parsed) return undefined;
		this.taken++;
		this.#responses.delete(key);
		this.#untaken.delete(key);
		return parsed.then((answer) => ('list' in answer ? answer.list : undefined));
	}

	/**
	 * The models the early lists make, as the watch would make them from the same lists; undefined when a list the
	 * models need failed (an optional kind refused or not installed is left out, as the watch leaves it out), or was
	 * taken first. Flagger's Events are waited for only when there are Canaries.
	 */
	async models(conventions?: Conventions): Promise<Model[] | undefined> {
		// Discovery loads while the lists are on their way: this module, which sends them, stays small.
		const discovery = import('./build-models.ts');
		const snapshot: ClusterSnapshot = {};
		const answers = new Map<WatchedKind['key'], Promise<Parsed> | undefined>();
		for (const [kind, key] of this.#keys) answers.set(kind, this.#responses.get(key));
		const read = async (kind: WatchedKind): Promise<boolean> => {
			const answer = await answers.get(kind.key);
			if (!answer) return false;
			if ('list' in answer) {
				(snapshot as Record<string, unknown[]>)[kind.key] = answer.list.items;
				return true;
			}

			return kind.optional && (answer.status === 404 || answer.status === 403);
		};
		const kinds = watchedKinds(conventions);
		const later = kinds.filter((kind) => kind.key === 'canaryEvents' || deferredKinds.has(kind.key));
		const first = await Promise.all(kinds.filter((kind) => !later.includes(kind)).map(read));
		if (first.includes(false)) return undefined;
		if ((snapshot.canaries?.length ?? 0) > 0 && !(await read(kinds.find((kind) => kind.key === 'canaryEvents')!))) return undefined;
		// KServe's revisions and Argo Rollouts' versions are made of pods and ReplicaSets: those are waited for. Otherwise
		// they are taken if they are in already, and else the models say the pods are not listed yet.
		const pods = kinds.filter((kind) => deferredKinds.has(kind.key));
		const needed = (snapshot.inferenceServices?.length ?? 0) > 0 || (snapshot.rollouts?.length ?? 0) > 0;
		if (needed || pods.every((kind) => this.#arrived.has(kind.key))) {
			if ((await Promise.all(pods.map(read))).includes(false)) return undefined;
			return (await discovery).buildModels(snapshot, conventions);
		}

		return (await discovery).buildModels({...snapshot, podsPending: true}, conventions);
	}

	/** Drops every response not taken, aborting its request (another context or namespace is watched, or none). */
	discard(): void {
		for (const controller of this.#untaken.values()) controller.abort();
		this.#untaken.clear();
		this.#responses.clear();
	}
}

/** The lists asked for once the Deployments are in, which the first models need not wait for (see the top). */
const deferredKinds = new Set<WatchedKind['key']>(['pods', 'replicaSets']);

/**
 * GET KEY: a list is parsed and trimmed while it arrives (list-reader.ts); any other answer is its status, and a body
 * that is not a list counts as no answer (0).
 */
function send(access: EarlyAccess, key: string, kind: WatchedKind, signal: AbortSignal): Promise<Parsed> {
	return new Promise((resolve, reject) => {
		const url = new URL(access.server.replace(/\/$/, '') + key);
		const transport = url.protocol === 'http:' ? http : https;
		const request = transport.request(url, {...access.options, method: 'GET', signal}, (response) => {
			const status = response.statusCode ?? 0;
			const reader = status >= 200 && status <= 299 ? new ListReader(kind.trim) : undefined;
			// Decoded as KubeHttp decodes: a character split between chunks is whole in the next one.
			response.setEncoding('utf8');
			let length = 0;
			response.on('data', (chunk: string) => {
				length += chunk.length;
				reader?.push(chunk);
			});
			response.on('end', () => {
				traceStartup(`early answer ${key.split('?')[0]} (${Math.round(length / 1024)} KB)`);
				if (!reader) return resolve({status});
				const read = reader.end();
				resolve(read.ok ? {list: read.list as EarlyList} : {status: 0});
			});
			response.on('error', reject);
		});
		request.on('error', reject);
		request.end();
	});
}

/**
 * Reads KUBECONFIG and sends the first lists of CONTEXT (else the one in force) in NAMESPACE (`all`: every one;
 * undefined: the context's). Undefined when the kubeconfig is not plain (see above) or cannot be read.
 */
export function startEarlyLists(
	kubeconfigPath: string,
	context: string | undefined,
	namespace: string | undefined,
): EarlyLists | undefined {
	let kubeconfig: string;
	try {
		kubeconfig = readFileSync(kubeconfigPath, 'utf8');
	} catch {
		return undefined;
	}

	const access = earlyAccess(kubeconfig, {directory: path.dirname(path.resolve(kubeconfigPath)), context});
	if (!access) return undefined;
	return new EarlyLists(access, namespace === 'all' ? undefined : (namespace ?? access.namespace));
}
