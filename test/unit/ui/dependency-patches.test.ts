// The production bundle's patches of string-width and Ink's Output (scripts/render-patches.mjs)
// must change speed and what is kept only, never what is drawn.
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
	Output: new (options: {
		width: number;
		height: number;
	}) => {
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
	writeFileSync(entry, [`export {default as stringWidth} from 'string-width';`, `export {default as Output} from ${output};`].join('\n'));
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
	const characters = [
		'a',
		' ',
		'│',
		'█',
		'▏',
		'→',
		'·',
		'…',
		'›',
		'✔',
		'⣿',
		'界',
		'😀',
		'\u0301',
		'\u00ad',
		'é',
		'\u001b[31m',
		'\u001b[39m',
		'\u200d',
		'\ufe0f',
	];
	fc.assert(
		fc.property(fc.array(fc.constantFrom(...characters), {maxLength: 40}), (parts) => {
			const text = parts.join('');
			expect(patched.stringWidth(text)).toBe(stringWidth(text));
		}),
	);
});

type Transformer = (line: string, index: number) => string;
type Operation =
	| {type: 'write'; x: number; y: number; text: string; transformers: Transformer[]}
	| {type: 'clip'; clip: {x1?: number; x2?: number; y1?: number; y2?: number}}
	| {type: 'unclip'};

function draw(Output: Patched['Output'], width: number, height: number, operations: Operation[]): {output: string; height: number} {
	const output = new Output({width, height}) as InstanceType<Patched['Output']> & {clip(clip: object): void; unclip(): void};
	for (const operation of operations) {
		if (operation.type === 'write') output.write(operation.x, operation.y, operation.text, {transformers: operation.transformers});
		else if (operation.type === 'clip') output.clip(operation.clip);
		else output.unclip();
	}

	return output.get();
}

// Pieces of text: one-column characters (the fast path), wide and zero-width ones, combining marks, newlines, and SGR
// codes (compound, 256-colour, truecolour, resets, intensity, and a malformed one).
const pieces = [
	'a',
	'Z',
	' ',
	'  ',
	'ok',
	'fraud v2',
	'│',
	'█',
	'▏',
	'→',
	'·',
	'…',
	'✔',
	'⣿⣀',
	'é',
	'¬',
	'\n',
	'界',
	'😀',
	'e\u0301',
	'\u00ad',
	'\u200d',
	'x\ufe0f',
	'\u2028',
	'\u001b[31m',
	'\u001b[39m',
	'\u001b[1m',
	'\u001b[2m',
	'\u001b[22m',
	'\u001b[0m',
	'\u001b[m',
	'\u001b[1;3;31m',
	'\u001b[38;5;200m',
	'\u001b[48;2;1;2;3m',
	'\u001b[49m',
	'\u001b[7m',
	'\u001b[27m',
	'\u001b[3x',
];
const transformerPool: Transformer[] = [
	(line) => `\u001b[32m${line}\u001b[39m`,
	(line) => `\u001b[1m${line}\u001b[22m`,
	(line, index) => `${index}${line}`,
	(line) => line.toUpperCase(),
];
const textArbitrary = fc.array(fc.constantFrom(...pieces), {maxLength: 12}).map((parts) => parts.join(''));
const coordinate = fc.oneof({weight: 9, arbitrary: fc.integer({min: -4, max: 34})}, {weight: 1, arbitrary: fc.constantFrom(0.5, 2.5)});
const bound = fc.option(fc.integer({min: -2, max: 34}), {nil: undefined});
// Operations name their text by its place in a small pool, so frames write the same texts at other places and clips.
type Pooled = Exclude<Operation, {type: 'write'}> | (Omit<Extract<Operation, {type: 'write'}>, 'text'> & {text: number});
const operationArbitrary: fc.Arbitrary<Pooled> = fc.oneof(
	{
		weight: 6,
		arbitrary: fc.record({
			type: fc.constant('write' as const),
			x: coordinate,
			y: fc.integer({min: -2, max: 9}),
			text: fc.nat(5),
			transformers: fc.array(fc.constantFrom(...transformerPool), {maxLength: 2}),
		}),
	},
	{weight: 1, arbitrary: fc.record({type: fc.constant('clip' as const), clip: fc.record({x1: bound, x2: bound, y1: bound, y2: bound})})},
	{weight: 1, arbitrary: fc.constant({type: 'unclip' as const})},
);
const withTexts = (operations: Pooled[], pool: string[]): Operation[] =>
	operations.map((operation) => (operation.type === 'write' ? {...operation, text: pool[operation.text % pool.length]!} : operation));

it('the replacement Output draws exactly the frames Ink’s own draws, frame after frame, with its caches kept across frames', async () => {
	const {default: Original} = (await import(pathToFileURL(path.resolve('node_modules/ink/build/output.js')).href)) as {
		default: Patched['Output'];
	};
	expect(patched.Output).not.toBe(Original);
	fc.assert(
		fc.property(
			fc.integer({min: 1, max: 30}),
			fc.integer({min: 1, max: 8}),
			fc.array(textArbitrary, {minLength: 1, maxLength: 6}),
			// Frames drawn in turn, some of them repeated, as a screen mostly redraws what it drew before.
			fc.array(fc.array(operationArbitrary, {maxLength: 12}), {minLength: 1, maxLength: 4}),
			fc.array(fc.nat(3), {maxLength: 6}),
			(width, height, pool, frames, repeats) => {
				for (const frame of [...frames, ...repeats.map((index) => frames[index % frames.length]!)]) {
					const operations = withTexts(frame, pool);
					expect(draw(patched.Output, width, height, operations)).toEqual(draw(Original, width, height, operations));
				}
			},
		),
		{numRuns: 400},
	);
});

it('the replacement Output draws a real screen’s lines as Ink does, including a wide character cut by a clip', async () => {
	const {default: Original} = (await import(pathToFileURL(path.resolve('node_modules/ink/build/output.js')).href)) as {
		default: Patched['Output'];
	};
	const lines = ['\u001b[32mok\u001b[39m  fraud  v2 │ ██▏ 10%', 'plain text', '⣿⣀ chart → 12 ms · …', '界 wide'];
	for (let frame = 0; frame < 3; frame++) {
		const operations: Operation[] = [{type: 'clip', clip: {x1: 1, x2: 29, y1: 0, y2: 5}}];
		for (const [index, line] of lines.entries()) operations.push({type: 'write', x: frame, y: index, text: line, transformers: []});
		operations.push({type: 'write', x: 28, y: 3, text: '界界', transformers: []}, {type: 'unclip'});
		const drawn = draw(patched.Output, 30, 5, operations);
		expect(drawn).toEqual(draw(Original, 30, 5, operations));
		expect(drawn.output).toContain('chart');
	}
});

it('the replacement Output’s fast path draws every one-column character as Ink’s own does, plain and styled', async () => {
	const {default: Original} = (await import(pathToFileURL(path.resolve('node_modules/ink/build/output.js')).href)) as {
		default: Patched['Output'];
	};
	const characters: string[] = [];
	for (const [from, to] of narrowRanges as Array<[number, number]>)
		for (let codePoint = from; codePoint <= to; codePoint++) characters.push(String.fromCodePoint(codePoint));
	const differing: string[] = [];
	for (let start = 0; start < characters.length; start += 30) {
		const chunk = characters.slice(start, start + 30).join('');
		const operations: Operation[] = [
			{type: 'write', x: 0, y: 0, text: chunk, transformers: []},
			{type: 'write', x: 2, y: 1, text: `\u001b[1;31m${chunk.slice(0, 15)}\u001b[22m${chunk.slice(15)}\u001b[39m`, transformers: []},
		];
		if (draw(patched.Output, 40, 2, operations).output !== draw(Original, 40, 2, operations).output) differing.push(chunk);
	}

	expect(characters.length).toBeGreaterThan(800);
	expect(differing).toEqual([]);
});
