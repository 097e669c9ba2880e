// Build-time patches of Ink's frame building and one of its dependencies, applied to the production bundle only. They
// change how fast a frame is built and what it keeps, never what it contains; each fails the build loudly when its
// dependency changed.
//
// 1. string-width measures every string of every frame. Its fast path covers printable ASCII only; any other
//    character sends the whole string through Intl.Segmenter and several Unicode regexes per grapheme. The console's
//    screens are full of narrow non-ASCII characters (│ █ ▏ → · … › ✔ and braille charts), so the fast path is
//    widened to characters that are always one column: `narrowRanges` (test/unit/ui/render-patches.test.ts checks
//    every one of them against string-width itself).
// 2. Ink's Output builds every frame as a grid of styled-character objects: every text is tokenised again (through
//    Intl.Segmenter), every line turned into a string and back, every clipped line sliced, every cell allocated.
//    It is replaced by source/ui/ink/output.ts, which draws the same frames (a property test compares the two) with
//    caches kept across frames and interned cells. The build fails if Ink's output.js is not the one it was checked
//    against (inkOutputDigest).
import {createHash} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import {dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {narrowClass} from '../source/ui/ink/narrow-characters.ts';

export {narrowClass, narrowRanges} from '../source/ui/ink/narrow-characters.ts';

/** Ink 8.0.0's build/output.js, which source/ui/ink/output.ts replaces and was checked against. */
const inkOutputDigest = '5e6c511c0a573f48cd5765d7f1f16583d2595f7b05775608382bdb990b63f225';
const replacementOutput = fileURLToPath(new URL('../source/ui/ink/output.ts', import.meta.url));

function replaceOnce(text, search, replacement, file) {
	if (!text.includes(search))
		throw new Error(
			`render patch: "${search.slice(0, 60)}" not found in ${file}; the dependency changed, update scripts/render-patches.mjs`,
		);
	return text.replace(search, replacement);
}

/** esbuild plugin applying the patches. */
export const renderPatches = {
	name: 'render-patches',
	setup(build) {
		build.onLoad({filter: /[/\\]node_modules[/\\]string-width[/\\]index\.js$/}, async ({path}) => {
			const source = await readFile(path, 'utf8');
			return {
				contents: replaceOnce(source, 'if (/^[\\u0020-\\u007E]*$/.test(string)) {', `if (/^[${narrowClass}]*$/.test(string)) {`, path),
				loader: 'js',
			};
		});
		build.onLoad({filter: /[/\\]node_modules[/\\]ink[/\\]build[/\\]output\.js$/}, async ({path}) => {
			const digest = createHash('sha256')
				.update(await readFile(path))
				.digest('hex');
			if (digest !== inkOutputDigest) {
				throw new Error(
					`render patch: ${path} changed (sha256 ${digest}); compare it with source/ui/ink/output.ts, port the change, then update inkOutputDigest in scripts/render-patches.mjs`,
				);
			}

			return {
				contents: `export {default} from ${JSON.stringify(replacementOutput)};\n`,
				loader: 'js',
				resolveDir: dirname(replacementOutput),
			};
		});
	},
};
