import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {IngestError, parseIngest} from '../../../source/agent/ingest/parse.ts';
import type {LogHalf} from '../../../source/agent/ingest/parse.ts';

const now = Date.parse('2026-03-01T12:00:00Z');

/** Headers exactly as KServe's logger (pkg/logger/worker.go) sends them. */
function kserveHeaders(type: 'request' | 'response', overrides: Record<string, string> = {}): Record<string, string> {
	return {
		'ce-specversion': '1.0',
		'ce-id': '5e1f-req-1',
		'ce-type': `org.kubeflow.serving.inference.${type}`,
		'ce-source': 'http://localhost:9081/',
		'ce-time': type === 'request' ? '2026-03-01T11:59:59.100Z' : '2026-03-01T11:59:59.142Z',
		'ce-inferenceservicename': 'fraud',
		'ce-namespace': 'team-a',
		'ce-component': 'predictor',
		'ce-endpoint': 'canary',
		'ce-metadata': '{}',
		'content-type': 'application/json',
		...overrides,
	};
}

const requestBody = Buffer.from(
	JSON.stringify({inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [[5.1, 3.5, 1.4, 0.2]]}]}),
);
const responseBody = Buffer.from(
	JSON.stringify({model_name: 'fraud', outputs: [{name: 'probability', shape: [1, 1], datatype: 'FP32', data: [0.93]}]}),
);

function expectError(run: () => unknown, status: number, message: RegExp): void {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(IngestError);
		expect((error as IngestError).status).toBe(status);
		expect((error as IngestError).message).toMatch(message);
		return;
	}

	throw new Error('expected an IngestError');
}

describe('parseIngest: KServe binary mode', () => {
	it('reads a request half with the model, namespace, id, event time and a tensor summary', () => {
		const batch = parseIngest(kserveHeaders('request'), requestBody, now);
		expect(batch.format).toBe('kserve');
		const half = batch.records[0] as LogHalf;
		expect(half).toMatchObject({
			kind: 'half',
			direction: 'request',
			requestId: '5e1f-req-1',
			model: 'fraud',
			namespace: 'team-a',
			version: 'canary',
			time: Date.parse('2026-03-01T11:59:59.100Z'),
			joinKey: 'team-a/fraud/predictor/5e1f-req-1',
		});
		expect(half.summary).toBe('features FP32[1,4] [5.1, 3.5, 1.4, 0.2]');
	});

	it('reads a response half with output for drift and code 200', () => {
		const half = parseIngest(kserveHeaders('response'), responseBody, now).records[0] as LogHalf;
		expect(half).toMatchObject({direction: 'response', output: 0.93, status: 'ok', code: 200});
	});

	it('prefers ce-modelversion, then the version in annotations, over the endpoint', () => {
		const withVersion = parseIngest(kserveHeaders('request', {'ce-modelversion': 'v13'}), requestBody, now).records[0] as LogHalf;
		expect(withVersion.version).toBe('v13');
		const annotated = parseIngest(
			kserveHeaders('request', {'ce-annotations': JSON.stringify({'serving.kserve.io/revision': 'fraud-predictor-00002'})}),
			requestBody,
			now,
		).records[0] as LogHalf;
		expect(annotated.version).toBe('fraud-predictor-00002');
	});

	it('uses the receipt time when the event has none', () => {
		const headers = kserveHeaders('request');
		delete headers['ce-time'];
		expect((parseIngest(headers, requestBody, now).records[0] as LogHalf).time).toBe(now);
	});

	it('says which attribute is missing', () => {
		const headers = kserveHeaders('request');
		delete headers['ce-inferenceservicename'];
		expectError(() => parseIngest(headers, requestBody, now), 400, /missing the model name \(ce-inferenceservicename\)/);
		const noNamespace = kserveHeaders('request');
		delete noNamespace['ce-namespace'];
		expectError(() => parseIngest(noNamespace, requestBody, now), 400, /missing the namespace/);
	});

	it('refuses unknown event types, naming the expected ones', () => {
		expectError(
			() => parseIngest(kserveHeaders('request', {'ce-type': 'com.example.other'}), requestBody, now),
			400,
			/unsupported CloudEvent type "com.example.other".*org.kubeflow.serving.inference.request/,
		);
	});

	it('refuses data that is not JSON although the content type says so', () => {
		expectError(() => parseIngest(kserveHeaders('request'), Buffer.from('{not json'), now), 400, /not valid application\/json/);
	});

	it('keeps non-JSON payloads as a short description', () => {
		const half = parseIngest(kserveHeaders('request', {'content-type': 'application/octet-stream'}), Buffer.from([0, 1, 2, 3]), now)
			.records[0] as LogHalf;
		expect(half.summary).toBe('(4 bytes)');
	});
});

describe('parseIngest: Seldon', () => {
	it('joins by ce-requestid and takes the SeldonDeployment as model and the predictor as version', () => {
		const headers = {
			'ce-specversion': '1.0',
			'ce-id': 'event-7',
			'ce-type': 'io.seldon.serving.inference.response',
			'ce-source': 'http://seldon/',
			'ce-requestid': 'req-42',
			'ce-modelid': 'classifier',
			'ce-inferenceservicename': 'income',
			'ce-namespace': 'seldon',
			'ce-endpoint': 'default',
			'content-type': 'application/json',
		};
		const batch = parseIngest(headers, Buffer.from(JSON.stringify({data: {names: ['proba'], ndarray: [[0.19]]}})), now);
		expect(batch.format).toBe('seldon');
		expect(batch.records[0]).toMatchObject({requestId: 'req-42', model: 'income', version: 'default', namespace: 'seldon', output: 0.19});
	});

	it('accepts and ignores feedback events', () => {
		const batch = parseIngest(
			{'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 'io.seldon.serving.feedback', 'ce-source': '/'},
			Buffer.from('{}'),
			now,
		);
		expect(batch).toMatchObject({records: [], ignored: 1});
	});
});

describe('parseIngest: structured CloudEvents', () => {
	it('reads one event and a batch', () => {
		const event = {
			specversion: '1.0',
			id: 'r1',
			type: 'org.kubeflow.serving.inference.request',
			source: '/x',
			inferenceservicename: 'fraud',
			namespace: 'team-a',
			endpoint: 'v2',
			datacontenttype: 'application/json',
			data: {instances: [[1, 2]]},
		};
		const single = parseIngest({'content-type': 'application/cloudevents+json'}, Buffer.from(JSON.stringify(event)), now);
		expect(single.format).toBe('cloudevents-structured');
		expect(single.records[0]).toMatchObject({requestId: 'r1', version: 'v2', summary: 'instances[1x2] [1, 2]'});
		const batch = parseIngest(
			{'content-type': 'application/cloudevents-batch+json'},
			Buffer.from(JSON.stringify([event, {...event, id: 'r2'}])),
			now,
		);
		expect(batch.records).toHaveLength(2);
	});

	it('says the body is not a structured event when it is not JSON', () => {
		expectError(
			() => parseIngest({'content-type': 'application/cloudevents+json'}, Buffer.from('[1,'), now),
			400,
			/not a valid structured CloudEvent/,
		);
	});
});

describe('parseIngest: plain JSON', () => {
	it('reads one prediction or an array of them', () => {
		const one = parseIngest(
			{},
			Buffer.from(JSON.stringify({requestId: 'a', model: 'm', namespace: 'n', version: 'v1', latencyMs: 12.5, code: 503})),
			now,
		);
		expect(one.records[0]).toEqual({
			kind: 'prediction',
			prediction: {
				requestId: 'a',
				model: 'm',
				namespace: 'n',
				version: 'v1',
				time: now,
				latencyMs: 12.5,
				status: 'error',
				code: 503,
				inputSummary: '(empty)',
				outputSummary: '(empty)',
			},
		});
		const many = parseIngest(
			{'content-type': 'application/json'},
			Buffer.from(
				JSON.stringify([
					{requestId: 'a', model: 'm', namespace: 'n', version: 'v1', output: 'fraud', time: '2026-03-01T00:00:00Z'},
					{requestId: 'b', model: 'm', namespace: 'n', version: 'v1', status: 'ok'},
				]),
			),
			now,
		);
		expect(many.records).toHaveLength(2);
		expect(many.records[0]).toMatchObject({
			prediction: {output: 'fraud', outputSummary: '"fraud"', time: Date.parse('2026-03-01T00:00:00Z'), latencyMs: null},
		});
	});

	it('says exactly which field of which item is wrong', () => {
		expectError(
			() =>
				parseIngest(
					{},
					Buffer.from(
						JSON.stringify([
							{requestId: 'a', model: 'm', namespace: 'n', version: 'v'},
							{requestId: 'b', namespace: 'n', version: 'v'},
						]),
					),
					now,
				),
			400,
			/^item 1: missing field "model" \(string\)$/,
		);
		expectError(
			() => parseIngest({}, Buffer.from(JSON.stringify({requestId: 'a', model: 'm', namespace: 'n', version: 'v', latencyMs: -1})), now),
			400,
			/"latencyMs" must be a non-negative number/,
		);
		expectError(
			() => parseIngest({}, Buffer.from(JSON.stringify({requestId: 'a', model: 'm', namespace: 'n', version: 'v', status: 'fine'})), now),
			400,
			/"status" must be "ok" or "error"/,
		);
		expectError(() => parseIngest({}, Buffer.from('42'), now), 400, /expected a JSON object/);
		expectError(() => parseIngest({}, Buffer.from(''), now), 400, /empty body/);
		expectError(() => parseIngest({}, Buffer.from('{"a":'), now), 400, /^invalid JSON/);
	});

	it('refuses too many items in one request with 413', () => {
		const items = Array.from({length: 10_001}, (_, index) => ({requestId: String(index), model: 'm', namespace: 'n', version: 'v'}));
		expectError(() => parseIngest({}, Buffer.from(JSON.stringify(items)), now), 413, /at most 10000/);
	});
});

describe('parseIngest never fails other than with an IngestError', () => {
	const headerName = fc.oneof(
		fc.constantFrom(
			'ce-type',
			'ce-id',
			'ce-specversion',
			'ce-source',
			'ce-time',
			'ce-namespace',
			'ce-inferenceservicename',
			'ce-requestid',
			'ce-annotations',
			'content-type',
			'ce-data_base64',
		),
		fc.string({minLength: 1, maxLength: 12}).map((name) => `ce-${name}`),
	);
	const headerValue = fc.oneof(
		fc.string({maxLength: 40}),
		fc.constantFrom(
			'org.kubeflow.serving.inference.request',
			'io.seldon.serving.inference.response',
			'application/json',
			'application/cloudevents+json',
			'application/cloudevents-batch+json',
			'1.0',
			'0.3',
			'text/plain',
			'{}',
			'null',
		),
	);
	const headers = fc.dictionary(headerName, fc.oneof(headerValue, fc.array(headerValue, {maxLength: 2})), {maxKeys: 8});
	const body = fc.oneof(
		fc.uint8Array({maxLength: 300}).map((bytes) => Buffer.from(bytes)),
		fc.json().map((text) => Buffer.from(text)),
		fc.anything().map((value) => Buffer.from(JSON.stringify(value) ?? 'undefined')),
	);

	it('for random headers and bodies', () => {
		fc.assert(
			fc.property(headers, body, (randomHeaders, randomBody) => {
				try {
					const batch = parseIngest(randomHeaders, randomBody, now);
					for (const record of batch.records) {
						const summary = record.kind === 'half' ? record.summary : record.prediction.outputSummary;
						expect(summary.length).toBeLessThanOrEqual(160);
					}
				} catch (error) {
					if (!(error instanceof IngestError)) throw error;
					expect([400, 413, 415]).toContain(error.status);
					expect(error.message.length).toBeGreaterThan(0);
				}
			}),
			{numRuns: 2000},
		);
	});
});
