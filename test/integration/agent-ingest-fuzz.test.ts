// The agent's inputs fuzzed over real HTTP against a running agent process: random and pathological JSON (deep
// nesting, huge strings, odd numbers, unicode, duplicate keys), random and missing CloudEvents headers, random
// content types, bodies around the size limit, and action bodies with weights that are not whole percentages.
// Every answer is 2xx or 4xx with a message, the agent stays up with bounded memory, and what it accepted can be
// looked up by request id.
import {readFileSync} from 'node:fs';
import fc from 'fast-check';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {eventually, freePort, spawnAgent} from './agent-support.ts';
import type {AgentProcess} from './agent-support.ts';

const maxBodyBytes = 256 * 1024;
let agent: AgentProcess;
let url: string;

beforeAll(async () => {
	const port = await freePort();
	// A short join timeout: an accepted half with no partner becomes a (incomplete) prediction within a second.
	agent = await spawnAgent([
		'--no-auth',
		'--listen',
		`127.0.0.1:${port}`,
		'--join-timeout-seconds',
		'1',
		'--max-body-bytes',
		String(maxBodyBytes),
	]);
	url = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
	await agent?.kill();
});

const kserveRequest = 'org.kubeflow.serving.inference.request';
const kserveResponse = 'org.kubeflow.serving.inference.response';
const seldonRequest = 'io.seldon.serving.inference.request';
const seldonFeedback = 'io.seldon.serving.feedback';

interface Case {
	headers: Record<string, string>;
	body: Uint8Array;
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const typed = (type: string | undefined): Record<string, string> => (type === undefined ? {} : {'content-type': type});

/** Header values HTTP can carry. */
const headerText = fc.string({maxLength: 40}).filter((value) => /^[\x20-\x7e]*$/.test(value) && value.trim() === value);

const contentType = fc.option(
	fc.oneof(
		fc.constantFrom(
			'application/json',
			'application/json; charset=utf-8',
			'APPLICATION/JSON',
			'text/json',
			'application/vnd.example+json',
			'application/cloudevents+json',
			'application/cloudevents-batch+json',
			'text/plain',
			'text/plain;charset=UTF-8',
			'application/xml',
			'application/x-www-form-urlencoded',
			'multipart/form-data; boundary=x',
			'application/octet-stream',
			'application/protobuf',
		),
		headerText,
	),
	{nil: undefined},
);

const requestId = fc.oneof(
	fc.string({minLength: 1, maxLength: 40, unit: 'grapheme'}),
	fc.string({minLength: 1, maxLength: 40, unit: 'binary'}),
	fc.constantFrom('a\u0000b', '\ud800x', 'x\udfff', '  ', '', 'id with spaces', 'ü-ñ-日本-😀', 'x'.repeat(256), 'y'.repeat(257)),
);

/** Numbers as text, JSON.stringify could not write most of them. */
const numberText = fc.oneof(
	fc.constantFrom(
		'1e400',
		'-1e400',
		'1e-400',
		'-0',
		'0.0000000000000000000001',
		'123456789012345678901234567890',
		'5e-324',
		'1.7976931348623157e308',
	),
	fc.double().filter(Number.isFinite).map(String),
	fc.bigInt().map(String),
);

/** `[[[…]]]`, `{"a":{"a":…}}` or a mixture, `depth` levels deep. */
function nested(depth: number, kind: 'array' | 'object' | 'mixed'): string {
	const opens: string[] = [];
	const closes: string[] = [];
	for (let level = 0; level < depth; level++) {
		const array = kind === 'array' || (kind === 'mixed' && level % 2 === 0);
		opens.push(array ? '[' : '{"a":');
		closes.push(array ? ']' : '}');
	}

	return `${opens.join('')}1${closes.reverse().join('')}`;
}

const deepValue = fc
	.tuple(
		fc.oneof(fc.integer({min: 1, max: 80}), fc.integer({min: 1000, max: 100_000})),
		fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>,
	)
	.map(([depth, kind]) => nested(depth, kind));

const payloadText = fc.oneof(
	fc.json({maxDepth: 4}),
	deepValue,
	numberText,
	fc.integer({min: 0, max: maxBodyBytes + 1024}).map((length) => JSON.stringify('s'.repeat(length))),
	fc.string({unit: 'binary', maxLength: 200}).map((text) => JSON.stringify(text)),
);

/** A plain-JSON prediction written as text, so that keys can repeat and numbers can be any JSON number. */
const plainPredictionText = fc
	.record({
		requestId,
		duplicateId: fc.option(requestId, {nil: undefined}),
		latency: fc.option(numberText, {nil: undefined}),
		input: fc.option(payloadText, {nil: undefined}),
		output: fc.option(payloadText, {nil: undefined}),
		extraKeys: fc.dictionary(fc.string({maxLength: 10}), fc.json({maxDepth: 2}), {maxKeys: 3}),
	})
	.map(({requestId, duplicateId, latency, input, output, extraKeys}) => {
		const fields = [`"requestId":${JSON.stringify(requestId)}`, '"model":"fraud"', '"namespace":"team-a"', '"version":"v1"'];
		if (duplicateId !== undefined) fields.push(`"requestId":${JSON.stringify(duplicateId)}`);
		if (latency !== undefined) fields.push(`"latencyMs":${latency}`);
		if (input !== undefined) fields.push(`"input":${input}`);
		if (output !== undefined) fields.push(`"output":${output}`);
		for (const [key, value] of Object.entries(extraKeys)) fields.push(`${JSON.stringify(key)}:${value}`);
		return `{${fields.join(',')}}`;
	});

const plainCase: fc.Arbitrary<Case> = fc
	.tuple(fc.array(plainPredictionText, {minLength: 1, maxLength: 5}), fc.boolean(), contentType)
	.map(([items, asArray, type]) => ({
		headers: typed(type),
		body: encode(asArray || items.length > 1 ? `[${items.join(',')}]` : items[0]!),
	}));

const ceHeaders = fc.record(
	{
		'ce-type': fc.oneof(
			fc.constantFrom(kserveRequest, kserveResponse, seldonRequest, seldonFeedback, 'io.seldon.serving.inference.response'),
			headerText,
		),
		'ce-specversion': fc.oneof(fc.constant('1.0'), headerText),
		'ce-id': headerText,
		'ce-requestid': headerText,
		'ce-source': fc.oneof(fc.constant('http://fraud'), headerText),
		'ce-inferenceservicename': fc.oneof(fc.constant('fraud'), headerText),
		'ce-namespace': fc.oneof(fc.constant('team-a'), headerText),
		'ce-endpoint': fc.constantFrom('default', 'canary'),
		'ce-time': fc.oneof(fc.constant(new Date().toISOString()), headerText),
		'ce-annotations': fc.oneof(
			fc.constant('{"modeldeck.dev/version":"v2"}'),
			headerText,
			deepValue.filter((text) => text.length < 4000),
		),
		'ce-x-extra': headerText,
	},
	{requiredKeys: []},
);

const binaryCase: fc.Arbitrary<Case> = fc
	.tuple(ceHeaders, contentType, fc.oneof(payloadText.map(encode), fc.uint8Array({maxLength: 3000})))
	.map(([headers, type, body]) => ({
		headers: {...headers, ...(type === undefined ? {} : {'content-type': type})},
		body,
	}));

const structuredEvent = fc
	.record(
		{
			specversion: fc.oneof(fc.constant('1.0'), headerText),
			id: fc.oneof(headerText, requestId),
			requestid: requestId,
			source: fc.constant('http://fraud'),
			type: fc.constantFrom(kserveRequest, kserveResponse, seldonRequest, seldonFeedback, 'unknown.type'),
			inferenceservicename: fc.constantFrom('fraud', ''),
			namespace: fc.constant('team-a'),
			data: payloadText,
			data_base64: fc.uint8Array({maxLength: 300}).map((bytes) => JSON.stringify(Buffer.from(bytes).toString('base64'))),
		},
		{requiredKeys: ['type']},
	)
	.map(
		(event) =>
			`{${Object.entries(event)
				.map(([key, value]) => `${JSON.stringify(key)}:${key === 'data' || key === 'data_base64' ? value : JSON.stringify(value)}`)
				.join(',')}}`,
	);

const structuredCase: fc.Arbitrary<Case> = fc
	.tuple(fc.array(structuredEvent, {minLength: 1, maxLength: 4}), fc.boolean())
	.map(([events, batch]) => ({
		headers: {'content-type': batch ? 'application/cloudevents-batch+json' : 'application/cloudevents+json'},
		body: encode(batch ? `[${events.join(',')}]` : events[0]!),
	}));

/** Bodies within a few bytes of the limit, JSON or not. */
const sizeCase: fc.Arbitrary<Case> = fc.tuple(fc.integer({min: -16, max: 16}), contentType).map(([offset, type]) => {
	const length = maxBodyBytes + offset;
	const prefix = '{"requestId":"size-edge","model":"fraud","namespace":"team-a","version":"v1","input":"';
	const suffix = '"}';
	return {headers: typed(type), body: encode(prefix + 'x'.repeat(length - prefix.length - suffix.length) + suffix)};
});

const randomCase: fc.Arbitrary<Case> = fc
	.tuple(
		fc.oneof(
			fc.uint8Array({maxLength: 2000}),
			fc.json().map(encode),
			fc.jsonValue().map((value) => encode(JSON.stringify(value))),
		),
		contentType,
		fc.dictionary(fc.constantFrom('ce-type', 'ce-id', 'ce-specversion', 'ce-source'), headerText, {maxKeys: 4}),
	)
	.map(([body, type, headers]) => ({
		headers: {...headers, ...(type === undefined ? {} : {'content-type': type})},
		body,
	}));

function parseJson(bytes: Uint8Array): unknown {
	try {
		return JSON.parse(new TextDecoder().decode(bytes));
	} catch {
		return undefined;
	}
}

/** The request ids an accepted body carries (what the agent must then find), as its parser reads them. */
function acceptedIds({headers, body}: Case): string[] {
	const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
	const idOf = (event: Record<string, unknown>): string[] => {
		const eventType = String(event['type']);
		if (eventType === seldonFeedback) return [];
		return [String(eventType.startsWith('io.seldon.') ? event['requestid'] || event['id'] : event['id'])];
	};

	if (type === 'application/cloudevents+json' || type === 'application/cloudevents-batch+json') {
		const parsed = parseJson(body);
		return (Array.isArray(parsed) ? parsed : [parsed]).flatMap((event) => idOf(event as Record<string, unknown>));
	}

	if (headers['ce-type'] !== undefined || headers['ce-specversion'] !== undefined) {
		return idOf({type: headers['ce-type'], id: headers['ce-id'], requestid: headers['ce-requestid']});
	}

	const parsed = parseJson(body);
	return (Array.isArray(parsed) ? parsed : [parsed]).map((item) => String((item as Record<string, unknown>)['requestId']));
}

function rssBytes(pid: number): number {
	const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
	return Number(kilobytes) * 1024;
}

describe('agent input fuzzing over HTTP', () => {
	it('answers every log POST with 2xx or 4xx and a message, stays up with bounded memory, and finds what it accepted by request id', async () => {
		/** Each accepted id, with the request that carried it (for the failure message). */
		const accepted = new Map<string, string>();
		const statuses = new Map<number, number>();
		await fc.assert(
			fc.asyncProperty(
				fc.oneof(
					{weight: 4, arbitrary: plainCase},
					{weight: 3, arbitrary: binaryCase},
					{weight: 2, arbitrary: structuredCase},
					{weight: 1, arbitrary: sizeCase},
					{weight: 2, arbitrary: randomCase},
				),
				async (sent) => {
					const response = await fetch(`${url}/v1/logs`, {method: 'POST', headers: sent.headers, body: sent.body});
					const text = await response.text();
					statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
					const answer = JSON.parse(text) as {error?: string; accepted?: number; ignored?: number};
					expect(response.status, text).toBeGreaterThanOrEqual(200);
					expect(response.status, text).toBeLessThan(500);
					if (response.status >= 300) {
						expect(response.status, text).toBeGreaterThanOrEqual(400);
						expect(answer.error?.length, text).toBeGreaterThan(10);
						return;
					}

					const ids = acceptedIds(sent);
					expect(ids.length, text).toBe(answer.accepted);
					for (const id of ids) {
						// An id the store could not give back as it was sent (a lone surrogate) must be refused, not accepted.
						expect(
							!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(id),
							`accepted an id that is not valid Unicode: ${JSON.stringify(id)}`,
						).toBe(true);
						accepted.set(id, `${JSON.stringify(sent.headers)} ${new TextDecoder().decode(sent.body.slice(0, 300))} → ${text}`);
					}
				},
			),
			{numRuns: 400, interruptAfterTimeLimit: 150_000},
		);
		// The fuzzing reached every kind of answer the agent gives.
		expect(statuses.get(200)).toBeGreaterThan(0);
		expect(statuses.get(400)).toBeGreaterThan(0);
		expect(statuses.get(413)).toBeGreaterThan(0);
		expect(statuses.get(415)).toBeGreaterThan(0);

		expect((await fetch(`${url}/healthz`)).status).toBe(200);
		expect(agent.child.exitCode).toBeNull();
		for (const [id, request] of accepted) {
			await eventually(`prediction ${JSON.stringify(id)} (accepted from ${request}) to be found`, 15_000, async () => {
				const found = (await (await fetch(`${url}/v1/predictions?${new URLSearchParams({requestId: id})}`)).json()) as {
					requestId: string;
				}[];
				return found.some((prediction) => prediction.requestId === id);
			});
		}

		// Loose on purpose: a leak of the bodies sent (hundreds of MB over the run) shows, the heap's mood does not.
		expect(rssBytes(agent.child.pid!)).toBeLessThan(400 * 1024 * 1024);
	}, 300_000);

	it('refuses a body nested 100,000 levels deep with 400 and one of an unreadable content type with 415, naming what it accepts', async () => {
		const deep = encode(`{"requestId":"deep","model":"fraud","namespace":"team-a","version":"v1","input":${nested(100_000, 'array')}}`);
		for (const headers of [
			{'content-type': 'application/json'},
			{
				'content-type': 'application/json',
				'ce-type': kserveRequest,
				'ce-id': 'deep',
				'ce-specversion': '1.0',
				'ce-source': 's',
				'ce-inferenceservicename': 'fraud',
				'ce-namespace': 'team-a',
			},
		]) {
			const response = await fetch(`${url}/v1/logs`, {method: 'POST', headers, body: deep});
			expect(response.status).toBe(400);
			expect(((await response.json()) as {error: string}).error).toBe(
				'the body nests arrays and objects more than 64 levels deep; at most 64 are accepted (flatten the payload)',
			);
		}

		const xml = await fetch(`${url}/v1/logs`, {
			method: 'POST',
			headers: {'content-type': 'application/xml'},
			body: encode('{"requestId":"xml","model":"fraud","namespace":"team-a","version":"v1"}'),
		});
		expect(xml.status).toBe(415);
		expect(((await xml.json()) as {error: string}).error).toMatch(
			/^content-type application\/xml is not accepted: send application\/json .*application\/cloudevents\+json.*binary mode/,
		);
		const found = (await (await fetch(`${url}/v1/predictions?requestId=xml`)).json()) as unknown[];
		expect(found).toEqual([]);
		expect((await fetch(`${url}/healthz`)).status).toBe(200);
	}, 60_000);

	it('takes weights in POST /v1/actions only as whole numbers 0–100, by the console’s rule, and says so', async () => {
		const post = async (to: unknown) => {
			const response = await fetch(`${url}/v1/actions`, {
				method: 'POST',
				headers: {'content-type': 'application/json'},
				body: JSON.stringify({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to}),
			});
			return {status: response.status, body: (await response.json()) as {error?: string}};
		};

		for (const to of [4.5, -5, '45', 101, 1e21, null, true, [45]]) {
			const answer = await post(to);
			expect(answer.status, JSON.stringify(to)).toBe(400);
			expect(answer.body.error, JSON.stringify(to)).toMatch(/^to.*whole number from 0 to 100/);
		}

		await fc.assert(
			fc.asyncProperty(
				fc.oneof(fc.integer({min: -200, max: 300}), fc.double({noNaN: true, noDefaultInfinity: true}), fc.string({maxLength: 5})),
				async (to) => {
					const answer = await post(to);
					const whole = typeof to === 'number' && Number.isInteger(to) && to >= 0 && to <= 100;
					// A valid weight passes validation and goes on to the cluster, which this agent has none of.
					if (whole) expect(answer).toEqual({status: 503, body: {error: 'the agent has no cluster connection to change traffic with'}});
					else {
						expect(answer.status).toBe(400);
						expect(answer.body.error).toMatch(/whole number from 0 to 100/);
					}
				},
			),
			{numRuns: 100},
		);
		const deep = await fetch(`${url}/v1/actions`, {
			method: 'POST',
			headers: {'content-type': 'application/json'},
			body: nested(20_000, 'array'),
		});
		expect(deep.status).toBe(400);
		// An action over its fixed limit says that limit, not the logs' --max-body-bytes.
		const big = JSON.stringify({
			kind: 'set-weight',
			model: {namespace: 'team-a', name: 'x'.repeat(70_000)},
			canary: 'v2',
			from: 10,
			to: 20,
		});
		const tooBig = await fetch(`${url}/v1/actions`, {method: 'POST', headers: {'content-type': 'application/json'}, body: big});
		expect(tooBig.status).toBe(413);
		expect(((await tooBig.json()) as {error: string}).error).toBe(`the body is ${big.length} bytes; an action's limit is 65536 bytes`);
	}, 120_000);
});
