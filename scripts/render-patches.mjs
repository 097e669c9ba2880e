// Build-time patches of two dependencies of Ink's frame building, applied to the production bundle only. They change
// how fast a frame is built, never what it contains; each fails the build loudly when its dependency changed shape.
//
// 1. string-width measures every string of every frame. Its fast path covers printable ASCII only; any other
//    character sends the whole string through Intl.Segmenter and several Unicode regexes per grapheme. The console's
//    screens are full of narrow non-ASCII characters (│ █ ▏ → · … › ✔ and braille charts), so the fast path is
//    widened to characters that are always one column: `narrowRanges` (test/unit/ui/render-patches.test.ts checks
//    every one of them against string-width itself).
// 2. Ink's Output keeps its caches of styled characters and widths per frame, so an unchanged line is tokenised again
//    on every frame, and it allocates a new blank cell for every cell of the screen. The styled characters of the
//    previous frame are kept for the next one (only those: each text costs kilobytes, and keeping more made more work
//    for the garbage collector than it saved), widths across frames (bounded), and the blank cell is shared (cells are
//    never mutated, only replaced).
import {readFile} from 'node:fs/promises';

/** Code point ranges that string-width counts as exactly one column each (checked by a unit test). */
export const narrowRanges = [
	[0x20, 0x7e], // printable ASCII
	[0xa1, 0xac], // Latin-1 punctuation (U+00AD, the soft hyphen, is zero-width)
	[0xae, 0xff],
	[0x2010, 0x2027], // dashes, quotes, bullets, ellipsis
	[0x2030, 0x205e],
	[0x2190, 0x21ff], // arrows
	[0x2500, 0x259f], // box drawing, block elements
	[0x27f0, 0x27ff], // supplemental arrows (⟳)
	[0x2800, 0x28ff], // braille patterns (charts)
];

const hex = (codePoint) => `\\u${codePoint.toString(16).padStart(4, '0')}`;
export const narrowClass = narrowRanges.map(([from, to]) => `${hex(from)}-${hex(to)}`).join('');

function replaceOnce(text, search, replacement, file) {
	if (!text.includes(search)) throw new Error(`render patch: "${search.slice(0, 60)}" not found in ${file}; the dependency changed, update scripts/render-patches.mjs`);
	return text.replace(search, replacement);
}

/** esbuild plugin applying both patches. */
export const renderPatches = {
	name: 'render-patches',
	setup(build) {
		build.onLoad({filter: /[/\\]node_modules[/\\]string-width[/\\]index\.js$/}, async ({path}) => {
			const source = await readFile(path, 'utf8');
			return {contents: replaceOnce(source, 'if (/^[\\u0020-\\u007E]*$/.test(string)) {', `if (/^[${narrowClass}]*$/.test(string)) {`, path), loader: 'js'};
		});
		build.onLoad({filter: /[/\\]node_modules[/\\]ink[/\\]build[/\\]output\.js$/}, async ({path}) => {
			let source = await readFile(path, 'utf8');
			source = replaceOnce(
				source,
				'    getStyledChars(line) {\n        let cached = this.styledChars.get(line);\n        if (cached === undefined) {',
				'    previousStyledChars = new Map();\n    nextFrame() {\n        this.previousStyledChars = this.styledChars;\n        this.styledChars = new Map();\n        if (this.widths.size > 5000) { this.widths.clear(); this.blockWidths.clear(); }\n    }\n    getStyledChars(line) {\n        let cached = this.styledChars.get(line);\n        if (cached === undefined && (cached = this.previousStyledChars.get(line)) !== undefined) this.styledChars.set(line, cached);\n        if (cached === undefined) {',
				path,
			);
			source = replaceOnce(source, 'export default class Output {\n    operations = [];\n    caches = new OutputCaches();', 'const sharedCaches = new OutputCaches();\nconst blankSpace = Object.freeze({type: \'char\', value: \' \', fullWidth: false, styles: Object.freeze([])});\nexport default class Output {\n    operations = [];\n    caches = (sharedCaches.nextFrame(), sharedCaches);', path);
			source = replaceOnce(
				source,
				"                row.push({\n                    type: 'char',\n                    value: ' ',\n                    fullWidth: false,\n                    styles: [],\n                });",
				'                row.push(blankSpace);',
				path,
			);
			return {contents: source, loader: 'js'};
		});
	},
};
