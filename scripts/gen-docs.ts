// Writes the key table into README.md from the keymap registry.
import {readFileSync, writeFileSync} from 'node:fs';
import {replaceKeyTable} from '../source/keymap/key-table.ts';

const readme = readFileSync('README.md', 'utf8');
const next = replaceKeyTable(readme);
if (next === readme) console.log('README.md key table is current');
else {
	writeFileSync('README.md', next);
	console.log('README.md key table updated');
}
