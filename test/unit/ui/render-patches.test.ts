// The production bundle's patches of string-width and Ink's Output (scripts/render-patches.mjs) must change speed only.
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {build} from 'esbuild';
import fc from 'fast-check';
import stringWidth from 'string-width';
import {beforeAll, expect, it} from 'vitest';
// @ts-expect-error: a build script without type declarations
import {narrowRanges, renderPatches} from '../../../scripts/render-patches.mjs';

type Patched = {
	stringWidth: (text: string) => number;
	Output: new (options: {width: number; height: number}) => {
		write(x: number, y: number, text: string, options: {transformers: unknown[]}): void;
		get(): {output: string; height: number};
	};
};
let patched: Patched;

beforeAll(async () => {
	const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-patches-'));
	const entry = path.join(directory, 'entry.js');
	// Ink's package exports hide build/output.js: import it by path.
	const output = JSON.stringify(path.resolve('node_modules/ink/build/output.js'));
	writeFileSync(entry, `export {default as stringWidth} from 'string-width';\nexport {default as Output} from ${output};\n`);
	await build({
		entryPoints: [entry],
		outfile: path.join(directory, 'bundle.mjs'),
		bundle: true,
		format: 'esm',
		platform: 'node',
		nodePaths: [path.resolve('node_modules')],
		plugins: [renderPatches],
		logLevel: 'silent',
	});
	patched = (await import(pathToFileURL(path.join(directory, 'bundle.mjs')).href)) as Patched;
});

it('every character of the widened fast path is one column wide for string-width itself', () => {
	const wrong: string[] = [];
	for (const [from, to] of narrowRanges as Array<[number, number]>) {
		for (let codePoint = from; codePoint <= to; codePoint++) {
			const character = String.fromCodePoint(codePoint);
			if (stringWidth(character) !== 1) wrong.push(`U+${codePoint.toString(16)}`);
		}
	}

	expect(wrong).toEqual([]);
});

it('the patched string-width measures any text as the original does', () => {
	const characters = ['a', ' ', '│', '█', '▏', '→', '·', '…', '›', '✔', '⣿', '界', '😀', '\u0301', '\u00ad', 'é', '\u001b[31m', '\u001b[39m', '\u200d', '\ufe0f'];
	fc.assert(
		fc.property(fc.array(fc.constantFrom(...characters), {maxLength: 40}), (parts) => {
			const text = parts.join('');
			expect(patched.stringWidth(text)).toBe(stringWidth(text));
		}),
	);
});

it('the patched Output draws the same frames, again and again, with its caches kept across frames', async () => {
	const {default: Original} = (await import(pathToFileURL(path.resolve('node_modules/ink/build/output.js')).href)) as {default: Patched['Output']};
	const lines = ['\u001b[32mok\u001b[39m  fraud  v2 │ ██▏ 10%', 'plain text', '⣿⣀ chart → 12 ms · …', '界 wide'];
	for (let frame = 0; frame < 3; frame++) {
		const [patchedOutput, originalOutput] = [new patched.Output({width: 30, height: 5}), new Original({width: 30, height: 5})];
		for (const [index, line] of lines.entries()) {
			patchedOutput.write(frame, index, line, {transformers: []});
			originalOutput.write(frame, index, line, {transformers: []});
		}

		const drawn = patchedOutput.get();
		expect(drawn).toEqual(originalOutput.get());
		expect(drawn.output).toContain('chart');
	}
});
