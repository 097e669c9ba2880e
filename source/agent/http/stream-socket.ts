/**
 * The stream's WebSocket side: upgrades to `/v1/stream` checked (path, subprotocol, token) before they are accepted,
 * and a heartbeat that cuts clients which stopped reading.
 */
import type http from 'node:http';
import type {Socket} from 'node:net';
import {WebSocketServer} from 'ws';
import type WebSocket from 'ws';
import {closeTooSlow, streamSubprotocol} from '../../protocol/agent.ts';
import type {AgentCore} from '../agent.ts';
import {HttpProblem} from '../refusal.ts';
import type {Subscriber} from '../stream/hub.ts';
import {identify} from './request.ts';
import {rejectUpgrade} from './response.ts';
import {serveConnection} from './stream-connection.ts';

export class StreamSockets {
	readonly #core: AgentCore;
	readonly #log: (line: string) => void;
	readonly #heartbeatMs: number;
	readonly #sockets = new WebSocketServer({
		noServer: true,
		perMessageDeflate: false,
		maxPayload: 256 * 1024,
		handleProtocols: (protocols) => (protocols.has(streamSubprotocol) ? streamSubprotocol : false),
	});
	readonly #alive = new WeakMap<WebSocket, boolean>();
	/** Each connection's subscriber, for cutting it with what it was owed. */
	readonly #subscribers = new WeakMap<WebSocket, Subscriber>();
	readonly #heartbeat: NodeJS.Timeout;

	/** Starts the heartbeat: every `heartbeatMs`, a ping; a client that missed a whole interval is cut. */
	constructor(core: AgentCore, log: (line: string) => void, heartbeatMs: number) {
		this.#core = core;
		this.#log = log;
		this.#heartbeatMs = heartbeatMs;
		this.#heartbeat = setInterval(() => {
			for (const ws of this.#sockets.clients) {
				if (ws.readyState !== ws.OPEN) continue;
				if (this.#alive.get(ws) === false) {
					this.#cutTooSlow(ws);
					continue;
				}

				this.#alive.set(ws, false);
				ws.ping();
			}
		}, heartbeatMs);
		this.#heartbeat.unref();
	}

	/** The HTTP server's `upgrade` handler. */
	upgrade(request: http.IncomingMessage, socket: Socket, head: Buffer): void {
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

		identify(this.#core, request).then(
			(identity) => {
				if (socket.destroyed) return;
				this.#sockets.handleUpgrade(request, socket, head, (ws) => {
					this.#alive.set(ws, true);
					ws.on('pong', () => this.#alive.set(ws, true));
					this.#subscribers.set(ws, serveConnection(ws, identity, this.#core, this.#log));
				});
			},
			(error: unknown) => {
				const status = error instanceof HttpProblem ? error.status : 500;
				rejectUpgrade(socket, status, (error as Error).message);
			},
		);
	}

	/**
	 * A client that left a whole ping interval unanswered has stopped reading (or is gone): it is told what it was
	 * owed in a final gap, then closed with 4008 and a reason, both written after whatever its socket still holds
	 * (a client that reads again gets them; one that is gone is cut by ws's close timeout). No more is queued for it.
	 */
	#cutTooSlow(ws: WebSocket): void {
		const subscriber = this.#subscribers.get(ws);
		const seconds = Math.round(this.#heartbeatMs / 1000);
		const gap =
			subscriber &&
			this.#core.hub.cut(
				subscriber,
				`the agent closed this connection: the client did not answer a ping within ${seconds} s (it stopped reading); resume with fromSeq = the last seq you received to get these back while they are in the resume buffer`,
			);
		if (gap) ws.send(JSON.stringify(gap));
		ws.close(closeTooSlow, `too slow: no answer to a ping within ${seconds} s; resume with fromSeq`);
	}

	stopHeartbeat(): void {
		clearInterval(this.#heartbeat);
	}

	/** Asks every client to close (1001, the agent is stopping). */
	closeClients(): void {
		for (const ws of this.#sockets.clients) ws.close(1001, 'the agent is stopping');
	}

	/** Cuts the clients that did not answer the close handshake. */
	terminateClients(): void {
		for (const ws of this.#sockets.clients) ws.terminate();
	}

	close(): void {
		this.#sockets.close();
	}
}
