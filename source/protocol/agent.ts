/**
 * The wire protocol between the agent and its clients (the console, tests, benches). Types only, so that the
 * client in adapters/ can share them without pulling in the server.
 *
 * WebSocket `/v1/stream`, subprotocol `modeldeck.v1`. Every frame the server sends is one JSON message or a JSON
 * array of messages (batched for throughput); clients must accept both. Clients send one message per frame.
 */
import type {Action, ActionProgress, ModelRef, Prediction} from '../domain/types.ts';
import type {AuditEntry, PredictionFilter} from '../domain/ports.ts';

export const streamSubprotocol = 'modeldeck.v1';

/** Header that carries the caller's token when `Authorization` cannot reach the agent (the API server's proxy strips it). */
export const forwardedTokenHeader = 'x-modeldeck-token';

/** GET /v1/predictions?requestIdPrefix= needs at least this many characters: a shorter one matches too much. */
export const minRequestIdPrefix = 4;

/** Close code of a connection cut because the client stopped reading (did not answer a ping in time). */
export const closeTooSlow = 4008;

export type ClientMessage = {type: 'subscribe'; filter?: PredictionFilter; fromSeq?: number} | {type: 'act'; id: string; action: Action};

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
	/**
	 * `dropped` events, the last of them `seq`, were not delivered; `reason` says why. `final`: the agent is closing
	 * this connection (code 4008, the client stopped reading) and these are the events it still owed; a client that
	 * resumes with fromSeq = the last seq it received gets back those still in the resume buffer.
	 */
	| {type: 'gap'; seq: number; dropped: number; reason: string; final?: true}
	| {type: 'audit'; seq: number; entry: AuditEntry}
	| {type: 'guard'; seq: number; model: ModelRef; verdict: string; message: string; rolledBack: boolean}
	| {type: 'action-progress'; id: string; progress: ActionProgress}
	| {type: 'error'; message: string; id?: string};

/** Messages that carry a sequence number and go through the ring buffer and per-client queues. */
export type SequencedMessage = Extract<ServerMessage, {type: 'prediction' | 'audit' | 'guard'}>;
