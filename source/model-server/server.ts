/**
 * A real model server speaking the Open Inference Protocol v2 over plain node:http: health, server and model
 * metadata, and inference with the logistic model; Prometheus metrics at `/metrics`; fault-injection knobs at
 * `/admin/knobs`; optional KServe-style prediction logging.
 */
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {parseInferRequest} from './inference-request.ts';
import {type Knobs, defaultKnobs, parseKnobsUpdate} from './knobs.ts';
import {INPUT_METADATA, OUTPUT_METADATA, OUTPUT_NAME, predictProbabilities} from './logistic-model.ts';
import {PredictionLogger} from './prediction-logger.ts';
import {createServerMetrics} from './server-metrics.ts';

export interface ModelServerOptions {
	/** Model name served at `/v2/models/{model}`. Default `model`. */
	model?: string;
	/** Version reported in metadata, metrics and logs. Default `v1`. */
	modelVersion?: string;
	/** Interface to bind. Default `127.0.0.1`. */
	host?: string;
	/** Port to bind; 0 picks a free one. Default 8080. */
	port?: number;
	/** Initial fault-injection knobs; all default to 0. */
	knobs?: Partial<Knobs>;
	/** Prediction-log URL (KServe logger format). None by default. */
	logUrl?: string;
	/** Namespace sent as `ce-namespace`. Default `default`. */
	namespace?: string;
	/** Sent as `ce-endpoint`. Default: the model version. */
	logEndpoint?: string;
	/** Upper bound of memory held by the memory-growth knob, in MB, so a forgotten knob cannot take the machine. Default 1024. */
	maxRetainedMb?: number;
}

export interface RunningModelServer {
	url: string;
	port: number;
	/** Current knobs (a copy). */
	knobs(): Knobs;
	setKnobs(update: Partial<Knobs>): Knobs;
	/** Bytes currently held by the memory-growth knob. */
	retainedBytes(): number;
	close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MEMORY_TICK_MS = 1000;

class HttpError extends Error {
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.status = status;
	}
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): string {
	const text = JSON.stringify(body);
	response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)});
	response.end(text);
	return text;
}

function readBody(request: http.IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		const tooLarge = new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
		request.on('data', (chunk: Buffer) => {
			size += chunk.length;
			// Past the limit the rest is read and dropped, so that a client still sending reads the 413; past four times
			// the limit the connection is closed.
			if (size > 4 * MAX_BODY_BYTES) {
				reject(tooLarge);
				request.destroy();
			} else if (size > MAX_BODY_BYTES) chunks.length = 0;
			else chunks.push(chunk);
		});
		request.on('end', () => (size > MAX_BODY_BYTES ? reject(tooLarge) : resolve(Buffer.concat(chunks).toString('utf8'))));
		request.on('error', reject);
	});
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
	}
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startModelServer(options: ModelServerOptions = {}): Promise<RunningModelServer> {
	const model = options.model ?? 'model';
	const version = options.modelVersion ?? 'v1';
	const host = options.host ?? '127.0.0.1';
	const maxRetainedBytes = (options.maxRetainedMb ?? 1024) * 1024 * 1024;
	const initialKnobs = parseKnobsUpdate(options.knobs ?? {});
	if (!initialKnobs.ok) throw new Error(`Invalid model-server knob: ${initialKnobs.message}`);
	let knobs: Knobs = {...defaultKnobs, ...initialKnobs.knobs};
	let ready = true;
	const metrics = createServerMetrics(model, version);
	let logger: PredictionLogger | undefined;

	// Memory-growth knob: buffers filled (so the pages are really committed) and kept until the knob goes to 0.
	const retained: Buffer[] = [];
	let retainedBytes = 0;
	const memoryTimer = setInterval(() => {
		const bytesPerTick = (knobs.memoryGrowthMbPerMin * 1024 * 1024 * MEMORY_TICK_MS) / 60_000;
		if (bytesPerTick <= 0) return;
		const bytes = Math.min(Math.round(bytesPerTick), maxRetainedBytes - retainedBytes);
		if (bytes <= 0) return;
		retained.push(Buffer.allocUnsafe(bytes).fill(1));
		retainedBytes += bytes;
	}, MEMORY_TICK_MS);
	memoryTimer.unref();

	function setKnobs(update: Partial<Knobs>): Knobs {
		knobs = {...knobs, ...update};
		if (knobs.memoryGrowthMbPerMin === 0 && retained.length > 0) {
			retained.length = 0;
			retainedBytes = 0;
		}
		return {...knobs};
	}

	const modelMetadata = {
		name: model,
		versions: [version],
		platform: 'modeldeck-logistic-regression',
		inputs: [INPUT_METADATA],
		outputs: [OUTPUT_METADATA],
	};

	/** Resolves `/v2/models/{name}[/versions/{v}]{rest}`; throws 404 for another model or version. */
	function matchModelPath(path: string): string | undefined {
		const match = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/.*)?$/.exec(path);
		if (!match) return undefined;
		const name = decodeURIComponent(match[1]!);
		const requestedVersion = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
		if (name !== model) throw new HttpError(404, `model "${name}" not found; this server serves "${model}"`);
		if (requestedVersion !== undefined && requestedVersion !== version) {
			throw new HttpError(404, `version "${requestedVersion}" of model "${model}" not found; this server serves "${version}"`);
		}
		return match[3] ?? '';
	}

	function requireMethod(request: http.IncomingMessage, method: string): void {
		if (request.method !== method) throw new HttpError(405, `use ${method} for ${request.url}`);
	}

	async function infer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
		const started = process.hrtime.bigint();
		let code = 500;
		try {
			const text = await readBody(request);
			const eventId = PredictionLogger.eventId(request.headers['ce-id']);
			const contentType = request.headers['content-type'] ?? 'application/json';
			logger?.logRequest(eventId, contentType, text);
			const parsed = parseInferRequest(parseJson(text));
			if (!parsed.ok) throw new HttpError(400, parsed.message);
			const current = knobs;
			if (current.latencyMs > 0) await sleep(current.latencyMs);
			if (current.errorRate > 0 && Math.random() < current.errorRate) {
				throw new HttpError(500, `injected failure (error rate ${current.errorRate})`);
			}
			const probabilities = predictProbabilities(parsed.request.features, parsed.request.rows, current.outputDrift);
			const body = {
				model_name: model,
				model_version: version,
				id: parsed.request.id ?? eventId,
				outputs: [
					{
						name: OUTPUT_NAME,
						datatype: 'FP32',
						shape: [parsed.request.rows, 1],
						data: Array.from(probabilities),
					},
				],
			};
			code = 200;
			const sent = sendJson(response, 200, body);
			logger?.logResponse(eventId, contentType, sent);
		} catch (error) {
			code = error instanceof HttpError ? error.status : 500;
			if (!response.headersSent) sendJson(response, code, {error: (error as Error).message});
		} finally {
			metrics.observeRequest(code, Number(process.hrtime.bigint() - started) / 1e9);
		}
	}

	async function route(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
		const path = new URL(request.url ?? '/', 'http://server').pathname.replace(/\/+$/, '') || '/';
		if (path === '/v2/health/live') {
			sendJson(response, 200, {live: true});
			return;
		}
		if (path === '/v2/health/ready') {
			sendJson(response, ready ? 200 : 503, {ready});
			return;
		}
		if (path === '/v2') {
			sendJson(response, 200, {name: 'modeldeck-model-server', version: '1', extensions: []});
			return;
		}
		if (path === '/metrics') {
			const text = await metrics.registry.metrics();
			response.writeHead(200, {'content-type': metrics.registry.contentType});
			response.end(text);
			return;
		}
		if (path === '/admin/knobs') {
			if (request.method === 'GET') {
				sendJson(response, 200, knobs);
				return;
			}
			requireMethod(request, 'POST');
			const update = parseKnobsUpdate(parseJson(await readBody(request)));
			if (!update.ok) throw new HttpError(400, update.message);
			sendJson(response, 200, setKnobs(update.knobs));
			return;
		}
		const rest = matchModelPath(path);
		if (rest === '') {
			sendJson(response, 200, modelMetadata);
			return;
		}
		if (rest === '/ready') {
			sendJson(response, ready ? 200 : 503, {name: model, ready});
			return;
		}
		if (rest === '/infer') {
			requireMethod(request, 'POST');
			await infer(request, response);
			return;
		}
		throw new HttpError(404, `no such endpoint ${path}; see /v2/models/${model} and /v2/models/${model}/infer`);
	}

	const server = http.createServer((request, response) => {
		route(request, response).catch((error: unknown) => {
			const status = error instanceof HttpError ? error.status : 500;
			if (!response.headersSent) sendJson(response, status, {error: (error as Error).message});
			else response.destroy();
		});
	});
	server.keepAliveTimeout = 5000;

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 8080, host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const port = (server.address() as AddressInfo).port;
	const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

	if (options.logUrl) {
		logger = new PredictionLogger({
			url: options.logUrl,
			source: `${url}/`,
			inferenceService: model,
			namespace: options.namespace ?? 'default',
			endpoint: options.logEndpoint ?? version,
			onDrop: (reason) => metrics.predictionLogDropped(reason),
		});
	}

	return {
		url,
		port,
		knobs: () => ({...knobs}),
		setKnobs(update) {
			const parsed = parseKnobsUpdate(update);
			if (!parsed.ok) throw new Error(`Invalid model-server knob: ${parsed.message}`);
			return setKnobs(parsed.knobs);
		},
		retainedBytes: () => retainedBytes,
		async close() {
			ready = false;
			clearInterval(memoryTimer);
			retained.length = 0;
			logger?.close();
			const closed = new Promise<void>((resolve) => server.close(() => resolve()));
			server.closeIdleConnections();
			// Requests still sleeping on injected latency get a moment to finish, then their sockets are cut.
			const force = setTimeout(() => server.closeAllConnections(), 2000);
			force.unref();
			await closed;
			clearTimeout(force);
		},
	};
}
