/**
 * Settings from a JSON file at the XDG config path, held by conf and checked by its JSON schema (ajv) at every level.
 * A broken file is reported with its path and, for each problem, the line, column and key (jsonc-parser gives the
 * positions); it is never replaced or rewritten.
 */
import {existsSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import type {Ajv2020, ErrorObject} from 'ajv/dist/2020.js';
import type Conf from 'conf';
import type {Schema} from 'conf';
import envPaths from 'env-paths';
import {findNodeAtLocation, type Node as JsonNode, type ParseError, parseTree, printParseErrorCode} from 'jsonc-parser';
import {closest} from '../cli-flags/parse.ts';
import type {ThresholdSettings} from '../domain/thresholds.ts';

export interface ContextSettings {
	/** Prometheus base URL for this context, e.g. `http://prometheus.monitoring:9090`. */
	prometheusUrl?: string;
	/** Reach Prometheus through the API server's service proxy: `namespace/service:port`. */
	prometheusService?: string;
	/** Remove every dangerous command for this context. */
	readOnly?: boolean;
	/** A badge for this context in the header and the CLUSTER column, e.g. `PROD`. */
	label?: string;
	/** The badge's colour: red, yellow, green, blue, magenta, cyan, white or gray. */
	color?: string;
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
	/** Contexts shown at once, merged, when no --context is given, e.g. `["prod-us", "prod-eu"]`. */
	showContexts?: string[];
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

/** A JSON schema; `description` is what the value must be, as the refusal says it. */
interface JsonSchema {
	type: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
	description: string;
	properties?: Record<string, JsonSchema>;
	additionalProperties?: false | JsonSchema;
	items?: JsonSchema;
	minimum?: number;
	exclusiveMinimum?: number;
	maximum?: number;
	minLength?: number;
	pattern?: string;
}

const closed = (properties: Record<string, JsonSchema>, description = 'an object'): JsonSchema => ({
	type: 'object',
	description,
	properties,
	additionalProperties: false,
});
const map = (values: JsonSchema): JsonSchema => ({type: 'object', description: 'an object', additionalProperties: values});
const bool: JsonSchema = {type: 'boolean', description: 'true or false'};
/** A number from MINIMUM to MAXIMUM; no maximum (JSON's 1e400 is Infinity, still refused) reads "of MINIMUM or more". */
function number(minimum: number, maximum: number, unit?: string): JsonSchema {
	const range = Number.isFinite(maximum) ? `from ${minimum} to ${maximum}` : `of ${minimum} or more`;
	return {
		type: 'number',
		description: `a number ${range}${unit ? ` (${unit})` : ''}`,
		minimum,
		maximum: Number.isFinite(maximum) ? maximum : Number.MAX_VALUE,
	};
}

/** The colours a context's badge may take: names every theme with colours can show. */
export const badgeColors = ['red', 'yellow', 'green', 'blue', 'magenta', 'cyan', 'white', 'gray'] as const;

const threshold = closed({
	p99LatencyMs: number(0, Number.POSITIVE_INFINITY),
	errorRatio: number(0, 1),
	cpuOfLimit: number(0, Number.POSITIVE_INFINITY),
	memoryOfLimit: number(0, Number.POSITIVE_INFINITY),
	canaryMargin: number(0, Number.POSITIVE_INFINITY),
});
const url: JsonSchema = {
	type: 'string',
	description: 'a string like "http://prometheus.monitoring:9090"',
	pattern: String.raw`^https?://\S+$`,
};

/** The settings file's schema: every level is checked, every key of an object must be known (maps take any key). */
export const settingsSchema: JsonSchema = closed(
	{
		refreshSeconds: number(0.5, 3600, 'seconds'),
		// Weights are whole numbers (domain/weights.ts); a step is 1 to 100.
		weightStep: {type: 'integer', description: 'a whole number from 1 to 100', minimum: 1, maximum: 100},
		prometheusUrl: url,
		readOnly: bool,
		thresholds: closed({defaults: threshold, models: map(threshold)}),
		keys: map({type: 'array', description: 'a list like ["P"]', items: {type: 'string', description: 'a string like "P"', minLength: 1}}),
		contexts: map(
			closed({
				prometheusUrl: url,
				prometheusService: {
					type: 'string',
					description: 'a string like "monitoring/prometheus:9090"',
					pattern: '^[a-z0-9-]+/[a-z0-9-]+:[0-9a-z-]+$',
				},
				readOnly: bool,
				label: {
					type: 'string',
					description: 'a short string like "PROD" (1 to 12 characters)',
					minLength: 1,
					pattern: '^[^\\u0000-\\u001f]{1,12}$',
				},
				color: {
					type: 'string',
					description: 'one of red, yellow, green, blue, magenta, cyan, white, gray',
					pattern: `^(${badgeColors.join('|')})$`,
				},
			}),
		),
		showContexts: {
			type: 'array',
			description: 'a list of kubeconfig context names like ["prod-us", "prod-eu"]',
			items: {type: 'string', description: 'a context name like "prod-us" (no commas)', minLength: 1, pattern: '^[^,]+$'},
		},
		promoteKeepsOldStable: bool,
		profiles: map(map({type: 'string', description: 'a string'})),
		loadTest: closed({
			rps: {type: 'number', description: 'a number above 0 and at most 100000', exclusiveMinimum: 0, maximum: 100_000},
			durationSeconds: number(1, 3600, 'seconds'),
			warmupSeconds: number(0, 600, 'seconds'),
		}),
	},
	'a JSON object like {"refreshSeconds": 2}',
);

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

/** Where the settings file lives (conf's path for the same options). */
export function settingsPath(): string {
	return path.join(settingsDirectory(), 'config.json');
}

/** 1-based line and column of an offset (columns count UTF-16 units, as editors mostly do). */
function lineColumn(text: string, offset: number): {line: number; column: number} {
	const before = text.slice(0, offset).split('\n');
	return {line: before.length, column: before.at(-1)!.length + 1};
}

/** jsonc-parser's errors (by printParseErrorCode's name; its enums are const enums) as the file's author reads them. */
const parseErrors: Record<string, string> = {
	InvalidSymbol: 'this is not part of a JSON value',
	InvalidNumberFormat: 'a number is written wrong (like 2, 0.5 or 1e3)',
	PropertyNameExpected: 'expected a key in double quotes (no comma after the last entry)',
	ValueExpected: 'expected a value (an object, array, string, number, true, false or null; no comma after the last one)',
	ColonExpected: 'expected ":" after the key',
	CommaExpected: 'expected "," between entries',
	CloseBraceExpected: 'expected "," or "}"',
	CloseBracketExpected: 'expected "," or "]"',
	EndOfFileExpected: 'expected the end of the file after the value',
	InvalidCommentToken: 'JSON has no comments: remove it',
	UnexpectedEndOfComment: 'JSON has no comments: remove it',
	UnexpectedEndOfString: 'a string is not closed: add the closing "',
	UnexpectedEndOfNumber: 'a number ends too early',
	InvalidUnicode: 'a \\u escape needs four hex digits',
	InvalidEscapeCharacter: 'a string holds an invalid escape: use \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX',
	InvalidCharacter: 'a string holds a raw control character: write it as an escape such as \\n',
};

/** The first of jsonc-parser's errors, said with what was found there. */
function jsonMistake(text: string, error: ParseError): {offset: number; message: string} {
	const found = text.slice(error.offset, error.offset + 1);
	const code = printParseErrorCode(error.error);
	const message = parseErrors[code] ?? 'this is not JSON';
	return {offset: error.offset, message: found && code !== 'InvalidCharacter' ? `${message}, found ${JSON.stringify(found)}` : message};
}

/** The first key given twice in one object, anywhere in the tree (JSON.parse would silently keep the last). */
function duplicateKey(node: JsonNode): JsonNode | undefined {
	const seen = new Set<string>();
	for (const child of node.children ?? []) {
		if (node.type === 'object') {
			const key = child.children![0]!;
			if (seen.has(key.value as string)) return key;
			seen.add(key.value as string);
		}

		const found = duplicateKey(node.type === 'object' ? child.children![1]! : child);
		if (found) return found;
	}

	return undefined;
}

function kindOf(value: unknown): string {
	if (Array.isArray(value)) return 'a list';
	if (value === null) return 'null';
	if (typeof value === 'object') return 'an object';
	if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
	return String(value);
}

interface Problem {
	offset: number;
	message: string;
}

/** ajv errors as problems, each at the offset of the key or value concerned; one per value. */
function problems(errors: readonly ErrorObject[], root: JsonNode): Problem[] {
	const result = new Map<string, Problem>();
	for (const error of errors) {
		const where =
			error.instancePath === ''
				? []
				: error.instancePath
						.slice(1)
						.split('/')
						.map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
		let node: JsonNode | undefined = root;
		for (const part of where) node = node && findNodeAtLocation(node, [node.type === 'array' ? Number(part) : part]);
		const name = where.length === 0 ? 'the settings file' : where.join('/');
		const schema = error.parentSchema as JsonSchema;
		if (error.keyword === 'additionalProperties') {
			const key = (error.params as {additionalProperty: string}).additionalProperty;
			const property = node?.children?.find((child) => child.children?.[0]?.value === key);
			const known = Object.keys(schema.properties ?? {});
			const suggestion = closest(key, known);
			result.set(`${error.instancePath}/${key}`, {
				offset: property?.offset ?? node?.offset ?? 0,
				message: `unknown key ${[...where, key].join('/')}.${suggestion ? ` Did you mean ${[...where, suggestion].join('/')}?` : ''} Known keys${where.length === 0 ? '' : ` of ${name}`}: ${known.join(', ')}`,
			});
			continue;
		}

		if (result.has(error.instancePath)) continue;
		result.set(error.instancePath, {
			offset: node?.offset ?? 0,
			message: `${name} must be ${schema.description} (got ${kindOf(error.data)})`,
		});
	}

	return [...result.values()].sort((a, b) => a.offset - b.offset);
}

/** The settings schema split the way conf takes it: the root's own keywords, and its properties. */
const {properties: schemaProperties, ...rootSchema} = settingsSchema;

/**
 * TEXT as strict JSON: its value (as JSON.parse reads it) and its tree with offsets, or the first mistake and where it
 * is. conf reads the file with JSON.parse, which says neither where a mistake is nor that a key is given twice.
 */
export function readSettingsJson(text: string): {value: unknown; root: JsonNode} | {offset: number; message: string} {
	const errors: ParseError[] = [];
	let root: JsonNode | undefined;
	try {
		root = parseTree(text, errors, {allowTrailingComma: false, disallowComments: true, allowEmptyContent: false});
	} catch (error) {
		// jsonc-parser recurses once per level of nesting.
		if (!(error instanceof RangeError)) throw error;
		return {offset: 0, message: 'values are nested too deep'};
	}

	// jsonc-parser is strict JSON with these options (no comments, no trailing commas, only JSON's four spaces).
	if (errors[0]) return jsonMistake(text, errors[0]);
	if (!root) return {offset: 0, message: 'expected a value'};
	const twice = duplicateKey(root);
	if (twice) return {offset: twice.offset, message: `the key ${JSON.stringify(twice.value)} appears twice in the same object: keep one`};
	return {value: plainValue(root), root};
}

/** The value of a node as JSON.parse gives it: every key an own property, `__proto__` included. */
function plainValue(node: JsonNode): unknown {
	if (node.type === 'array') return (node.children ?? []).map((child) => plainValue(child));
	if (node.type !== 'object') return node.value;
	const result: Record<string, unknown> = {};
	for (const property of node.children ?? []) {
		const [key, value] = property.children!;
		Object.defineProperty(result, key!.value as string, {value: plainValue(value!), enumerable: true, writable: true, configurable: true});
	}

	return result;
}

// The schema is this file's own and fixed, so ajv is not asked to check it against the meta-schema on every start
// (that is three quarters of the compile time).
const ajvOptions = {allErrors: true, validateSchema: false};

/** conf and ajv load only when there is a file to read (most starts have none, every demo start). */
async function libraries(): Promise<{Conf: typeof Conf; Ajv: typeof Ajv2020}> {
	const {Conf: Store, Ajv2020: Ajv} = await import('./libraries.ts');
	return {Conf: Store, Ajv};
}

let validator: ReturnType<Ajv2020['compile']> | undefined;
/** ajv as conf configures it, but verbose: the errors carry the schema and value the message is made from. */
function locatingValidator(Ajv: typeof Ajv2020): ReturnType<Ajv2020['compile']> {
	validator ??= new Ajv({...ajvOptions, verbose: true}).compile(settingsSchema);
	return validator;
}

const stores = new Map<string, Conf<Partial<Settings>>>();
/** conf's store for FILE: made once per file (conf compiles the schema when made), read again on every load. */
function settingsStore(Store: typeof Conf, file: string): Conf<Partial<Settings>> {
	let store = stores.get(file);
	if (!store) {
		const directory = process.env['MODELDECK_CONFIG_DIR'];
		store = new Store<Partial<Settings>>({
			projectName: 'modeldeck',
			projectSuffix: '',
			configName: 'config',
			...(directory === undefined ? {} : {cwd: directory}),
			rootSchema,
			schema: schemaProperties as Schema<Partial<Settings>>,
			ajvOptions,
			// A broken file is the user's to fix: never replaced with an empty one.
			clearInvalidConfig: false,
			accessPropertiesByDotNotation: false,
		});
		stores.set(file, store);
	}

	return store;
}

/**
 * Read and validate the settings. Throws SettingsError naming the file and, for each problem, its line, column and
 * key. The file is only ever read: a refused file is left exactly as it is, an accepted one too (conf is given no
 * defaults, so it has nothing to write).
 */
export async function loadSettings(): Promise<LoadedSettings> {
	const file = settingsPath();
	// Without a file conf would create its directory; there is nothing to read, so conf is not asked.
	if (!existsSync(file)) return {settings: structuredClone(defaultSettings), path: file};
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (error) {
		throw new SettingsError(
			`Settings file ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}. Fix its permissions or remove it.`,
			file,
		);
	}

	const at = (offset: number) => {
		const {line, column} = lineColumn(text, offset);
		return `line ${line}, column ${column}`;
	};

	const read = readSettingsJson(text);
	if ('message' in read) {
		throw new SettingsError(
			`Settings file ${file} is not valid JSON: ${at(read.offset)}: ${read.message}. Fix it or remove the file (it was left as it is).`,
			file,
		);
	}

	const {root, value} = read;
	const {Conf: Store, Ajv} = await libraries();
	let stored: Partial<Settings> | undefined;
	let refusal = '';
	// conf reads a file that is not an object as an empty store, so that one goes straight to the located check.
	if (root.type === 'object') {
		try {
			stored = settingsStore(Store, file).store;
		} catch (error) {
			refusal = error instanceof Error ? error.message : String(error);
		}
	}

	if (stored === undefined) {
		// conf's refusal is one line naming keys; the same schema, compiled verbose, says where each problem is.
		const validate = locatingValidator(Ajv);
		if (!validate(value)) {
			const found = problems(validate.errors ?? [], root);
			const listed = found.slice(0, 10).map((problem) => `  ${at(problem.offset)}: ${problem.message}`);
			if (found.length > 10) listed.push(`  … and ${found.length - 10} more`);
			throw new SettingsError(
				`Settings file ${file} is invalid:\n${listed.join('\n')}\nFix or remove those keys (the file was left as it is).`,
				file,
			);
		}

		// Not the schema, then: the file changed between the two reads, or cannot be read any more.
		throw new SettingsError(
			`Settings file ${file} could not be read by conf: ${refusal}. Fix it or remove the file (it was left as it is).`,
			file,
		);
	}

	// A partial loadTest (e.g. only rps) keeps the defaults for the rest.
	const defaults = structuredClone(defaultSettings);
	return {settings: {...defaults, ...stored, loadTest: {...defaults.loadTest, ...stored.loadTest}}, path: file};
}

/** Effective settings for one kubeconfig context. */
export function contextSettings(settings: Settings, context: string): ContextSettings {
	return settings.contexts[context] ?? {};
}
