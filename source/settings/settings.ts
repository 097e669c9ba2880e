/**
 * Settings with conf (XDG config path), validated by a JSON schema. A broken file is reported with its path and
 * the offending key, never replaced.
 */
import {existsSync} from 'node:fs';
import path from 'node:path';
import type Conf from 'conf';
import envPaths from 'env-paths';
import type {ThresholdSettings} from '../domain/thresholds.ts';

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

const thresholdProperties = {
	p99LatencyMs: {type: 'number', minimum: 0},
	errorRatio: {type: 'number', minimum: 0, maximum: 1},
	cpuOfLimit: {type: 'number', minimum: 0},
	memoryOfLimit: {type: 'number', minimum: 0},
	canaryMargin: {type: 'number', minimum: 0},
} as const;

const thresholdObject = {type: 'object', properties: thresholdProperties, additionalProperties: false} as const;

export const settingsSchema = {
	refreshSeconds: {type: 'number', minimum: 0.5, maximum: 3600, default: 2},
	weightStep: {type: 'integer', minimum: 1, maximum: 100, default: 10},
	prometheusUrl: {type: 'string', pattern: '^https?://'},
	thresholds: {
		type: 'object',
		properties: {defaults: thresholdObject, models: {type: 'object', additionalProperties: thresholdObject}},
		additionalProperties: false,
		default: {},
	},
	keys: {type: 'object', additionalProperties: {type: 'array', items: {type: 'string', minLength: 1}}, default: {}},
	contexts: {
		type: 'object',
		additionalProperties: {
			type: 'object',
			properties: {
				prometheusUrl: {type: 'string', pattern: '^https?://'},
				prometheusService: {type: 'string', pattern: '^[a-z0-9-]+/[a-z0-9-]+:[0-9a-z-]+$'},
				readOnly: {type: 'boolean'},
			},
			additionalProperties: false,
		},
		default: {},
	},
	promoteKeepsOldStable: {type: 'boolean', default: false},
	profiles: {type: 'object', additionalProperties: {type: 'object', additionalProperties: {type: 'string'}}, default: {}},
	loadTest: {
		type: 'object',
		properties: {
			rps: {type: 'number', exclusiveMinimum: 0, maximum: 100_000},
			durationSeconds: {type: 'number', minimum: 1, maximum: 3600},
			warmupSeconds: {type: 'number', minimum: 0, maximum: 600},
		},
		additionalProperties: false,
		default: {rps: 50, durationSeconds: 30, warmupSeconds: 5},
	},
} as const;

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

/** Where the settings file lives (the same path conf uses). */
export function settingsPath(): string {
	return path.join(settingsDirectory(), 'config.json');
}

async function openStore(): Promise<Conf<Settings>> {
	const {default: ConfClass} = await import('conf');
	return new ConfClass<Settings>({
		projectName: 'modeldeck',
		projectSuffix: '',
		cwd: settingsDirectory(),
		// The conf typings want JSON schema objects; ours is one.
		schema: settingsSchema as never,
		clearInvalidConfig: false,
	});
}

/**
 * Read and validate the settings. Throws SettingsError naming the file and the offending key. Without a settings
 * file the defaults apply, and conf (with its schema compiler) is not even loaded: start-up stays fast.
 */
export async function loadSettings(): Promise<LoadedSettings> {
	const file = settingsPath();
	if (!existsSync(file)) return {settings: {...defaultSettings}, path: file};
	let store: Conf<Settings>;
	try {
		store = await openStore();
	} catch (error) {
		const detail = error instanceof Error ? error.message : String(error);
		throw new SettingsError(
			`Settings file ${file} is invalid: ${detail.replace('Config schema violation: ', '').replace(/\.$/, '')}. Fix or remove that key (the file was left as it is).`,
			file,
		);
	}

	const stored = store.store;
	// A partial loadTest (e.g. only rps) keeps the defaults for the rest.
	return {settings: {...defaultSettings, ...stored, loadTest: {...defaultSettings.loadTest, ...stored.loadTest}}, path: store.path};
}

/** Effective settings for one kubeconfig context. */
export function contextSettings(settings: Settings, context: string): ContextSettings {
	return settings.contexts[context] ?? {};
}
