/**
 * Guard settings per model: defaults, overridden by a settings file (a mounted ConfigMap: JSON or YAML), overridden
 * by the model's own annotations. A model is guarded only when enabled by its annotation
 * (`modeldeck.dev/guard: "true"`) or by the settings file.
 *
 * Annotations (on the model's HTTPRoute/VirtualService/InferenceService or its Deployments; the router wins):
 * `modeldeck.dev/guard` ("true"/"false"), `modeldeck.dev/guard-interval` ("30s", "2m"), `modeldeck.dev/guard-window`
 * ("5m"), `modeldeck.dev/guard-failures` ("3"), `modeldeck.dev/guard-thresholds` (JSON of the console's threshold
 * keys, e.g. `{"p99LatencyMs": 300, "errorRatio": 0.01, "canaryMargin": 0.2}`).
 *
 * File: `{defaults: {intervalSeconds, windowSeconds, consecutiveFailures, enabled}, models: {"ns/name" or "name":
 * {…same}}, thresholds: {defaults: {p99LatencyMs, …}, models: {"ns/name" or "name": {…}}}}`. `thresholds` has the
 * format of the console's settings `thresholds`, so the same block can be pasted into both.
 */
import {parse as parseYaml} from 'yaml';
import {defaultThresholds, thresholdsFor} from '../../domain/thresholds.ts';
import type {ThresholdSettings, Thresholds} from '../../domain/thresholds.ts';
import type {Model} from '../../domain/types.ts';

export interface GuardModelSettings {
	enabled: boolean;
	intervalSeconds: number;
	/** History judged each time. */
	windowSeconds: number;
	consecutiveFailures: number;
	/** The console's thresholds (p99 latency, error ratio, canary margin…): crossing one on the canary is a failure. */
	thresholds: Thresholds;
}

export type GuardTimingSettings = Omit<GuardModelSettings, 'thresholds'>;

export interface GuardSettingsFile {
	defaults?: Partial<GuardTimingSettings>;
	models?: Record<string, Partial<GuardTimingSettings>>;
	thresholds?: ThresholdSettings;
}

export const defaultGuardSettings: GuardModelSettings = {
	enabled: false,
	intervalSeconds: 30,
	windowSeconds: 300,
	consecutiveFailures: 3,
	thresholds: defaultThresholds,
};

export const guardAnnotation = 'modeldeck.dev/guard';
export const guardAnnotations = {
	enabled: guardAnnotation,
	interval: 'modeldeck.dev/guard-interval',
	window: 'modeldeck.dev/guard-window',
	failures: 'modeldeck.dev/guard-failures',
	thresholds: 'modeldeck.dev/guard-thresholds',
} as const;

/** `30`, `30s`, `5m`, `1h` → seconds; undefined when not a duration. */
export function parseDurationSeconds(text: string): number | undefined {
	const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
	if (!match) return undefined;
	const value = Number(match[1]);
	const unit = match[2] ?? 's';
	const seconds = unit === 'ms' ? value / 1000 : unit === 'm' ? value * 60 : unit === 'h' ? value * 3600 : value;
	return seconds > 0 ? seconds : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The console's threshold keys and their allowed ranges (as in the console's settings schema). */
const thresholdRanges: Record<keyof Thresholds, {minimum: number; maximum?: number; meaning: string}> = {
	p99LatencyMs: {minimum: 0, meaning: 'milliseconds, e.g. 300'},
	errorRatio: {minimum: 0, maximum: 1, meaning: 'a ratio from 0 to 1, e.g. 0.02 for 2%'},
	cpuOfLimit: {minimum: 0, meaning: 'a fraction of the CPU limit, e.g. 0.9'},
	memoryOfLimit: {minimum: 0, meaning: 'a fraction of the memory limit, e.g. 0.9'},
	canaryMargin: {minimum: 0, meaning: 'a relative margin, e.g. 0.2 for 20% worse than stable'},
};

const thresholdKeys = Object.keys(thresholdRanges) as (keyof Thresholds)[];

/** Checks a mapping of the console's threshold keys. Throws an Error naming `where` and the key. */
export function parseThresholds(value: unknown, where: string): Partial<Thresholds> {
	if (!isRecord(value)) throw new Error(`${where} must be a mapping of thresholds (${thresholdKeys.join(', ')})`);
	const thresholds: Partial<Thresholds> = {};
	for (const [key, field] of Object.entries(value)) {
		const range = thresholdRanges[key as keyof Thresholds];
		if (!range) throw new Error(`${where}.${key} is not a threshold; the thresholds are ${thresholdKeys.join(', ')}`);
		const within =
			typeof field === 'number' &&
			Number.isFinite(field) &&
			field >= range.minimum &&
			(range.maximum === undefined || field <= range.maximum);
		if (!within) throw new Error(`${where}.${key} must be ${range.meaning}; got ${JSON.stringify(field)}`);
		thresholds[key as keyof Thresholds] = field;
	}

	return thresholds;
}

/** What a model's annotations say, and what was wrong with them (each message names the model and the annotation). */
export function guardAnnotationSettings(model: Pick<Model, 'namespace' | 'name' | 'annotations'>): {
	settings: Partial<GuardTimingSettings>;
	thresholds: Partial<Thresholds>;
	errors: string[];
} {
	const settings: Partial<GuardTimingSettings> = {};
	let thresholds: Partial<Thresholds> = {};
	const errors: string[] = [];
	const annotations = model.annotations;
	if (!annotations) return {settings, thresholds, errors};
	const where = (key: string) => `${model.namespace}/${model.name}: annotation ${key}`;
	const enabled = annotations[guardAnnotations.enabled];
	if (enabled !== undefined) {
		const value = enabled.trim().toLowerCase();
		if (value === 'true' || value === 'false') settings.enabled = value === 'true';
		else errors.push(`${where(guardAnnotations.enabled)} must be "true" or "false"; got ${JSON.stringify(enabled)}`);
	}

	for (const [key, field] of [
		[guardAnnotations.interval, 'intervalSeconds'],
		[guardAnnotations.window, 'windowSeconds'],
	] as const) {
		const text = annotations[key];
		if (text === undefined) continue;
		const seconds = parseDurationSeconds(text);
		if (seconds === undefined) errors.push(`${where(key)} must be a duration such as "30s", "5m" or "1h"; got ${JSON.stringify(text)}`);
		else settings[field] = seconds;
	}

	const failures = annotations[guardAnnotations.failures];
	if (failures !== undefined) {
		const value = Number(failures.trim());
		if (failures.trim() !== '' && Number.isInteger(value) && value >= 1) settings.consecutiveFailures = value;
		else
			errors.push(
				`${where(guardAnnotations.failures)} must be a whole number of failing verdicts, 1 or more; got ${JSON.stringify(failures)}`,
			);
	}

	const thresholdsText = annotations[guardAnnotations.thresholds];
	if (thresholdsText !== undefined) {
		try {
			let parsed: unknown;
			try {
				parsed = JSON.parse(thresholdsText) as unknown;
			} catch {
				throw new Error(`must be JSON such as {"p99LatencyMs": 300, "errorRatio": 0.01}; got ${JSON.stringify(thresholdsText)}`);
			}

			thresholds = parseThresholds(parsed, where(guardAnnotations.thresholds));
		} catch (error) {
			const message = (error as Error).message;
			errors.push(message.startsWith(model.namespace) ? message : `${where(guardAnnotations.thresholds)} ${message}`);
		}
	}

	return {settings, thresholds, errors};
}

/**
 * A model's settings, and what was wrong with its annotations. A bad annotation is reported and ignored: that key
 * keeps the value of the settings file or the defaults, so a typo never turns the guard off.
 */
export function resolveGuardSettings(model: Model, file: GuardSettingsFile = {}): {settings: GuardModelSettings; errors: string[]} {
	const fromAnnotations = guardAnnotationSettings(model);
	const settings: GuardModelSettings = {
		...defaultGuardSettings,
		...file.defaults,
		...file.models?.[model.name],
		...file.models?.[`${model.namespace}/${model.name}`],
		...fromAnnotations.settings,
		thresholds: {...thresholdsFor(model, file.thresholds), ...fromAnnotations.thresholds},
	};
	return {settings, errors: fromAnnotations.errors};
}

export function guardSettingsFor(model: Model, file: GuardSettingsFile = {}): GuardModelSettings {
	return resolveGuardSettings(model, file).settings;
}

const timingKeys = ['enabled', 'intervalSeconds', 'windowSeconds', 'consecutiveFailures'] as const;

function parseEntry(value: unknown, where: string): Partial<GuardTimingSettings> {
	if (!isRecord(value)) throw new Error(`${where} must be a mapping of ${timingKeys.join(', ')}`);
	const entry: Partial<GuardTimingSettings> = {};
	for (const key of Object.keys(value)) {
		if (key === 'thresholds') {
			throw new Error(
				`${where}.thresholds: thresholds go in the top-level "thresholds" block ({defaults: {…}, models: {"namespace/name": {…}}}), as in the console's settings`,
			);
		}

		if (!(timingKeys as readonly string[]).includes(key))
			throw new Error(`${where}.${key} is not a guard setting; the settings are ${timingKeys.join(', ')}`);
	}

	if (value['enabled'] !== undefined) {
		if (typeof value['enabled'] !== 'boolean')
			throw new Error(`${where}.enabled must be true or false; got ${JSON.stringify(value['enabled'])}`);
		entry.enabled = value['enabled'];
	}

	for (const key of ['intervalSeconds', 'windowSeconds', 'consecutiveFailures'] as const) {
		const field = value[key];
		if (field === undefined) continue;
		if (typeof field !== 'number' || !(field > 0) || !Number.isFinite(field))
			throw new Error(`${where}.${key} must be a positive number; got ${JSON.stringify(field)}`);
		if (key === 'consecutiveFailures' && !Number.isInteger(field)) throw new Error(`${where}.${key} must be a whole number; got ${field}`);
		entry[key] = field;
	}

	return entry;
}

/** Reads a settings file's text (JSON or YAML). Throws an Error saying what is wrong, naming the model and the key. */
export function parseGuardSettingsFile(text: string): GuardSettingsFile {
	let parsed: unknown;
	try {
		parsed = parseYaml(text);
	} catch (error) {
		throw new Error(`guard settings are not valid YAML or JSON: ${(error as Error).message}`);
	}

	if (parsed === null || parsed === undefined) return {};
	if (!isRecord(parsed)) throw new Error('guard settings must be a mapping with "defaults", "models" and/or "thresholds"');
	for (const key of Object.keys(parsed)) {
		if (key !== 'defaults' && key !== 'models' && key !== 'thresholds') {
			throw new Error(`"${key}" is not a guard settings key; use "defaults", "models" and/or "thresholds"`);
		}
	}

	const file: GuardSettingsFile = {};
	if (parsed['defaults'] !== undefined) file.defaults = parseEntry(parsed['defaults'], 'defaults');
	if (parsed['models'] !== undefined) {
		if (!isRecord(parsed['models'])) throw new Error('models must be a mapping of "namespace/name" to settings');
		file.models = Object.fromEntries(Object.entries(parsed['models']).map(([key, value]) => [key, parseEntry(value, `models["${key}"]`)]));
	}

	const thresholds = parsed['thresholds'];
	if (thresholds !== undefined) {
		if (!isRecord(thresholds))
			throw new Error('thresholds must be a mapping with "defaults" and/or "models", as in the console\'s settings');
		const parsedThresholds: ThresholdSettings = {};
		for (const key of Object.keys(thresholds)) {
			if (key !== 'defaults' && key !== 'models')
				throw new Error(`thresholds.${key} is not allowed; thresholds has "defaults" and/or "models", as in the console's settings`);
		}

		if (thresholds['defaults'] !== undefined) parsedThresholds.defaults = parseThresholds(thresholds['defaults'], 'thresholds.defaults');
		if (thresholds['models'] !== undefined) {
			if (!isRecord(thresholds['models'])) throw new Error('thresholds.models must be a mapping of "namespace/name" to thresholds');
			parsedThresholds.models = Object.fromEntries(
				Object.entries(thresholds['models']).map(([key, value]) => [key, parseThresholds(value, `thresholds.models["${key}"]`)]),
			);
		}

		file.thresholds = parsedThresholds;
	}

	return file;
}
