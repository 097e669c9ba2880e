// Agent ingest → fan-out benchmark. Run: node bench/agent-fanout.ts [--quick]
//
// 1. Throughput: predictions ingested as JSON arrays and delivered to 10 subscribers, as fast as it goes.
// 2. Latency from ingest (POST sent) to each of 10 clients at 5,000 predictions/s (p50/p99/max, HdrHistogram).
// 3. Memory of the agent over time with one live subscriber, then with a stalled one (socket paused) beside it.
//    This is a short comparison (20–50 s); the 10-minute run is bench/agent-memory.ts (npm run bench:agent:memory).
//
// The agent runs as its own process (node source/agent/run.ts --no-auth) with its store in a SQLite file, as deployed
// (ingest is answered once its predictions are committed there); ingest and subscribers run here.
import {mkdtempSync, rmSync} from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import {agentMemory, mb, startAgentProcess} from './agent-bench-support.ts';

const quick = process.argv.includes('--quick');
const agentKeepAlive = new http.Agent({keepAlive: true, maxSockets: 8});

function post(url: string, body: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const request = http.request(
			`${url}/v1/logs`,
			{method: 'POST', agent: agentKeepAlive, headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)}},
			(response) => {
				response.resume();
				response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`))));
			},
		);
		request.on('error', reject);
		request.end(body);
	});
}

function batch(start: number, count: number, sentAt: number): string {
	const items: object[] = [];
	for (let index = 0; index < count; index++) {
		items.push({
			requestId: `r${start + index}`,
			model: 'fraud',
			namespace: 'team-a',
			version: index % 2 ? 'v2' : 'v1',
			latencyMs: 12.5,
			status: 'ok',
			inputSummary: 'features FP32[1,4] [0.1, 0.2, 0.3, 0.4]',
			outputSummary: `sent ${sentAt}`,
			output: 0.42,
		});
	}

	return JSON.stringify(items);
}

/** A prediction as a subscriber receives it (the fields read here). */
interface StreamedPrediction {
	outputSummary: string;
}

/** One message of the agent's stream (the fields read here): hello has seq, prediction its prediction, gap dropped. */
interface StreamMessage {
	type: string;
	seq?: number;
	prediction?: StreamedPrediction;
	dropped?: number;
}

/** ws's socket of a client, which the stalled subscriber pauses (not part of ws's typed API). */
type WebSocketWithSocket = WebSocket & {_socket: net.Socket};

interface Subscriber {
	ws: WebSocketWithSocket;
	count: number;
	gaps: number;
	dropped: number;
}

/** A subscriber counting predictions; onPrediction gets each one. */
function subscribe(url: string, onPrediction?: (prediction: StreamedPrediction) => void): Promise<Subscriber> {
	return new Promise((resolve) => {
		const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
		const state: Subscriber = {ws: ws as WebSocketWithSocket, count: 0, gaps: 0, dropped: 0};
		ws.on('message', (data) => {
			const parsed = JSON.parse(data.toString()) as StreamMessage | StreamMessage[];
			for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
				if (message.type === 'hello') {
					ws.send(JSON.stringify({type: 'subscribe', filter: {}, fromSeq: message.seq}));
					setTimeout(() => resolve(state), 50);
				} else if (message.type === 'prediction') {
					state.count++;
					onPrediction?.(message.prediction!);
				} else if (message.type === 'gap') {
					state.gaps++;
					state.dropped += message.dropped!;
				}
			}
		});
	});
}

/** The agent with its store in a fresh SQLite file, as in the pod; the file is removed on stop. */
async function startAgentWithFile() {
	const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-bench-agent-'));
	const agent = await startAgentProcess(['--db', path.join(directory, 'agent.db')]);
	return {
		...agent,
		async stop() {
			await agent.stop();
			rmSync(directory, {recursive: true, force: true});
		},
	};
}

async function throughput() {
	const agent = await startAgentWithFile();
	try {
		const subscribers = await Promise.all(Array.from({length: 10}, () => subscribe(agent.url)));
		const total = quick ? 100_000 : 400_000;
		const batchSize = 500;
		const concurrency = 4;
		const started = performance.now();
		let next = 0;
		await Promise.all(
			Array.from({length: concurrency}, async () => {
				while (next < total) {
					const start = next;
					next += batchSize;
					await post(agent.url, batch(start, batchSize, 0));
				}
			}),
		);
		const ingested = performance.now();
		while (subscribers.some((subscriber) => subscriber.count + subscriber.dropped < total) && performance.now() - ingested < 60_000) {
			await new Promise((resolve) => setTimeout(resolve, 20));
		}

		const delivered = performance.now();
		const perClient = subscribers.map((subscriber) => subscriber.count);
		console.log(`throughput: ${total.toLocaleString()} predictions in batches of ${batchSize}, 10 subscribers`);
		console.log(`  ingest rate:     ${Math.round(total / ((ingested - started) / 1000)).toLocaleString()} predictions/s accepted`);
		console.log(
			`  fan-out rate:    ${Math.round(total / ((delivered - started) / 1000)).toLocaleString()} predictions/s delivered to every subscriber (${Math.round((10 * total) / ((delivered - started) / 1000)).toLocaleString()} messages/s)`,
		);
		console.log(
			`  per subscriber:  min ${Math.min(...perClient).toLocaleString()}, dropped ${subscribers.reduce((sum, subscriber) => sum + subscriber.dropped, 0)}`,
		);
		for (const subscriber of subscribers) subscriber.ws.close();
	} finally {
		await agent.stop();
	}
}

async function latency() {
	const agent = await startAgentWithFile();
	try {
		const histogram = hdr.build({lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3});
		let measuring = false;
		const record = (prediction: StreamedPrediction) => {
			if (!measuring) return;
			const sentAt = Number(prediction.outputSummary.slice(5));
			histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
		};

		const subscribers = await Promise.all(Array.from({length: 10}, () => subscribe(agent.url, record)));
		const rate = 5000;
		const tickMs = 10;
		const perTick = (rate * tickMs) / 1000;
		const seconds = quick ? 5 : 15;
		const warmup = 2;
		let failedPosts = 0;
		const start = performance.now();
		let sent = 0;
		for (let tick = 0; ; tick++) {
			const due = start + tick * tickMs;
			const now = performance.now();
			if (now - start > (seconds + warmup) * 1000) break;
			if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
			measuring = performance.now() - start > warmup * 1000;
			const sentAt = performance.now();
			post(agent.url, batch(sent, perTick, sentAt)).catch(() => failedPosts++);
			sent += perTick;
		}

		await new Promise((resolve) => setTimeout(resolve, 500));
		measuring = false;
		const ms = (percentile: number) => (histogram.getValueAtPercentile(percentile) / 1000).toFixed(2);
		console.log(
			`latency: ingest (POST sent) → client, ${rate.toLocaleString()} predictions/s in POSTs of ${perTick} every ${tickMs} ms, 10 subscribers, ${seconds} s measured`,
		);
		console.log(
			`  p50 ${ms(50)} ms · p99 ${ms(99)} ms · p99.9 ${ms(99.9)} ms · max ${(histogram.maxValue / 1000).toFixed(2)} ms · samples ${histogram.totalCount.toLocaleString()} · gaps ${subscribers.reduce((sum, subscriber) => sum + subscriber.gaps, 0)} · failed POSTs ${failedPosts}`,
		);
		for (const subscriber of subscribers) subscriber.ws.close();
	} finally {
		await agent.stop();
	}
}

async function memory(withStalled: boolean): Promise<void> {
	const directory = mkdtempSync(path.join(tmpdir(), 'agent-bench-'));
	const agent = await startAgentProcess(
		['--db', path.join(directory, 'agent.db')],
		(process.env.AGENT_NODE_FLAGS ?? '--max-old-space-size=192').split(' ').filter(Boolean),
	);
	try {
		const live = await subscribe(agent.url);
		const stalled = withStalled ? await subscribe(agent.url) : undefined;
		stalled?.ws._socket.pause();
		// Under 60 s: a stalled client cannot answer pings and is cut after two 30 s heartbeats.
		const seconds = quick ? 20 : 50;
		const rate = 5000;
		const perTick = 50;
		const start = performance.now();
		let sent = 0;
		const samples: {second: number; rssMb: number; heapMb: number}[] = [];
		let nextSample = 0;
		for (let tick = 0; ; tick++) {
			const due = start + tick * 10;
			const now = performance.now();
			if (now - start > seconds * 1000) break;
			if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
			post(agent.url, batch(sent, perTick, 0)).catch(() => undefined);
			sent += perTick;
			if (now - start >= nextSample * 1000) {
				samples.push({second: nextSample, ...(await agentMemory(agent.url))});
				nextSample += seconds / 10;
			}
		}

		samples.push({second: seconds, ...(await agentMemory(agent.url))});
		console.log(
			`memory: ${rate.toLocaleString()} predictions/s for ${seconds} s, SQLite file, agent node flags "${process.env.AGENT_NODE_FLAGS ?? '--max-old-space-size=192'}" (a heap cap makes V8 collect instead of growing lazily), ${withStalled ? 'one live and one STALLED subscriber (queue 10,000 events, high water 1 MiB)' : 'one live subscriber only (baseline)'}`,
		);
		console.log(
			`  ${samples.map((sample) => `${Math.round(sample.second)} s: rss ${mb(sample.rssMb)}, heap ${mb(sample.heapMb)}`).join('\n  ')}`,
		);
		console.log(`  live subscriber received ${live.count.toLocaleString()} of ${sent.toLocaleString()}`);
		if (stalled) {
			stalled.ws._socket.resume();
			await new Promise((resolve) => setTimeout(resolve, 2000));
			console.log(
				`  stalled subscriber, once resumed: ${stalled.count.toLocaleString()} received, ${stalled.dropped.toLocaleString()} reported dropped in ${stalled.gaps} gap(s)${stalled.ws.readyState === WebSocket.OPEN ? '' : '; the agent had closed it (a stalled client cannot answer pings: cut after two 30 s heartbeats)'}`,
			);
			stalled.ws.terminate();
		}

		live.ws.close();
	} finally {
		await agent.stop();
		rmSync(directory, {recursive: true, force: true});
	}
}

const only = process.argv.find((argument) => argument.startsWith('--only='))?.slice(7);
if (!only || only === 'throughput') await throughput();
if (!only || only === 'latency') await latency();
if (!only || only === 'memory') {
	await memory(false);
	await memory(true);
}
agentKeepAlive.destroy();
