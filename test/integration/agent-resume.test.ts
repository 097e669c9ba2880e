// Resume and slow clients over real sockets, at the rate the README promises: a client away 5, 12, 20 or 30 s at
// 2,000 events/s gets every event it missed, in order, without a gap; a client that stops reading is closed with
// the protocol's code and reason after a final gap that counts what it was owed.
import http from 'node:http';
import type {Socket} from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import WebSocket, {WebSocketServer} from 'ws';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {closeTooSlow} from '../../source/protocol/agent.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import type {AgentEvent} from '../../source/domain/ports.ts';
import {eventually, freePort, plainPrediction, spawnAgent} from './agent-support.ts';
import type {AgentProcess} from './agent-support.ts';

const processes: AgentProcess[] = [];
const agents: RunningAgent[] = [];

afterEach(async () => {
	for (const child of processes.splice(0)) await child.kill();
	for (const running of agents.splice(0)) await running.close();
});

interface Message {
	type: string;
	seq?: number;
	dropped?: number;
	reason?: string;
	final?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw stream client that keeps every sequence number and gap it receives, across reconnections. */
function streamClient(url: string) {
	const seqs: number[] = [];
	const gaps: Message[] = [];
	let ws: WebSocket | undefined;
	const last = () => seqs.at(-1);
	const connect = (fromSeq?: number) =>
		new Promise<void>((resolve, reject) => {
			const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
			ws = socket;
			socket.on('error', reject);
			socket.on('message', (data) => {
				const parsed = JSON.parse(data.toString()) as Message | Message[];
				for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
					if (message.type === 'hello') {
						socket.send(JSON.stringify({type: 'subscribe', filter: {}, fromSeq: fromSeq ?? message.seq}));
						// A console is busy for a moment as it reconnects (rendering, its own catch-up): the replay must
						// wait for it rather than pile up in the agent and be dropped.
						if (fromSeq !== undefined) {
							const raw = (socket as unknown as {_socket: Socket})._socket;
							raw.pause();
							setTimeout(() => raw.resume(), 500);
						}

						resolve();
					} else if (message.type === 'gap') gaps.push(message);
					else if (message.seq !== undefined) seqs.push(message.seq);
				}
			});
		});
	const leave = () =>
		new Promise<number>((resolve) => {
			const socket = ws!;
			socket.once('close', () => resolve(last() ?? 0));
			socket.close();
		});
	return {seqs, gaps, connect, leave, last, close: () => ws?.close()};
}

/** Posts `perSecond` plain predictions a second in batches of 100 until stopped. */
function generator(url: string, perSecond: number) {
	const keepAlive = new http.Agent({keepAlive: true, maxSockets: 4});
	let next = 0;
	let running = true;
	let failures = 0;
	const post = (body: string) =>
		new Promise<void>((resolve) => {
			const request = http.request(
				`${url}/v1/logs`,
				{method: 'POST', agent: keepAlive, headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)}},
				(response) => {
					if (response.statusCode !== 200) failures++;
					response.resume();
					response.on('end', resolve);
				},
			);
			request.on('error', () => {
				failures++;
				resolve();
			});
			request.end(body);
		});
	const batch = 100;
	const intervalMs = (batch / perSecond) * 1000;
	const started = performance.now();
	const loop = (async () => {
		const pending = new Set<Promise<void>>();
		for (let tick = 0; running; tick++) {
			const items = Array.from({length: batch}, () => plainPrediction(`g${next++}`));
			const sent = post(JSON.stringify(items));
			pending.add(sent);
			void sent.then(() => pending.delete(sent));
			const due = started + (tick + 1) * intervalMs;
			await sleep(Math.max(0, due - performance.now()));
		}

		await Promise.all(pending);
	})();
	return {
		stop: async () => {
			running = false;
			await loop;
			keepAlive.destroy();
			return {sent: next, failures};
		},
	};
}

async function currentSeq(url: string): Promise<number> {
	const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1']);
	const hello = await new Promise<Message>((resolve, reject) => {
		ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Message));
		ws.once('error', reject);
	});
	ws.close();
	return hello.seq!;
}

describe('agent stream resume and slow clients', () => {
	it('replays every event a client missed while away 5, 12, 20 and 30 s at 2,000 events/s, in order, with no gap', async () => {
		const port = await freePort();
		const agent = await spawnAgent(['--no-auth', '--listen', `127.0.0.1:${port}`]);
		processes.push(agent);
		const url = `http://127.0.0.1:${port}`;
		const awaySeconds = [5, 12, 20, 30];
		const clients = awaySeconds.map(() => streamClient(url));
		await Promise.all(clients.map((client) => client.connect()));
		const load = generator(url, 2000);
		await sleep(2000);
		// All leave together; each comes back after its time away, from the last event it received.
		const positions = await Promise.all(clients.map((client) => client.leave()));
		const left = await currentSeq(url);
		await Promise.all(
			clients.map(async (client, index) => {
				await sleep(awaySeconds[index]! * 1000);
				await client.connect(positions[index]);
			}),
		);
		await sleep(2000);
		// A refused POST (the machine is shared and busy) only means fewer events; what matters is what was published.
		await load.stop();
		const final = await currentSeq(url);
		for (const [index, client] of clients.entries()) {
			await eventually(
				`the client away ${awaySeconds[index]} s to catch up (at ${client.last()} of ${final})`,
				60_000,
				() => client.last() === final,
			);
			expect(client.gaps, `client away ${awaySeconds[index]} s`).toEqual([]);
			// Every number from the first to the last, once each and in order: nothing lost, nothing repeated.
			const first = client.seqs[0]!;
			expect(client.seqs.length, `client away ${awaySeconds[index]} s`).toBe(final - first + 1);
			expect(client.seqs.every((seq, position) => seq === first + position)).toBe(true);
			client.close();
		}

		// The time away was long enough to matter: more than a per-client queue (10,000) was missed by the 20 s client.
		expect(final - left).toBeGreaterThan(10_000);
	}, 170_000);

	it('closes a client that stopped reading with code 4008 and a reason, after a final gap counting what it was owed', async () => {
		const running = await startAgent({noAuth: true, heartbeatMs: 2000, stream: {queueCapacity: 2000, highWaterBytes: 64 * 1024}});
		agents.push(running);
		const ws = new WebSocket(`${running.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
		const received: Message[] = [];
		let closed: {code: number; reason: string} | undefined;
		ws.on('message', (data) => {
			const parsed = JSON.parse(data.toString()) as Message | Message[];
			received.push(...(Array.isArray(parsed) ? parsed : [parsed]));
		});
		ws.on('close', (code, reason) => (closed = {code, reason: reason.toString()}));
		await new Promise((resolve) => ws.once('open', resolve));
		ws.send(JSON.stringify({type: 'subscribe', filter: {}}));
		await eventually('the subscription', 5000, () => running.core.hub.stats()[0]);
		// Stop reading: nothing is read from the socket, pings included.
		const socket = (ws as unknown as {_socket: Socket})._socket;
		socket.pause();
		// Publish until the kernel's buffers and the socket's are full and events wait in the agent's queue.
		let published = 0;
		while (running.core.hub.subscriberCount > 0 && (running.core.hub.stats()[0]?.queued ?? 0) < 1000 && published < 500_000) {
			const items = Array.from({length: 1000}, (_, index) => plainPrediction(`s${published + index}`));
			const response = await fetch(`${running.url}/v1/logs`, {
				method: 'POST',
				headers: {'content-type': 'application/json'},
				body: JSON.stringify(items),
			});
			expect(response.status).toBe(200);
			published += 1000;
		}

		await eventually('the agent to cut the stalled client', 20_000, () => running.core.hub.subscriberCount === 0);
		socket.resume();
		await eventually('the close to arrive', 20_000, () => closed);
		expect(closed!.code).toBe(closeTooSlow);
		expect(closed!.code).toBe(4008);
		expect(closed!.reason).toBe('too slow: no answer to a ping within 2 s; resume with fromSeq');
		const finalGap = received.at(-1)!;
		expect(finalGap).toMatchObject({
			type: 'gap',
			final: true,
			reason: expect.stringMatching(/^the agent closed this connection: the client did not answer a ping within 2 s/),
		});
		// Every event was either received or counted, in a gap while it lagged or in the final one.
		const predictions = received.filter((message) => message.type === 'prediction');
		const counted = received.filter((message) => message.type === 'gap').reduce((sum, gap) => sum + gap.dropped!, 0);
		expect(finalGap.dropped).toBeGreaterThan(0);
		expect(predictions.length + counted).toBe(finalGap.seq);
		expect(predictions.map((message) => message.seq!)).toEqual(predictions.map((message) => message.seq!).sort((a, b) => a - b));
	}, 60_000);
	it('the console’s client, cut with a final gap, resumes from the last event it received and reports no loss', async () => {
		// A stand-in agent on a real socket: the first connection gets events 1–3, a final gap for 4–9 and 4008; the
		// second says where the client asked to resume from.
		const server = new WebSocketServer({port: 0, host: '127.0.0.1', handleProtocols: () => 'modeldeck.v1'});
		const subscribes: Array<{fromSeq?: number}> = [];
		const prediction = (seq: number) => ({
			type: 'prediction',
			seq,
			prediction: {...plainPrediction(`c${seq}`), time: seq, latencyMs: 1, status: 'ok', inputSummary: '', outputSummary: ''},
		});
		server.on('connection', (ws) => {
			const first = subscribes.length === 0;
			ws.send(JSON.stringify({type: 'hello', seq: first ? 0 : 9, server: {name: 'modeldeck-agent', version: 'test', instance: 'one'}}));
			ws.on('message', (data) => {
				subscribes.push(JSON.parse(data.toString()) as {fromSeq?: number});
				if (first) {
					ws.send(JSON.stringify([1, 2, 3].map(prediction)));
					ws.send(
						JSON.stringify({
							type: 'gap',
							seq: 9,
							dropped: 6,
							reason: 'the agent closed this connection: the client did not answer a ping within 30 s (it stopped reading)',
							final: true,
						}),
					);
					ws.close(4008, 'too slow: no answer to a ping within 30 s; resume with fromSeq');
				} else {
					ws.send(JSON.stringify([4, 5, 6, 7, 8, 9].map(prediction)));
				}
			});
		});
		await new Promise((resolve) => server.once('listening', resolve));
		const {port} = server.address() as import('node:net').AddressInfo;
		const events: AgentEvent[] = [];
		const unsubscribe = createAgentClient({url: `http://127.0.0.1:${port}`, backoff: {initialMs: 10, maxMs: 50}}).predictions(
			{},
			undefined,
			(event) => events.push(event),
		);
		try {
			await eventually('events 1–9', 10_000, () => events.filter((event) => event.type === 'prediction').length === 9);
			expect(subscribes.map((message) => message.fromSeq)).toEqual([0, 3]);
			expect(events.some((event) => event.type === 'gap')).toBe(false);
			// The disconnection is reported with the agent's reason.
			expect(events).toContainEqual(
				expect.objectContaining({type: 'connection', connected: false, reason: expect.stringMatching(/did not answer a ping|too slow/)}),
			);
		} finally {
			unsubscribe();
			await new Promise((resolve) => server.close(resolve));
		}
	});
});
