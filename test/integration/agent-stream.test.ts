// The agent's ingest and stream over real sockets: many clients, stalled clients, cut connections, a killed and
// restarted agent, malformed and oversized input, and KServe-format logs from the real model server.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {afterAll, afterEach, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import {createAgentClient} from '../../source/sources/agent-client.ts';
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
		const items = Array.from({length: Math.min(batch, from + count - start)}, (_, index) => plainPrediction(`r${start + index}`, {latencyMs: start + index}));
		const answer = await postLogs(url, items);
		expect(answer.status).toBe(200);
	}
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

		expect((await (await fetch(`${running.url}/metrics`)).text())).toMatch(/modeldeck_agent_stream_clients 20/);
	});

	it('applies each client’s filter', async () => {
		const running = await agent();
		const errorsOnly = collect(createAgentClient({url: running.url}), {status: 'error', model: 'fraud'});
		unsubscribes.push(errorsOnly.unsubscribe);
		await errorsOnly.connected();
		await postLogs(running.url, [plainPrediction('ok-1'), plainPrediction('bad-1', {status: 'error'}), plainPrediction('bad-other', {status: 'error', model: 'other'}), plainPrediction('bad-2', {code: 500})]);
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
		const ws = new WebSocket(`${running.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
		const received: {type: string; seq?: number; dropped?: number}[] = [];
		ws.on('message', (data) => {
			const parsed = JSON.parse(data.toString()) as unknown;
			received.push(...((Array.isArray(parsed) ? parsed : [parsed]) as {type: string}[]));
		});
		await new Promise((resolve) => ws.once('open', resolve));
		ws.send(JSON.stringify({type: 'subscribe', filter: {}}));
		await eventually('the subscription', 5000, () => running.core.hub.stats()[0]);
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
				await eventually('the client to reconnect', 5000, () => client.events.filter((event) => event.type === 'connection' && event.connected).length >= round + 2);
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
		await eventually('the client to reconnect', 10_000, () => client.events.filter((event) => event.type === 'connection' && event.connected).length >= 2);
		const lookup = createAgentClient({url});
		for (let index = 0; index < 50; index++) {
			const found = await lookup.lookup(`r${index}`);
			expect(found, `r${index} was acknowledged before the kill`).toHaveLength(1);
			expect(found[0]).toMatchObject({requestId: `r${index}`, model: 'fraud', latencyMs: index});
		}

		await ingest(url, 50, 10);
		// Before the kill the client may not have received all 50 (they are not replayed after a restart); after it,
		// all 10.
		await eventually('the predictions after the restart', 15_000, () => client.predictions().some((prediction) => prediction.requestId === 'r59'));
		const predictions = client.predictions();
		expect(predictions.slice(-10).map((prediction) => prediction.requestId)).toEqual(Array.from({length: 10}, (_, index) => `r${50 + index}`));
		// Numbering went on above every number handed out before the kill: none is reused.
		const seqs = client.events.flatMap((event) => (event.type === 'prediction' ? [event.seq] : []));
		const after = seqs.slice(-10);
		expect(Math.min(...after)).toBeGreaterThan(Math.max(50, ...seenBefore));
		expect(after).toEqual(Array.from({length: 10}, (_, index) => after[0]! + index));
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
			const items = Array.from({length: 100}, (_, index) => plainPrediction(`full-${round}-${index}`, {inputSummary: `features FP32[1,4] ${'x'.repeat(150)}`}));
			const response = await fetch(`${running.url}/v1/logs`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(items)});
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
		await eventually('the new prediction on the stream', 10_000, () => newcomer.predictions().some((prediction) => prediction.requestId === 'after-full'));
		expect((await (await fetch(`${running.url}/metrics`)).text())).toMatch(/^modeldeck_agent_store_writable 1$/m);
	});

	it('answers malformed and oversized input with 4xx and a message, and never falls over', async () => {
		const running = await agent({maxBodyBytes: 4096});
		const headerName = fc.constantFrom('ce-type', 'ce-id', 'ce-specversion', 'ce-source', 'ce-time', 'ce-namespace', 'ce-inferenceservicename', 'content-type', 'ce-requestid', 'ce-x');
		const headerValue = fc.oneof(
			fc.string({maxLength: 30}).filter((value) => /^[\x20-\x7e]*$/.test(value)),
			fc.constantFrom('org.kubeflow.serving.inference.request', 'org.kubeflow.serving.inference.response', 'io.seldon.serving.inference.request', 'application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json', '1.0'),
		);
		const body = fc.oneof(fc.uint8Array({maxLength: 6000}), fc.json().map((text) => new TextEncoder().encode(text)), fc.anything().map((value) => new TextEncoder().encode(JSON.stringify(value) ?? '')));
		const statuses = new Map<number, number>();
		await fc.assert(
			fc.asyncProperty(fc.dictionary(headerName, headerValue, {maxKeys: 7}), body, async (headers, bytes) => {
				const response = await fetch(`${running.url}/v1/logs`, {method: 'POST', headers, body: bytes});
				const answer = (await response.json()) as {error?: string; accepted?: number};
				statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
				expect([200, 400, 413]).toContain(response.status);
				if (response.status !== 200) expect(answer.error?.length).toBeGreaterThan(0);
			}),
			{numRuns: 300},
		);
		expect(statuses.get(400)).toBeGreaterThan(0);

		const tooBig = await postLogs(running.url, JSON.stringify([plainPrediction('x'.repeat(5000))]));
		expect(tooBig).toEqual({status: 413, body: {error: expect.stringMatching(/^the body is 5\d\d\d bytes; the limit is 4096 bytes \(--max-body-bytes\)$/)}});
		// Without a declared length the agent stops at the limit too.
		const chunks = new ReadableStream({
			start(controller) {
				for (let index = 0; index < 10; index++) controller.enqueue(new Uint8Array(1000).fill(32));
				controller.close();
			},
		});
		const streamed = await fetch(`${running.url}/v1/logs`, {method: 'POST', body: chunks, duplex: 'half'} as RequestInit).then(
			(response) => response.status,
			() => 'connection closed',
		);
		expect([413, 'connection closed']).toContain(streamed);
		expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
		expect(await postLogs(running.url, plainPrediction('still-fine'))).toMatchObject({status: 200});
		expect(await createAgentClient({url: running.url}).lookup('still-fine')).toHaveLength(1);
		const metrics = await (await fetch(`${running.url}/metrics`)).text();
		expect(metrics).toMatch(/modeldeck_agent_ingest_rejected_total\{reason="too-large"\} [1-9]/);
	});

	it('confines ingest to the allowed addresses and the shared token, which loggers may send in the URL', async () => {
		const elsewhere = await agent({allowIps: ['10.0.0.0/8']});
		expect(await postLogs(elsewhere.url, plainPrediction('x'))).toEqual({status: 403, body: {error: 'ingest from 127.0.0.1 is not allowed (--allow-ip)'}});
		const guarded = await agent({allowIps: ['127.0.0.1/32', '::1/128'], ingestToken: 'shared-secret'});
		const refused = await postLogs(guarded.url, plainPrediction('no-token'));
		expect(refused.status).toBe(401);
		expect((refused.body as {error: string}).error).toMatch(/missing or wrong ingest token/);
		expect((await postLogs(guarded.url, plainPrediction('wrong'), {authorization: 'Bearer nope'})).status).toBe(401);
		expect((await postLogs(guarded.url, plainPrediction('by-header'), {'x-modeldeck-ingest-token': 'shared-secret'})).status).toBe(200);
		const byUrl = await fetch(`${guarded.url}/v1/logs?token=shared-secret`, {method: 'POST', body: JSON.stringify(plainPrediction('by-url'))});
		expect(byUrl.status).toBe(200);
		const metrics = await (await fetch(`${guarded.url}/metrics`)).text();
		expect(metrics).toMatch(/modeldeck_agent_auth_refusals_total\{reason="ingest-token"\} 2/);
	});

	it('joins the real model server’s KServe-format logs into predictions, and keeps unanswered requests as errors', async () => {
		const running = await agent({joinTimeoutMs: 300});
		const server = await startModelServer({model: 'fraud', modelVersion: 'v2', namespace: 'team-a', port: 0, logUrl: `${running.url}/v1/logs`});
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
