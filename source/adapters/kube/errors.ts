/**
 * Errors from the API server said for people: what failed and how to fix it. `describeKubeError` is pure so that
 * every case is unit-tested with the shapes the API server and the HTTP stack really produce.
 */
import {ConflictError, ForbiddenError} from '../../domain/ports.ts';

/** An answer from the API server that was not 2xx, with its `Status` object when it sent one. */
export class KubeApiError extends Error {
	override name = 'KubeApiError';
	readonly status: number;
	/** `Status.reason`, e.g. `Forbidden`, `Conflict`, `NotFound`. */
	readonly reason: string | undefined;
	/** `Status.message` as the API server wrote it. */
	readonly apiMessage: string | undefined;
	/** The answer's body as sent (a `Status` object in JSON, usually). */
	readonly body: unknown;

	constructor(status: number, body: unknown, method: string, path: string) {
		const parsed = parseStatus(body);
		super(`${method} ${path}: HTTP ${status}${parsed.message ? `: ${parsed.message}` : ''}`);
		this.status = status;
		this.reason = parsed.reason;
		this.apiMessage = parsed.message;
		this.body = body;
	}
}

export interface KubeErrorContext {
	/** Kubernetes verb: `get`, `list`, `watch`, `patch`, … */
	verb: string;
	/** Plural resource, e.g. `httproutes`, `deployments`. */
	resource: string;
	/** Object name when one object was addressed. */
	name?: string;
	/** Undefined means all namespaces (cluster scope). */
	namespace?: string;
	/** API server URL. */
	server?: string;
	/** The kubeconfig user or context, for messages when the API server does not name the user. */
	user?: string;
}

const networkCauses: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'DNS lookup failed',
	ETIMEDOUT: 'connection timed out',
	EHOSTUNREACH: 'host unreachable',
	ENETUNREACH: 'network unreachable',
	EPIPE: 'connection closed',
	UND_ERR_SOCKET: 'connection closed',
	UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
	UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
};

const tlsCauses = new Set([
	'DEPTH_ZERO_SELF_SIGNED_CERT',
	'SELF_SIGNED_CERT_IN_CHAIN',
	'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
	'CERT_HAS_EXPIRED',
	'ERR_TLS_CERT_ALTNAME_INVALID',
	'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The HTTP status of an error from any layer (our client, client-node's Watch, its generated API). */
export function statusOf(error: unknown): number | undefined {
	if (!error || typeof error !== 'object') return undefined;
	const candidate = error as {status?: unknown; statusCode?: unknown; code?: unknown};
	for (const value of [candidate.status, candidate.statusCode, candidate.code]) {
		if (typeof value === 'number' && value >= 100 && value < 600) return value;
	}

	return undefined;
}

/** The errno-style code (`ECONNREFUSED`, …) anywhere in the cause chain. */
export function networkCodeOf(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
		const code = (current as {code?: unknown}).code;
		if (typeof code === 'string' && code.length > 0) return code;
		current = (current as {cause?: unknown}).cause;
	}

	return undefined;
}

function isTimeout(error: unknown): boolean {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
		const {name, code} = current as {name?: unknown; code?: unknown};
		if (name === 'TimeoutError' || name === 'AbortError' || code === 'ABORT_ERR') return true;
		current = (current as {cause?: unknown}).cause;
	}

	return false;
}

function apiMessageOf(error: unknown): string | undefined {
	if (error instanceof KubeApiError) return error.apiMessage;
	const body = (error as {body?: unknown} | undefined)?.body;
	return parseStatus(body).message;
}

function parseStatus(body: unknown): {message?: string; reason?: string} {
	let value = body;
	if (typeof body === 'string') {
		try {
			value = JSON.parse(body);
		} catch {
			return body.trim() ? {message: body.trim().slice(0, 500)} : {};
		}
	}

	if (!value || typeof value !== 'object') return {};
	const status = value as {message?: unknown; reason?: unknown};
	const result: {message?: string; reason?: string} = {};
	if (typeof status.message === 'string') result.message = status.message;
	if (typeof status.reason === 'string') result.reason = status.reason;
	return result;
}

/** What the API server answers (HTTP 422) when a JSON Patch cannot be applied, a failed `test` op included. */
const patchNotApplicable = 'the server rejected our request due to an error in our request';

/**
 * A JSON Patch that no longer applies: a `test` op failed, or a path it names is gone — the object changed since it
 * was read. The API server says only "rejected … due to an error in our request" (422, no causes); a validation
 * error (422 too) names its causes.
 */
export function isPatchTestFailure(error: unknown): boolean {
	if (statusOf(error) !== 422) return false;
	const message = apiMessageOf(error) ?? (error instanceof Error ? error.message : '');
	if (/test (operation|failed)|testing value|unable to test/i.test(message)) return true;
	return message === patchNotApplicable && !hasCauses(error);
}

function hasCauses(error: unknown): boolean {
	let body = (error as {body?: unknown} | undefined)?.body;
	if (typeof body === 'string') {
		try {
			body = JSON.parse(body);
		} catch {
			return false;
		}
	}

	const causes = (body as {details?: {causes?: unknown}} | undefined)?.details?.causes;
	return Array.isArray(causes) && causes.length > 0;
}

export function isConflict(error: unknown): boolean {
	return statusOf(error) === 409 || isPatchTestFailure(error);
}

function where(context: KubeErrorContext): string {
	return context.namespace ? `in namespace ${context.namespace}` : 'in all namespaces';
}

function target(context: KubeErrorContext): string {
	return context.name ? `${context.resource}/${context.name}` : context.resource;
}

/** One sentence for people: what failed and, where known, what to do about it. */
export function describeKubeError(error: unknown, context: KubeErrorContext): string {
	const server = context.server ?? 'the API server';
	const status = statusOf(error);
	const apiMessage = apiMessageOf(error);
	if (status === 401) {
		return `token expired or invalid for ${server}${context.user ? ` (user ${context.user})` : ''}; re-login or refresh the kubeconfig credentials`;
	}

	if (status === 403) {
		const user = /User "([^"]+)"/.exec(apiMessage ?? '')?.[1] ?? context.user ?? 'you';
		const scope = context.namespace ? `in namespace ${context.namespace}` : 'at cluster scope (all namespaces)';
		const hint = context.namespace
			? `ask a cluster admin for a Role granting ${context.verb} on ${context.resource} in ${context.namespace}`
			: `pick one namespace with -n, or ask for a ClusterRole granting ${context.verb} on ${context.resource}`;
		return `forbidden: user ${user} cannot ${context.verb} ${context.resource} ${scope} (${hint})`;
	}

	if (status === 404) {
		if (context.name) return `${target(context)} not found ${where(context)}; it may have been deleted — refresh`;
		return `${server} does not serve ${context.resource} (is its CRD installed?)`;
	}

	if (status === 409 || isPatchTestFailure(error)) {
		return `${target(context)} changed since it was read; refresh and try again`;
	}

	if (status === 422 || status === 400) {
		return `${server} refused to ${context.verb} ${target(context)}: ${apiMessage ?? 'invalid request'}`;
	}

	if (status === 429 || (status !== undefined && status >= 500)) {
		return `${server} answered ${status} to ${context.verb} ${target(context)}${apiMessage ? `: ${apiMessage}` : ''}; try again shortly`;
	}

	if (status !== undefined) {
		return `${context.verb} ${target(context)} ${where(context)} failed with HTTP ${status}${apiMessage ? `: ${apiMessage}` : ''}`;
	}

	if (isTimeout(error)) {
		return `the API server at ${server} did not answer in time; is it overloaded or unreachable?`;
	}

	const code = networkCodeOf(error);
	if (code && tlsCauses.has(code)) {
		return `TLS failure talking to ${server}: ${code}; check the certificate-authority of the cluster in the kubeconfig`;
	}

	if (code && networkCauses[code]) {
		return `cannot reach the API server at ${server}: ${networkCauses[code]} (${code}); is the cluster running and is this the right context?`;
	}

	const message = error instanceof Error ? error.message : String(error);
	return `${context.verb} ${target(context)} ${where(context)} failed: ${message}`;
}

/** The error an action throws: typed for conflicts and refusals so callers can tell them apart. */
export function actionError(error: unknown, context: KubeErrorContext): Error {
	if (error instanceof ConflictError || error instanceof ForbiddenError) return error;
	const message = describeKubeError(error, context);
	if (statusOf(error) === 403) return new ForbiddenError(message);
	if (isConflict(error)) return new ConflictError(message);
	return new Error(message, {cause: error});
}
