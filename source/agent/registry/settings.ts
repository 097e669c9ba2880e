/**
 * The registry watcher's settings (`--registry-config FILE`, JSON or YAML, e.g. a mounted ConfigMap): which MLflow
 * server, which registered models and aliases to follow, the modeldeck model each one deploys to, how the image and
 * the version name come from the model version, and the rollout's steps and pause. See docs/registry.md.
 *
 * ```yaml
 * mlflow:
 *   url: http://mlflow.mlflow.svc:5000
 *   pollSeconds: 30                       # 0: no polling, webhooks only
 *   tokenEnv: MLFLOW_TRACKING_TOKEN       # optional: a bearer token for MLflow, read from this variable
 *   webhookSecretEnv: MODELDECK_MLFLOW_WEBHOOK_SECRET   # the secret of MLflow's webhook signature
 * defaults: {steps: [5, 25, 50, 100], pause: 2m, readyTimeout: 5m, maxHolds: 2}
 * follow:
 *   - registeredModel: fraud-detector
 *     alias: champion
 *     model: team-a/fraud
 *     image: "registry.example/fraud:{version}"   # default "{tag.image}": the model version's tag `image`
 *     version: "v{version}"                       # the default
 * ```
 */
import {readFileSync} from 'node:fs';
import {parse as parseYaml} from 'yaml';
import {defaultDeliverySteps, parseSteps} from '../../domain/delivery.ts';
import type {ModelRef} from '../../domain/types.ts';
import {parseDurationSeconds} from '../guard/settings.ts';

export interface RolloutDefaults {
	steps: number[];
	pauseSeconds: number;
	readyTimeoutSeconds: number;
	maxHolds: number;
}

export interface FollowedAlias extends RolloutDefaults {
	/** The registered model's name in MLflow. */
	registeredModel: string;
	alias: string;
	/** The modeldeck model it deploys to. */
	model: ModelRef;
	/** Template of the image: `{version}`, `{name}`, `{alias}`, `{run_id}`, `{tag.KEY}`. */
	image: string;
	/** Template of the new version's name (its `app.kubernetes.io/version`), same placeholders. */
	version: string;
}

export interface RegistrySettings {
	mlflow: {
		/** Base URL of the MLflow tracking server, without a trailing slash. */
		url: string;
		/** Seconds between polls; 0: none (webhooks only). */
		pollSeconds: number;
		/** Name of the environment variable holding a bearer token for MLflow. */
		tokenEnv?: string;
		/** Name of the environment variable holding the webhook secret. */
		webhookSecretEnv?: string;
	};
	follow: FollowedAlias[];
}

export const defaultRollout: RolloutDefaults = {
	steps: [...defaultDeliverySteps],
	pauseSeconds: 120,
	readyTimeoutSeconds: 300,
	maxHolds: 2,
};

export const defaultImageTemplate = '{tag.image}';
export const defaultVersionTemplate = 'v{version}';
export const defaultPollSeconds = 30;

const placeholder = /\{([^{}]*)\}/g;
const plainPlaceholders = new Set(['version', 'name', 'alias', 'run_id']);

/** The problems of a template (unknown placeholders, unbalanced braces), each saying how to fix it. */
export function templateProblems(template: string, where: string): string[] {
	const problems: string[] = [];
	for (const match of template.matchAll(placeholder)) {
		const name = match[1]!;
		if (plainPlaceholders.has(name)) continue;
		if (/^tag\.[^\s{}]+$/.test(name)) continue;
		problems.push(`${where}: unknown placeholder {${name}}; use {version}, {name}, {alias}, {run_id} or {tag.KEY}`);
	}

	const rest = template.replaceAll(placeholder, '');
	if (/[{}]/.test(rest)) problems.push(`${where}: "${template}" has a "{" or "}" that does not close a placeholder`);
	return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, known: readonly string[], where: string, problems: string[]): void {
	for (const key of Object.keys(value)) {
		if (!known.includes(key)) problems.push(`${where}: unknown key "${key.slice(0, 40)}"; expected ${known.join(', ')}`);
	}
}

function durationSeconds(value: unknown, where: string, problems: string[]): number | undefined {
	if (value === undefined) return undefined;
	const seconds = typeof value === 'number' ? value : typeof value === 'string' ? parseDurationSeconds(value) : undefined;
	if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
		problems.push(`${where}: ${JSON.stringify(value)?.slice(0, 40)} is not a duration; write seconds or e.g. 30s, 2m, 1h`);
		return undefined;
	}

	return seconds;
}

function rolloutOverrides(value: Record<string, unknown>, base: RolloutDefaults, where: string, problems: string[]): RolloutDefaults {
	const result = {...base, steps: [...base.steps]};
	const steps = value['steps'];
	if (steps !== undefined) {
		if (typeof steps === 'string') {
			try {
				result.steps = parseSteps(steps);
			} catch (error) {
				problems.push(`${where}.steps: ${(error as Error).message}`);
			}
		} else if (Array.isArray(steps) && steps.every((step) => typeof step === 'number')) {
			result.steps = steps as number[];
		} else {
			problems.push(`${where}.steps: give weights as a list or a string, e.g. [5, 25, 50, 100] or "5,25,50,100"`);
		}

		for (const [index, step] of result.steps.entries()) {
			if (!Number.isInteger(step) || step < 1 || step > 100)
				problems.push(`${where}.steps: step ${index + 1} (${step}) is not a weight: use whole numbers from 1 to 100`);
			else if (index > 0 && step <= result.steps[index - 1]!)
				problems.push(`${where}.steps: steps must go up: ${result.steps[index - 1]} then ${step}`);
		}

		if (result.steps.length === 0) problems.push(`${where}.steps: no steps; give weights such as 5,25,50,100`);
	}

	const pause = durationSeconds(value['pause'], `${where}.pause`, problems);
	if (pause !== undefined) result.pauseSeconds = pause;
	const ready = durationSeconds(value['readyTimeout'], `${where}.readyTimeout`, problems);
	if (ready !== undefined) {
		if (ready <= 0) problems.push(`${where}.readyTimeout: must be more than 0 seconds`);
		else result.readyTimeoutSeconds = ready;
	}

	const holds = value['maxHolds'];
	if (holds !== undefined) {
		if (typeof holds === 'number' && Number.isInteger(holds) && holds >= 0) result.maxHolds = holds;
		else problems.push(`${where}.maxHolds: must be a whole number, 0 or more`);
	}

	return result;
}

const rolloutKeys = ['steps', 'pause', 'readyTimeout', 'maxHolds'] as const;
const nameLike = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function text(value: unknown, where: string, problems: string[], example: string): string | undefined {
	if (typeof value === 'string' && value.trim() !== '') return value.trim();
	problems.push(`${where}: ${value === undefined ? 'missing' : 'must be a non-empty string'}; e.g. ${example}`);
	return undefined;
}

/** Settings from parsed JSON/YAML; throws an Error listing every problem, each saying how to fix it. */
export function parseRegistrySettings(value: unknown): RegistrySettings {
	const problems: string[] = [];
	if (!isRecord(value)) throw new Error('registry settings must be a mapping with "mlflow" and "follow" (see docs/registry.md)');
	unknownKeys(value, ['mlflow', 'defaults', 'follow'], 'registry settings', problems);

	const mlflow = value['mlflow'];
	let url = '';
	let pollSeconds = defaultPollSeconds;
	let tokenEnv: string | undefined;
	let webhookSecretEnv: string | undefined;
	if (isRecord(mlflow)) {
		unknownKeys(mlflow, ['url', 'pollSeconds', 'tokenEnv', 'webhookSecretEnv'], 'mlflow', problems);
		const given = text(mlflow['url'], 'mlflow.url', problems, 'http://mlflow.mlflow.svc:5000');
		if (given !== undefined) {
			let parsed: URL | undefined;
			try {
				parsed = new URL(given);
			} catch {
				// Reported below.
			}

			if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
				problems.push(`mlflow.url: "${given.slice(0, 80)}" is not an http(s) URL; e.g. http://mlflow.mlflow.svc:5000`);
			else url = given.replace(/\/+$/, '');
		}

		const poll = durationSeconds(mlflow['pollSeconds'], 'mlflow.pollSeconds', problems);
		if (poll !== undefined) pollSeconds = poll;
		for (const key of ['tokenEnv', 'webhookSecretEnv'] as const) {
			const name = mlflow[key];
			if (name === undefined) continue;
			if (typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
				if (key === 'tokenEnv') tokenEnv = name;
				else webhookSecretEnv = name;
			} else problems.push(`mlflow.${key}: must name an environment variable, e.g. MLFLOW_TRACKING_TOKEN`);
		}
	} else {
		problems.push('mlflow: missing or not a mapping; give at least mlflow.url, e.g. {url: http://mlflow.mlflow.svc:5000}');
	}

	const defaults = value['defaults'];
	let base = defaultRollout;
	if (defaults !== undefined) {
		if (isRecord(defaults)) {
			unknownKeys(defaults, rolloutKeys, 'defaults', problems);
			base = rolloutOverrides(defaults, defaultRollout, 'defaults', problems);
		} else problems.push('defaults: must be a mapping of steps, pause, readyTimeout, maxHolds');
	}

	const follow: FollowedAlias[] = [];
	const entries = value['follow'];
	if (!Array.isArray(entries) || entries.length === 0) {
		problems.push(
			'follow: give a list of aliases to follow, e.g. [{registeredModel: fraud-detector, alias: champion, model: team-a/fraud}]',
		);
	} else {
		const seen = new Set<string>();
		for (const [index, entry] of entries.entries()) {
			const where = `follow[${index}]`;
			if (!isRecord(entry)) {
				problems.push(`${where}: must be a mapping with registeredModel, alias and model`);
				continue;
			}

			unknownKeys(entry, ['registeredModel', 'alias', 'model', 'image', 'version', ...rolloutKeys], where, problems);
			const registeredModel = text(entry['registeredModel'], `${where}.registeredModel`, problems, 'fraud-detector');
			const alias = text(entry['alias'], `${where}.alias`, problems, 'champion');
			const modelText = text(entry['model'], `${where}.model`, problems, 'team-a/fraud');
			let model: ModelRef | undefined;
			if (modelText !== undefined) {
				const [namespace, name, ...extra] = modelText.split('/');
				if (extra.length === 0 && namespace && name && nameLike.test(namespace) && nameLike.test(name)) model = {namespace, name};
				else problems.push(`${where}.model: "${modelText.slice(0, 80)}" is not NAMESPACE/NAME; e.g. team-a/fraud`);
			}

			const image = entry['image'] === undefined ? defaultImageTemplate : text(entry['image'], `${where}.image`, problems, '"{tag.image}"');
			const version =
				entry['version'] === undefined ? defaultVersionTemplate : text(entry['version'], `${where}.version`, problems, '"v{version}"');
			if (image !== undefined) problems.push(...templateProblems(image, `${where}.image`));
			if (version !== undefined) problems.push(...templateProblems(version, `${where}.version`));
			const rollout = rolloutOverrides(entry, base, where, problems);
			if (registeredModel && alias && model && image && version) {
				const key = `${registeredModel}@${alias}`;
				if (seen.has(key)) problems.push(`${where}: ${key} is followed twice; keep one entry per registered model and alias`);
				seen.add(key);
				follow.push({registeredModel, alias, model, image, version, ...rollout});
			}
		}
	}

	if (problems.length > 0) throw new Error(problems.join('; '));
	return {mlflow: {url, pollSeconds, ...(tokenEnv ? {tokenEnv} : {}), ...(webhookSecretEnv ? {webhookSecretEnv} : {})}, follow};
}

/** Settings from the text of a JSON or YAML file; throws an Error saying what is wrong. */
export function parseRegistrySettingsText(source: string): RegistrySettings {
	let value: unknown;
	try {
		value = parseYaml(source, {maxAliasCount: 100});
	} catch (error) {
		throw new Error(`registry settings are not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
	}

	return parseRegistrySettings(value);
}

/** Settings from a file (`--registry-config FILE`); throws an Error naming the file and what is wrong. */
export function readRegistrySettingsFile(file: string): RegistrySettings {
	let source: string;
	try {
		source = readFileSync(file, 'utf8');
	} catch (error) {
		throw new Error(`registry settings ${file} cannot be read: ${(error as Error).message}`);
	}

	try {
		return parseRegistrySettingsText(source);
	} catch (error) {
		throw new Error(`registry settings ${file}: ${(error as Error).message}`);
	}
}
