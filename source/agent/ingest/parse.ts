/**
 * Parses what model servers' loggers POST to `/v1/logs` into log records: halves of a prediction (request or
 * response, joined later by id) or whole predictions. Total over its input: anything malformed is an IngestError
 * with a message saying exactly what was wrong, never another exception.
 *
 * Formats:
 * - KServe's logger: CloudEvents binary mode, `ce-type: org.kubeflow.serving.inference.request|response`, the
 *   request id in `ce-id`, `ce-inferenceservicename` (model), `ce-namespace`, `ce-component`, `ce-endpoint`
 *   (`default` or `canary`). KServe sends no version: it is taken from a `ce-modelversion` extension, else from the
 *   `ce-annotations` JSON (`modeldeck.dev/version`, `app.kubernetes.io/version`, `serving.kserve.io/revision`), else
 *   the endpoint. KServe logs a response only when the model answered 200.
 * - Seldon's logger: `ce-type: io.seldon.serving.inference.request|response`, the request id in `ce-requestid`,
 *   `ce-inferenceservicename` (the SeldonDeployment), `ce-modelid` (the graph node), `ce-endpoint` (the predictor,
 *   used as version), `ce-namespace`. Feedback events are accepted and ignored.
 * - Structured CloudEvents (`application/cloudevents+json`, or `application/cloudevents-batch+json`) of those types.
 * - Plain JSON: `{requestId, model, namespace, version, latencyMs?, status?, code?, time?, input?, output?}` or an
 *   array of them.
 */
import {HTTP} from 'cloudevents';
import type {CloudEventV1} from 'cloudevents';
import type {Prediction, PredictionStatus} from '../../domain/types.ts';
import {jsonDepthOver, maxJsonDepth, tooDeepMessage} from './json-depth.ts';
import {extractOutput, isErrorPayload, summarizePayload, truncate} from './summaries.ts';

export class IngestError extends Error {
	override name = 'IngestError';
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.status = status;
	}
}

export type IngestFormat = 'kserve' | 'seldon' | 'cloudevents-structured' | 'json';

export interface LogHalf {
	kind: 'half';
	direction: 'request' | 'response';
	/** Request id plus where it was logged: a transformer and its predictor log the same id. */
	joinKey: string;
	requestId: string;
	namespace: string;
	model: string;
	version: string;
	/** Epoch ms when the logger saw it. */
	time: number;
	summary: string;
	output?: number | string;
	status?: PredictionStatus;
	code?: number;
}

export interface WholePrediction {
	kind: 'prediction';
	prediction: Prediction;
}

export type LogRecord = LogHalf | WholePrediction;

export interface IngestBatch {
	format: IngestFormat;
	records: LogRecord[];
	/** Events accepted but not about predictions (Seldon feedback). */
	ignored: number;
}

export type IncomingHeaders = Record<string, string | string[] | undefined>;

const maxNameLength = 253;
const maxRequestIdLength = 256;
export const maxItemsPerRequest = 10_000;

const requestTypes = new Set(['org.kubeflow.serving.inference.request', 'io.seldon.serving.inference.request']);
const responseTypes = new Set(['org.kubeflow.serving.inference.response', 'io.seldon.serving.inference.response']);
const ignoredTypes = new Set(['io.seldon.serving.feedback']);

function header(headers: IncomingHeaders, name: string): string | undefined {
	const value = headers[name];
	return Array.isArray(value) ? value[0] : value;
}

function mediaType(headers: IncomingHeaders): string {
	return (header(headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

function isJsonMediaType(type: string): boolean {
	return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

/** Parses the body of a request to `/v1/logs`. `now` is the receipt time, used when an event carries none. */
export function parseIngest(headers: IncomingHeaders, body: Buffer, now: number): IngestBatch {
	const type = mediaType(headers);
	const binaryMode = header(headers, 'ce-type') !== undefined || header(headers, 'ce-specversion') !== undefined;
	const structured = type === 'application/cloudevents+json' || type === 'application/cloudevents-batch+json';
	// A binary-mode CloudEvent's data may be anything (it is summarised as bytes); any other body is JSON, and a
	// body declared as something else is not guessed at.
	if (!structured && !binaryMode && type !== '' && !isJsonMediaType(type)) {
		throw new IngestError(
			415,
			`content-type ${truncate(type, 60)} is not accepted: send application/json (a prediction or an array of them), application/cloudevents+json, application/cloudevents-batch+json, or a CloudEvent in binary mode (ce-* headers)`,
		);
	}

	if ((structured || !binaryMode || isJsonMediaType(type)) && jsonDepthOver(body) !== undefined) {
		throw new IngestError(400, tooDeepMessage('the body'));
	}

	if (structured) return parseCloudEvents(headers, body, now, 'cloudevents-structured');
	if (binaryMode) return parseCloudEvents(headers, body, now, undefined);
	return parsePlainJson(body, now);
}

function parseCloudEvents(headers: IncomingHeaders, body: Buffer, now: number, structured: IngestFormat | undefined): IngestBatch {
	const type = mediaType(headers);
	// Each event with whether it carried its own time and id (the binding makes up both when they are missing: a
	// made-up id would be acknowledged and then never found by anyone who knew the request).
	let events: {event: CloudEventV1<unknown>; timed: boolean; identified: boolean}[];
	try {
		if (structured) {
			let parsed: unknown;
			try {
				parsed = JSON.parse(body.toString('utf8'));
			} catch (error) {
				throw new IngestError(400, `the body is not a valid structured CloudEvent: invalid JSON (${(error as Error).message})`);
			}

			const items = type === 'application/cloudevents-batch+json' ? parsed : [parsed];
			if (!Array.isArray(items)) throw new IngestError(400, 'a CloudEvents batch must be a JSON array of events');
			if (items.length > maxItemsPerRequest) {
				throw new IngestError(413, `${items.length} events in one request; at most ${maxItemsPerRequest} are accepted`);
			}

			events = items.map((item, index) => {
				if (typeof item !== 'object' || item === null || Array.isArray(item)) {
					throw new IngestError(400, `${items.length > 1 ? `event ${index}: ` : ''}a structured CloudEvent must be a JSON object`);
				}

				const event = HTTP.toEvent<unknown>({headers: {'content-type': 'application/cloudevents+json'}, body: item});
				const {time, id} = item as {time?: unknown; id?: unknown};
				return {
					event: event as CloudEventV1<unknown>,
					timed: typeof time === 'string',
					identified: (typeof id === 'string' && id !== '') || typeof id === 'number',
				};
			});
		} else {
			// JSON payloads are handed over as text so that the CloudEvents binding parses them; others stay bytes.
			const payload = isJsonMediaType(type) || type.startsWith('text/') ? body.toString('utf8') : body;
			const event = HTTP.toEvent<unknown>({headers: sanitizeHeaders(headers), body: payload});
			const identified = (header(headers, 'ce-id') ?? '') !== '';
			events = (Array.isArray(event) ? event : [event]).map((item) => ({
				event: item,
				timed: header(headers, 'ce-time') !== undefined,
				identified,
			}));
		}
	} catch (error) {
		if (error instanceof IngestError) throw error;
		const reason = error instanceof Error ? error.message : String(error);
		throw new IngestError(
			400,
			structured
				? `the body is not a valid structured CloudEvent (${reason})`
				: `the CloudEvent's data is not valid ${type || 'data'} (${reason}); send JSON with content-type application/json`,
		);
	}

	const records: LogRecord[] = [];
	let ignored = 0;
	let format: IngestFormat = structured ?? 'kserve';
	for (const [index, {event, timed, identified}] of events.entries()) {
		const where = events.length > 1 ? `event ${index}: ` : '';
		const eventType = stringAttribute(event, 'type');
		if (eventType === undefined || eventType === '') {
			throw new IngestError(400, `${where}the CloudEvent has no type (ce-type header or "type" attribute)`);
		}

		if (ignoredTypes.has(eventType)) {
			ignored++;
			continue;
		}

		const isRequest = requestTypes.has(eventType);
		if (!isRequest && !responseTypes.has(eventType)) {
			throw new IngestError(
				400,
				`${where}unsupported CloudEvent type "${truncate(eventType, 80)}"; expected one of ${[...requestTypes, ...responseTypes].join(', ')}`,
			);
		}

		const seldon = eventType.startsWith('io.seldon.');
		if (!structured) format = seldon ? 'seldon' : 'kserve';
		records.push(halfFromEvent(event, isRequest ? 'request' : 'response', seldon, identified, timed ? undefined : now, now, where));
	}

	return {format, records, ignored};
}

/** The CloudEvents binding expects plain string headers; repeated headers keep their first value. */
function sanitizeHeaders(headers: IncomingHeaders): Record<string, string> {
	const clean: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers)) {
		const first = Array.isArray(value) ? value[0] : value;
		if (first !== undefined) clean[name.toLowerCase()] = first;
	}

	return clean;
}

function stringAttribute(event: CloudEventV1<unknown>, name: string): string | undefined {
	const value = (event as unknown as Record<string, unknown>)[name];
	if (typeof value === 'string') return value;
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	return undefined;
}

/**
 * SQLite keeps text as UTF-8, where a lone surrogate (\ud800–\udfff unpaired, which JSON can spell) becomes U+FFFD:
 * such an id would be acknowledged and then never found by the id it was sent with.
 */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function requireUnicode(value: string, what: string, where: string): string {
	if (loneSurrogate.test(value))
		throw new IngestError(
			400,
			`${where}${what} is not valid Unicode (it holds a lone surrogate, \\ud800–\\udfff unpaired); send it as UTF-8 text`,
		);
	return value;
}

function requireName(value: string | undefined, what: string, where: string): string {
	if (value === undefined || value.trim() === '') throw new IngestError(400, `${where}missing ${what}`);
	if (value.length > maxNameLength) throw new IngestError(400, `${where}${what} is longer than ${maxNameLength} characters`);
	return requireUnicode(value, what, where);
}

function versionFromAnnotations(text: string | undefined): string | undefined {
	if (!text) return undefined;
	try {
		const annotations: unknown = JSON.parse(text);
		if (typeof annotations !== 'object' || annotations === null) return undefined;
		const record = annotations as Record<string, unknown>;
		for (const key of ['modeldeck.dev/version', 'app.kubernetes.io/version', 'serving.kserve.io/revision']) {
			const value = record[key];
			if (typeof value === 'string' && value !== '') return value;
		}
	} catch {
		// Annotations are optional decoration; unreadable ones just give no version.
	}

	return undefined;
}

function eventTime(event: CloudEventV1<unknown>, now: number): number {
	const parsed = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
	return Number.isFinite(parsed) ? parsed : now;
}

function decodeData(event: CloudEventV1<unknown>): {body: unknown; text?: string} {
	const data: unknown = event.data ?? (event as {data_base64?: string}).data_base64;
	if (data === undefined || data === null) return {body: undefined};
	if (Buffer.isBuffer(data) || data instanceof Uint8Array) {
		const bytes = Buffer.from(data);
		// Opaque data that would parse as deeply nested JSON is shown by its size, never walked.
		if (jsonDepthOver(bytes) !== undefined) return {body: undefined, text: `(${bytes.length} bytes, nested over ${maxJsonDepth} levels)`};
		const text = bytes.toString('utf8');
		try {
			return {body: JSON.parse(text) as unknown};
		} catch {
			return {body: undefined, text: /^[\x09\x0a\x0d\x20-\x7e]*$/.test(text) ? text : `(${bytes.length} bytes)`};
		}
	}

	if (typeof data === 'string') {
		if (jsonDepthOver(data) !== undefined)
			return {body: undefined, text: `(${data.length} characters, nested over ${maxJsonDepth} levels)`};
		try {
			return {body: JSON.parse(data) as unknown};
		} catch {
			return {body: undefined, text: data};
		}
	}

	return {body: data};
}

function halfFromEvent(
	event: CloudEventV1<unknown>,
	direction: 'request' | 'response',
	seldon: boolean,
	identified: boolean,
	receivedAt: number | undefined,
	now: number,
	where: string,
): LogHalf {
	const declaredId = identified ? stringAttribute(event, 'id') : undefined;
	const id = seldon ? stringAttribute(event, 'requestid') || declaredId : declaredId;
	if (id === undefined || id === '')
		throw new IngestError(400, `${where}missing the request id (${seldon ? 'ce-requestid or ' : ''}ce-id)`);
	if (id.length > maxRequestIdLength) {
		throw new IngestError(400, `${where}request id is longer than ${maxRequestIdLength} characters`);
	}

	requireUnicode(id, 'the request id', where);

	const model = requireName(
		stringAttribute(event, 'inferenceservicename') ?? (seldon ? stringAttribute(event, 'modelid') : undefined),
		'the model name (ce-inferenceservicename)',
		where,
	);
	const namespace = requireName(stringAttribute(event, 'namespace'), 'the namespace (ce-namespace)', where);
	const endpoint = stringAttribute(event, 'endpoint');
	const version =
		stringAttribute(event, 'modelversion') ??
		versionFromAnnotations(stringAttribute(event, 'annotations')) ??
		(endpoint !== undefined && endpoint !== '' ? endpoint : 'unknown');
	const component = stringAttribute(event, 'component') ?? stringAttribute(event, 'modelid') ?? '';
	const {body, text} = decodeData(event);
	const half: LogHalf = {
		kind: 'half',
		direction,
		joinKey: `${namespace}/${model}/${component}/${id}`,
		requestId: id,
		namespace,
		model,
		version: truncate(version, maxNameLength),
		time: receivedAt ?? eventTime(event, now),
		summary: summarizePayload(body, text),
	};
	if (direction === 'response') {
		const output = extractOutput(body);
		if (output !== undefined) half.output = output;
		const failed = isErrorPayload(body);
		half.status = failed ? 'error' : 'ok';
		// KServe's logger only forwards responses the model answered with 200.
		if (!seldon && !failed) half.code = 200;
	}

	return half;
}

function parsePlainJson(body: Buffer, now: number): IngestBatch {
	if (body.length === 0) {
		throw new IngestError(400, 'empty body; send a JSON prediction or an array of them, or a CloudEvent');
	}

	let parsed: unknown;
	try {
		parsed = JSON.parse(body.toString('utf8'));
	} catch (error) {
		throw new IngestError(400, `invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
	}

	const items = Array.isArray(parsed) ? parsed : [parsed];
	if (items.length > maxItemsPerRequest) {
		throw new IngestError(413, `${items.length} predictions in one request; at most ${maxItemsPerRequest} are accepted`);
	}

	const records = items.map((item, index) => predictionFromJson(item, now, Array.isArray(parsed) ? `item ${index}: ` : ''));
	return {format: 'json', records, ignored: 0};
}

function requiredString(record: Record<string, unknown>, field: string, where: string, max: number): string {
	const value = record[field];
	if (value === undefined || value === null) throw new IngestError(400, `${where}missing field "${field}" (string)`);
	if (typeof value !== 'string' || value.trim() === '') {
		throw new IngestError(400, `${where}field "${field}" must be a non-empty string, got ${describe(value)}`);
	}

	if (value.length > max) throw new IngestError(400, `${where}field "${field}" is longer than ${max} characters`);
	return requireUnicode(value, `field "${field}"`, where);
}

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'string') return `"${truncate(value, 24)}"`;
	return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function predictionFromJson(item: unknown, now: number, where: string): WholePrediction {
	if (typeof item !== 'object' || item === null || Array.isArray(item)) {
		throw new IngestError(400, `${where}expected a JSON object with requestId, model, namespace and version, got ${describe(item)}`);
	}

	const record = item as Record<string, unknown>;
	const requestId = requiredString(record, 'requestId', where, maxRequestIdLength);
	const model = requiredString(record, 'model', where, maxNameLength);
	const namespace = requiredString(record, 'namespace', where, maxNameLength);
	const version = requiredString(record, 'version', where, maxNameLength);

	const latency = record['latencyMs'];
	if (latency !== undefined && latency !== null && (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0)) {
		throw new IngestError(400, `${where}field "latencyMs" must be a non-negative number or null, got ${describe(latency)}`);
	}

	const code = record['code'];
	if (code !== undefined && (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599)) {
		throw new IngestError(400, `${where}field "code" must be an HTTP status code (100–599), got ${describe(code)}`);
	}

	const statusField = record['status'];
	if (statusField !== undefined && statusField !== 'ok' && statusField !== 'error') {
		throw new IngestError(400, `${where}field "status" must be "ok" or "error", got ${describe(statusField)}`);
	}

	const status: PredictionStatus = statusField ?? (typeof code === 'number' && code >= 400 ? 'error' : 'ok');
	let time = now;
	const timeField = record['time'];
	if (timeField !== undefined) {
		const parsedTime = typeof timeField === 'number' ? timeField : typeof timeField === 'string' ? Date.parse(timeField) : Number.NaN;
		if (!Number.isFinite(parsedTime) || parsedTime < 0) {
			throw new IngestError(400, `${where}field "time" must be epoch milliseconds or an ISO 8601 string, got ${describe(timeField)}`);
		}

		time = parsedTime;
	}

	const inputSummary = typeof record['inputSummary'] === 'string' ? truncate(record['inputSummary']) : summarizePayload(record['input']);
	const outputSummary =
		typeof record['outputSummary'] === 'string' ? truncate(record['outputSummary']) : summarizePayload(record['output']);
	const prediction: Prediction = {
		requestId,
		namespace,
		model,
		version,
		time,
		latencyMs: typeof latency === 'number' ? latency : null,
		status,
		inputSummary,
		outputSummary,
	};
	if (typeof code === 'number') prediction.code = code;
	const output = record['output'] === undefined ? undefined : extractOutput(record['output']);
	if (output !== undefined) prediction.output = output;
	return {kind: 'prediction', prediction};
}
