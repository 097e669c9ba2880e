/**
 * Smoke test of one model version over OIP v2: server ready, model metadata readable, model ready, a request built
 * from the metadata answered, and each declared output checked for presence, datatype, shape and range. Every check
 * is reported as it is made.
 */
import type {ActionProgress, SmokeCheck, VersionRef} from '../../domain/types.ts';
import {buildInferenceRequest, checkInferenceResponse, parseModelMetadata} from './oip.ts';
import type {ModelMetadata} from './oip.ts';

export interface SmokeTestOptions {
	/** Per-request timeout. Default 10 s. */
	timeoutMs?: number;
	signal?: AbortSignal;
	fetch?: typeof fetch;
}

interface Fetched {
	status: number;
	body: unknown;
	text: string;
	ms: number;
}

async function fetchJson(
	fetchImpl: typeof fetch,
	url: string,
	init: RequestInit,
	timeoutMs: number,
	signal?: AbortSignal,
): Promise<Fetched> {
	const started = performance.now();
	const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
	const response = await fetchImpl(url, {...init, signal: AbortSignal.any(signals)});
	const text = await response.text();
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		body = undefined;
	}

	return {status: response.status, body, text, ms: performance.now() - started};
}

function errorText(error: unknown): string {
	if (error instanceof Error) {
		const cause = (error as {cause?: unknown}).cause;
		return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
	}

	return String(error);
}

function shortBody(fetched: Fetched): string {
	const error = typeof fetched.body === 'object' && fetched.body !== null ? (fetched.body as {error?: unknown}).error : undefined;
	return typeof error === 'string' ? error : fetched.text.slice(0, 120);
}

/** `baseUrl` is the version's server, e.g. `http://fraud-v2.team-a.svc:8080`. */
export async function* smokeTest(target: VersionRef, baseUrl: string, options: SmokeTestOptions = {}): AsyncGenerator<ActionProgress> {
	const fetchImpl = options.fetch ?? fetch;
	const timeoutMs = options.timeoutMs ?? 10_000;
	const base = baseUrl.replace(/\/+$/, '');
	const modelPath = `${base}/v2/models/${encodeURIComponent(target.name)}`;
	const checks: SmokeCheck[] = [];
	const steps = 4;
	const report = (check: SmokeCheck): ActionProgress => {
		checks.push(check);
		return {kind: 'check', check};
	};

	const finish = (): ActionProgress => {
		const failed = checks.filter((check) => !check.ok);
		return failed.length === 0
			? {kind: 'done', message: `smoke test of ${target.version} passed: ${checks.length}/${checks.length} checks`}
			: {
					kind: 'failed',
					message: `smoke test of ${target.version} failed ${failed.length} of ${checks.length} checks: ${failed.map((check) => check.name).join(', ')}`,
				};
	};

	yield {kind: 'progress', fraction: 0, message: `smoke test of ${target.namespace}/${target.name}/${target.version} at ${base}`};
	try {
		const ready = await fetchJson(fetchImpl, `${base}/v2/health/ready`, {}, timeoutMs, options.signal);
		yield report({
			name: 'server ready',
			ok: ready.status === 200,
			detail: ready.status === 200 ? `ready (${Math.round(ready.ms)} ms)` : `HTTP ${ready.status}: ${shortBody(ready)}`,
		});
	} catch (error) {
		yield report({name: 'server ready', ok: false, detail: `cannot reach ${base}: ${errorText(error)}`});
		yield finish();
		return;
	}

	yield {kind: 'progress', fraction: 1 / steps, message: 'reading model metadata'};
	let metadata: ModelMetadata;
	try {
		const fetched = await fetchJson(fetchImpl, modelPath, {}, timeoutMs, options.signal);
		const parsed = fetched.status === 200 ? parseModelMetadata(fetched.body) : `HTTP ${fetched.status}: ${shortBody(fetched)}`;
		if (typeof parsed === 'string') {
			yield report({name: 'model metadata', ok: false, detail: parsed});
			yield finish();
			return;
		}

		metadata = parsed;
		yield report({
			name: 'model metadata',
			ok: true,
			detail: `${metadata.inputs.length} input(s) ${metadata.inputs.map((input) => `${input.name} ${input.datatype}[${input.shape.join(',')}]`).join(', ')}; ${metadata.outputs.length} output(s)`,
		});
	} catch (error) {
		yield report({name: 'model metadata', ok: false, detail: errorText(error)});
		yield finish();
		return;
	}

	try {
		const modelReady = await fetchJson(fetchImpl, `${modelPath}/ready`, {}, timeoutMs, options.signal);
		yield report({
			name: 'model ready',
			ok: modelReady.status === 200,
			detail: modelReady.status === 200 ? 'ready' : `HTTP ${modelReady.status}: ${shortBody(modelReady)}`,
		});
	} catch (error) {
		yield report({name: 'model ready', ok: false, detail: errorText(error)});
	}

	yield {kind: 'progress', fraction: 2 / steps, message: 'sending an inference request built from the metadata'};
	const request = buildInferenceRequest(metadata);
	if (typeof request === 'string') {
		yield report({name: 'request built', ok: false, detail: request});
		yield finish();
		return;
	}

	let answer: Fetched;
	try {
		answer = await fetchJson(
			fetchImpl,
			`${modelPath}/infer`,
			{method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(request)},
			timeoutMs,
			options.signal,
		);
	} catch (error) {
		yield report({name: 'inference answered', ok: false, detail: errorText(error)});
		yield finish();
		return;
	}

	yield report({
		name: 'inference answered',
		ok: answer.status === 200,
		detail: answer.status === 200 ? `HTTP 200 in ${Math.round(answer.ms)} ms` : `HTTP ${answer.status}: ${shortBody(answer)}`,
	});
	if (answer.status === 200) {
		yield {kind: 'progress', fraction: 3 / steps, message: 'checking outputs against the metadata'};
		for (const check of checkInferenceResponse(metadata, answer.body)) yield report(check);
	}

	yield finish();
}
