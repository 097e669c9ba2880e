/**
 * One stream connection (`GET /v1/stream`, subprotocol `modeldeck.v1`, see protocol/agent.ts): attached to the hub,
 * greeted with `hello`, then its `subscribe` and `act` messages handled one after another.
 */
import type WebSocket from 'ws';
import type {Action} from '../../domain/types.ts';
import type {ClientMessage, ServerMessage} from '../../protocol/agent.ts';
import {parseAction} from '../actions/validate.ts';
import type {AgentCore} from '../agent.ts';
import {agentVersion} from '../agent.ts';
import type {Identity} from '../auth/reviewer.ts';
import {jsonDepthOver, tooDeepMessage} from '../ingest/json-depth.ts';
import {parseFilter} from '../stream/filter.ts';
import type {Subscriber} from '../stream/hub.ts';

/** Serves one connection; its subscriber, for cutting it with what it was owed. */
export function serveConnection(ws: WebSocket, identity: Identity, core: AgentCore, log: (line: string) => void): Subscriber {
	const subscriber: Subscriber = core.hub.attach({
		send: (frame) => {
			// Text frames, also when the hub hands over UTF-8 bytes.
			if (ws.readyState === ws.OPEN) ws.send(frame, {binary: false});
		},
		get bufferedAmount() {
			return ws.bufferedAmount;
		},
	});
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

	return subscriber;
}
