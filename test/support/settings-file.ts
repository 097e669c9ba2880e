/** Settings files for the loader's tests: each test points MODELDECK_CONFIG_DIR at its own file, put back after it. */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach} from 'vitest';

/** Registers an afterEach that puts MODELDECK_CONFIG_DIR back as it was when the file loaded. */
export function restoreConfigDirectoryAfterEach(): void {
	const previous = process.env['MODELDECK_CONFIG_DIR'];
	afterEach(() => {
		if (previous === undefined) delete process.env['MODELDECK_CONFIG_DIR'];
		else process.env['MODELDECK_CONFIG_DIR'] = previous;
	});
}

/** TEXT as the settings file of a fresh config directory, which MODELDECK_CONFIG_DIR now names; returns the file. */
export function withSettings(text: string): string {
	const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-settings-'));
	writeFileSync(path.join(directory, 'config.json'), text);
	process.env['MODELDECK_CONFIG_DIR'] = directory;
	return path.join(directory, 'config.json');
}
