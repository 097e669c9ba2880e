/**
 * Guard settings per model: defaults, overridden by a settings file (a mounted ConfigMap: JSON or YAML), overridden
 * by the model's own annotations. A model is guarded only when enabled by its annotation
 * (`modeldeck.dev/guard: "true"`) or by the settings file.
 *
 * Annotations: `modeldeck.dev/guard` ("true"/"false"), `modeldeck.dev/guard-interval` ("30s", "2m"),
 * `modeldeck.dev/guard-window` ("5m"), `modeldeck.dev/guard-failures` ("3").
 *
 * File: `{defaults: {intervalSeconds, windowSeconds, consecutiveFailures, enabled}, models: {"ns/name" or "name":
 * {…same}}}`.
 */
import {parse as parseYaml} from 'yaml';
import type {Model} from '../../domain/types.ts';

export interface GuardModelSettings {
	enabled: boolean;
	intervalSeconds: number;
	/** History judged each time. */
	windowSeconds: number;
	consecutiveFailures: number;
}

export interface GuardSettingsFile {
	defaults?: Partial<GuardModelSettings>;
	models?: Record<string, Partial<GuardModelSettings>>;
}

export const defaultGuardSettings: GuardModelSettings = {
	enabled: false,
	intervalSeconds: 30,
	windowSeconds: 300,
	consecutiveFailures: 3,
};

export const guardAnnotation = 'modeldeck.dev/guard';

/** `30`, `30s`, `5m`, `1h` → seconds; undefined when not a duration. */
export function parseDurationSeconds(text: string): number | undefined {
	const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
	if (!match) return undefined;
	const value = Number(match[1]);
	const unit = match[2] ?? 's';
	const seconds = unit === 'ms' ? value / 1000 : unit === 'm' ? value * 60 : unit === 'h' ? value * 3600 : value;
	return seconds > 0 ? seconds : undefined;
}

function fromAnnotations(annotations: Record<string, string> | undefined): Partial<GuardModelSettings> {
	if (!annotations) return {};
	const settings: Partial<GuardModelSettings> = {};
	const enabled = annotations[guardAnnotation];
	if (enabled !== undefined) settings.enabled = enabled.trim().toLowerCase() === 'true';
	const interval = annotations['modeldeck.dev/guard-interval'];
	const intervalSeconds = interval === undefined ? undefined : parseDurationSeconds(interval);
	if (intervalSeconds !== undefined) settings.intervalSeconds = intervalSeconds;
	const window = annotations['modeldeck.dev/guard-window'];
	const windowSeconds = window === undefined ? undefined : parseDurationSeconds(window);
	if (windowSeconds !== undefined) settings.windowSeconds = windowSeconds;
	const failures = Number(annotations['modeldeck.dev/guard-failures']);
	if (Number.isInteger(failures) && failures >= 1) settings.consecutiveFailures = failures;
	return settings;
}

export function guardSettingsFor(model: Model, file: GuardSettingsFile = {}): GuardModelSettings {
	return {
		...defaultGuardSettings,
		...file.defaults,
		...file.models?.[model.name],
		...file.models?.[`${model.namespace}/${model.name}`],
		...fromAnnotations(model.annotations),
	};
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseEntry(value: unknown, where: string): Partial<GuardModelSettings> {
	if (!isRecord(value)) throw new Error(`${where} must be a mapping`);
	const entry: Partial<GuardModelSettings> = {};
	if (value['enabled'] !== undefined) {
		if (typeof value['enabled'] !== 'boolean') throw new Error(`${where}.enabled must be true or false`);
		entry.enabled = value['enabled'];
	}

	for (const key of ['intervalSeconds', 'windowSeconds', 'consecutiveFailures'] as const) {
		const field = value[key];
		if (field === undefined) continue;
		if (typeof field !== 'number' || !(field > 0)) throw new Error(`${where}.${key} must be a positive number`);
		entry[key] = key === 'consecutiveFailures' ? Math.round(field) : field;
	}

	return entry;
}

/** Reads a settings file's text (JSON or YAML). Throws an Error saying what is wrong. */
export function parseGuardSettingsFile(text: string): GuardSettingsFile {
	let parsed: unknown;
	try {
		parsed = parseYaml(text);
	} catch (error) {
		throw new Error(`guard settings are not valid YAML or JSON: ${(error as Error).message}`);
	}

	if (parsed === null || parsed === undefined) return {};
	if (!isRecord(parsed)) throw new Error('guard settings must be a mapping with "defaults" and/or "models"');
	const file: GuardSettingsFile = {};
	if (parsed['defaults'] !== undefined) file.defaults = parseEntry(parsed['defaults'], 'defaults');
	if (parsed['models'] !== undefined) {
		if (!isRecord(parsed['models'])) throw new Error('models must be a mapping of "namespace/name" to settings');
		file.models = Object.fromEntries(Object.entries(parsed['models']).map(([key, value]) => [key, parseEntry(value, `models.${key}`)]));
	}

	return file;
}
