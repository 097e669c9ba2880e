/** The settings loader against random files: fast-check, as every input from outside. */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {afterAll, expect, it} from 'vitest';
import {badgeColors, defaultSettings, loadSettings, readSettingsJson, SettingsError} from '../../../source/settings/settings.ts';
import {restoreConfigDirectoryAfterEach} from '../../support/settings-file.ts';

const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-settings-fuzz-'));
const file = path.join(directory, 'config.json');
restoreConfigDirectoryAfterEach();
afterAll(() => rmSync(directory, {recursive: true, force: true}));

/** Load TEXT as the settings file: the settings, or the refusal's message. The file must be unchanged either way. */
async function load(text: string): Promise<{settings: typeof defaultSettings} | {refused: string}> {
	writeFileSync(file, text);
	process.env['MODELDECK_CONFIG_DIR'] = directory;
	try {
		const {settings} = await loadSettings();
		return {settings};
	} catch (error) {
		// Anything but a SettingsError is an unexplained failure.
		if (!(error instanceof SettingsError)) throw error;
		expect(error.message).toContain(file);
		// A refusal points somewhere: a line and column.
		expect(error.message).toMatch(/line \d+, column \d+: /);
		return {refused: error.message};
	} finally {
		expect(readFileSync(file, 'utf8')).toBe(text);
	}
}

const settingsKeys = Object.keys(defaultSettings).concat(['prometheusUrl', 'readOnly', 'showContexts']);

it('random JSON values are accepted or refused with a located reason, and never rewritten', async () => {
	// Values shaped like settings (known keys, random values) reach the deeper rules; plain random values test the top.
	const nearSettings = fc.dictionary(fc.constantFrom(...settingsKeys, 'refresh', 'loadtest'), fc.jsonValue({maxDepth: 3}), {maxKeys: 4});
	await fc.assert(
		fc.asyncProperty(fc.oneof(fc.jsonValue({maxDepth: 4}), nearSettings), fc.boolean(), async (value, pretty) => {
			const text = JSON.stringify(value, null, pretty ? '\t' : undefined) ?? 'null';
			const result = await load(text);
			const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
			if (!isObject) expect('refused' in result).toBe(true);
		}),
		{numRuns: 300},
	);
});

it('random text is accepted or refused with a located reason, and never rewritten', async () => {
	await fc.assert(
		fc.asyncProperty(
			fc.oneof(
				fc.string({unit: 'binary', maxLength: 60}),
				fc.json().map((json) => json.slice(0, json.length - 1)),
			),
			async (text) => {
				await load(text);
			},
		),
		{numRuns: 300},
	);
});

it('the settings reader (jsonc-parser, strict) accepts only JSON, and reads it as JSON.parse does', () => {
	const jsonish = fc.oneof(
		fc.json({maxDepth: 3}),
		fc.string({
			unit: fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '-', '.', 'e', ' ', '\n', 'true', 'null', 'a'),
			maxLength: 20,
		}),
		// What jsonc-parser takes unless told to be strict: a comma after the last entry, comments, other spaces.
		fc
			.tuple(fc.json({maxDepth: 2}), fc.constantFrom(',', '//x\n', '/*x*/', '\u00a0', '\u000b', '\ufeff'), fc.nat())
			.map(([json, extra, at]) => {
				const closers = [...json.matchAll(/[}\]]/g)].map((match) => match.index);
				const index = closers.length > 0 ? closers[at % closers.length]! : at % (json.length + 1);
				return json.slice(0, index) + extra + json.slice(index);
			}),
	);
	fc.assert(
		fc.property(jsonish, (text) => {
			let expected: unknown;
			let valid = true;
			try {
				expected = JSON.parse(text);
			} catch {
				valid = false;
			}

			const read = readSettingsJson(text);
			const accepted = 'value' in read;
			const actual = accepted ? read.value : undefined;

			// Ours may refuse more (a duplicate key), never less.
			if (accepted) {
				expect(valid).toBe(true);
				expect(actual).toStrictEqual(expected);
			}

			if (!valid) expect(accepted).toBe(false);
		}),
		{numRuns: 2000},
	);
});

const url = fc.constantFrom('http://localhost:9090', 'https://prom.example:9090');
const thresholds = fc.record(
	{
		p99LatencyMs: fc.integer({min: 0, max: 10_000}),
		errorRatio: fc.double({min: 0, max: 1, noNaN: true}),
		canaryMargin: fc.double({min: 0, max: 5, noNaN: true}),
	},
	{requiredKeys: []},
);
const validSettings = fc.record(
	{
		refreshSeconds: fc.double({min: 0.5, max: 3600, noNaN: true}),
		weightStep: fc.integer({min: 1, max: 100}),
		prometheusUrl: url,
		readOnly: fc.boolean(),
		thresholds: fc.record({defaults: thresholds, models: fc.dictionary(fc.string({minLength: 1}), thresholds)}, {requiredKeys: []}),
		keys: fc.dictionary(fc.string(), fc.array(fc.string({minLength: 1}), {maxLength: 3})),
		contexts: fc.dictionary(
			fc.string(),
			fc.record(
				{
					prometheusUrl: url,
					prometheusService: fc.constant('monitoring/prometheus:9090'),
					readOnly: fc.boolean(),
					// A badge: 1 to 12 characters, none a control character; one of the colour names.
					label: fc.string({
						minLength: 1,
						maxLength: 12,
						unit: fc.string({minLength: 1, maxLength: 1}).filter((character) => character >= ' '),
					}),
					color: fc.constantFrom(...badgeColors),
				},
				{requiredKeys: []},
			),
		),
		showContexts: fc.array(
			fc.string({minLength: 1}).filter((name) => !name.includes(',')),
			{maxLength: 4},
		),
		promoteKeepsOldStable: fc.boolean(),
		profiles: fc.dictionary(fc.string(), fc.dictionary(fc.string(), fc.string())),
		loadTest: fc.record(
			{
				rps: fc.double({min: 0.001, max: 100_000, noNaN: true}),
				durationSeconds: fc.integer({min: 1, max: 3600}),
				warmupSeconds: fc.integer({min: 0, max: 600}),
			},
			{requiredKeys: []},
		),
	},
	{requiredKeys: []},
);

it('every valid settings file is accepted and read back as written (defaults only where it is silent)', async () => {
	await fc.assert(
		fc.asyncProperty(validSettings, async (settings) => {
			const result = await load(JSON.stringify(settings, null, 2));
			if (!('settings' in result)) throw new Error(result.refused);
			const {loadTest, ...rest} = settings;
			expect(result.settings).toEqual({...defaultSettings, ...rest, loadTest: {...defaultSettings.loadTest, ...loadTest}});
		}),
		{numRuns: 200},
	);
});

it('a context badge or a list of contexts out of shape is refused, saying what it must be', async () => {
	const refusal = async (value: unknown) => {
		const result = await load(JSON.stringify(value));
		return 'refused' in result ? result.refused : '';
	};

	await fc.assert(
		fc.asyncProperty(
			fc.string().filter((color) => !(badgeColors as readonly string[]).includes(color)),
			async (color) => {
				expect(await refusal({contexts: {prod: {color}}})).toContain(
					'contexts/prod/color must be one of red, yellow, green, blue, magenta, cyan, white, gray',
				);
			},
		),
		{numRuns: 50},
	);
	expect(await refusal({contexts: {prod: {label: 'PRODUCTION-EU-1'}}})).toContain(
		'contexts/prod/label must be a short string like "PROD" (1 to 12 characters)',
	);
	expect(await refusal({contexts: {prod: {label: 'PR\nOD'}}})).toContain('contexts/prod/label must be');
	expect(await refusal({showContexts: 'prod-us,prod-eu'})).toContain(
		'showContexts must be a list of kubeconfig context names like ["prod-us", "prod-eu"]',
	);
	expect(await refusal({showContexts: ['prod-us', 'a,b']})).toContain('showContexts/1 must be a context name like "prod-us" (no commas)');
});
