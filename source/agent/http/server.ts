/**
 * The agent's HTTP and WebSocket front end.
 *
 * - `POST /v1/logs`: ingest (no Kubernetes token: optional shared ingest token and IP allow-list).
 * - `GET /v1/predictions?requestId=|requestIdPrefix=&namespace=&model=&version=&status=&since=&until=&limit=`: JSON array.
 * - `GET /v1/audit?limit=&namespace=`: JSON array, newest first.
 * - `POST /v1/actions`: body an Action; answers NDJSON, one ActionProgress per line, as the action goes.
 * - `GET /v1/stream`: WebSocket, subprotocol `modeldeck.v1` (see protocol.ts).
 * - `GET /metrics`, `/healthz`, `/readyz`: no token.
 *
 * With `ingestPort` set, `POST /v1/logs` is served on that second port only (with `/healthz`), and the first port
 * refuses it: a NetworkPolicy can then open the API's port to the API server's service proxy and keep ingest, which
 * carries no Kubernetes token, confined to model pods.
 *
 * The caller's token is read from `Authorization: Bearer …`, or from `X-Modeldeck-Token` when the request came
 * through the API server's service proxy (which authenticates, and removes, the Authorization header).
 */
import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {WebSocketServer} from 'ws';
import type WebSocket from 'ws';
import type {Action} from '../../domain/types.ts';
import {AgentCore, agentVersion} from '../agent.ts';
import {HttpProblem} from '../refusal.ts';
import type {AgentCoreOptions} from '../options.ts';
import {parseAction} from '../actions/validate.ts';
import {IpAllowList, tokenMatches} from '../auth/ingest-access.ts';
import {jsonDepthOver, tooDeepMessage} from '../ingest/json-depth.ts';
import type {Identity} from '../auth/reviewer.ts';
import {closeTooSlow, forwardedTokenHeader, minRequestIdPrefix, streamSubprotocol} from '../../protocol/agent.ts';
import type {ClientMessage, ServerMessage} from '../../protocol/agent.ts';
import {parseFilter} from '../stream/filter.ts';
import type {Subscriber} from '../stream/hub.ts';
import {maxQueryLimit} from '../store/sqlite-store.ts';

export interface AgentOptions extends AgentCoreOptions {
	/** Default 127.0.0.1 (runAgent: 0.0.0.0). */
	host?: string;
	/** 0 picks a free port. Default 0 (runAgent: 8090). */
	port?: number;
	/** Shared secret loggers must present to POST logs. */
	ingestToken?: string;
	/** CIDRs allowed to POST logs. Empty: any. */
	allowIps?: string[];
	/** A separate port for `POST /v1/logs` (0 picks a free one); the main port then refuses ingest. Default: none. */
	ingestPort?: number;
	/** Address of the ingest port. Default: `host`. */
	ingestHost?: string;
	/** Largest log POST. Default 1 MiB. */
	maxBodyBytes?: number;
	/** Ping interval; a client that missed a whole interval is disconnected. Default 30 s. */
	heartbeatMs?: number;
}

export interface RunningAgent {
	url: string;
	port: number;
	/** Where `POST /v1/logs` is served: `url` unless an ingest port was asked for. */
	ingestUrl: string;
	ingestPort: number;
	core: AgentCore;
	close(): Promise<void>;
}

const maxActionBodyBytes = 64 * 1024;

/** The query parameters of GET /v1/predictions: any other is refused, so that a misspelt filter is not ignored. */
const predictionParameters = ['requestId', 'requestIdPrefix', 'namespace', 'model', 'version', 'status', 'since', 'until', 'limit'];

/** Default number of answers to a lookup by prefix (exact matches first). */
const prefixLookupLimit = 20;

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
	if (response.headersSent) {
		response.end();
		return;
	}

	const text = JSON.stringify(body);
	response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers});
	response.end(text);
}

function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const declared = Number(request.headers['content-length']);
		if (Number.isFinite(declared) && declared > limit) {
			reject(new HttpProblem(413, `the body is ${declared} bytes; the limit is ${limit} bytes (--max-body-bytes)`));
			return;
		}

		const chunks: Buffer[] = [];
		let size = 0;
		let failed = false;
		request.on('data', (chunk: Buffer) => {
			if (failed) return;
			size += chunk.length;
			if (size > limit) {
				failed = true;
				reject(new HttpProblem(413, `the body is over the limit of ${limit} bytes (--max-body-bytes)`));
				return;
			}

			chunks.push(chunk);
		});
		request.on('end', () => {
			if (!failed) resolve(Buffer.concat(chunks));
		});
		request.on('error', (error) => {
			if (!failed) reject(new HttpProblem(400, `could not read the body: ${error.message}`));
			failed = true;
		});
	});
}

function tokenFrom(headers: http.IncomingHttpHeaders): string | undefined {
	const authorization = headers.authorization;
	const bearer = authorization && /^bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
	if (bearer) return bearer;
	const forwarded = headers[forwardedTokenHeader];
	const value = Array.isArray(forwarded) ? forwarded[0] : forwarded;
	if (!value) return undefined;
	return /^bearer\s+(\S+)\s*$/i.exec(value)?.[1] ?? value.trim();
}

function parseTime(text: string | null, name: string): number | undefined {
	if (text === null || text === '') return undefined;
	const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
	if (!Number.isFinite(value)) {
		throw new HttpProblem(
			400,
			`${name} must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z), got "${text.slice(0, 40)}"`,
		);
	}

	return value;
}

function parseLimit(text: string | null, fallback: number): number {
	if (text === null || text === '') return fallback;
	const value = Number(text);
	if (!Number.isInteger(value) || value < 1 || value > maxQueryLimit) {
		throw new HttpProblem(400, `limit must be an integer from 1 to ${maxQueryLimit}, got "${text.slice(0, 20)}"`);
	}

	return value;
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
	const log = options.log ?? (() => undefined);
	const allowList = new IpAllowList(options.allowIps ?? []);
	const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
	const core = new AgentCore(options);
	if (core.noAuth) log('WARNING: --no-auth: every caller may read everything and change traffic. Use only for local demos.');

	async function identify(request: http.IncomingMessage): Promise<Identity> {
		return core.authenticate(tokenFrom(request.headers));
	}

	async function handleIngest(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
		if (!allowList.allows(request.socket.remoteAddress)) {
			core.metrics.authFailures.inc({reason: 'ip-not-allowed'});
			throw new HttpProblem(403, `ingest from ${request.socket.remoteAddress ?? 'an unknown address'} is not allowed (--allow-ip)`);
		}

		if (options.ingestToken !== undefined) {
			const header = request.headers['x-modeldeck-ingest-token'];
			const presented =
				tokenFrom(request.headers) ?? (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('token') ?? undefined;
			if (!tokenMatches(presented, options.ingestToken)) {
				core.metrics.authFailures.inc({reason: 'ingest-token'});
				throw new HttpProblem(
					401,
					'missing or wrong ingest token: send it as "Authorization: Bearer <token>", X-Modeldeck-Ingest-Token, or ?token= in the logger URL',
				);
			}
		}

		let body: Buffer;
		try {
			body = await readBody(request, maxBodyBytes);
		} catch (error) {
			core.metrics.ingestRejected.inc({reason: error instanceof HttpProblem && error.status === 413 ? 'too-large' : 'unreadable'});
			throw error;
		}

		// Answered only once the predictions are committed; 503 when the store cannot write (the logger retries).
		const result = core.ingest(request.headers, body);
		sendJson(response, result.status, result.body, result.status === 503 ? {'retry-after': '5'} : {});
	}

	async function handleActions(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
		const identity = await identify(request);
		const body = await readBody(request, maxActionBodyBytes);
		if (jsonDepthOver(body) !== undefined) throw new HttpProblem(400, tooDeepMessage('the action'));
		let json: unknown;
		try {
			json = JSON.parse(body.toString('utf8'));
		} catch (error) {
			throw new HttpProblem(400, `the action is not valid JSON: ${(error as Error).message}`);
		}

		const action = parseAction(json);
		if (typeof action === 'string') throw new HttpProblem(400, action);
		const started = await core.startAction(action, identity);
		if ('status' in started) throw new HttpProblem(started.status, started.message);
		response.writeHead(200, {'content-type': 'application/x-ndjson', 'cache-control': 'no-cache'});
		// Progress goes out line by line; a caller that leaves stops nothing (the action finishes and is audited).
		for await (const progress of started.progress) {
			if (!response.destroyed) response.write(`${JSON.stringify(progress)}\n`);
		}

		response.end();
	}

	async function route(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
		const url = new URL(request.url ?? '/', 'http://agent');
		const path = url.pathname.replace(/\/+$/, '') || '/';
		const method = request.method ?? 'GET';
		const only = (allowed: string): void => {
			if (method !== allowed) throw new HttpProblem(405, `use ${allowed} for ${path}`);
		};

		switch (path) {
			case '/healthz':
				sendJson(response, 200, {ok: true});
				return;
			case '/readyz': {
				const ready = await core.ready();
				sendJson(response, ready.ok ? 200 : 503, ready);
				return;
			}

			case '/metrics': {
				const text = await core.metrics.registry.metrics();
				response.writeHead(200, {'content-type': core.metrics.registry.contentType});
				response.end(text);
				return;
			}

			case '/v1/logs':
				if (ingestServer)
					throw new HttpProblem(
						404,
						`ingest is served on port ${ingestAddress?.port ?? options.ingestPort} (--ingest-listen), not on this one: point the model servers' loggers there`,
					);
				only('POST');
				await handleIngest(request, response, url);
				return;
			case '/v1/predictions': {
				only('GET');
				const identity = await identify(request);
				const parameter = (name: string): string | undefined => url.searchParams.get(name) || undefined;
				const namespace = parameter('namespace');
				const refusal = await core.authorizeRead(identity, namespace);
				if (refusal) throw new HttpProblem(refusal.status, refusal.message);
				const unknown = [...url.searchParams.keys()].find((name) => !predictionParameters.includes(name));
				if (unknown !== undefined) {
					throw new HttpProblem(400, `unknown parameter "${unknown.slice(0, 40)}"; filter with ${predictionParameters.join(', ')}`);
				}

				const status = parameter('status');
				if (status !== undefined && status !== 'ok' && status !== 'error')
					throw new HttpProblem(400, `status must be ok or error, got "${status.slice(0, 20)}"`);
				const prefix = url.searchParams.get('requestIdPrefix');
				if (prefix !== null) {
					if ([...prefix].length < minRequestIdPrefix)
						throw new HttpProblem(
							400,
							`requestIdPrefix needs at least ${minRequestIdPrefix} characters, got "${prefix.slice(0, 20)}"; for a shorter id ask for it whole with requestId=`,
						);
					if (url.searchParams.has('requestId'))
						throw new HttpProblem(400, 'give requestId (one id) or requestIdPrefix (ids that start with it), not both');
				}

				const query: Parameters<AgentCore['predictions']>[0] = {
					limit: parseLimit(url.searchParams.get('limit'), prefix === null ? 100 : prefixLookupLimit),
				};
				if (prefix !== null) query.requestIdPrefix = prefix;
				for (const key of ['requestId', 'model', 'version'] as const) {
					const value = parameter(key);
					if (value !== undefined) query[key] = value;
				}

				if (namespace !== undefined) query.namespace = namespace;
				if (status !== undefined) query.status = status;
				const since = parseTime(url.searchParams.get('since'), 'since');
				if (since !== undefined) query.since = since;
				const until = parseTime(url.searchParams.get('until'), 'until');
				if (until !== undefined) query.until = until;
				sendJson(response, 200, core.predictions(query));
				return;
			}

			case '/v1/audit': {
				only('GET');
				const identity = await identify(request);
				const namespace = url.searchParams.get('namespace') || undefined;
				const refusal = await core.authorizeRead(identity, namespace);
				if (refusal) throw new HttpProblem(refusal.status, refusal.message);
				sendJson(response, 200, core.audit(parseLimit(url.searchParams.get('limit'), 100), namespace));
				return;
			}

			case '/v1/actions':
				only('POST');
				await handleActions(request, response);
				return;
			case '/v1/stream':
				throw new HttpProblem(426, `${path} is a WebSocket: connect with subprotocol ${streamSubprotocol}`);
			default:
				throw new HttpProblem(
					404,
					`no such endpoint ${path}; see /v1/logs, /v1/predictions, /v1/audit, /v1/actions, /v1/stream, /metrics, /healthz, /readyz`,
				);
		}
	}

	/** The ingest port's routes: logs in, and a liveness answer; nothing that reads or acts. */
	async function routeIngest(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
		const url = new URL(request.url ?? '/', 'http://agent');
		const path = url.pathname.replace(/\/+$/, '') || '/';
		if (path === '/healthz') {
			sendJson(response, 200, {ok: true});
			return;
		}

		if (path !== '/v1/logs') throw new HttpProblem(404, `this port serves only POST /v1/logs (ingest); ${path} is on port ${address.port}`);
		if (request.method !== 'POST') throw new HttpProblem(405, 'use POST for /v1/logs');
		await handleIngest(request, response, url);
	}

	const respond = (handler: typeof route) => (request: http.IncomingMessage, response: http.ServerResponse) => {
		handler(request, response).catch((error: unknown) => {
			if (error instanceof HttpProblem) {
				const headers: http.OutgoingHttpHeaders = error.status === 401 ? {'www-authenticate': 'Bearer'} : {};
				// The rest of an oversized body is not worth reading: answer and close.
				if (error.status === 413) headers['connection'] = 'close';
				sendJson(response, error.status, {error: error.message}, headers);
				return;
			}

			log(`http: unexpected failure on ${request.method} ${request.url?.split('?')[0]}: ${(error as Error).stack ?? String(error)}`);
			sendJson(response, 500, {error: `the agent failed: ${(error as Error).message}`});
		});
	};
	const clientError = (_error: Error, socket: Socket) => {
		if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
		else socket.destroy();
	};
	const server = http.createServer(respond(route));
	server.on('clientError', clientError);
	const ingestServer = options.ingestPort === undefined ? undefined : http.createServer(respond(routeIngest));
	ingestServer?.on('clientError', clientError);
	ingestServer?.on('upgrade', (_request: http.IncomingMessage, socket: Socket) => {
		socket.on('error', () => socket.destroy());
		rejectUpgrade(socket, 404, 'this port serves only POST /v1/logs (ingest); the stream is on the main port');
	});
	let address: AddressInfo;
	let ingestAddress: AddressInfo | undefined;

	// ---- stream -----------------------------------------------------------------------------------------------------

	const sockets = new WebSocketServer({
		noServer: true,
		perMessageDeflate: false,
		maxPayload: 256 * 1024,
		handleProtocols: (protocols) => (protocols.has(streamSubprotocol) ? streamSubprotocol : false),
	});
	const alive = new WeakMap<WebSocket, boolean>();
	/** Each connection's subscriber, for cutting it with what it was owed. */
	const subscribers = new WeakMap<WebSocket, Subscriber>();
	const heartbeatMs = options.heartbeatMs ?? 30_000;

	function rejectUpgrade(socket: Socket, status: number, message: string): void {
		const body = JSON.stringify({error: message});
		const reason = http.STATUS_CODES[status] ?? 'Error';
		const extra = status === 401 ? 'www-authenticate: Bearer\r\n' : '';
		socket.end(
			`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
		);
	}

	server.on('upgrade', (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
		socket.on('error', () => socket.destroy());
		const path = new URL(request.url ?? '/', 'http://agent').pathname.replace(/\/+$/, '');
		if (path !== '/v1/stream') {
			rejectUpgrade(socket, 404, `no WebSocket at ${path}; use /v1/stream`);
			return;
		}

		const offered = String(request.headers['sec-websocket-protocol'] ?? '')
			.split(',')
			.map((protocol) => protocol.trim());
		if (!offered.includes(streamSubprotocol)) {
			rejectUpgrade(socket, 400, `the stream speaks subprotocol ${streamSubprotocol} only; offer it in Sec-WebSocket-Protocol`);
			return;
		}

		identify(request).then(
			(identity) => {
				if (socket.destroyed) return;
				sockets.handleUpgrade(request, socket, head, (ws) => onConnection(ws, identity));
			},
			(error: unknown) => {
				const status = error instanceof HttpProblem ? error.status : 500;
				rejectUpgrade(socket, status, (error as Error).message);
			},
		);
	});

	function onConnection(ws: WebSocket, identity: Identity): void {
		alive.set(ws, true);
		ws.on('pong', () => alive.set(ws, true));
		const subscriber: Subscriber = core.hub.attach({
			send: (frame) => {
				// Text frames, also when the hub hands over UTF-8 bytes.
				if (ws.readyState === ws.OPEN) ws.send(frame, {binary: false});
			},
			get bufferedAmount() {
				return ws.bufferedAmount;
			},
		});
		subscribers.set(ws, subscriber);
		core.subscriberCountChanged();
		const send = (message: ServerMessage): void => core.hub.sendDirect(subscriber, message);
		send({
			type: 'hello',
			seq: core.hub.seq,
			server: {name: 'modeldeck-agent', version: agentVersion, instance: core.instance, ...(core.noAuth ? {} : {user: identity.user})},
		});

		// Messages are handled one after another: a subscribe waiting for its review must not be overtaken.
		let queue = Promise.resolve();
		ws.on('message', (data, isBinary) => {
			queue = queue.then(() => handleMessage(isBinary ? undefined : data.toString()));
		});

		async function handleMessage(text: string | undefined): Promise<void> {
			let message: Partial<ClientMessage> & Record<string, unknown>;
			try {
				if (text === undefined) throw new Error('binary frames are not understood');
				if (jsonDepthOver(text) !== undefined) throw new Error(tooDeepMessage('the message'));
				const parsed: unknown = JSON.parse(text);
				if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
					throw new Error('a message must be a JSON object with a type');
				message = parsed as typeof message;
			} catch (error) {
				send({type: 'error', message: `bad message: ${(error as Error).message}`});
				return;
			}

			try {
				if (message.type === 'subscribe') {
					const filter = parseFilter(message['filter']);
					if (typeof filter === 'string') {
						send({type: 'error', message: filter});
						return;
					}

					const fromSeq = message['fromSeq'];
					if (fromSeq !== undefined && (typeof fromSeq !== 'number' || !Number.isInteger(fromSeq) || fromSeq < 0)) {
						send({type: 'error', message: 'fromSeq must be a non-negative integer (the last seq you saw)'});
						return;
					}

					const refusal = await core.authorizeRead(identity, filter.namespace);
					if (refusal) {
						send({type: 'error', message: refusal.message});
						ws.close(refusal.status === 403 ? 4403 : 4503, refusal.status === 403 ? 'forbidden' : 'review failed');
						return;
					}

					core.hub.subscribe(subscriber, filter, fromSeq);
					return;
				}

				if (message.type === 'act') {
					const id = typeof message['id'] === 'string' ? message['id'] : '';
					if (!id) {
						send({type: 'error', message: 'act needs an "id" to tag its progress with'});
						return;
					}

					const action = parseAction(message['action']);
					if (typeof action === 'string') {
						send({type: 'error', id, message: action});
						return;
					}

					void runActionOverSocket(id, action);
					return;
				}

				send({type: 'error', message: `unknown message type ${JSON.stringify(message.type)}; expected subscribe or act`});
			} catch (error) {
				log(`stream: unexpected failure: ${(error as Error).stack ?? String(error)}`);
				send({type: 'error', message: `the agent failed: ${(error as Error).message}`});
			}
		}

		async function runActionOverSocket(id: string, action: Action): Promise<void> {
			try {
				const started = await core.startAction(action, identity);
				if ('status' in started) {
					send({type: 'error', id, message: started.message});
					return;
				}

				for await (const progress of started.progress) send({type: 'action-progress', id, progress});
			} catch (error) {
				send({type: 'error', id, message: (error as Error).message});
			}
		}

		ws.on('close', () => {
			core.hub.detach(subscriber);
			core.subscriberCountChanged();
		});
		ws.on('error', () => ws.terminate());
	}

	/**
	 * A client that left a whole ping interval unanswered has stopped reading (or is gone): it is told what it was
	 * owed in a final gap, then closed with 4008 and a reason, both written after whatever its socket still holds
	 * (a client that reads again gets them; one that is gone is cut by ws's close timeout). No more is queued for it.
	 */
	function cutTooSlow(ws: WebSocket): void {
		const subscriber = subscribers.get(ws);
		const seconds = Math.round(heartbeatMs / 1000);
		const gap =
			subscriber &&
			core.hub.cut(
				subscriber,
				`the agent closed this connection: the client did not answer a ping within ${seconds} s (it stopped reading); resume with fromSeq = the last seq you received to get these back while they are in the resume buffer`,
			);
		if (gap) ws.send(JSON.stringify(gap));
		ws.close(closeTooSlow, `too slow: no answer to a ping within ${seconds} s; resume with fromSeq`);
	}

	const heartbeat = setInterval(() => {
		for (const ws of sockets.clients) {
			if (ws.readyState !== ws.OPEN) continue;
			if (alive.get(ws) === false) {
				cutTooSlow(ws);
				continue;
			}

			alive.set(ws, false);
			ws.ping();
		}
	}, heartbeatMs);
	heartbeat.unref();

	const listen = (target: http.Server, port: number, host: string) =>
		new Promise<AddressInfo>((resolve, reject) => {
			target.once('error', reject);
			target.listen(port, host, () => {
				target.off('error', reject);
				resolve(target.address() as AddressInfo);
			});
		});
	const urlOf = (bound: AddressInfo) => {
		const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
		return `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${bound.port}`;
	};

	address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
	if (ingestServer) {
		try {
			ingestAddress = await listen(ingestServer, options.ingestPort!, options.ingestHost ?? options.host ?? '127.0.0.1');
		} catch (error) {
			server.close();
			clearInterval(heartbeat);
			await core.close();
			throw new Error(`the ingest port: ${(error as Error).message}`);
		}
	}

	const url = urlOf(address);

	let closing: Promise<void> | undefined;
	return {
		url,
		port: address.port,
		ingestUrl: ingestAddress ? urlOf(ingestAddress) : url,
		ingestPort: ingestAddress?.port ?? address.port,
		core,
		close() {
			closing ??= (async () => {
				clearInterval(heartbeat);
				for (const ws of sockets.clients) ws.close(1001, 'the agent is stopping');
				if (ingestServer) {
					await new Promise<void>((resolve) => {
						ingestServer.close(() => resolve());
						ingestServer.closeAllConnections();
					});
				}

				await new Promise<void>((resolve) => {
					server.close(() => resolve());
					server.closeAllConnections();
					// Sockets that do not answer the close handshake are cut.
					setTimeout(() => {
						for (const ws of sockets.clients) ws.terminate();
					}, 500).unref();
				});
				sockets.close();
				await core.close();
			})();
			return closing;
		},
	};
}
