/**
 * Settings from a JSON file at the XDG config path, checked against a schema at every level. A broken file is
 * reported with its path and, for each problem, the line, column and key; it is never replaced or rewritten.
 */
import {existsSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import envPaths from 'env-paths';
import {closest} from '../cli-flags.ts';
import type {ThresholdSettings} from '../domain/thresholds.ts';
import {parseWeight} from '../domain/weights.ts';
import {type JsonNode, JsonTextError, lineColumn, parseJsonText, plainValue} from './json-text.ts';

export interface ContextSettings {
	/** Prometheus base URL for this context, e.g. `http://prometheus.monitoring:9090`. */
	prometheusUrl?: string;
	/** Reach Prometheus through the API server's service proxy: `namespace/service:port`. */
	prometheusService?: string;
	/** Remove every dangerous command for this context. */
	readOnly?: boolean;
}

export interface Settings {
	/** Seconds between metric refreshes. Default 2. */
	refreshSeconds: number;
	/** Canary weight step for `+`/`-`. Default 10. */
	weightStep: number;
	/** Default Prometheus URL when a context has none. */
	prometheusUrl?: string;
	/** Remove every dangerous command, in every context (as --read-only does). */
	readOnly?: boolean;
	/** Global and per-model thresholds. */
	thresholds: ThresholdSettings;
	/** Key overrides: command id → keys, e.g. `{"canary.promote": ["P"]}`. */
	keys: Record<string, string[]>;
	/** Per-context overrides keyed by kubeconfig context name. */
	contexts: Record<string, ContextSettings>;
	/** Keep the old stable running (scaled as it was) after a promote. Default false (scaled to zero). */
	promoteKeepsOldStable: boolean;
	/** Custom PromQL profiles: runtime → metric → template with `{selector}` and `{window}`. */
	profiles: Record<string, Record<string, string>>;
	/** What `t` asks the agent for: requests/s per version, measured seconds, warm-up seconds. */
	loadTest: LoadTestSettings;
}

export interface LoadTestSettings {
	rps: number;
	durationSeconds: number;
	warmupSeconds: number;
}

export const defaultSettings: Settings = {
	refreshSeconds: 2,
	weightStep: 10,
	thresholds: {},
	keys: {},
	contexts: {},
	promoteKeepsOldStable: false,
	profiles: {},
	loadTest: {rps: 50, durationSeconds: 30, warmupSeconds: 5},
};

/** A settings value's expected shape: objects are closed (every key is known), maps take any key. */
type Rule =
	| {kind: 'object'; properties: Record<string, Rule>}
	| {kind: 'map'; values: Rule}
	| {kind: 'number'; minimum: number; maximum: number; exclusiveMinimum?: boolean; unit?: string}
	| {kind: 'weight'; minimum: number}
	| {kind: 'string'; pattern?: RegExp; example?: string}
	| {kind: 'boolean'}
	| {kind: 'list'; items: Rule};

const ratio = (maximum: number): Rule => ({kind: 'number', minimum: 0, maximum});
const thresholdRule: Rule = {
	kind: 'object',
	properties: {
		p99LatencyMs: ratio(Number.MAX_SAFE_INTEGER),
		errorRatio: ratio(1),
		cpuOfLimit: ratio(Number.MAX_SAFE_INTEGER),
		memoryOfLimit: ratio(Number.MAX_SAFE_INTEGER),
		canaryMargin: ratio(Number.MAX_SAFE_INTEGER),
	},
};
const url: Rule = {kind: 'string', pattern: /^https?:\/\/\S+$/, example: 'http://prometheus.monitoring:9090'};

/** The settings file's schema: every level is checked, every key must be known. */
export const settingsSchema: Rule = {
	kind: 'object',
	properties: {
		refreshSeconds: {kind: 'number', minimum: 0.5, maximum: 3600, unit: 'seconds'},
		weightStep: {kind: 'weight', minimum: 1},
		prometheusUrl: url,
		readOnly: {kind: 'boolean'},
		thresholds: {kind: 'object', properties: {defaults: thresholdRule, models: {kind: 'map', values: thresholdRule}}},
		keys: {kind: 'map', values: {kind: 'list', items: {kind: 'string', pattern: /^.+$/su, example: 'P'}}},
		contexts: {
			kind: 'map',
			values: {
				kind: 'object',
				properties: {
					prometheusUrl: url,
					prometheusService: {kind: 'string', pattern: /^[a-z0-9-]+\/[a-z0-9-]+:[0-9a-z-]+$/, example: 'monitoring/prometheus:9090'},
					readOnly: {kind: 'boolean'},
				},
			},
		},
		promoteKeepsOldStable: {kind: 'boolean'},
		profiles: {kind: 'map', values: {kind: 'map', values: {kind: 'string'}}},
		loadTest: {
			kind: 'object',
			properties: {
				rps: {kind: 'number', minimum: 0, maximum: 100_000, exclusiveMinimum: true},
				durationSeconds: {kind: 'number', minimum: 1, maximum: 3600, unit: 'seconds'},
				warmupSeconds: {kind: 'number', minimum: 0, maximum: 600, unit: 'seconds'},
			},
		},
	},
};

export class SettingsError extends Error {
	override name = 'SettingsError';
	readonly path: string;
	constructor(message: string, path: string) {
		super(message);
		this.path = path;
	}
}

export interface LoadedSettings {
	settings: Settings;
	path: string;
}

/** The directory of the settings file: `MODELDECK_CONFIG_DIR` (tests), else the XDG config directory. */
function settingsDirectory(): string {
	return process.env['MODELDECK_CONFIG_DIR'] ?? envPaths('modeldeck', {suffix: ''}).config;
}

/** Where the settings file lives. */
export function settingsPath(): string {
	return path.join(settingsDirectory(), 'config.json');
}

function kindOf(node: JsonNode): string {
	if (node.kind === 'object') return 'an object';
	if (node.kind === 'array') return 'a list';
	if (node.kind === 'null') return 'null';
	if (node.kind === 'string') return `the string ${JSON.stringify(node.value.length > 40 ? `${node.value.slice(0, 40)}…` : node.value)}`;
	return String(node.value);
}

interface Problem {
	offset: number;
	message: string;
}

/** Every problem of a value against its rule, each at the offset of the key or value concerned. */
function check(node: JsonNode, rule: Rule, where: string[], problems: Problem[]): void {
	const name = where.length === 0 ? 'the settings file' : where.join('/');
	const wrong = (expected: string) => problems.push({offset: node.offset, message: `${name} must be ${expected} (got ${kindOf(node)})`});
	switch (rule.kind) {
		case 'object':
		case 'map': {
			if (node.kind !== 'object') {
				wrong(where.length === 0 ? 'a JSON object like {"refreshSeconds": 2}' : 'an object');
				return;
			}

			for (const entry of node.entries) {
				const keyPath = [...where, entry.key];
				if (rule.kind === 'map') {
					check(entry.value, rule.values, keyPath, problems);
					continue;
				}

				const known = Object.keys(rule.properties);
				const child = Object.hasOwn(rule.properties, entry.key) ? rule.properties[entry.key] : undefined;
				if (!child) {
					const suggestion = closest(entry.key, known);
					problems.push({
						offset: entry.keyOffset,
						message: `unknown key ${keyPath.join('/')}.${suggestion ? ` Did you mean ${[...where, suggestion].join('/')}?` : ''} Known keys${where.length === 0 ? '' : ` of ${name}`}: ${known.join(', ')}`,
					});
					continue;
				}

				check(entry.value, child, keyPath, problems);
			}

			return;
		}

		case 'list': {
			if (node.kind !== 'array') {
				wrong('a list like ["P"]');
				return;
			}

			for (const [index, item] of node.items.entries()) check(item, rule.items, [...where, String(index)], problems);
			return;
		}

		case 'boolean': {
			if (node.kind !== 'boolean') wrong('true or false');
			return;
		}

		case 'string': {
			if (node.kind !== 'string') wrong(rule.example ? `a string like "${rule.example}"` : 'a string');
			else if (rule.pattern && !rule.pattern.test(node.value)) wrong(rule.example ? `like "${rule.example}"` : 'a non-empty string');
			return;
		}

		case 'weight': {
			// Weights follow the one rule of domain/weights.ts: the parser the dialog and the CLI use decides.
			const parsed = node.kind === 'number' ? parseWeight(String(node.value)) : undefined;
			if (!parsed || 'error' in parsed || parsed.weight < rule.minimum) wrong(`a whole number from ${rule.minimum} to 100`);
			return;
		}

		case 'number': {
			const bounded = rule.maximum < Number.MAX_SAFE_INTEGER;
			const range = rule.exclusiveMinimum
				? `above ${rule.minimum}${bounded ? ` and at most ${rule.maximum}` : ''}`
				: bounded
					? `from ${rule.minimum} to ${rule.maximum}`
					: `of ${rule.minimum} or more`;
			const expected = `a number ${range}${rule.unit ? ` (${rule.unit})` : ''}`;
			if (node.kind !== 'number' || !Number.isFinite(node.value)) {
				wrong(expected);
				return;
			}

			const low = rule.exclusiveMinimum ? node.value <= rule.minimum : node.value < rule.minimum;
			if (low || node.value > rule.maximum) wrong(expected);
		}
	}
}

/**
 * Read and validate the settings. Throws SettingsError naming the file and, for each problem, its line, column and
 * key. The file is only ever read: a refused file is left exactly as it is, an accepted one too.
 */
export async function loadSettings(): Promise<LoadedSettings> {
	const file = settingsPath();
	if (!existsSync(file)) return {settings: structuredClone(defaultSettings), path: file};
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (error) {
		throw new SettingsError(`Settings file ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}. Fix its permissions or remove it.`, file);
	}

	const at = (offset: number) => {
		const {line, column} = lineColumn(text, offset);
		return `line ${line}, column ${column}`;
	};

	let root: JsonNode;
	try {
		root = parseJsonText(text);
	} catch (error) {
		if (!(error instanceof JsonTextError)) throw error;
		throw new SettingsError(`Settings file ${file} is not valid JSON: ${at(error.offset)}: ${error.message}. Fix it or remove the file (it was left as it is).`, file);
	}

	const problems: Problem[] = [];
	check(root, settingsSchema, [], problems);
	if (problems.length > 0) {
		const listed = problems.slice(0, 10).map((problem) => `  ${at(problem.offset)}: ${problem.message}`);
		if (problems.length > 10) listed.push(`  … and ${problems.length - 10} more`);
		throw new SettingsError(`Settings file ${file} is invalid:\n${listed.join('\n')}\nFix or remove those keys (the file was left as it is).`, file);
	}

	const stored = plainValue(root) as Partial<Settings>;
	// A partial loadTest (e.g. only rps) keeps the defaults for the rest.
	const defaults = structuredClone(defaultSettings);
	return {settings: {...defaults, ...stored, loadTest: {...defaults.loadTest, ...stored.loadTest}}, path: file};
}

/** Effective settings for one kubeconfig context. */
export function contextSettings(settings: Settings, context: string): ContextSettings {
	return settings.contexts[context] ?? {};
}
