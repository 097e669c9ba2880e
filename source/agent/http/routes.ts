/**
 * Which handler answers which path: the API port's routes, the ingest port's (logs in and a liveness answer, nothing
 * that reads or acts), and the wrapper that turns a failure into a JSON error.
 */
import type http from 'node:http';
import type {Socket} from 'node:net';
import {streamSubprotocol} from '../../protocol/agent.ts';
import type {AgentCore} from '../agent.ts';
import {HttpProblem} from '../refusal.ts';
import type {RunningRegistry} from '../registry/registry.ts';
import {serveRegistryWebhook} from '../registry/webhook.ts';
import {handleActions} from './actions-route.ts';
import {identify} from './request.ts';
import {handleIngest} from './ingest-route.ts';
import type {IngestRouteOptions} from './ingest-route.ts';
import {handleAudit, handlePredictions} from './reads-route.ts';
import {sendJson} from './response.ts';

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void>;

export interface RouteOptions {
	core: AgentCore;
	ingest: IngestRouteOptions;
	/** The port ingest is served on when it has one of its own (the API port then refuses it). */
	separateIngestPort: () => number | undefined;
	/** The API port, for the ingest port's answer to anything else. */
	apiPort: () => number;
	/** The registry watcher, when the agent follows a model registry (its webhook is answered 404 otherwise). */
	registry?: () => RunningRegistry | undefined;
}

/** The API port's routes. */
export function apiRoutes({core, ingest, separateIngestPort, registry}: RouteOptions): Handler {
	return async (request, response) => {
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

			case '/v1/logs': {
				const ingestPort = separateIngestPort();
				if (ingestPort !== undefined)
					throw new HttpProblem(
						404,
						`ingest is served on port ${ingestPort} (--ingest-listen), not on this one: point the model servers' loggers there`,
					);
				only('POST');
				await handleIngest(ingest, request, response, url);
				return;
			}

			case '/v1/predictions':
				only('GET');
				await handlePredictions(core, request, response, url);
				return;
			case '/v1/audit':
				only('GET');
				await handleAudit(core, request, response, url);
				return;
			case '/v1/actions':
				only('POST');
				await handleActions(core, request, response);
				return;
			case '/v1/registry/webhook': {
				only('POST');
				const running = registry?.();
				await serveRegistryWebhook(request, response, {
					watcher: running?.watcher,
					secret: running?.webhookSecret,
					authenticate: () => identify(core, request),
				});
				return;
			}
			case '/v1/stream':
				throw new HttpProblem(426, `${path} is a WebSocket: connect with subprotocol ${streamSubprotocol}`);
			default:
				throw new HttpProblem(
					404,
					`no such endpoint ${path}; see /v1/logs, /v1/predictions, /v1/audit, /v1/actions, /v1/stream, /metrics, /healthz, /readyz`,
				);
		}
	};
}

/** The ingest port's routes: logs in, and a liveness answer; nothing that reads or acts. */
export function ingestRoutes({ingest, apiPort}: RouteOptions): Handler {
	return async (request, response) => {
		const url = new URL(request.url ?? '/', 'http://agent');
		const path = url.pathname.replace(/\/+$/, '') || '/';
		if (path === '/healthz') {
			sendJson(response, 200, {ok: true});
			return;
		}

		if (path !== '/v1/logs') throw new HttpProblem(404, `this port serves only POST /v1/logs (ingest); ${path} is on port ${apiPort()}`);
		if (request.method !== 'POST') throw new HttpProblem(405, 'use POST for /v1/logs');
		await handleIngest(ingest, request, response, url);
	};
}

/** A request listener running the handler; an HttpProblem is answered with its status, anything else with 500 and logged. */
export function respond(handler: Handler, log: (line: string) => void) {
	return (request: http.IncomingMessage, response: http.ServerResponse) => {
		handler(request, response).catch((error: unknown) => {
			if (error instanceof HttpProblem) {
				const headers: http.OutgoingHttpHeaders = error.status === 401 ? {'www-authenticate': 'Bearer'} : {};
				// An oversized body is read and dropped only so far (readBody's drain): answer and close.
				if (error.status === 413) headers['connection'] = 'close';
				sendJson(response, error.status, {error: error.message}, headers);
				return;
			}

			log(`http: unexpected failure on ${request.method} ${request.url?.split('?')[0]}: ${(error as Error).stack ?? String(error)}`);
			sendJson(response, 500, {error: `the agent failed: ${(error as Error).message}`});
		});
	};
}

/** A request the HTTP parser could not read: 400 and close. */
export function clientError(_error: Error, socket: Socket): void {
	if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
	else socket.destroy();
}
