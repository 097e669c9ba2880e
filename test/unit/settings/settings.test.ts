import {mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {expect, it} from 'vitest';
import {loadSettings, SettingsError} from '../../../source/settings/settings.ts';
import {restoreConfigDirectoryAfterEach, withSettings} from '../../support/settings-file.ts';

restoreConfigDirectoryAfterEach();

it('without a file, the load test is 50 requests/s for 30 s after 5 s of warm-up', async () => {
	process.env['MODELDECK_CONFIG_DIR'] = mkdtempSync(path.join(tmpdir(), 'modeldeck-settings-'));
	expect((await loadSettings()).settings.loadTest).toEqual({rps: 50, durationSeconds: 30, warmupSeconds: 5});
});

it('a partial loadTest keeps the defaults for what it leaves out', async () => {
	withSettings('{"loadTest": {"rps": 20}}');
	expect((await loadSettings()).settings.loadTest).toEqual({rps: 20, durationSeconds: 30, warmupSeconds: 5});
});

it('an impossible load test is reported with the file and the key, and the file is left alone', async () => {
	const file = withSettings('{"loadTest": {"rps": 0}}');
	const error = await loadSettings().catch((caught: unknown) => caught);
	expect(error).toBeInstanceOf(SettingsError);
	expect((error as SettingsError).message).toContain(file);
	expect((error as SettingsError).message).toMatch(/loadTest\/rps/);
	expect(readFileSync(file, 'utf8')).toBe('{"loadTest": {"rps": 0}}');
});
