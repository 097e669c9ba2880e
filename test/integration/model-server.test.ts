/**
 * The model server over real sockets: the Open Inference Protocol v2, its validation, the knobs, its metrics and
 * KServe-style prediction logging to a real receiving server.
 */
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parseListen, parseModelServerArgs, runModelServer} from '../../source/model-server/main.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/server.ts';

interface ReceivedEvent {
	headers: http.IncomingHttpHeaders;
	body: string;
}

let server: RunningModelServer;
let logReceiver: http.Server;
const received: ReceivedEvent[] = [];

beforeAll(async () => {
	logReceiver = http.createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => {
			received.push({headers: request.headers, body: Buffer.concat(chunks).toString('utf8')});
			response.writeHead(202).end();
		});
	});
	await new Promise<void>((resolve) => logReceiver.listen(0, '127.0.0.1', resolve));
	const logPort = (logReceiver.address() as AddressInfo).port;
	server = await startModelServer({
		model: 'fraud',
		modelVersion: 'v1',
		port: 0,
		namespace: 'ml',
		logUrl: `http://127.0.0.1:${logPort}/v1/logs`,
	});
});

afterAll(async () => {
	await server?.close();
	await new Promise<void>((resolve) => logReceiver?.close(() => resolve()));
});

function inferBody(data: number[][], extra: Record<string, unknown> = {}) {
	return {inputs: [{name: 'features', datatype: 'FP32', shape: [data.length, 4], data, ...extra}]};
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
	const response = await fetch(`${server.url}${path}`, {
		method: 'POST',
		headers: {'content-type': 'application/json', ...headers},
		body: typeof body === 'string' ? body : JSON.stringify(body),
	});
	return {status: response.status, body: (await response.json()) as Record<string, unknown>};
}

async function metricsText(): Promise<string> {
	return (await fetch(`${server.url}/metrics`)).text();
}

function sampleValue(text: string, series: string): number {
	const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
	return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('model server', () => {
	it('answers health and metadata', async () => {
		expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
		expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
		const metadata = await (await fetch(`${server.url}/v2/models/fraud`)).json();
		expect(metadata).toEqual({
			name: 'fraud',
			versions: ['v1'],
			platform: 'modeldeck-logistic-regression',
			inputs: [{name: 'features', datatype: 'FP32', shape: [-1, 4]}],
			outputs: [{name: 'probability', datatype: 'FP32', shape: [-1, 1]}],
		});
		expect(await (await fetch(`${server.url}/v2/models/fraud/versions/v1`)).json()).toEqual(metadata);
		const wrongModel = await fetch(`${server.url}/v2/models/other`);
		expect(wrongModel.status).toBe(404);
		expect(await wrongModel.json()).toEqual({error: 'model "other" not found; this server serves "fraud"'});
		expect((await fetch(`${server.url}/v2/models/fraud/versions/v9`)).status).toBe(404);
	});

	it('runs the logistic regression', async () => {
		// logit = −0.2 + 0.8·1 − 0.5·2 + 1.2·3 + 0.3·4 = 4.4 → 1 / (1 + e^−4.4) = 0.98787…; zeros → σ(−0.2) = 0.45017…
		const {status, body} = await post('/v2/models/fraud/versions/v1/infer', {
			id: 'r1',
			...inferBody([
				[1, 2, 3, 4],
				[0, 0, 0, 0],
			]),
		});
		expect(status).toBe(200);
		expect(body).toMatchObject({model_name: 'fraud', model_version: 'v1', id: 'r1'});
		const [output] = body['outputs'] as Array<{name: string; datatype: string; shape: number[]; data: number[]}>;
		expect(output).toMatchObject({name: 'probability', datatype: 'FP32', shape: [2, 1]});
		expect(output!.data[0]).toBeCloseTo(1 / (1 + Math.exp(-4.4)), 6);
		expect(output!.data[1]).toBeCloseTo(1 / (1 + Math.exp(0.2)), 6);
		// Flat data is the same tensor.
		const flat = await post('/v2/models/fraud/infer', {inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4]}]});
		expect((flat.body['outputs'] as Array<{data: number[]}>)[0]!.data[0]).toBeCloseTo(0.98787, 4);
	});

	it('refuses malformed requests with 400 and a message saying what the model takes', async () => {
		const cases: Array<[unknown, string]> = [
			['{not json', 'the body is not valid JSON'],
			[{inputs: []}, '"inputs" must be a non-empty array'],
			[inferBody([[1, 2, 3, 4]], {datatype: 'INT32'}), 'datatype "INT32"; expected FP32'],
			[
				inferBody([[1, 2, 3, 4]], {name: 'x'}),
				'unknown input "x"; this model takes one input "features" with datatype FP32 and shape [n, 4]',
			],
			[{inputs: [{name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3]}]}, 'has 3 features per row; this model takes 4'],
			[{inputs: [{name: 'features', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4]}]}, 'has 4 values but shape [2, 4] needs 8'],
			[{inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 'x', 4]}]}, 'data must be an array of finite numbers'],
		];
		for (const [body, message] of cases) {
			const answer = await post('/v2/models/fraud/infer', body);
			expect(answer.status, message).toBe(400);
			expect(String(answer.body['error'])).toContain(message);
		}
		expect((await fetch(`${server.url}/v2/models/fraud/infer`)).status).toBe(405);
	});

	it('answers a body over its 4 MiB limit with 413 and the limit, to a client still sending it', async () => {
		const answer = await post('/v2/models/fraud/infer', inferBody([[1, 2, 3, 4]], {parameters: {pad: 'x'.repeat(5 * 1024 * 1024)}}));
		expect(answer).toEqual({status: 413, body: {error: 'request body over 4194304 bytes'}});
		expect((await post('/v2/models/fraud/infer', inferBody([[1, 2, 3, 4]]))).status).toBe(200);
	});

	it('counts requests by model, version, code and status, with a latency histogram', async () => {
		const before = await metricsText();
		await post('/v2/models/fraud/infer', inferBody([[1, 1, 1, 1]]));
		await post('/v2/models/fraud/infer', {inputs: []});
		const after = await metricsText();
		const ok = 'modeldeck_inference_requests_total{model="fraud",version="v1",code="200",status="ok"}';
		const clientError = 'modeldeck_inference_requests_total{model="fraud",version="v1",code="400",status="ok"}';
		expect(sampleValue(after, ok) - sampleValue(before, ok)).toBe(1);
		expect(sampleValue(after, clientError) - (sampleValue(before, clientError) || 0)).toBe(1);
		const count = 'modeldeck_inference_request_duration_seconds_count{model="fraud",version="v1"}';
		expect(sampleValue(after, count) - sampleValue(before, count)).toBe(2);
		expect(after).toContain('# TYPE modeldeck_inference_request_duration_seconds histogram');
		// Default process metrics carry model and version too.
		expect(after).toMatch(/^process_cpu_seconds_total\{model="fraud",version="v1"\} /m);
		expect(after).toMatch(/^process_resident_memory_bytes\{model="fraud",version="v1"\} /m);
	});

	it('changes its behaviour through the knobs at runtime', async () => {
		const refused = await post('/admin/knobs', {latencyMs: -1});
		expect(refused.status).toBe(400);
		expect(refused.body['error']).toBe('latencyMs must be milliseconds, 0–60000; got -1');
		expect((await post('/admin/knobs', {bogus: 1})).body['error']).toContain('unknown knob "bogus"');

		// Every request fails, and is counted as an error.
		expect((await post('/admin/knobs', {errorRate: 1})).body).toMatchObject({errorRate: 1});
		const before = await metricsText();
		const failed = await post('/v2/models/fraud/infer', inferBody([[1, 1, 1, 1]]));
		expect(failed.status).toBe(500);
		expect(failed.body['error']).toBe('injected failure (error rate 1)');
		const errors = 'modeldeck_inference_requests_total{model="fraud",version="v1",code="500",status="error"}';
		expect(sampleValue(await metricsText(), errors) - sampleValue(before, errors)).toBe(1);

		// Injected latency lands in the histogram above 100 ms.
		await post('/admin/knobs', {errorRate: 0, latencyMs: 120});
		const fastBucket = 'modeldeck_inference_request_duration_seconds_bucket{le="0.1",model="fraud",version="v1"}';
		const allBucket = 'modeldeck_inference_request_duration_seconds_bucket{le="+Inf",model="fraud",version="v1"}';
		const beforeSlow = await metricsText();
		expect((await post('/v2/models/fraud/infer', inferBody([[1, 1, 1, 1]]))).status).toBe(200);
		const afterSlow = await metricsText();
		expect(sampleValue(afterSlow, fastBucket) - sampleValue(beforeSlow, fastBucket)).toBe(0);
		expect(sampleValue(afterSlow, allBucket) - sampleValue(beforeSlow, allBucket)).toBe(1);

		// Output drift shifts every logit: zeros now give σ(−0.2 + 2).
		await post('/admin/knobs', {latencyMs: 0, outputDrift: 2});
		const drifted = await post('/v2/models/fraud/infer', inferBody([[0, 0, 0, 0]]));
		expect((drifted.body['outputs'] as Array<{data: number[]}>)[0]!.data[0]).toBeCloseTo(1 / (1 + Math.exp(-1.8)), 6);

		// Memory growth holds memory until the knob goes back to 0.
		await post('/admin/knobs', {outputDrift: 0, memoryGrowthMbPerMin: 120});
		await until(() => server.retainedBytes() >= 2 * 1024 * 1024, 'memory growth');
		await post('/admin/knobs', {memoryGrowthMbPerMin: 0});
		expect(server.retainedBytes()).toBe(0);
		expect(await (await fetch(`${server.url}/admin/knobs`)).json()).toEqual({
			latencyMs: 0,
			errorRate: 0,
			memoryGrowthMbPerMin: 0,
			outputDrift: 0,
		});
	});

	it("logs each request and response as KServe's logger does", async () => {
		received.length = 0;
		const requestBody = JSON.stringify(inferBody([[1, 2, 3, 4]]));
		const answer = await post('/v2/models/fraud/infer', requestBody, {'ce-id': 'req-42'});
		expect(answer.status).toBe(200);
		await until(() => received.length >= 2, 'two log events');
		const [request, response] = [...received].sort((a, b) => String(a.headers['ce-type']).localeCompare(String(b.headers['ce-type'])));
		for (const event of [request!, response!]) {
			expect(event.headers).toMatchObject({
				'ce-specversion': '1.0',
				'ce-id': 'req-42',
				'ce-source': `${server.url}/`,
				'ce-inferenceservicename': 'fraud',
				'ce-namespace': 'ml',
				'ce-component': 'predictor',
				'ce-endpoint': 'v1',
				'content-type': 'application/json',
			});
			expect(Number.isNaN(Date.parse(String(event.headers['ce-time'])))).toBe(false);
		}
		expect(request!.headers['ce-type']).toBe('org.kubeflow.serving.inference.request');
		expect(response!.headers['ce-type']).toBe('org.kubeflow.serving.inference.response');
		expect(request!.body).toBe(requestBody);
		expect(JSON.parse(response!.body)).toEqual(answer.body);

		// Without a ce-id a fresh id is shared by the pair; a failed request logs only its request (as KServe does).
		received.length = 0;
		await post('/admin/knobs', {errorRate: 1});
		await post('/v2/models/fraud/infer', inferBody([[1, 2, 3, 4]]));
		await post('/admin/knobs', {errorRate: 0});
		await post('/v2/models/fraud/infer', inferBody([[1, 2, 3, 4]]));
		await until(() => received.length >= 3, 'three log events');
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(received).toHaveLength(3);
		const ids = received.map((event) => String(event.headers['ce-id']));
		expect(new Set(ids).size).toBe(2);
		for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
	});

	it('keeps answering when the log URL is down, counting what it dropped', async () => {
		const lonely = await startModelServer({model: 'fraud', modelVersion: 'v2', port: 0, logUrl: 'http://127.0.0.1:9/v1/logs'});
		try {
			for (let index = 0; index < 5; index++) {
				const response = await fetch(`${lonely.url}/v2/models/fraud/infer`, {
					method: 'POST',
					body: JSON.stringify(inferBody([[1, 1, 1, 1]])),
				});
				expect(response.status).toBe(200);
			}
			const dropped = 'modeldeck_prediction_log_dropped_total{model="fraud",version="v2",reason="send-failed"}';
			// 5 requests and their 5 responses, each refused by the closed port.
			let text = '';
			const deadline = Date.now() + 5000;
			while (!(sampleValue(text, dropped) >= 10) && Date.now() < deadline) {
				text = await (await fetch(`${lonely.url}/metrics`)).text();
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			expect(sampleValue(text, dropped)).toBe(10);
		} finally {
			await lonely.close();
		}
	});
});

describe('model-server command line', () => {
	it('parses flags into options', () => {
		expect(
			parseModelServerArgs(
				[
					'--listen',
					'0.0.0.0:9000',
					'--model',
					'fraud',
					'--model-version',
					'v13',
					'--latency-ms',
					'200',
					'--error-rate',
					'0.1',
					'--output-drift',
					'-1.5',
					'--log-url',
					'http://agent:8081/v1/logs',
				],
				{},
			),
		).toEqual({
			ok: true,
			help: false,
			options: {
				host: '0.0.0.0',
				port: 9000,
				model: 'fraud',
				modelVersion: 'v13',
				knobs: {latencyMs: 200, errorRate: 0.1, outputDrift: -1.5},
				logUrl: 'http://agent:8081/v1/logs',
			},
		});
		expect(parseListen('[::1]:8080')).toEqual({host: '::1', port: 8080});
		expect(parseListen(':8080')).toEqual({host: '0.0.0.0', port: 8080});
		expect(parseListen('localhost')).toBeUndefined();
	});

	it('refuses bad flags with a clear message', () => {
		expect(parseModelServerArgs(['--bogus'], {})).toMatchObject({ok: false, message: expect.stringContaining('Unknown flag --bogus.')});
		expect(parseModelServerArgs(['--help'], {})).toMatchObject({ok: true, help: true});
		expect(parseModelServerArgs(['--error-rate', '1.5'], {})).toEqual({
			ok: false,
			message: '--error-rate: must be a share of requests, 0–1; got 1.5',
		});
		expect(parseModelServerArgs(['--latency-ms', 'fast'], {})).toMatchObject({
			ok: false,
			message: expect.stringContaining('--latency-ms: must be milliseconds'),
		});
		expect(parseModelServerArgs(['--listen', '8080'], {})).toMatchObject({
			ok: false,
			message: expect.stringContaining('--listen must be HOST:PORT'),
		});
		expect(parseModelServerArgs(['--log-url', 'agent:8081'], {})).toMatchObject({
			ok: false,
			message: expect.stringContaining('--log-url must be an http(s) URL'),
		});
	});

	it('exits 2 on an unknown flag and 1 when the port is taken, without starting', async () => {
		const stderr = process.stderr.write;
		const written: string[] = [];
		process.stderr.write = ((chunk: string) => {
			written.push(chunk);
			return true;
		}) as typeof process.stderr.write;
		try {
			expect(await runModelServer(['--bogus'])).toBe(2);
			expect(written.join('')).toContain('modeldeck model-server: Unknown flag --bogus.');
			expect(await runModelServer(['--listen', `127.0.0.1:${server.port}`])).toBe(1);
			expect(written.join('')).toContain(`127.0.0.1:${server.port} is already in use; pick another --listen port`);
		} finally {
			process.stderr.write = stderr;
		}
	});
});
