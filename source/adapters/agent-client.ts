/**
 * The console's client of the modeldeck agent: an AgentPort over the agent's HTTP API and WebSocket stream.
 *
 * Works directly (`http://agent:8090`) and through the Kubernetes API server's service proxy
 * (`${server}/api/v1/namespaces/NS/services/http:modeldeck-agent:http/proxy/`, WebSocket upgrades included): give the
 * base URL, the operator's bearer token and, for the proxy, the API server's TLS settings. The token goes in
 * `Authorization` (which the API server checks and removes) and in `X-Modeldeck-Token` (which reaches the agent).
 * The proxy is a permission of its own (`services/proxy`) and answers with Kubernetes Status objects when it cannot
 * reach the agent; refusals say whether the agent or the API server refused, and what to do about it.
 *
 * `findAgent` (agent-client/find-agent.ts, kept apart so this module does not load the Kubernetes client) finds the
 * agent's Service and builds these options from a kubeconfig.
 *
 * The stream reconnects by itself with exponential backoff and jitter, and resumes from the last sequence number it
 * saw, so nothing is lost unless the agent says so with a `gap`. Connection changes are events
 * (`{type: 'connection', connected, reason}`) so the console can show them.
 */
import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import type {AgentEvent, AgentPort, AuditEntry, PredictionFilter} from '../domain/ports.ts';
import type {Action, ActionProgress, Prediction, Unsubscribe} from '../domain/types.ts';
import type {ServerMessage} from '../protocol/agent.ts';
import {forwardedTokenHeader, minRequestIdPrefix, streamSubprotocol} from '../protocol/agent.ts';

export interface AgentTlsOptions {
	ca?: string | Buffer;
	cert?: string | Buffer;
	key?: string | Buffer;
	/** Default true. */
	rejectUnauthorized?: boolean;
}

/** What the client needs of a WebSocket: the `ws` package's WebSocket has it. */
export type WebSocketFactory = (
	url: string,
	protocols: string[],
	options: {headers: Record<string, string>; tls?: AgentTlsOptions},
) => WebSocket;

export interface AgentClientOptions {
	/** The agent's base URL, direct or through the API server's service proxy. */
	url: string;
	/** The operator's Kubernetes bearer token. */
	token?: string;
	/** More headers for every request (e.g. from the kubeconfig's auth provider). */
	headers?: Record<string, string>;
	tls?: AgentTlsOptions;
	webSocketFactory?: WebSocketFactory;
	/** Namespace for audit reads (readers bound in one namespace cannot read all). */
	namespace?: string;
	/**
	 * Reconnect backoff. Default 250 ms doubling to 4 s, with jitter: an agent that is back shows so within two
	 * heartbeats or so, and a refused connection costs nothing to retry.
	 */
	backoff?: {initialMs?: number; maxMs?: number};
	/**
	 * The client pings the agent this often (the agent's own pings come every 30 s); each pong is a healthy moment,
	 * told as an `alive` event. Default 2000 ms.
	 */
	heartbeatMs?: number;
	/**
	 * With nothing from the agent (frame, ping or pong) for this long the connection is dead — a network that froze it
	 * raises no error — and is replaced. Default 10 s.
	 */
	deadAfterMs?: number;
	/** Shown in the header. Default: the URL's host. */
	label?: string;
}

const defaultFactory: WebSocketFactory = (url, protocols, {headers, tls}) =>
	new WebSocket(url, protocols, {headers, perMessageDeflate: false, ...(tls ?? {})});

function withSlash(url: string): string {
	return url.endsWith('/') ? url : `${url}/`;
}

interface HttpAnswer {
	status: number;
	response: http.IncomingMessage;
}

function errorMessage(status: number, text: string): string {
	try {
		const parsed = JSON.parse(text) as {error?: unknown; message?: unknown};
		const message = parsed.error ?? parsed.message;
		if (typeof message === 'string') return `${status}: ${message}`;
	} catch {
		// Not JSON: show the text.
	}

	return `${status}: ${text.slice(0, 200) || http.STATUS_CODES[status] || 'error'}`;
}

/** The API server's own answer (a Kubernetes Status), as opposed to the agent's: the service proxy refused. */
interface KubeStatus {
	kind: 'Status';
	message?: string;
	reason?: string;
}

function kubeStatus(text: string): KubeStatus | undefined {
	try {
		const parsed = JSON.parse(text) as {kind?: unknown; message?: unknown};
		if (parsed.kind === 'Status') return parsed as KubeStatus;
	} catch {
		// Not JSON: not the API server's Status.
	}

	return undefined;
}

/** The Service a service-proxy base URL goes through, e.g. `modeldeck/modeldeck-agent`, or undefined for a direct URL. */
export function proxiedService(base: string): {namespace: string; service: string} | undefined {
	let namespace: string;
	let id: string;
	try {
		const match = /\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(?:\/|$)/.exec(new URL(base).pathname);
		if (!match) return undefined;
		namespace = decodeURIComponent(match[1]!);
		id = decodeURIComponent(match[2]!);
	} catch {
		return undefined;
	}

	// The id is `name`, `name:port` or `scheme:name:port`.
	const parts = id.split(':');
	return {namespace, service: (parts.length === 3 ? parts[1] : parts[0])!};
}

/**
 * What to do about a refusal by the API server's service proxy (kube-apiserver's service ResourceLocation: it looks
 * the backend up in the Endpoints object named like the Service, and only proxies to addresses of existing pods).
 */
function proxyHint(status: number, message: string, where: {namespace: string; service: string} | undefined): string {
	const service = where ? `Service ${where.namespace}/${where.service}` : "the agent's Service";
	if (status === 401) return 'the API server did not accept your credentials (log in again)';
	if (status === 403)
		return `your user needs "get" and "create" on services/proxy in namespace ${where?.namespace ?? 'of the agent'} (deploy/base/console-access.yaml grants them)`;
	// Without the Endpoints object, its NotFound is reported under the Service's name although the Service exists.
	if (status === 404)
		return `${service} or its Endpoints object is missing (the service proxy reads Endpoints, not EndpointSlices): is the agent deployed?`;
	if (/no endpoints available/.test(message)) return `no ready agent pod behind ${service}: is the agent running?`;
	if (status === 502 || status === 503) return 'the API server could not connect to the agent pod';
	return '';
}

/**
 * Who refused and why: the agent itself, or the API server's service proxy in front of it (its answers are
 * Kubernetes Status objects). `what` is undefined for an action, to keep the agent's refusals short.
 */
export function describeRefusal(what: string | undefined, status: number, text: string, base?: string): string {
	const fromApiServer = kubeStatus(text);
	if (!fromApiServer) return `the agent refused${what ? ` ${what}` : ''}: ${errorMessage(status, text)}`;
	const message = fromApiServer.message ?? fromApiServer.reason ?? http.STATUS_CODES[status] ?? 'error';
	const hint = proxyHint(status, message, base ? proxiedService(base) : undefined);
	return `the API server's service proxy refused ${what ?? 'the action'}: ${status}: ${hint ? `${hint}; it said: ` : ''}${message}`;
}

async function readAll(response: http.IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of response) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('utf8');
}

export class AgentClient implements AgentPort {
	readonly label: string;
	readonly #base: string;
	readonly #headers: Record<string, string>;
	readonly #options: AgentClientOptions;

	constructor(options: AgentClientOptions) {
		this.#options = options;
		this.#base = withSlash(options.url);
		this.label = options.label ?? `agent ${new URL(this.#base).host}`;
		this.#headers = {...options.headers};
		if (options.token) {
			this.#headers['authorization'] = `Bearer ${options.token}`;
			this.#headers[forwardedTokenHeader] = options.token;
		}
	}

	#url(path: string, query: Record<string, string | number | undefined> = {}): URL {
		const url = new URL(path, this.#base);
		for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
		return url;
	}

	#request(url: URL, init: {method?: string; body?: string; headers?: Record<string, string>} = {}): Promise<HttpAnswer> {
		const transport = url.protocol === 'https:' ? https : http;
		return new Promise((resolve, reject) => {
			const request = transport.request(
				url,
				{
					method: init.method ?? 'GET',
					headers: {
						...this.#headers,
						...init.headers,
						...(init.body === undefined ? {} : {'content-length': Buffer.byteLength(init.body)}),
					},
					...(url.protocol === 'https:' ? (this.#options.tls ?? {}) : {}),
					timeout: 30_000,
				},
				(response) => resolve({status: response.statusCode ?? 0, response}),
			);
			request.on('timeout', () => request.destroy(new Error('the agent did not answer within 30 s')));
			request.on('error', (error) => reject(new Error(`cannot reach the agent at ${this.#base}: ${error.message}`)));
			request.end(init.body);
		});
	}

	async #getJson<T>(path: string, query: Record<string, string | number | undefined>): Promise<T> {
		const {status, response} = await this.#request(this.#url(path, query));
		const text = await readAll(response);
		if (status !== 200) throw new Error(describeRefusal(path, status, text, this.#base));
		return JSON.parse(text) as T;
	}

	/** Predictions whose request id is the text or, from 4 characters on, starts with it (exact matches first). */
	lookup(text: string): Promise<Prediction[]> {
		const wanted = text.trim();
		if ([...wanted].length < minRequestIdPrefix)
			return this.#getJson('v1/predictions', {requestId: wanted, namespace: this.#options.namespace, limit: 100});
		return this.#getJson('v1/predictions', {requestIdPrefix: wanted, namespace: this.#options.namespace, limit: 20});
	}

	audit(limit: number): Promise<AuditEntry[]> {
		return this.#getJson('v1/audit', {limit, namespace: this.#options.namespace});
	}

	async *act(action: Action): AsyncGenerator<ActionProgress> {
		let answer: HttpAnswer;
		try {
			answer = await this.#request(this.#url('v1/actions'), {
				method: 'POST',
				body: JSON.stringify(action),
				headers: {'content-type': 'application/json'},
			});
		} catch (error) {
			yield {kind: 'failed', message: (error as Error).message};
			return;
		}

		const {status, response} = answer;
		if (status !== 200) {
			yield {kind: 'failed', message: describeRefusal(undefined, status, await readAll(response), this.#base)};
			return;
		}

		let buffer = '';
		let finished = false;
		try {
			for await (const chunk of response) {
				buffer += (chunk as Buffer).toString('utf8');
				let newline: number;
				while ((newline = buffer.indexOf('\n')) !== -1) {
					const line = buffer.slice(0, newline).trim();
					buffer = buffer.slice(newline + 1);
					if (!line) continue;
					const progress = JSON.parse(line) as ActionProgress;
					if (progress.kind === 'done' || progress.kind === 'failed') finished = true;
					yield progress;
				}
			}
		} catch (error) {
			if (!finished)
				yield {
					kind: 'failed',
					message: `lost the agent while the action ran: ${(error as Error).message}; see the audit log for its outcome`,
				};
			return;
		}

		if (!finished)
			yield {kind: 'failed', message: 'the agent closed the progress stream before the action finished; see the audit log for its outcome'};
	}

	predictions(filter: PredictionFilter, fromSeq: number | undefined, onEvent: (event: AgentEvent) => void): Unsubscribe {
		const factory = this.#options.webSocketFactory ?? defaultFactory;
		const initialMs = this.#options.backoff?.initialMs ?? 250;
		const maxMs = this.#options.backoff?.maxMs ?? 4000;
		const heartbeatMs = this.#options.heartbeatMs ?? 2000;
		const deadAfterMs = this.#options.deadAfterMs ?? 10_000;
		const streamUrl = this.#url('v1/stream');
		streamUrl.protocol = streamUrl.protocol === 'https:' ? 'wss:' : 'ws:';
		let lastSeq = fromSeq;
		let attempt = 0;
		let stopped = false;
		let connected = false;
		let socket: WebSocket | undefined;
		let retryTimer: NodeJS.Timeout | undefined;
		let lastActivity = Date.now();
		let failureReason: string | undefined;

		const emit = (event: AgentEvent): void => {
			try {
				onEvent(event);
			} catch {
				// A listener's failure must not break the connection.
			}
		};

		const handle = (message: ServerMessage): void => {
			switch (message.type) {
				case 'hello': {
					attempt = 0;
					if (lastSeq !== undefined && message.seq < lastSeq) {
						emit({
							type: 'gap',
							seq: message.seq,
							dropped: 0,
							reason: 'the agent lost its history (restarted without a database); numbering started again',
						});
						lastSeq = message.seq;
					}

					// Without a position yet, start at the hello: events published before our subscribe lands are replayed.
					lastSeq ??= message.seq;
					socket?.send(JSON.stringify({type: 'subscribe', filter, fromSeq: lastSeq}));
					connected = true;
					emit({type: 'connection', connected: true});
					return;
				}

				case 'prediction':
				case 'audit':
				case 'guard':
					if (lastSeq !== undefined && message.seq <= lastSeq) return;
					lastSeq = message.seq;
					emit(message);
					return;
				case 'gap':
					// A final gap counts what the agent owed as it cut us: resuming from our own position gets it back.
					if (message.final) {
						failureReason = message.reason;
						return;
					}

					lastSeq = Math.max(lastSeq ?? 0, message.seq);
					emit(message);
					return;
				case 'error':
					failureReason = message.message;
					emit({type: 'connection', connected, reason: message.message});
					return;
				case 'action-progress':
					return;
			}
		};

		const scheduleReconnect = (reason: string, slow: boolean): void => {
			if (stopped || retryTimer) return;
			const base = slow ? maxMs : Math.min(maxMs, initialMs * 2 ** attempt);
			attempt++;
			const delay = base / 2 + Math.random() * (base / 2);
			emit({type: 'connection', connected: false, reason: `${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`});
			retryTimer = setTimeout(() => {
				retryTimer = undefined;
				connect();
			}, delay);
		};

		const watchdog = setInterval(
			() => {
				if (!socket) return;
				if (Date.now() - lastActivity > deadAfterMs) {
					failureReason = `no answer from the agent for ${deadAfterMs / 1000} s (connection frozen or agent stuck)`;
					socket.terminate();
				} else if (socket.readyState === WebSocket.OPEN) {
					socket.ping();
				}
			},
			Math.max(50, Math.min(heartbeatMs, deadAfterMs / 3)),
		);
		watchdog.unref?.();

		const connect = (): void => {
			if (stopped) return;
			failureReason = undefined;
			connected = false;
			lastActivity = Date.now();
			let ws: WebSocket;
			try {
				ws = factory(streamUrl.toString(), [streamSubprotocol], {
					headers: this.#headers,
					...(this.#options.tls ? {tls: this.#options.tls} : {}),
				});
			} catch (error) {
				scheduleReconnect(`cannot connect: ${(error as Error).message}`, false);
				return;
			}

			socket = ws;
			let refused: {status: number; reason: string} | undefined;
			ws.on('message', (data: WebSocket.RawData) => {
				lastActivity = Date.now();
				let parsed: unknown;
				try {
					parsed = JSON.parse(data.toString());
				} catch {
					return;
				}

				for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
					if (typeof message === 'object' && message !== null && 'type' in message) handle(message as ServerMessage);
				}
			});
			ws.on('ping', () => {
				lastActivity = Date.now();
			});
			ws.on('pong', () => {
				lastActivity = Date.now();
				if (connected && socket === ws) emit({type: 'alive'});
			});
			ws.on('unexpected-response', (_request, response) => {
				readAll(response).then(
					(text) => {
						refused = {status: response.statusCode ?? 0, reason: describeRefusal('the stream', response.statusCode ?? 0, text, this.#base)};
						ws.terminate();
					},
					() => ws.terminate(),
				);
			});
			ws.on('error', (error) => {
				failureReason ??= error.message;
			});
			ws.on('close', (code, reasonBuffer) => {
				if (socket === ws) socket = undefined;
				connected = false;
				if (stopped) return;
				const closeReason = reasonBuffer.toString();
				const reason =
					refused?.reason ??
					failureReason ??
					(closeReason ? `the agent closed the stream: ${closeReason}` : `the stream closed (code ${code})`);
				const denied = refused?.status === 401 || refused?.status === 403 || code === 4401 || code === 4403;
				scheduleReconnect(reason, denied);
			});
		};

		connect();
		return () => {
			stopped = true;
			clearInterval(watchdog);
			if (retryTimer) clearTimeout(retryTimer);
			retryTimer = undefined;
			if (socket) {
				const closing = socket;
				socket = undefined;
				if (closing.readyState === WebSocket.CONNECTING) closing.terminate();
				else closing.close(1000, 'unsubscribed');
			}
		};
	}
}

export function createAgentClient(options: AgentClientOptions): AgentPort {
	return new AgentClient(options);
}
