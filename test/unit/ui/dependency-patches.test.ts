// The patches of Ink's Output, string-width and meow (scripts/patch-dependencies.ts), applied to node_modules at install
// so the tests and the bundle run the same code: they must change speed and what is kept only, never what is drawn or
// parsed, and they hold only for the exact versions they were written for.
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import fc from 'fast-check';
import {beforeAll, describe, expect, it} from 'vitest';
import {applyPatches, patchedPackages, patchProblems} from '../../../scripts/patch-dependencies.ts';
import {narrowRanges} from '../../../source/ui/ink/narrow-characters.ts';

type OutputClass = new (options: {
	width: number;
	height: number;
}) => {
	write(x: number, y: number, text: string, options: {transformers: unknown[]}): void;
	get(): {output: string; height: number};
};
type Drawing = {stringWidth: (text: string) => number; Output: OutputClass};
type PatchSpec = {name: string; version: string; file: string; original: string};
/** What Ink and string-width run with (patched), and their own files kept beside them. */
let patched: Drawing;
let original: Drawing;

const moduleUrl = (file: string) => pathToFileURL(realpathSync(path.resolve('node_modules', file))).href;
const load = async <T>(file: string): Promise<T> => ((await import(moduleUrl(file))) as {default: T}).default;

describe('the patched packages', () => {
	it('are the exact versions the patches were written for, pinned in package.json and the lockfile, and patched in node_modules', async () => {
		const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {dependencies: Record<string, string>};
		const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
			packages: Record<string, {dependencies?: Record<string, string>}>;
		};
		const problems: string[] = [...((await patchProblems('node_modules')) as string[])];
		for (const spec of patchedPackages as PatchSpec[]) {
			for (const [where, pinned] of [
				['package.json', manifest.dependencies[spec.name]],
				['package-lock.json', lock.packages['']?.dependencies?.[spec.name]],
			] as const) {
				if (pinned !== spec.version) {
					problems.push(
						`${where} gives ${spec.name} as "${pinned}", but scripts/patch-dependencies.ts patches exactly ${spec.version}: pin "${spec.name}": "${spec.version}" (no ^ or ~), or move the patch to the new version first.`,
					);
				}
			}
		}

		expect(problems, problems.join('\n')).toEqual([]);
	});

	it('are checked: another version, or an unpatched copy, is named with what to do; applying the patches fixes the copy', async () => {
		const root = mkdtempSync(path.join(tmpdir(), 'modeldeck-patch-'));
		for (const spec of patchedPackages as PatchSpec[]) {
			mkdirSync(path.dirname(path.join(root, spec.name, spec.file)), {recursive: true});
			copyFileSync(path.join('node_modules', spec.name, 'package.json'), path.join(root, spec.name, 'package.json'));
			// As npm installs it: the package's own file in place, no copy beside it.
			copyFileSync(path.join('node_modules', spec.name, spec.original), path.join(root, spec.name, spec.file));
		}

		const before = (await patchProblems(root)) as string[];
		expect(before).toHaveLength(patchedPackages.length);
		expect(before[0]).toMatch(
			/ink[/\\]build[/\\]output\.js is not patched, or was patched from an older source\/ui\/ink: run npm run patch-dependencies/,
		);
		await applyPatches(root);
		await applyPatches(root);
		expect(await patchProblems(root)).toEqual([]);
		expect(readFileSync(path.join(root, 'ink/build/output.js'), 'utf8')).toBe(readFileSync('node_modules/ink/build/output.js', 'utf8'));

		const manifest = path.join(root, 'ink/package.json');
		const {writeFileSync} = await import('node:fs');
		writeFileSync(manifest, JSON.stringify({name: 'ink', version: '8.0.1'}));
		const [problem] = (await patchProblems(root)) as string[];
		expect(problem).toContain(
			'ink 8.0.1 is installed, but scripts/patch-dependencies.ts patches ink 8.0.0: compare its build/output.js with source/ui/ink/output.ts',
		);
		await expect(applyPatches(root)).rejects.toThrow('ink 8.0.1 is installed');
	});
});

beforeAll(async () => {
	patched = {stringWidth: await load('string-width/index.js'), Output: await load('ink/build/output.js')};
	original = {stringWidth: await load('string-width/index.original.js'), Output: await load('ink/build/output.original.js')};
});

it('every character of the widened fast path is one column wide for string-width itself', () => {
	const wrong: string[] = [];
	for (const [from, to] of narrowRanges) {
		for (let codePoint = from; codePoint <= to; codePoint++) {
			const character = String.fromCodePoint(codePoint);
			if (original.stringWidth(character) !== 1) wrong.push(`U+${codePoint.toString(16)}`);
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
			expect(patched.stringWidth(text)).toBe(original.stringWidth(text));
		}),
	);
});

type Transformer = (line: string, index: number) => string;
type Operation =
	| {type: 'write'; x: number; y: number; text: string; transformers: Transformer[]}
	| {type: 'clip'; clip: {x1?: number; x2?: number; y1?: number; y2?: number}}
	| {type: 'unclip'};

function draw(Output: OutputClass, width: number, height: number, operations: Operation[]): {output: string; height: number} {
	const output = new Output({width, height}) as InstanceType<OutputClass> & {clip(clip: object): void; unclip(): void};
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
	const Original = original.Output;
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
	const Original = original.Output;
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
	const Original = original.Output;
	const characters: string[] = [];
	for (const [from, to] of narrowRanges)
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

describe('the patched meow', () => {
	type Dependencies = {n: (manifest: Record<string, unknown>) => void};
	// A fresh instance of each file: the module is evaluated here, not reused from an earlier import.
	const fresh = async (file: string): Promise<{module: Dependencies; localeCompares: number}> => {
		const compare = String.prototype.localeCompare;
		let localeCompares = 0;
		String.prototype.localeCompare = function (this: string, ...rest: Parameters<typeof compare>) {
			localeCompares++;
			return compare.apply(this, rest);
		};
		try {
			const module = (await import(`${moduleUrl(file)}?instance=${Math.random()}`)) as Dependencies;
			return {module, localeCompares};
		} finally {
			String.prototype.localeCompare = compare;
		}
	};

	it('does not normalise package data when it loads, as its own file does (sorting the SPDX licence list)', async () => {
		expect((await fresh('meow/build/dependencies.original.js')).localeCompares).toBeGreaterThan(0);
		expect((await fresh('meow/build/dependencies.js')).localeCompares).toBe(0);
	});

	it('normalises a package.json as its own file does, when asked', async () => {
		const [patchedMeow, originalMeow] = [
			(await fresh('meow/build/dependencies.js')).module,
			(await fresh('meow/build/dependencies.original.js')).module,
		];
		const manifest = fc.record(
			{
				name: fc.constantFrom('modeldeck', '@team/console', 'x'),
				version: fc.constantFrom('0.1.0', '1.2.3-rc.1', 'v2.0.0'),
				license: fc.constantFrom('MIT', 'Apache 2', 'GPL-3.0-or-later', 'mit', 'BSD'),
				repository: fc.constantFrom('github:team/console', 'https://github.com/team/console.git', {
					type: 'git',
					url: 'git@gitlab.com:a/b.git',
				}),
				description: fc.string({maxLength: 20}),
				bin: fc.constantFrom('cli.js', {modeldeck: 'dist/cli.js'}),
			},
			{requiredKeys: ['name', 'version']},
		);
		fc.assert(
			fc.property(manifest, (data) => {
				const [left, right] = [structuredClone(data), structuredClone(data)];
				patchedMeow.n(left);
				originalMeow.n(right);
				expect(left).toEqual(right);
			}),
			{numRuns: 50},
		);
	});
});
