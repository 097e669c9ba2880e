/**
 * MLflow's Model Registry REST API, the one call the watcher needs: the model version an alias points at
 * (`GET /api/2.0/mlflow/registered-models/alias?name=…&alias=…` → `{model_version: {name, version, tags, run_id}}`).
 * Errors come back as RegistryError with a kind (for metrics) and a message that says what to check.
 */
import type {RegistryModelVersion} from './mapping.ts';

export type RegistryErrorKind = 'unreachable' | 'model-missing' | 'alias-missing' | 'refused' | 'bad-answer';

export class RegistryError extends Error {
	override name = 'RegistryError';
	readonly kind: RegistryErrorKind;
	constructor(kind: RegistryErrorKind, message: string) {
		super(message);
		this.kind = kind;
	}
}

export interface MlflowClientOptions {
	url: string;
	token?: string;
	/** Per request. Default 10 s. */
	timeoutMs?: number;
	fetch?: typeof fetch;
}

export class MlflowClient {
	readonly url: string;
	readonly #token: string | undefined;
	readonly #timeoutMs: number;
	readonly #fetch: typeof fetch;

	constructor(options: MlflowClientOptions) {
		this.url = options.url.replace(/\/+$/, '');
		this.#token = options.token;
		this.#timeoutMs = options.timeoutMs ?? 10_000;
		this.#fetch = options.fetch ?? fetch;
	}

	async #get(path: string, parameters: Record<string, string>): Promise<{status: number; body: Record<string, unknown>}> {
		const url = `${this.url}${path}?${new URLSearchParams(parameters).toString()}`;
		let response: Response;
		try {
			response = await this.#fetch(url, {
				headers: {accept: 'application/json', ...(this.#token ? {authorization: `Bearer ${this.#token}`} : {})},
				signal: AbortSignal.timeout(this.#timeoutMs),
			});
		} catch (error) {
			const cause = (error as {cause?: {code?: string; message?: string}}).cause;
			const why = cause?.code ?? cause?.message ?? (error as Error).message;
			throw new RegistryError('unreachable', `MLflow at ${this.url} cannot be reached (${why}): check mlflow.url and that the server runs`);
		}

		const text = await response.text().catch(() => '');
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			body = undefined;
		}

		if (typeof body !== 'object' || body === null || Array.isArray(body)) {
			if (response.status === 401 || response.status === 403)
				throw new RegistryError('refused', `MLflow at ${this.url} refused the watcher (HTTP ${response.status}): check mlflow.tokenEnv`);
			throw new RegistryError(
				'bad-answer',
				`MLflow at ${this.url} answered ${path} with HTTP ${response.status} and no JSON (${text.slice(0, 80).replaceAll(/\s+/g, ' ')}): is mlflow.url an MLflow server?`,
			);
		}

		return {status: response.status, body: body as Record<string, unknown>};
	}

	/** The model version ALIAS of NAME points at. Throws RegistryError. */
	async aliasVersion(name: string, alias: string): Promise<RegistryModelVersion> {
		const {status, body} = await this.#get('/api/2.0/mlflow/registered-models/alias', {name, alias});
		if (status === 200) return parseModelVersion(body['model_version'], `the alias ${alias} of ${name}`);
		const message = typeof body['message'] === 'string' ? body['message'] : JSON.stringify(body).slice(0, 200);
		if (status === 404 || body['error_code'] === 'RESOURCE_DOES_NOT_EXIST' || body['error_code'] === 'INVALID_PARAMETER_VALUE') {
			// Which is missing: the registered model, or only the alias?
			const model = await this.#get('/api/2.0/mlflow/registered-models/get', {name});
			if (model.status === 200) {
				throw new RegistryError(
					'alias-missing',
					`the registered model ${name} has no alias ${alias} yet (MLflow: ${message}): set it (MlflowClient().set_registered_model_alias("${name}", "${alias}", VERSION)) or fix the alias in the registry settings`,
				);
			}

			throw new RegistryError(
				'model-missing',
				`MLflow at ${this.url} has no registered model ${name} (${message}): register it or fix registeredModel in the registry settings`,
			);
		}

		if (status === 401 || status === 403)
			throw new RegistryError('refused', `MLflow refused the watcher (HTTP ${status}: ${message}): check the token in mlflow.tokenEnv`);
		throw new RegistryError('bad-answer', `MLflow answered HTTP ${status} for the alias ${alias} of ${name}: ${message}`);
	}
}

/** A `model_version` object from MLflow's JSON; throws RegistryError when it is not one. */
export function parseModelVersion(value: unknown, what: string): RegistryModelVersion {
	if (typeof value !== 'object' || value === null || Array.isArray(value))
		throw new RegistryError('bad-answer', `MLflow's answer for ${what} has no model_version object`);
	const record = value as Record<string, unknown>;
	const name = record['name'];
	const version = record['version'];
	if (typeof name !== 'string' || (typeof version !== 'string' && typeof version !== 'number'))
		throw new RegistryError('bad-answer', `MLflow's model_version for ${what} has no name or version`);
	const tags: Record<string, string> = {};
	const given = record['tags'];
	if (Array.isArray(given)) {
		for (const tag of given) {
			if (typeof tag === 'object' && tag !== null && typeof tag.key === 'string' && typeof tag.value === 'string')
				tags[tag.key] = tag.value;
		}
	}

	const runId = record['run_id'];
	return {name, version: String(version), tags, ...(typeof runId === 'string' && runId !== '' ? {runId} : {})};
}
