// Writes the generated sections of README.md: the key table from the keymap registry, Usage and Flags from the flag
// tables of source/cli-flags.ts.
import {readFileSync, writeFileSync} from 'node:fs';
import {replaceCliDocs} from '../source/cli-docs.ts';
import {replaceKeyTable} from '../source/keymap/key-table.ts';

const readme = readFileSync('README.md', 'utf8');
const next = replaceCliDocs(replaceKeyTable(readme));
if (next === readme) console.log('README.md generated sections are current');
else {
	writeFileSync('README.md', next);
	console.log('README.md generated sections updated');
}
