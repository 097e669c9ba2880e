/**
 * `POST /v1/registry/webhook`: a registry that pushes tells the watcher to look now, instead of at its next poll.
 *
 * The body is MLflow's webhook payload: `{"entity": "model_version_alias", "action": "created", "timestamp": "…",
 * "data": {"name": "fraud-detector", "alias": "champion", "version": "14"}}`. Any event whose `data.name` is a
 * followed registered model makes the watcher look at that model's followed aliases (only `data.alias`'s, when the
 * event names one); the version is always read from MLflow itself, never taken from the body. Other events are
 * answered 200 and ignored (MLflow retries anything else).
 *
 * Authentication, either:
 * - MLflow's signature: with the webhook's secret set in MLflow and in the agent (`mlflow.webhookSecretEnv`), MLflow
 *   sends `X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">`,
 *   `X-MLflow-Delivery-Id` and `X-MLflow-Timestamp` (epoch seconds, accepted within 5 minutes: no replays);
 * - or the agent's own: a Kubernetes token (`Authorization: Bearer …`) that the API server accepts.
 */
import {createHmac, timingSafeEqual} from 'node:crypto';
import type http from 'node:http';
import {readBody} from '../http/request.ts';
import type {BodyLimit} from '../http/request.ts';
import {HttpProblem} from '../refusal.ts';
import {jsonDepthOver} from '../ingest/json-depth.ts';
import type {CheckOutcome, RegistryWatcher} from './watcher.ts';

export const signatureHeader = 'x-mlflow-signature';
export const deliveryIdHeader = 'x-mlflow-delivery-id';
export const timestampHeader = 'x-mlflow-timestamp';
/** How old (or how far ahead) a signed delivery may be. */
export const maxSignatureAgeSeconds = 300;
export const maxWebhookBodyBytes = 64 * 1024;

/** MLflow's signature of a delivery: `v1,` and the base64 HMAC-SHA256 of `<delivery id>.<timestamp>.<body>`. */
export function mlflowSignature(secret: string, deliveryId: string, timestamp: string, body: string | Buffer): string {
	const mac = createHmac('sha256', secret);
	mac.update(`${deliveryId}.${timestamp}.`);
	mac.update(body);
	return `v1,${mac.digest('base64')}`;
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
	const value = headers[name];
	return Array.isArray(value) ? value[0] : value;
}

/** Checks MLflow's signature headers; a string says why they do not hold. */
export function signatureProblem(headers: http.IncomingHttpHeaders, body: Buffer, secret: string, nowMs: number): string | undefined {
	const signature = header(headers, signatureHeader);
	const deliveryId = header(headers, deliveryIdHeader);
	const timestamp = header(headers, timestampHeader);
	if (!signature || !deliveryId || !timestamp)
		return `a signed delivery needs X-MLflow-Signature, X-MLflow-Delivery-Id and X-MLflow-Timestamp`;
	if (!/^\d{1,12}$/.test(timestamp)) return `X-MLflow-Timestamp must be epoch seconds`;
	const age = Math.abs(nowMs / 1000 - Number(timestamp));
	if (age > maxSignatureAgeSeconds)
		return `the delivery is ${Math.round(age)} s away from the agent's clock (at most ${maxSignatureAgeSeconds} s): a replay, or a clock to fix`;
	const expected = Buffer.from(mlflowSignature(secret, deliveryId, timestamp, body));
	const given = Buffer.from(signature.trim());
	if (given.length !== expected.length || !timingSafeEqual(given, expected))
		return `the signature does not match: the webhook's secret in MLflow must equal the agent's (mlflow.webhookSecretEnv)`;
	return undefined;
}

export interface WebhookEvent {
	entity: string;
	action: string;
	name: string;
	alias?: string;
	version?: string;
}

/** The event in a webhook body; a string says what is wrong with it and what is expected. */
export function parseWebhookBody(body: Buffer): WebhookEvent | string {
	const expected =
		'expected MLflow\'s webhook payload, e.g. {"entity": "model_version_alias", "action": "created", "data": {"name": "fraud-detector", "alias": "champion", "version": "14"}}';
	if (jsonDepthOver(body) !== undefined) return `the body is nested too deeply; ${expected}`;
	let value: unknown;
	try {
		value = JSON.parse(body.toString('utf8'));
	} catch (error) {
		return `the body is not JSON (${(error as Error).message}); ${expected}`;
	}

	if (typeof value !== 'object' || value === null || Array.isArray(value)) return `the body is not a JSON object; ${expected}`;
	const record = value as Record<string, unknown>;
	const {entity, action, data} = record;
	if (typeof entity !== 'string' || typeof action !== 'string') return `"entity" and "action" must be strings; ${expected}`;
	if (typeof data !== 'object' || data === null || Array.isArray(data)) return `"data" must be an object; ${expected}`;
	const fields = data as Record<string, unknown>;
	const name = fields['name'];
	if (typeof name !== 'string' || name === '') return `"data.name" (the registered model) must be a non-empty string; ${expected}`;
	const event: WebhookEvent = {entity, action, name};
	const alias = fields['alias'];
	if (alias !== undefined) {
		if (typeof alias !== 'string') return `"data.alias" must be a string; ${expected}`;
		event.alias = alias;
	}

	const version = fields['version'];
	if (version !== undefined) {
		if (typeof version !== 'string' && typeof version !== 'number') return `"data.version" must be a string or a number; ${expected}`;
		event.version = String(version);
	}

	return event;
}

export type WebhookAnswer =
	| {ignored: string}
	| {checked: Array<{registeredModel: string; alias: string; model: string; outcome: CheckOutcome}>};

/** What the watcher did about EVENT. */
export async function actOnWebhook(watcher: RegistryWatcher, event: WebhookEvent): Promise<WebhookAnswer> {
	const concerned = watcher.settings.follow.filter(
		(follow) => follow.registeredModel === event.name && (event.alias === undefined || follow.alias === event.alias),
	);
	if (concerned.length === 0) {
		const what = `${event.entity}.${event.action} for ${event.name}${event.alias === undefined ? '' : `@${event.alias}`}`;
		return {ignored: `${what.slice(0, 200)}: not followed by this agent (see its registry settings)`};
	}

	const checked = await Promise.all(
		concerned.map(async (follow) => ({
			registeredModel: follow.registeredModel,
			alias: follow.alias,
			model: `${follow.model.namespace}/${follow.model.name}`,
			outcome: await watcher.check(follow),
		})),
	);
	return {checked};
}

const webhookLimit: BodyLimit = {bytes: maxWebhookBodyBytes, name: "the webhook's limit"};

export interface WebhookContext {
	/** The watcher; undefined when the agent runs without registry settings. */
	watcher: RegistryWatcher | undefined;
	secret: string | undefined;
	/** The agent's own authentication of the caller's bearer token; throws an HttpProblem (401) when it fails. */
	authenticate: () => Promise<unknown>;
	now?: () => number;
}

/** Serves POST /v1/registry/webhook. Throws HttpProblem for the server to answer. */
export async function serveRegistryWebhook(
	request: http.IncomingMessage,
	response: http.ServerResponse,
	context: WebhookContext,
): Promise<void> {
	if (!context.watcher)
		throw new HttpProblem(404, 'the registry watcher is off: start the agent with --registry-config FILE (see docs/registry.md)');
	const body = await readBody(request, webhookLimit);
	if (header(request.headers, signatureHeader) !== undefined) {
		if (context.secret === undefined)
			throw new HttpProblem(
				401,
				'the delivery is signed but the agent has no webhook secret: set mlflow.webhookSecretEnv and that variable, or send a Kubernetes token instead',
			);
		const problem = signatureProblem(request.headers, body, context.secret, (context.now ?? Date.now)());
		if (problem) throw new HttpProblem(401, problem);
	} else {
		try {
			await context.authenticate();
		} catch (error) {
			if (error instanceof HttpProblem && error.status === 401)
				throw new HttpProblem(401, `${error.message}; or sign the delivery with MLflow's webhook secret (mlflow.webhookSecretEnv)`);
			throw error;
		}
	}

	const event = parseWebhookBody(body);
	if (typeof event === 'string') throw new HttpProblem(400, event);
	const answer = await actOnWebhook(context.watcher, event);
	const text = JSON.stringify(answer);
	response.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)});
	response.end(text);
}
