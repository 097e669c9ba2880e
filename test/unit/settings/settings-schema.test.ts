import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {expect, it} from 'vitest';
import {loadSettings, SettingsError} from '../../../source/settings/settings.ts';
import {restoreConfigDirectoryAfterEach, withSettings} from '../../support/settings-file.ts';

restoreConfigDirectoryAfterEach();

async function refusal(text: string): Promise<{message: string; file: string}> {
	const file = withSettings(text);
	const error = await loadSettings().catch((caught: unknown) => caught);
	expect(error).toBeInstanceOf(SettingsError);
	// Refused files are never rewritten.
	expect(readFileSync(file, 'utf8')).toBe(text);
	return {message: (error as SettingsError).message, file};
}

it('a top-level readOnly is read (it was dropped: only per-context readOnly was known)', async () => {
	withSettings('{"readOnly": true}');
	expect((await loadSettings()).settings.readOnly).toBe(true);
});

it.each([
	['[]', 'a list'],
	['1', '1'],
	['"x"', 'the string "x"'],
	['null', 'null'],
	['true', 'true'],
])('a file holding %s is refused as not an object, and left as it is', async (text, got) => {
	const {message, file} = await refusal(text);
	expect(message).toContain(file);
	expect(message).toContain(`line 1, column 1: the settings file must be a JSON object like {"refreshSeconds": 2} (got ${got})`);
});

it('an unknown top-level key is refused with its line, column and the closest known key', async () => {
	const {message} = await refusal('{\n  "refreshSecond": 2\n}');
	expect(message).toContain('line 2, column 3: unknown key refreshSecond. Did you mean refreshSeconds?');
});

it('an unknown nested key names its whole path and the closest key at that level', async () => {
	const {message} = await refusal('{"thresholds": {"models": {"fraud": {"p99LatncyMs": 5}}}}');
	expect(message).toContain(
		'column 38: unknown key thresholds/models/fraud/p99LatncyMs. Did you mean thresholds/models/fraud/p99LatencyMs?',
	);
});

it('a value of the wrong type is refused with its line and column', async () => {
	const {message} = await refusal('{\n\t"loadTest": {\n\t\t"rps": "fast"\n\t}\n}');
	expect(message).toContain('line 3, column 10: loadTest/rps must be a number above 0 and at most 100000 (got the string "fast")');
});

it('invalid JSON is refused with the line and column of the mistake', async () => {
	const {message} = await refusal('{\n  "weightStep": 5,\n}');
	expect(message).toMatch(
		/is not valid JSON: line 3, column 1: expected a key in double quotes \(no comma after the last entry\), found "}"/,
	);
});

it('a key given twice is refused rather than the second silently winning', async () => {
	const {message} = await refusal('{"weightStep": 5, "weightStep": 50}');
	expect(message).toContain('line 1, column 19: the key "weightStep" appears twice');
});

it.each(['4.5', '0', '-5', '101', '"10"', '1e400'])(
	'weightStep %s is refused: weights are whole numbers, a step 1 to 100',
	async (value) => {
		const {message} = await refusal(`{"weightStep": ${value}}`);
		expect(message).toContain('weightStep must be a whole number from 1 to 100');
	},
);

it('every problem is listed, not only the first', async () => {
	const {message} = await refusal('{"weightStep": 4.5, "contexts": {"prod": {"readOnly": "yes", "colour": 1}}}');
	expect(message).toContain('weightStep must be');
	expect(message).toContain('contexts/prod/readOnly must be true or false (got the string "yes")');
	expect(message).toContain('unknown key contexts/prod/colour.');
});

it('an accepted file is read as written and never rewritten', async () => {
	const text = '{"weightStep": 5, "contexts": {"kind-dev": {"readOnly": true}}, "keys": {"canary.promote": ["P"]}}';
	const file = withSettings(text);
	const {settings} = await loadSettings();
	expect(settings).toMatchObject({
		weightStep: 5,
		refreshSeconds: 2,
		contexts: {'kind-dev': {readOnly: true}},
		keys: {'canary.promote': ['P']},
	});
	expect(readFileSync(file, 'utf8')).toBe(text);
});

it('without a file nothing is created: not the file, not its directory (conf makes the directory when it reads none)', async () => {
	const directory = path.join(mkdtempSync(path.join(tmpdir(), 'modeldeck-settings-')), 'not-there');
	process.env['MODELDECK_CONFIG_DIR'] = directory;
	expect((await loadSettings()).settings.weightStep).toBe(10);
	expect(existsSync(directory)).toBe(false);
});
