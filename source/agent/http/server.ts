/**
 * The agent's HTTP and WebSocket front end.
 *
 * - `POST /v1/logs`: ingest (no Kubernetes token: optional shared ingest token and IP allow-list).
 * - `GET /v1/predictions?requestId=|requestIdPrefix=&namespace=&model=&version=&status=&since=&until=&limit=`: JSON array.
 * - `GET /v1/audit?limit=&namespace=`: JSON array, newest first.
 * - `POST /v1/actions`: body an Action; answers NDJSON, one ActionProgress per line, as the action goes.
 * - `POST /v1/registry/webhook`: a model registry's webhook (MLflow's signed payload, or a Kubernetes token).
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
import {AgentCore} from '../agent.ts';
import {startRegistry} from '../registry/registry.ts';
import type {RegistryOptions, RunningRegistry} from '../registry/registry.ts';
import {IpAllowList} from '../auth/ingest-access.ts';
import type {AgentCoreOptions} from '../options.ts';
import {rejectUpgrade} from './response.ts';
import {apiRoutes, clientError, ingestRoutes, respond} from './routes.ts';
import type {RouteOptions} from './routes.ts';
import {StreamSockets} from './stream-socket.ts';

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
	/** The registry watcher (MLflow aliases → rollouts) and its webhook, POST /v1/registry/webhook. Default: off. */
	registry?: RegistryOptions;
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

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
	const log = options.log ?? (() => undefined);
	const allowList = new IpAllowList(options.allowIps ?? []);
	const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
	const core = new AgentCore(options);
	if (core.noAuth) log('WARNING: --no-auth: every caller may read everything and change traffic. Use only for local demos.');
	let registry: RunningRegistry | undefined;
	try {
		registry = options.registry ? startRegistry(core, options.registry, log) : undefined;
	} catch (error) {
		await core.close();
		throw error;
	}

	let address: AddressInfo;
	let ingestAddress: AddressInfo | undefined;
	const routes: RouteOptions = {
		core,
		ingest: {
			core,
			allowList,
			ingestToken: options.ingestToken,
			maxBodyBytes,
		},
		separateIngestPort: () => (ingestServer ? (ingestAddress?.port ?? options.ingestPort) : undefined),
		apiPort: () => address.port,
		registry: () => registry,
	};
	const server = http.createServer(respond(apiRoutes(routes), log));
	server.on('clientError', clientError);
	const ingestServer = options.ingestPort === undefined ? undefined : http.createServer(respond(ingestRoutes(routes), log));
	ingestServer?.on('clientError', clientError);
	ingestServer?.on('upgrade', (_request: http.IncomingMessage, socket: Socket) => {
		socket.on('error', () => socket.destroy());
		rejectUpgrade(socket, 404, 'this port serves only POST /v1/logs (ingest); the stream is on the main port');
	});

	const stream = new StreamSockets(core, log, options.heartbeatMs ?? 30_000);
	server.on('upgrade', (request: http.IncomingMessage, socket: Socket, head: Buffer) => stream.upgrade(request, socket, head));

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
			stream.stopHeartbeat();
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
				stream.stopHeartbeat();
				registry?.close();
				stream.closeClients();
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
					setTimeout(() => stream.terminateClients(), 500).unref();
				});
				stream.close();
				await core.close();
			})();
			return closing;
		},
	};
}
