/**
 * The wire protocol between the agent and its clients (the console, tests, benches). Types only, so that the
 * client in sources/ can share them without pulling in the server.
 *
 * WebSocket `/v1/stream`, subprotocol `modeldeck.v1`. Every frame the server sends is one JSON message or a JSON
 * array of messages (batched for throughput); clients must accept both. Clients send one message per frame.
 */
import type {Action, ActionProgress, ModelRef, Prediction} from '../domain/types.ts';
import type {AuditEntry, PredictionFilter} from '../domain/ports.ts';

export const streamSubprotocol = 'modeldeck.v1';

/** Header that carries the caller's token when `Authorization` cannot reach the agent (the API server's proxy strips it). */
export const forwardedTokenHeader = 'x-modeldeck-token';

export type ClientMessage =
	| {type: 'subscribe'; filter?: PredictionFilter; fromSeq?: number}
	| {type: 'act'; id: string; action: Action};

export interface ServerInfo {
	name: 'modeldeck-agent';
	version: string;
	/** Random per process start: a different instance means the agent restarted. */
	instance: string;
	/** Who the agent authenticated this connection as (absent with --no-auth). */
	user?: string;
}

export type ServerMessage =
	| {type: 'hello'; seq: number; server: ServerInfo}
	| {type: 'prediction'; seq: number; prediction: Prediction}
	| {type: 'gap'; seq: number; dropped: number; reason: string}
	| {type: 'audit'; seq: number; entry: AuditEntry}
	| {type: 'guard'; seq: number; model: ModelRef; verdict: string; message: string; rolledBack: boolean}
	| {type: 'action-progress'; id: string; progress: ActionProgress}
	| {type: 'error'; message: string; id?: string};

/** Messages that carry a sequence number and go through the ring buffer and per-client queues. */
export type SequencedMessage = Extract<ServerMessage, {type: 'prediction' | 'audit' | 'guard'}>;
