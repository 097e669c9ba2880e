// The agent's ingest and stream over real sockets: many clients, stalled clients, cut connections, a killed and
// restarted agent, malformed and oversized input, and KServe-format logs from the real model server.
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {afterAll, afterEach, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import type {AgentEvent} from '../../source/domain/ports.ts';
import {collect, cuttableProxy, eventually, freePort, plainPrediction, postLogs, spawnAgent} from './agent-support.ts';
import type {AgentProcess} from './agent-support.ts';

const agents: RunningAgent[] = [];
const unsubscribes: (() => void)[] = [];
const directories: string[] = [];
let processes: AgentProcess[] = [];
let modelServers: RunningModelServer[] = [];

async function agent(options: Parameters<typeof startAgent>[0] = {}): Promise<RunningAgent> {
	const running = await startAgent({noAuth: true, ...options});
	agents.push(running);
	return running;
}

afterEach(async () => {
	for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
	for (const running of agents.splice(0)) await running.close();
	for (const child of processes) await child.kill();
	processes = [];
	for (const server of modelServers) await server.close();
	modelServers = [];
});

afterAll(() => {
	for (const directory of directories) rmSync(directory, {recursive: true, force: true});
});

async function ingest(url: string, from: number, count: number, batch = 100): Promise<void> {
	for (let start = from; start < from + count; start += batch) {
		const items = Array.from({length: Math.min(batch, from + count - start)}, (_, index) =>
			plainPrediction(`r${start + index}`, {latencyMs: start + index}),
		);
		const answer = await postLogs(url, items);
		expect(answer.status).toBe(200);
	}
}

/** A raw WebSocket subscribed to everything, collecting every message (batches unpacked) as it comes. */
async function subscribeAll(
	running: RunningAgent,
): Promise<{ws: WebSocket; received: Array<{type: string; seq?: number; dropped?: number}>}> {
	const ws = new WebSocket(`${running.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
	const received: Array<{type: string; seq?: number; dropped?: number}> = [];
	ws.on('message', (data) => {
		const parsed = JSON.parse(data.toString()) as unknown;
		received.push(...((Array.isArray(parsed) ? parsed : [parsed]) as Array<{type: string}>));
	});
	await new Promise((resolve) => ws.once('open', resolve));
	ws.send(JSON.stringify({type: 'subscribe', filter: {}}));
	await eventually('the subscription', 5000, () => running.core.hub.stats()[0]);
	return {ws, received};
}

describe('agent stream', () => {
	it('delivers every prediction to many clients, in order, numbered', async () => {
		const running = await agent();
		const clients = Array.from({length: 20}, () => {
			const collected = collect(createAgentClient({url: running.url}));
			unsubscribes.push(collected.unsubscribe);
			return collected;
		});
		await Promise.all(clients.map((client) => client.connected()));
		await ingest(running.url, 0, 2000);
		for (const client of clients) {
			const predictions = await client.waitForPredictions(2000);
			expect(predictions.map((prediction) => prediction.requestId)).toEqual(Array.from({length: 2000}, (_, index) => `r${index}`));
			const seqs = client.events.flatMap((event) => (event.type === 'prediction' ? [event.seq] : []));
			expect(seqs).toEqual(Array.from({length: 2000}, (_, index) => index + 1));
			expect(client.events.some((event) => event.type === 'gap')).toBe(false);
		}

		expect(await (await fetch(`${running.url}/metrics`)).text()).toMatch(/modeldeck_agent_stream_clients 20/);
	});

	it('applies each client’s filter', async () => {
		const running = await agent();
		const errorsOnly = collect(createAgentClient({url: running.url}), {status: 'error', model: 'fraud'});
		unsubscribes.push(errorsOnly.unsubscribe);
		await errorsOnly.connected();
		await postLogs(running.url, [
			plainPrediction('ok-1'),
			plainPrediction('bad-1', {status: 'error'}),
			plainPrediction('bad-other', {status: 'error', model: 'other'}),
			plainPrediction('bad-2', {code: 500}),
		]);
		expect((await errorsOnly.waitForPredictions(2)).map((prediction) => prediction.requestId)).toEqual(['bad-1', 'bad-2']);
	});

	it('refuses other subprotocols and other paths', async () => {
		const running = await agent();
		const statusOf = (url: string, protocols: string[]) =>
			new Promise<number>((resolve) => {
				const ws = new WebSocket(url, protocols);
				ws.on('unexpected-response', (_request, response) => {
					resolve(response.statusCode ?? 0);
					ws.terminate();
				});
				ws.on('open', () => {
					resolve(101);
					ws.close();
				});
				ws.on('error', () => undefined);
			});
		const wsUrl = running.url.replace('http', 'ws');
		expect(await statusOf(`${wsUrl}/v1/stream`, ['other.v2'])).toBe(400);
		expect(await statusOf(`${wsUrl}/v1/elsewhere`, ['modeldeck.v1'])).toBe(404);
		expect(await statusOf(`${wsUrl}/v1/stream`, ['other.v2', 'modeldeck.v1'])).toBe(101);
	});

	it('keeps a stalled client’s cost bounded and, when it reads again, says exactly how much it lost', async () => {
		const running = await agent({stream: {queueCapacity: 500, highWaterBytes: 64 * 1024}, heartbeatMs: 120_000});
		const {ws, received} = await subscribeAll(running);
		// Stop reading: the agent's writes pile up in the kernel, then in its socket buffer, then its queue drops.
		const socket = (ws as unknown as {_socket: import('node:net').Socket})._socket;
		socket.pause();
		const published = 30_000;
		await ingest(running.url, 0, published, 1000);
		const [stats] = running.core.hub.stats();
		expect(stats!.queued).toBeLessThanOrEqual(500);
		expect(stats!.dropped).toBeGreaterThan(0);
		// The agent stopped writing at the high-water mark: at most one batch frame above it is unsent.
		expect(stats!.bufferedAmount).toBeLessThan(64 * 1024 + 500 * 1024);

		socket.resume();
		const total = () =>
			received.reduce((sum, message) => sum + (message.type === 'prediction' ? 1 : message.type === 'gap' ? (message.dropped ?? 0) : 0), 0);
		await eventually(`every event delivered or reported lost (have ${total()})`, 20_000, () => total() === published);
		const gaps = received.filter((message) => message.type === 'gap');
		expect(gaps.length).toBeGreaterThan(0);
		const seqs = received.filter((message) => message.type !== 'hello').map((message) => message.seq!);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		expect(received.at(-1)).toMatchObject({type: 'prediction', seq: published});
		ws.close();
	});

	it('resumes after cut connections with nothing lost or repeated', async () => {
		const running = await agent();
		const proxy = await cuttableProxy(running.port);
		try {
			const client = collect(createAgentClient({url: `http://127.0.0.1:${proxy.port}`, backoff: {initialMs: 20, maxMs: 100}}));
			unsubscribes.push(client.unsubscribe);
			await client.connected();
			for (let round = 0; round < 5; round++) {
				await ingest(running.url, round * 400, 200);
				proxy.cutAll();
				// Published while the client is away: it must get these on resume.
				await ingest(running.url, round * 400 + 200, 200);
				await eventually(
					'the client to reconnect',
					5000,
					() => client.events.filter((event) => event.type === 'connection' && event.connected).length >= round + 2,
				);
			}

			const predictions = await client.waitForPredictions(2000);
			expect(predictions.map((prediction) => prediction.requestId)).toEqual(Array.from({length: 2000}, (_, index) => `r${index}`));
			expect(client.events.some((event) => event.type === 'gap')).toBe(false);
			expect(client.events.filter((event) => event.type === 'connection' && !event.connected).length).toBeGreaterThanOrEqual(5);
		} finally {
			await proxy.close();
		}
	});

	it('survives being killed right after acknowledging: every acknowledged prediction is found after a restart, no number reused', async () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-restart-'));
		directories.push(directory);
		const port = await freePort();
		const args = ['--listen', `127.0.0.1:${port}`, '--db', path.join(directory, 'agent.db'), '--no-auth'];
		const url = `http://127.0.0.1:${port}`;
		processes.push(await spawnAgent(args));
		const client = collect(createAgentClient({url, backoff: {initialMs: 50, maxMs: 200}}));
		unsubscribes.push(client.unsubscribe);
		await client.connected();
		// Every POST answered 200 (ingest() checks each), then the kill at once: nothing may wait in a buffer.
		await ingest(url, 0, 50, 10);
		await processes[0]!.kill('SIGKILL');
		await eventually('the client to notice', 5000, () => client.events.some((event) => event.type === 'connection' && !event.connected));
		const seenBefore = client.events.flatMap((event) => ('seq' in event && typeof event.seq === 'number' ? [event.seq] : []));

		processes.push(await spawnAgent(args));
		await eventually(
			'the client to reconnect',
			10_000,
			() => client.events.filter((event) => event.type === 'connection' && event.connected).length >= 2,
		);
		const lookup = createAgentClient({url});
		for (let index = 0; index < 50; index++) {
			const found = await lookup.lookup(`r${index}`);
			expect(found, `r${index} was acknowledged before the kill`).toHaveLength(1);
			expect(found[0]).toMatchObject({requestId: `r${index}`, model: 'fraud', latencyMs: index});
		}

		await ingest(url, 50, 10);
		// Before the kill the client may not have received all 50 (they are not replayed after a restart); after it,
		// all 10.
		await eventually('the predictions after the restart', 15_000, () =>
			client.predictions().some((prediction) => prediction.requestId === 'r59'),
		);
		const predictions = client.predictions();
		expect(predictions.slice(-10).map((prediction) => prediction.requestId)).toEqual(
			Array.from({length: 10}, (_, index) => `r${50 + index}`),
		);
		// Numbering went on above every number handed out before the kill: none is reused.
		const seqs = client.events.flatMap((event) => (event.type === 'prediction' ? [event.seq] : []));
		const after = seqs.slice(-10);
		expect(Math.min(...after)).toBeGreaterThan(Math.max(50, ...seenBefore));
		expect(after).toEqual(Array.from({length: 10}, (_, index) => after[0]! + index));
	});

	it('keeps a request half it acknowledged across a kill and a graceful restart: its response, sent to the next agent, still joins it', async () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-halves-'));
		directories.push(directory);
		const port = await freePort();
		const args = ['--listen', `127.0.0.1:${port}`, '--db', path.join(directory, 'agent.db'), '--no-auth'];
		const url = `http://127.0.0.1:${port}`;
		// KServe's logger, binary mode: the request and the response share ce-id.
		const kserve = (type: 'request' | 'response', id: string, time: string) => ({
			'content-type': 'application/json',
			'ce-specversion': '1.0',
			'ce-type': `org.kubeflow.serving.inference.${type}`,
			'ce-id': id,
			'ce-source': 'http://fraud-predictor.team-a.svc/',
			'ce-time': time,
			'ce-inferenceservicename': 'fraud',
			'ce-namespace': 'team-a',
			'ce-component': 'predictor',
			'ce-endpoint': 'v2',
		});
		const start = Date.now();
		const at = (ms: number) => new Date(start + ms).toISOString();
		const request = {inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]};
		const response = {outputs: [{name: 'probability', datatype: 'FP32', shape: [1, 1], data: [0.25]}]};

		processes.push(await spawnAgent(args));
		expect(await postLogs(url, request, kserve('request', 'killed-1', at(0)))).toMatchObject({
			status: 200,
			body: {accepted: 1, predictions: 0},
		});
		await processes.at(-1)!.kill('SIGKILL');
		processes.push(await spawnAgent(args));
		expect(await postLogs(url, response, kserve('response', 'killed-1', at(40)))).toMatchObject({status: 200, body: {predictions: 1}});

		expect(await postLogs(url, request, kserve('request', 'stopped-1', at(100)))).toMatchObject({status: 200, body: {predictions: 0}});
		await processes.at(-1)!.kill('SIGTERM');
		processes.push(await spawnAgent(args));
		expect(await postLogs(url, response, kserve('response', 'stopped-1', at(130)))).toMatchObject({status: 200, body: {predictions: 1}});

		const lookup = createAgentClient({url});
		for (const [id, latencyMs] of [
			['killed-1', 40],
			['stopped-1', 30],
		] as const) {
			const found = await lookup.lookup(id);
			// One prediction, joined: the request's input and the response's output, and the latency between them.
			expect(found, id).toHaveLength(1);
			expect(found[0]).toMatchObject({requestId: id, namespace: 'team-a', model: 'fraud', version: 'v2', status: 'ok', latencyMs});
			expect(found[0]!.inputSummary).toContain('features');
			expect(found[0]!.outputSummary).toContain('probability');
		}
	});

	it('answers 503 naming the cause while its SQLite store is full, keeps serving the stream and the API, and recovers by itself', async () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-full-'));
		directories.push(directory);
		const file = path.join(directory, 'agent.db');
		// A real SQLite with a hard size limit (PRAGMA max_page_count): writes past it fail with SQLITE_FULL, as on a
		// full volume. Retention by age (8 s: longer than filling it takes) frees pages again.
		const running = await agent({dbPath: file, storeMaxBytes: 256 * 1024, retention: {maxAgeMs: 8000}, retentionIntervalMs: 200});
		const watcher = collect(createAgentClient({url: running.url}));
		unsubscribes.push(watcher.unsubscribe);
		await watcher.connected();

		let refused: {status: number; body: unknown; retryAfter: string | null} | undefined;
		let acknowledged = 0;
		for (let round = 0; round < 500 && !refused; round++) {
			const items = Array.from({length: 100}, (_, index) =>
				plainPrediction(`full-${round}-${index}`, {inputSummary: `features FP32[1,4] ${'x'.repeat(150)}`}),
			);
			const response = await fetch(`${running.url}/v1/logs`, {
				method: 'POST',
				headers: {'content-type': 'application/json'},
				body: JSON.stringify(items),
			});
			const body = (await response.json()) as unknown;
			if (response.status === 200) acknowledged += 100;
			else refused = {status: response.status, body, retryAfter: response.headers.get('retry-after')};
		}

		const message = `the prediction store at ${file} is full (database or disk is full) or reached its limit of 0.25 MB (--store-max-mb): free space on its volume, or lower --retention-max-mb, --retention-max-rows or --retention-hours so that retention deletes more; the logger should retry`;
		expect(refused).toEqual({status: 503, body: {error: message}, retryAfter: '5'});
		expect(acknowledged).toBeGreaterThan(0);
		// Not ready, and says why.
		const ready = await fetch(`${running.url}/readyz`);
		expect(ready.status).toBe(503);
		expect(await ready.json()).toEqual({ok: false, message});
		// Still serving: the API reads, the stream keeps its clients and takes new ones, the process is alive.
		expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
		const lookup = await fetch(`${running.url}/v1/predictions?model=fraud&limit=5`);
		expect(lookup.status).toBe(200);
		expect(await lookup.json()).toHaveLength(5);
		const newcomer = collect(createAgentClient({url: running.url}));
		unsubscribes.push(newcomer.unsubscribe);
		await newcomer.connected();
		expect(watcher.events.some((event) => event.type === 'connection' && !event.connected)).toBe(false);
		// Only acknowledged predictions were streamed: the refused request's were not.
		expect(watcher.predictions().length).toBeLessThanOrEqual(acknowledged);
		await eventually('the acknowledged predictions on the stream', 10_000, () => watcher.predictions().length === acknowledged);
		const metrics = await (await fetch(`${running.url}/metrics`)).text();
		expect(metrics).toMatch(/^modeldeck_agent_store_writable 0$/m);
		expect(metrics).toMatch(/^modeldeck_agent_ingest_rejected_total\{reason="store"\} 1$/m);

		// Retention deletes what is older than 8 s; the readiness probe tries a write and finds the store writable.
		await eventually('the agent to be ready again', 30_000, async () => (await fetch(`${running.url}/readyz`)).status === 200);
		expect(await postLogs(running.url, [plainPrediction('after-full')])).toMatchObject({status: 200});
		expect(await createAgentClient({url: running.url}).lookup('after-full')).toHaveLength(1);
		await eventually('the new prediction on the stream', 10_000, () =>
			newcomer.predictions().some((prediction) => prediction.requestId === 'after-full'),
		);
		expect(await (await fetch(`${running.url}/metrics`)).text()).toMatch(/^modeldeck_agent_store_writable 1$/m);
	});

	it('pings every heartbeat interval: a client that stops answering is cut, one that answers stays', async () => {
		const running = await agent({heartbeatMs: 100});
		const wsUrl = `${running.url.replace('http', 'ws')}/v1/stream`;
		const open = (autoPong: boolean) =>
			new Promise<{ws: WebSocket; pings: () => number; closed: () => number | undefined}>((resolve, reject) => {
				const ws = new WebSocket(wsUrl, ['modeldeck.v1'], {autoPong});
				let pings = 0;
				let closed: number | undefined;
				ws.on('ping', () => pings++);
				ws.on('close', (code) => (closed = code));
				ws.on('error', () => undefined);
				ws.once('open', () => resolve({ws, pings: () => pings, closed: () => closed}));
				ws.once('unexpected-response', () => reject(new Error('the upgrade was refused')));
			});
		const silent = await open(false);
		const answering = await open(true);
		await eventually('both to be counted', 5000, () => running.core.hub.subscriberCount === 2);
		// The silent one is closed with the protocol's code for it after the first ping it left unanswered.
		await eventually('the silent client to be cut', 10_000, () => silent.closed() === 4008);
		expect(silent.pings()).toBeGreaterThanOrEqual(1);
		// The answering one went through many more intervals than the silent one lived, and is still connected.
		await eventually('ten pings to the answering client', 10_000, () => answering.pings() >= silent.pings() + 10);
		expect(answering.closed()).toBeUndefined();
		expect(answering.ws.readyState).toBe(WebSocket.OPEN);
		expect(running.core.hub.subscriberCount).toBe(1);
		answering.ws.close();
	});

	it('does not negotiate permessage-deflate even when the client offers it', async () => {
		const running = await agent();
		const ws = new WebSocket(`${running.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: true});
		const upgraded = new Promise<import('node:http').IncomingMessage>((resolve) => ws.once('upgrade', resolve));
		await new Promise((resolve) => ws.once('open', resolve));
		const upgrade = await upgraded;
		expect(upgrade.statusCode).toBe(101);
		expect(upgrade.headers['sec-websocket-protocol']).toBe('modeldeck.v1');
		expect(upgrade.headers['sec-websocket-extensions']).toBeUndefined();
		expect(ws.extensions).toBe('');
		ws.close();
	});

	it('tells a slow reader exactly what it missed: every event is delivered in order or counted in a gap, and /metrics counts the same', async () => {
		const metric = async (url: string) =>
			Number(/^modeldeck_agent_stream_dropped_total (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
		const running = await agent({stream: {queueCapacity: 200, highWaterBytes: 16 * 1024}, heartbeatMs: 120_000});
		const droppedBefore = await metric(running.url);
		const {ws, received} = await subscribeAll(running);
		// Slow, not stalled: it reads for 5 ms out of every 30.
		const socket = (ws as unknown as {_socket: import('node:net').Socket})._socket;
		const reader = setInterval(() => {
			socket.pause();
			setTimeout(() => socket.resume(), 25);
		}, 30);
		const published = 20_000;
		try {
			await ingest(running.url, 0, published, 500);
			const accounted = () =>
				received.reduce((sum, message) => sum + (message.type === 'prediction' ? 1 : message.type === 'gap' ? message.dropped! : 0), 0);
			await eventually(`every event delivered or reported (have ${accounted()})`, 30_000, () => accounted() === published);
		} finally {
			clearInterval(reader);
			socket.resume();
		}

		// Exactly: a gap covers the numbers right after the last event delivered, up to its seq, and the next event
		// delivered is the one after it.
		let last = 0;
		let dropped = 0;
		for (const message of received.filter((item) => item.type !== 'hello')) {
			if (message.type === 'gap') {
				expect(message.seq! - last).toBe(message.dropped);
				dropped += message.dropped!;
			} else {
				expect(message).toMatchObject({type: 'prediction', seq: last + 1});
			}

			last = message.seq!;
		}

		expect(last).toBe(published);
		expect(dropped).toBeGreaterThan(0);
		expect(received.filter((message) => message.type === 'prediction').length).toBeGreaterThan(0);
		expect((await metric(running.url)) - droppedBefore).toBe(dropped);
		ws.close();
	});

	it('filters GET /v1/predictions by model, version, since, until, status and limit, and refuses a bad filter with the format expected', async () => {
		const running = await agent();
		const base = Date.now() - 100_000;
		const at = (offset: number) => base + offset;
		expect(
			await postLogs(running.url, [
				plainPrediction('p1', {version: 'v1', time: at(1000)}),
				plainPrediction('p2', {version: 'v2', time: at(2000), code: 500}),
				plainPrediction('p3', {version: 'v2', time: at(3000)}),
				plainPrediction('p4', {model: 'other', time: at(4000)}),
			]),
		).toMatchObject({status: 200});
		const ids = async (query: string) => {
			const response = await fetch(`${running.url}/v1/predictions?${query}`);
			expect(response.status).toBe(200);
			return ((await response.json()) as {requestId: string}[]).map((prediction) => prediction.requestId);
		};

		expect(await ids('')).toEqual(['p4', 'p3', 'p2', 'p1']);
		expect(await ids('model=fraud')).toEqual(['p3', 'p2', 'p1']);
		expect(await ids('model=fraud&version=v2')).toEqual(['p3', 'p2']);
		expect(await ids(`since=${at(2000)}`)).toEqual(['p4', 'p3', 'p2']);
		expect(await ids(`until=${at(3000)}`)).toEqual(['p2', 'p1']);
		expect(await ids(`since=${new Date(at(2000)).toISOString()}&until=${new Date(at(3000)).toISOString()}`)).toEqual(['p2']);
		expect(await ids('status=error')).toEqual(['p2']);
		expect(await ids('status=ok&model=fraud')).toEqual(['p3', 'p1']);
		expect(await ids('limit=2')).toEqual(['p4', 'p3']);
		expect(await ids('namespace=team-a&requestId=p3')).toEqual(['p3']);

		const refused = async (query: string) => {
			const response = await fetch(`${running.url}/v1/predictions?${query}`);
			return {status: response.status, body: (await response.json()) as unknown};
		};

		expect(await refused('status=failed')).toEqual({status: 400, body: {error: 'status must be ok or error, got "failed"'}});
		expect(await refused('since=yesterday')).toEqual({
			status: 400,
			body: {error: 'since must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z), got "yesterday"'},
		});
		expect(await refused('until=12:00')).toEqual({
			status: 400,
			body: {error: 'until must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z), got "12:00"'},
		});
		expect(await refused('limit=0')).toEqual({status: 400, body: {error: 'limit must be an integer from 1 to 1000, got "0"'}});
		expect(await refused('limit=5000')).toEqual({status: 400, body: {error: 'limit must be an integer from 1 to 1000, got "5000"'}});
		expect(await refused('modle=fraud')).toEqual({
			status: 400,
			body: {
				error: 'unknown parameter "modle"; filter with requestId, requestIdPrefix, namespace, model, version, status, since, until, limit',
			},
		});
	});

	it('joins Seldon’s logger (binary mode) and structured CloudEvents, single and batch, into predictions', async () => {
		const running = await agent();
		const client = collect(createAgentClient({url: running.url}), {namespace: 'team-s'});
		unsubscribes.push(client.unsubscribe);
		await client.connected();
		const started = Date.now() - 60_000;
		const iso = (offset: number) => new Date(started + offset).toISOString();

		// Seldon: each half has its own ce-id; the shared id is ce-requestid; the predictor (ce-endpoint) is the version.
		const seldon = (type: 'request' | 'response', id: string, time: string) => ({
			'content-type': 'application/json',
			'ce-specversion': '1.0',
			'ce-type': `io.seldon.serving.inference.${type}`,
			'ce-id': `${type}-${id}`,
			'ce-requestid': 'seldon-1',
			'ce-source': 'http://iris-default.team-s.svc:8000/',
			'ce-time': time,
			'ce-inferenceservicename': 'iris',
			'ce-modelid': 'classifier',
			'ce-endpoint': 'default',
			'ce-namespace': 'team-s',
		});
		expect(
			await postLogs(running.url, {data: {names: ['a', 'b', 'c', 'd'], ndarray: [[5.1, 3.5, 1.4, 0.2]]}}, seldon('request', 'x1', iso(0))),
		).toMatchObject({
			status: 200,
			body: {accepted: 1, predictions: 0},
		});
		expect(await postLogs(running.url, {data: {names: ['setosa'], ndarray: [[0.97]]}}, seldon('response', 'x2', iso(25)))).toMatchObject({
			status: 200,
			body: {accepted: 1, predictions: 1},
		});

		// Structured: the attributes in the body, one event per POST or a batch.
		const event = (type: 'request' | 'response', id: string, offset: number, data: unknown) => ({
			specversion: '1.0',
			id,
			source: 'http://fraud-predictor.team-s/',
			type: `org.kubeflow.serving.inference.${type}`,
			time: iso(offset),
			datacontenttype: 'application/json',
			inferenceservicename: 'fraud',
			namespace: 'team-s',
			component: 'predictor',
			endpoint: 'default',
			modelversion: 'v3',
			data,
		});
		const inputs = {inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4]}]};
		const outputs = {outputs: [{name: 'probability', shape: [1, 1], datatype: 'FP32', data: [0.25]}]};
		const structured = (body: unknown, batch = false) =>
			postLogs(running.url, JSON.stringify(body), {
				'content-type': batch ? 'application/cloudevents-batch+json' : 'application/cloudevents+json',
			});
		expect(await structured(event('request', 'single-1', 1000, inputs))).toMatchObject({status: 200, body: {accepted: 1, predictions: 0}});
		expect(await structured(event('response', 'single-1', 1040, outputs))).toMatchObject({
			status: 200,
			body: {accepted: 1, predictions: 1},
		});
		expect(
			await structured(
				[
					event('response', 'batch-2', 2015, outputs),
					event('request', 'batch-1', 2000, inputs),
					event('request', 'batch-2', 2005, inputs),
					event('response', 'batch-1', 2010, outputs),
				],
				true,
			),
		).toMatchObject({status: 200, body: {accepted: 4, predictions: 2}});

		const predictions = await client.waitForPredictions(4);
		expect(predictions.map((prediction) => prediction.requestId)).toEqual(['seldon-1', 'single-1', 'batch-2', 'batch-1']);
		expect(predictions[0]).toMatchObject({
			namespace: 'team-s',
			model: 'iris',
			version: 'default',
			latencyMs: 25,
			status: 'ok',
			time: started,
		});
		expect(predictions[0]!.inputSummary).toContain('5.1');
		expect(predictions[0]!.outputSummary).toContain('0.97');
		for (const [index, [id, latency, time]] of (
			[
				['single-1', 40, 1000],
				['batch-2', 10, 2005],
				['batch-1', 10, 2000],
			] as const
		).entries()) {
			expect(predictions[index + 1]).toMatchObject({
				requestId: id,
				namespace: 'team-s',
				model: 'fraud',
				version: 'v3',
				latencyMs: latency,
				status: 'ok',
				code: 200,
				output: 0.25,
				time: started + time,
			});
			expect(predictions[index + 1]!.inputSummary).toMatch(/^features FP32\[1,4\]/);
		}

		// And they are stored: found by request id over HTTP.
		expect(await createAgentClient({url: running.url}).lookup('seldon-1')).toHaveLength(1);
		const metrics = await (await fetch(`${running.url}/metrics`)).text();
		expect(metrics).toMatch(/^modeldeck_agent_ingested_total\{format="seldon"\} 2$/m);
		expect(metrics).toMatch(/^modeldeck_agent_ingested_total\{format="cloudevents-structured"\} 6$/m);
	});

	it('answers malformed and oversized input with 4xx and a message, and never falls over', async () => {
		const running = await agent({maxBodyBytes: 4096});
		const headerName = fc.constantFrom(
			'ce-type',
			'ce-id',
			'ce-specversion',
			'ce-source',
			'ce-time',
			'ce-namespace',
			'ce-inferenceservicename',
			'content-type',
			'ce-requestid',
			'ce-x',
		);
		const headerValue = fc.oneof(
			fc.string({maxLength: 30}).filter((value) => /^[\x20-\x7e]*$/.test(value)),
			fc.constantFrom(
				'org.kubeflow.serving.inference.request',
				'org.kubeflow.serving.inference.response',
				'io.seldon.serving.inference.request',
				'application/json',
				'application/cloudevents+json',
				'application/cloudevents-batch+json',
				'1.0',
			),
		);
		const body = fc.oneof(
			fc.uint8Array({maxLength: 6000}),
			fc.json().map((text) => new TextEncoder().encode(text)),
			fc.anything().map((value) => new TextEncoder().encode(JSON.stringify(value) ?? '')),
		);
		const statuses = new Map<number, number>();
		await fc.assert(
			fc.asyncProperty(fc.dictionary(headerName, headerValue, {maxKeys: 7}), body, async (headers, bytes) => {
				const response = await fetch(`${running.url}/v1/logs`, {method: 'POST', headers, body: bytes});
				const answer = (await response.json()) as {error?: string; accepted?: number};
				statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
				expect([200, 400, 413, 415]).toContain(response.status);
				if (response.status !== 200) expect(answer.error?.length).toBeGreaterThan(0);
			}),
			{numRuns: 300},
		);
		expect(statuses.get(400)).toBeGreaterThan(0);

		const tooBig = await postLogs(running.url, JSON.stringify([plainPrediction('x'.repeat(5000))]));
		expect(tooBig).toEqual({
			status: 413,
			body: {error: expect.stringMatching(/^the body is 5\d\d\d bytes; the limit is 4096 bytes \(--max-body-bytes\)$/)},
		});
		// Without a declared length the agent stops at the limit too.
		const chunks = new ReadableStream({
			start(controller) {
				for (let index = 0; index < 10; index++) controller.enqueue(new Uint8Array(1000).fill(32));
				controller.close();
			},
		});
		const streamed = await fetch(`${running.url}/v1/logs`, {method: 'POST', body: chunks, duplex: 'half'} as RequestInit);
		expect(streamed.status).toBe(413);
		expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
		expect(await postLogs(running.url, plainPrediction('still-fine'))).toMatchObject({status: 200});
		expect(await createAgentClient({url: running.url}).lookup('still-fine')).toHaveLength(1);
		const metrics = await (await fetch(`${running.url}/metrics`)).text();
		expect(metrics).toMatch(/modeldeck_agent_ingest_rejected_total\{reason="too-large"\} [1-9]/);
	});

	it('lets a client that is still sending an oversized body finish and read the 413, instead of resetting its connection', async () => {
		const running = await agent({maxBodyBytes: 4096});
		const {port} = new URL(running.url);
		// A logger that writes its body in parts, the later ones after the agent has seen enough to refuse it.
		const send = async (head: string, parts: string[]): Promise<string> => {
			// Half-open, as an HTTP client is: the agent's end of its answer does not stop the body going out.
			const socket = net.connect({port: Number(port), host: '127.0.0.1', allowHalfOpen: true});
			let answer = '';
			const errors: string[] = [];
			socket.setEncoding('utf8');
			socket.on('data', (text: string) => {
				answer += text;
			});
			socket.on('error', (error) => errors.push(error.message));
			const closed = new Promise((resolve) => socket.once('close', resolve));
			await new Promise((resolve) => socket.once('connect', resolve));
			socket.write(head);
			for (const part of parts) {
				socket.write(part);
				await new Promise((resolve) => setTimeout(resolve, 150));
			}

			socket.end();
			await closed;
			expect(errors, `the answer so far: ${JSON.stringify(answer.slice(0, 80))}`).toEqual([]);
			return answer;
		};
		const part = 'x'.repeat(3000);
		const declared = await send(
			`POST /v1/logs HTTP/1.1\r\nhost: agent\r\ncontent-type: application/json\r\ncontent-length: ${part.length * 4}\r\n\r\n`,
			[part, part, part, part],
		);
		expect(declared).toMatch(/^HTTP\/1\.1 413 /);
		expect(declared).toContain('the body is 12000 bytes; the limit is 4096 bytes (--max-body-bytes)');
		const chunk = `${part.length.toString(16)}\r\n${part}\r\n`;
		const chunked = await send(
			'POST /v1/logs HTTP/1.1\r\nhost: agent\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
			[chunk, chunk, chunk, `${chunk}0\r\n\r\n`],
		);
		expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
		expect(chunked).toContain('the body is over the limit of 4096 bytes (--max-body-bytes)');
		// A body larger than the agent reads and drops is refused at once, before it is sent.
		const huge = net.connect(Number(port), '127.0.0.1');
		let answer = '';
		huge.setEncoding('utf8');
		huge.on('data', (text: string) => {
			answer += text;
		});
		huge.on('error', () => {});
		huge.write('POST /v1/logs HTTP/1.1\r\nhost: agent\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n');
		await eventually('the 413 for a declared gigabyte, with no body sent', 3000, () => answer.includes('the body is 1000000000 bytes'));
		huge.destroy();
		expect(await postLogs(running.url, plainPrediction('after-the-refusals'))).toMatchObject({status: 200});
	});

	it('confines ingest to the allowed addresses and the shared token, which loggers may send in the URL', async () => {
		const elsewhere = await agent({allowIps: ['10.0.0.0/8']});
		expect(await postLogs(elsewhere.url, plainPrediction('x'))).toEqual({
			status: 403,
			body: {error: 'ingest from 127.0.0.1 is not allowed (--allow-ip)'},
		});
		const guarded = await agent({allowIps: ['127.0.0.1/32', '::1/128'], ingestToken: 'shared-secret'});
		const refused = await postLogs(guarded.url, plainPrediction('no-token'));
		expect(refused.status).toBe(401);
		expect((refused.body as {error: string}).error).toMatch(/missing or wrong ingest token/);
		expect((await postLogs(guarded.url, plainPrediction('wrong'), {authorization: 'Bearer nope'})).status).toBe(401);
		expect((await postLogs(guarded.url, plainPrediction('by-header'), {'x-modeldeck-ingest-token': 'shared-secret'})).status).toBe(200);
		const byUrl = await fetch(`${guarded.url}/v1/logs?token=shared-secret`, {
			method: 'POST',
			headers: {'content-type': 'application/json'},
			body: JSON.stringify(plainPrediction('by-url')),
		});
		expect(byUrl.status).toBe(200);
		const metrics = await (await fetch(`${guarded.url}/metrics`)).text();
		expect(metrics).toMatch(/modeldeck_agent_auth_refusals_total\{reason="ingest-token"\} 2/);
	});

	it('joins the real model server’s KServe-format logs into predictions, and keeps unanswered requests as errors', async () => {
		const running = await agent({joinTimeoutMs: 300});
		const server = await startModelServer({
			model: 'fraud',
			modelVersion: 'v2',
			namespace: 'team-a',
			port: 0,
			logUrl: `${running.url}/v1/logs`,
		});
		modelServers.push(server);
		const client = collect(createAgentClient({url: running.url}), {model: 'fraud'});
		unsubscribes.push(client.unsubscribe);
		await client.connected();
		for (let index = 0; index < 5; index++) {
			const response = await fetch(`${server.url}/v2/models/fraud/infer`, {
				method: 'POST',
				headers: {'content-type': 'application/json', 'ce-id': `req-${index}`},
				body: JSON.stringify({inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [index, 0.5, 1, 2]}]}),
			});
			expect(response.status).toBe(200);
		}

		const predictions = await client.waitForPredictions(5);
		for (const prediction of predictions) {
			expect(prediction).toMatchObject({namespace: 'team-a', model: 'fraud', version: 'v2', status: 'ok', code: 200});
			expect(prediction.latencyMs).not.toBeNull();
			expect(prediction.inputSummary).toMatch(/^features FP32\[1,4\]/);
			expect(prediction.outputSummary).toMatch(/^probability FP32\[1,1\]/);
			expect(typeof prediction.output === 'number' && prediction.output >= 0 && prediction.output <= 1).toBe(true);
		}

		expect(predictions.map((prediction) => prediction.requestId).sort()).toEqual(['req-0', 'req-1', 'req-2', 'req-3', 'req-4']);
		server.setKnobs({errorRate: 1});
		const failed = await fetch(`${server.url}/v2/models/fraud/infer`, {
			method: 'POST',
			headers: {'content-type': 'application/json', 'ce-id': 'req-failing'},
			body: JSON.stringify({inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1]}]}),
		});
		expect(failed.status).toBe(500);
		const [incomplete] = (await client.waitForPredictions(6)).slice(5);
		expect(incomplete).toMatchObject({requestId: 'req-failing', status: 'error', latencyMs: null});
		expect(incomplete?.outputSummary).toMatch(/no response logged/);
		const events: AgentEvent[] = client.events;
		expect(events.some((event) => event.type === 'gap')).toBe(false);
	});
});
