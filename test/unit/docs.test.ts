import {readFileSync} from 'node:fs';
import {expect, it} from 'vitest';
import {replaceKeyTable} from '../../source/keymap/key-table.ts';

it('the README key table is the one the keymap registry generates (run `npm run docs`)', () => {
	const readme = readFileSync('README.md', 'utf8');
	expect(replaceKeyTable(readme)).toBe(readme);
});
