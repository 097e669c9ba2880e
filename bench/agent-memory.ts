// The agent's memory over a long run with a stalled subscriber (issue 5: "memory flat with a stalled subscriber").
//
//   node bench/agent-memory.ts [--minutes 10] [--rate 5000] [--subscribers 4] [--sample-seconds 10]
//                               [--max-rows 500000] [--node-flags="--max-old-space-size=N"]
//   npm run bench:agent:memory
//
// About 0.4 of a core in all (agent ~27%, this process ~12%). A small heap cap changes that: with
// --max-old-space-size=192 the agent spends 1.6 cores, mostly in full GCs.
//
// The agent runs in its own process (node source/agent/run.ts --no-auth), with the store settings of
// deploy/base/deployment.yaml (--db FILE, --retention-hours 24, --retention-max-rows 500000) and, unless
// --node-flags says otherwise, the node flags its NODE_OPTIONS gives the pod (read from that file). This process logs predictions to it at a steady rate, in the mix loggers send:
// - 80% as plain JSON arrays (a batching log shipper), with OIP v2 payloads the agent summarises;
// - 20% as request and response halves in CloudEvents batches, joined by the agent; 1% of those requests never get a
//   response (they wait in the join map until the join timeout) and 0.5% of responses come without a request;
// - one KServe binary-mode request/response pair per tick (two POSTs, as KServe's logger sends them).
// Subscribers: `--subscribers` live ones reading everything (one of them filtered to one model), and one STALLED one
// that subscribes and then never reads again. The agent cuts a client that misses a heartbeat (30 s pings), so when
// the stalled one is cut a new stalled one connects: there is always one.
//
// Every `--sample-seconds` it records, for the agent process: RSS (and its anonymous / file / shared parts, from
// /proc), V8 heap used and total, the heap still used after the latest full GC (what a leak would grow), external and
// arrayBuffers (process.memoryUsage() and v8.GCProfiler, answered on SIGUSR2 by `bench/memory-probe.ts`, preloaded
// with --import and writing to stderr: nothing is added to the product), CPU, the SQLite file, -wal and -shm
// sizes, and from /metrics the clients, unjoined halves and dropped events. It prints the table, the first minute
// against the last minute, the slope over the second half (the store reaches its retention cap well before it) and a
// verdict.
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import WebSocket from 'ws';
import {type BenchProcess, startAgentProcess} from './agent-bench-support.ts';
import {memoryProbeFlags, type ProbeLine} from './memory-probe.ts';

/** The agent's NODE_OPTIONS in deploy/base/deployment.yaml, so that the benchmark runs it as the pod does. */
function deployedNodeOptions(): string {
	const manifest = readFileSync(new URL('../deploy/base/deployment.yaml', import.meta.url), 'utf8');
	return /- name: NODE_OPTIONS\n\s+value: (.+)\n/.exec(manifest)?.[1]?.trim() ?? '';
}

const {values: flags} = parseArgs({
	options: {
		minutes: {type: 'string', default: '10'},
		rate: {type: 'string', default: '5000'},
		subscribers: {type: 'string', default: '4'},
		'sample-seconds': {type: 'string', default: '10'},
		'max-rows': {type: 'string', default: '500000'},
		'node-flags': {type: 'string', default: deployedNodeOptions()},
		'flat-mib-per-minute': {type: 'string', default: '1'},
	},
});

const minutes = Number(flags.minutes);
const rate = Number(flags.rate);
const liveCount = Number(flags.subscribers);
const sampleSeconds = Number(flags['sample-seconds']);
const maxRows = Number(flags['max-rows']);
const flatLimit = Number(flags['flat-mib-per-minute']);
const nodeFlags = flags['node-flags'].split(' ').filter(Boolean);
const positive = {minutes, rate, subscribers: liveCount, 'sample-seconds': sampleSeconds, 'max-rows': maxRows};
for (const [name, value] of Object.entries(positive)) {
	if (!Number.isFinite(value) || value <= 0) {
		console.error(`--${name} must be a positive number, got "${flags[name as keyof typeof positive]}"`);
		process.exit(2);
	}
}

const tickMs = 20;
const perTick = Math.max(3, Math.round((rate * tickMs) / 1000));
const cloudEventsPerTick = Math.round(perTick * 0.2);
const kservePairsPerTick = 1;
const jsonPerTick = perTick - cloudEventsPerTick - kservePairsPerTick;
const mib = 2 ** 20;

// The memory probe (`bench/memory-probe.ts`), loaded into the agent before its own code; its lines go to stderr.
const probeFlags = memoryProbeFlags('stderr');

const keepAlive = new http.Agent({keepAlive: true, maxSockets: 16});
let failedPosts = 0;
let postErrors = '';

function post(url: string, body: string, headers: Record<string, string>): Promise<void> {
	return new Promise((resolve) => {
		const request = http.request(
			`${url}/v1/logs`,
			{method: 'POST', agent: keepAlive, headers: {'content-length': Buffer.byteLength(body), ...headers}},
			(response) => {
				let text = '';
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => {
					if (response.statusCode !== 200) {
						failedPosts++;
						postErrors ||= `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
					}

					resolve();
				});
			},
		);
		request.on('error', (error) => {
			failedPosts++;
			postErrors ||= error.message;
			resolve();
		});
		request.end(body);
	});
}

// ---- what the loggers send ------------------------------------------------------------------------------------------

const deployments = [
	{namespace: 'team-a', model: 'fraud', versions: ['v1', 'v2']},
	{namespace: 'team-a', model: 'churn', versions: ['2024-10', '2024-11']},
	{namespace: 'team-b', model: 'ranker', versions: ['stable', 'canary']},
];
let nextId = 0;
const runTag = Date.now().toString(36);

function pick(index: number): {namespace: string; model: string; versions: string[]; version: string} {
	const deployment = deployments[index % deployments.length]!;
	return {...deployment, version: deployment.versions[(index >> 2) % 2]!};
}

function oipRequest(index: number): object {
	return {
		id: `${runTag}-${index}`,
		inputs: [
			{
				name: 'features',
				shape: [1, 8],
				datatype: 'FP32',
				data: Array.from({length: 8}, (_, feature) => Math.round(((index * 31 + feature * 7) % 100) * 10) / 1000),
			},
		],
	};
}

function oipResponse(index: number): object {
	return {
		model_name: 'model',
		id: `${runTag}-${index}`,
		outputs: [{name: 'score', shape: [1, 1], datatype: 'FP32', data: [((index * 13) % 100) / 100]}],
	};
}

function jsonBatch(count: number): string {
	const items: object[] = [];
	for (let item = 0; item < count; item++) {
		const index = nextId++;
		const {namespace, model, version} = pick(index);
		items.push({
			requestId: `${runTag}-${index}`,
			namespace,
			model,
			version,
			latencyMs: 5 + (index % 40),
			code: index % 97 === 0 ? 500 : 200,
			input: oipRequest(index),
			output: oipResponse(index),
		});
	}

	return JSON.stringify(items);
}

type Direction = 'request' | 'response';

function cloudEvent(index: number, direction: Direction): object {
	const {namespace, model, version, versions} = pick(index);
	return {
		specversion: '1.0',
		id: `${runTag}-${index}`,
		source: `http://${model}-predictor.${namespace}`,
		type: `org.kubeflow.serving.inference.${direction}`,
		time: new Date().toISOString(),
		datacontenttype: 'application/json',
		inferenceservicename: model,
		namespace,
		component: 'predictor',
		endpoint: version === versions[1] ? 'canary' : 'default',
		modelversion: version,
		data: direction === 'request' ? oipRequest(index) : oipResponse(index),
	};
}

// Requests logged in the previous tick whose responses go in this one (so halves wait in the join map a little).
let awaitingResponse: number[] = [];
let cloudEventsSent = 0;

function cloudEventsBatch(count: number): string {
	const events = awaitingResponse.map((index) => cloudEvent(index, 'response'));
	awaitingResponse = [];
	for (let item = 0; item < count; item++) {
		const index = nextId++;
		const nth = cloudEventsSent++;
		if (nth % 200 === 0) {
			events.push(cloudEvent(index, 'response')); // a response whose request was never logged
			continue;
		}

		events.push(cloudEvent(index, 'request'));
		if (nth % 100 !== 1) awaitingResponse.push(index); // else: never answered, expires after the join timeout
	}

	return JSON.stringify(events);
}

function kserveBinary(index: number, direction: Direction): {body: string; headers: Record<string, string>} {
	const {namespace, model, version} = pick(index);
	return {
		body: JSON.stringify(direction === 'request' ? oipRequest(index) : oipResponse(index)),
		headers: {
			'content-type': 'application/json',
			'ce-specversion': '1.0',
			'ce-id': `${runTag}-${index}`,
			'ce-source': `http://${model}-predictor.${namespace}`,
			'ce-type': `org.kubeflow.serving.inference.${direction}`,
			'ce-inferenceservicename': model,
			'ce-namespace': namespace,
			'ce-component': 'predictor',
			'ce-endpoint': 'default',
			'ce-modelversion': version,
		},
	};
}

// ---- subscribers ------------------------------------------------------------------------------------------------------

/** One message of the agent's stream (the fields read here): hello and prediction have seq, gap dropped. */
interface StreamMessage {
	type: string;
	seq?: number;
	dropped?: number;
}

interface LiveSubscriber {
	ws: WebSocket;
	filter: Record<string, string>;
	count: number;
	gaps: number;
	dropped: number;
	lastSeq: number;
	outOfOrder: number;
	closed: boolean;
}

/** ws's socket of a client, which the stalled subscriber pauses (not part of ws's typed API). */
type WebSocketWithSocket = WebSocket & {_socket: net.Socket};

/** A live subscriber: reads everything, counts predictions and gaps, checks that seq only goes up. */
function liveSubscriber(url: string, filter: Record<string, string>): Promise<LiveSubscriber> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
		const state: LiveSubscriber = {ws, filter, count: 0, gaps: 0, dropped: 0, lastSeq: 0, outOfOrder: 0, closed: false};
		ws.on('error', reject);
		ws.on('close', () => (state.closed = true));
		ws.on('message', (data) => {
			const parsed = JSON.parse(data.toString()) as StreamMessage | StreamMessage[];
			for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
				if (message.type === 'hello') {
					ws.send(JSON.stringify({type: 'subscribe', filter, fromSeq: message.seq}));
					setTimeout(() => resolve(state), 50);
				} else if (message.type === 'prediction') {
					state.count++;
					if (message.seq! <= state.lastSeq) state.outOfOrder++;
					state.lastSeq = message.seq!;
				} else if (message.type === 'gap') {
					state.gaps++;
					state.dropped += message.dropped!;
				}
			}
		});
	});
}

/** Connects, subscribes to everything, then never reads again (the socket is paused: the kernel buffers fill). */
function stalledSubscriber(url: string): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {perMessageDeflate: false});
		ws.on('error', () => undefined);
		ws.once('message', (data) => {
			const hello = JSON.parse(data.toString()) as StreamMessage;
			ws.send(JSON.stringify({type: 'subscribe', filter: {}, fromSeq: hello.seq}), (error) => {
				if (error) reject(error);
				(ws as WebSocketWithSocket)._socket.pause();
				resolve(ws);
			});
		});
	});
}

// ---- what is sampled ----------------------------------------------------------------------------------------------------

function procStatus(pid: number): {rss: number; anon: number; file: number; shmem: number; hwm: number; cpuSeconds: number} {
	const text = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024;
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
	// Fields 14 and 15 (utime, stime), counted from the state field, which is field 3.
	const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100;
	return {rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile'), shmem: kib('RssShmem'), hwm: kib('VmHWM'), cpuSeconds};
}

let probeLinesSeen = 0;
const gcTotals = {fullGcs: 0, gcs: 0, gcMs: 0, liveHeap: Number.NaN};
interface MemoryFigures {
	heapUsed: number;
	heapTotal: number;
	liveHeap: number;
	external: number;
	arrayBuffers: number;
	fullGcs: number;
	gcs: number;
	gcMs: number;
}

async function memoryUsage(agent: BenchProcess): Promise<MemoryFigures> {
	const lines = () => agent.output().match(/^.*memory-probe .*$/gm) ?? [];
	process.kill(agent.pid, 'SIGUSR2');
	const deadline = Date.now() + 5000;
	while (lines().length <= probeLinesSeen) {
		if (Date.now() > deadline) throw new Error('the agent did not answer the memory probe');
		await new Promise((resolve) => setTimeout(resolve, 5));
	}

	const all = lines();
	probeLinesSeen = all.length;
	const line = all.at(-1)!;
	const usage = JSON.parse(line.slice(line.indexOf('{'))) as ProbeLine;
	// The probe reports GCs since its previous report; the table counts them from the start.
	gcTotals.fullGcs += usage.afterFullGc.length;
	gcTotals.gcs += usage.gcs;
	gcTotals.gcMs += usage.gcMs;
	gcTotals.liveHeap = usage.afterFullGc.at(-1) ?? gcTotals.liveHeap;
	return {
		heapUsed: usage.heapUsed / mib,
		heapTotal: usage.heapTotal / mib,
		liveHeap: gcTotals.liveHeap / mib,
		external: usage.external / mib,
		arrayBuffers: usage.arrayBuffers / mib,
		fullGcs: gcTotals.fullGcs,
		gcs: gcTotals.gcs,
		gcMs: gcTotals.gcMs,
	};
}

interface AgentFigures {
	clients: number;
	unjoined: number;
	dropped: number;
	ingested: number;
}

async function agentMetrics(url: string): Promise<AgentFigures> {
	const text = await (await fetch(`${url}/metrics`)).text();
	const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
	const sum = (name: string) =>
		[...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce((total, match) => total + Number(match[1]), 0);
	return {
		clients: value('modeldeck_agent_stream_clients'),
		unjoined: value('modeldeck_agent_unjoined_halves'),
		dropped: value('modeldeck_agent_stream_dropped_total'),
		ingested: sum('modeldeck_agent_ingested_total'),
	};
}

function fileMib(file: string): number {
	try {
		return statSync(file).size / mib;
	} catch {
		return 0;
	}
}

// ---- statistics ----------------------------------------------------------------------------------------------------------

/** One row of the table: what was sampled at `second`. */
interface MemorySample extends MemoryFigures, AgentFigures {
	second: number;
	rss: number;
	anon: number;
	file: number;
	shmem: number;
	cpuSeconds: number;
	db: number;
	wal: number;
	shm: number;
	sent: number;
	/** db + wal + shm, filled in for the verdict (NaN until then). */
	sqlite: number;
}

/** The figures of a sample the report tabulates and judges. */
type SampleFigure = 'rss' | 'heapUsed' | 'heapTotal' | 'liveHeap' | 'external' | 'arrayBuffers' | 'db' | 'wal' | 'sqlite';

function mean(values: number[]): number {
	const known = values.filter(Number.isFinite);
	return known.reduce((total, value) => total + value, 0) / known.length;
}

/** Least-squares slope of value over minutes. */
function slopePerMinute(all: MemorySample[], key: SampleFigure): number {
	const samples = all.filter((sample) => Number.isFinite(sample[key]));
	const xs = samples.map((sample) => sample.second / 60);
	const ys = samples.map((sample) => sample[key]);
	const mx = mean(xs);
	const my = mean(ys);
	let numerator = 0;
	let denominator = 0;
	for (let index = 0; index < xs.length; index++) {
		numerator += (xs[index]! - mx) * (ys[index]! - my);
		denominator += (xs[index]! - mx) ** 2;
	}

	return denominator === 0 ? 0 : numerator / denominator;
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);
const signed = (value: number, digits = 2) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

// ---- the run ---------------------------------------------------------------------------------------------------------------

const directory = mkdtempSync(path.join(tmpdir(), 'agent-memory-'));
const dbPath = path.join(directory, 'modeldeck.db');
const agentArgs = ['--db', dbPath, '--retention-hours', '24', '--retention-max-rows', String(maxRows)];
const agent = await startAgentProcess(agentArgs, [...probeFlags, ...nodeFlags]);
const cpuAtStart = process.cpuUsage();
console.log(
	`agent memory: ${minutes} min at ${rate.toLocaleString()} predictions/s (every ${tickMs} ms: ${jsonPerTick} as plain JSON, ${cloudEventsPerTick} as CloudEvents halves, ${kservePairsPerTick} KServe binary pair), ${liveCount} live subscribers + 1 stalled`,
);
console.log(
	`agent: node ${nodeFlags.join(' ') || '(no flags)'} source/agent/run.ts --no-auth ${agentArgs.join(' ').replace(directory, '$TMP')}, pid ${agent.pid}`,
);
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));

const samples: MemorySample[] = [];
const live: LiveSubscriber[] = [];
let stalled: WebSocket | undefined;
let stalledConnections = 0;
let liveClosedEarly = 0;
try {
	for (let index = 0; index < liveCount; index++)
		live.push(await liveSubscriber(agent.url, index === liveCount - 1 && liveCount > 1 ? {namespace: 'team-a', model: 'fraud'} : {}));
	stalled = await stalledSubscriber(agent.url);
	stalledConnections = 1;

	const durationMs = minutes * 60_000;
	const start = performance.now();
	let nextSampleAt = 0;
	let nextStalledCheckAt = 5000;
	let sampling: Promise<unknown> | undefined;
	const takeSample = async (second: number) => {
		const [usage, metrics] = await Promise.all([memoryUsage(agent), agentMetrics(agent.url)]);
		const proc = procStatus(agent.pid);
		samples.push({
			second,
			rss: proc.rss,
			anon: proc.anon,
			file: proc.file,
			shmem: proc.shmem,
			cpuSeconds: proc.cpuSeconds,
			...usage,
			db: fileMib(dbPath),
			wal: fileMib(`${dbPath}-wal`),
			shm: fileMib(`${dbPath}-shm`),
			...metrics,
			sent: nextId,
			sqlite: Number.NaN,
		});
		const sample = samples.at(-1)!;
		const previous = samples.at(-2);
		const cpu = previous ? (100 * (sample.cpuSeconds - previous.cpuSeconds)) / (sample.second - previous.second) : 0;
		process.stderr.write(
			`  ${fixed(second / 60, 2)} min: rss ${fixed(sample.rss)} MiB, heap ${fixed(sample.heapUsed)} MiB (live ${fixed(sample.liveHeap)}), ext ${fixed(sample.external)} MiB, db ${fixed(sample.db)} + wal ${fixed(sample.wal)} MiB, clients ${sample.clients}, agent cpu ${fixed(cpu, 0)}%\n`,
		);
	};

	for (let tick = 0; !interrupted; tick++) {
		const due = start + tick * tickMs;
		let now = performance.now();
		if (now - start > durationMs) break;
		if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
		void post(agent.url, jsonBatch(jsonPerTick), {'content-type': 'application/json'});
		void post(agent.url, cloudEventsBatch(cloudEventsPerTick), {'content-type': 'application/cloudevents-batch+json'});
		for (let pair = 0; pair < kservePairsPerTick; pair++) {
			const index = nextId++;
			const request = kserveBinary(index, 'request');
			const response = kserveBinary(index, 'response');
			void post(agent.url, request.body, request.headers).then(() => post(agent.url, response.body, response.headers));
		}

		now = performance.now();
		if (!sampling && now - start >= nextSampleAt) {
			const second = (now - start) / 1000;
			nextSampleAt += sampleSeconds * 1000;
			sampling = takeSample(second)
				.catch((error) => process.stderr.write(`  sample at ${fixed(second, 0)} s failed: ${error.message}\n`))
				.finally(() => (sampling = undefined));
		}

		if (now - start >= nextStalledCheckAt) {
			nextStalledCheckAt += 5000;
			// The agent cuts a stalled client after a missed heartbeat; the paused socket never sees it, so ask the agent.
			void agentMetrics(agent.url)
				.then(async ({clients}) => {
					if (clients < liveCount + 1 && stalled) {
						const old = stalled;
						stalled = undefined;
						old.terminate();
						stalled = await stalledSubscriber(agent.url);
						stalledConnections++;
					}
				})
				.catch((error) => process.stderr.write(`  stalled-client check failed: ${error.message}\n`));
		}
	}

	await sampling;
	await takeSample((performance.now() - start) / 1000);
	liveClosedEarly = live.filter((subscriber) => subscriber.closed).length;
} finally {
	stalled?.terminate();
	for (const subscriber of live) subscriber.ws.close();
	await agent.stop();
	keepAlive.destroy();
	rmSync(directory, {recursive: true, force: true});
}

// ---- report ----------------------------------------------------------------------------------------------------------------

const benchCpu = process.cpuUsage(cpuAtStart);
const last = samples.at(-1)!;
const elapsedSeconds = last.second;
console.log('');
console.log(
	'| min | RSS MiB (anon/file/shmem) | heap used / total MiB | live heap MiB (after last full GC) | external / arrayBuffers MiB | SQLite db + wal + shm MiB | clients | unjoined halves | dropped (total) | agent CPU |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [index, sample] of samples.entries()) {
	const previous = samples[index - 1];
	const cpu =
		previous && sample.second - previous.second >= 2
			? `${fixed((100 * (sample.cpuSeconds - previous.cpuSeconds)) / (sample.second - previous.second), 0)}%`
			: '';
	console.log(
		`| ${fixed(sample.second / 60, 2)} | ${fixed(sample.rss)} (${fixed(sample.anon)}/${fixed(sample.file)}/${fixed(sample.shmem)}) | ${fixed(sample.heapUsed)} / ${fixed(sample.heapTotal)} | ${fixed(sample.liveHeap)} | ${fixed(sample.external)} / ${fixed(sample.arrayBuffers)} | ${fixed(sample.db)} + ${fixed(sample.wal)} + ${fixed(sample.shm, 2)} | ${sample.clients} | ${sample.unjoined} | ${sample.dropped.toLocaleString()} | ${cpu} |`,
	);
}

const firstMinute = samples.filter((sample) => sample.second <= 60);
const lastMinute = samples.filter((sample) => sample.second >= elapsedSeconds - 60);
const secondHalf = samples.filter((sample) => sample.second >= elapsedSeconds / 2);
const series: [string, SampleFigure][] = [
	['RSS', 'rss'],
	['heap used', 'heapUsed'],
	['heap total', 'heapTotal'],
	['live heap (after full GC)', 'liveHeap'],
	['external', 'external'],
	['arrayBuffers', 'arrayBuffers'],
	['SQLite file', 'db'],
	['SQLite WAL', 'wal'],
];
console.log('');
console.log(`| MiB | start | max | end | first-minute mean | last-minute mean | slope, whole run | slope, second half |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const [label, key] of series) {
	const values = samples.map((sample) => sample[key]).filter(Number.isFinite);
	console.log(
		`| ${label} | ${fixed(values[0]!)} | ${fixed(Math.max(...values))} | ${fixed(values.at(-1)!)} | ${fixed(mean(firstMinute.map((sample) => sample[key])))} | ${fixed(mean(lastMinute.map((sample) => sample[key])))} | ${signed(slopePerMinute(samples, key))}/min | ${signed(slopePerMinute(secondHalf, key))}/min |`,
	);
}

const delivered = live.map((subscriber) => subscriber.count);
const first = samples[0]!;
const agentCpu = (100 * (last.cpuSeconds - first.cpuSeconds)) / (last.second - first.second);
console.log('');
console.log(
	`sent ${last.sent.toLocaleString()} predictions in ${fixed(elapsedSeconds / 60, 2)} min (${Math.round(last.sent / elapsedSeconds).toLocaleString()}/s), ${failedPosts} failed POSTs${postErrors ? ` (first: ${postErrors})` : ''}`,
);
console.log(
	`live subscribers received ${delivered.map((count) => count.toLocaleString()).join(', ')} (the last one filtered to team-a/fraud), gaps ${live.reduce((total, subscriber) => total + subscriber.gaps, 0)}, out of order ${live.reduce((total, subscriber) => total + subscriber.outOfOrder, 0)}, cut by the agent ${liveClosedEarly}`,
);
console.log(
	`stalled subscribers: ${stalledConnections} connected one after another (the agent cut each after a missed heartbeat); events dropped from their queues: ${last.dropped.toLocaleString()}`,
);
console.log(
	`CPU: agent ${fixed(agentCpu, 0)}% of a core, this benchmark process ${fixed((100 * (benchCpu.user + benchCpu.system)) / 1e6 / elapsedSeconds, 0)}%`,
);

// Flat: over the second half, RSS, the heap still live after a full GC and the SQLite files (db + WAL) each move by
// less than the limit per minute. Heap used at a random moment is not judged: it is a sawtooth of garbage between
// collections, whose height is V8's choice.
for (const sample of samples) sample.sqlite = sample.db + sample.wal + sample.shm;
const judged = (
	[
		['RSS', 'rss'],
		['live heap', 'liveHeap'],
		['SQLite files', 'sqlite'],
	] as [string, SampleFigure][]
).map(([label, key]) => ({label, slope: slopePerMinute(secondHalf, key)}));
const flat = judged.every(({slope}) => Math.abs(slope) <= flatLimit);
const firstToLast = (key: SampleFigure) =>
	`${fixed(mean(firstMinute.map((sample) => sample[key])))} → ${fixed(mean(lastMinute.map((sample) => sample[key])))} MiB`;
console.log(
	`verdict: ${flat ? 'FLAT' : 'GROWING'}: over the second half (${fixed(secondHalf[0]!.second / 60, 1)}–${fixed(elapsedSeconds / 60, 1)} min) ${judged.map(({label, slope}) => `${label} ${signed(slope)} MiB/min`).join(', ')} (flat = each within ±${flatLimit} MiB/min). First minute → last minute: RSS ${firstToLast('rss')}, live heap ${firstToLast('liveHeap')}, heap used ${firstToLast('heapUsed')}, SQLite files ${firstToLast('sqlite')} (the first minute is start-up and the store filling toward its retention cap)`,
);
process.exitCode = flat ? 0 : 1;
