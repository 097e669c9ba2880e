import {readFileSync} from 'node:fs';
import {expect, it} from 'vitest';
import {replaceCliDocs} from '../../source/cli-docs.ts';
import {replaceKeyTable} from '../../source/keymap/key-table.ts';

it('the README key table is the one the keymap registry generates (run `npm run docs`)', () => {
	const readme = readFileSync('README.md', 'utf8');
	expect(replaceKeyTable(readme)).toBe(readme);
});

it("the README's Usage and Flags sections are the ones the flag tables generate (run `npm run docs`)", () => {
	const readme = readFileSync('README.md', 'utf8');
	expect(replaceCliDocs(readme)).toBe(readme);
});
