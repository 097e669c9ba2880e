// Patches of three dependencies, applied to node_modules when the project is installed (package.json "prepare", which
// `npm install` and `npm ci` run in this repository but not where the published package is installed), so the
// component tests, the bundle and the single executable all run the same code. Run it by hand with
// `npm run patch-dependencies`; `npm run build` and test/unit/ui/dependency-patches.test.ts refuse to go on when it
// has not run or is out of date.
//
// 1. Ink's Output (build/output.js) builds every frame as a grid of styled-character objects: every text tokenised
//    again (through Intl.Segmenter), every line turned into a string and back, every cell allocated. It is replaced by
//    source/ui/ink/output.ts, compiled here, which draws the same frames (a property test compares the two) with
//    caches kept across frames and interned cells: 2.5 percentage points of CPU less on the fleet screen, interleaved
//    (bench/console-variants.ts, bench/RESULTS.md).
// 2. string-width measures every string of every frame. Its fast path covers printable ASCII only; any other character
//    sends the whole string through Intl.Segmenter and several Unicode regexes per grapheme. The screens are full of
//    narrow non-ASCII characters (│ █ ▏ → · … › ✔ and braille charts), so the fast path is widened to characters that
//    are always one column (source/ui/ink/narrow-characters.ts).
// 3. meow's bundled dependencies run normalize-package-data when the module loads (semver, hosted-git-info, the SPDX
//    licence list sorted with localeCompare), every start, whether or not a package.json is ever normalised; modeldeck
//    hands meow its package fields and never asks for a normalised one. The call is made lazy: ~25 ms less before the
//    flags are read (bench/RESULTS.md).
//
// Each original is kept beside the patched file (output.original.js, index.original.js, dependencies.original.js)
// and checked against the digest it was written for, and the patch is made again from it every time, so running this
// twice is harmless and a change to output.ts is picked up. The packages are pinned to exact versions in package.json:
// a new version means comparing it with the patch first (the message says how).
import {createHash} from 'node:crypto';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {narrowClass} from '../source/ui/ink/narrow-characters.ts';

const repository = fileURLToPath(new URL('..', import.meta.url));
const replacementOutput = path.join(repository, 'source/ui/ink/output.ts');

export interface PatchedPackage {
	name: string;
	/** The exact version the patch was written for. */
	version: string;
	/** The file patched, and where its original is kept, in the package's folder. */
	file: string;
	original: string;
	/** The original file's sha256. */
	digest: string;
	howToUpdate: string;
	/** The patched file's text, from the original's. */
	patch: (original: string) => Promise<string>;
}

/** The patched packages: the exact version each patch was written for, and its original file's sha256. */
export const patchedPackages: PatchedPackage[] = [
	{
		name: 'ink',
		version: '8.0.0',
		file: 'build/output.js',
		original: 'build/output.original.js',
		digest: '5e6c511c0a573f48cd5765d7f1f16583d2595f7b05775608382bdb990b63f225',
		howToUpdate:
			'compare its build/output.js with source/ui/ink/output.ts and port the change (or drop the patch if Ink now does the same)',
		patch: async () => {
			const {build} = await import('esbuild');
			const result = await build({
				entryPoints: [replacementOutput],
				bundle: true,
				write: false,
				format: 'esm',
				platform: 'node',
				target: 'node22',
				// Ink's own dependencies, found from Ink's folder as its original output.js finds them.
				external: ['@alcalzone/ansi-tokenize', 'string-width'],
				logLevel: 'silent',
			});
			return result.outputFiles[0]!.text;
		},
	},
	{
		name: 'string-width',
		version: '8.3.0',
		file: 'index.js',
		original: 'index.original.js',
		digest: 'abc20775da6b552188b098688ebec671e29f5416d6339d3534bb7b016174003e',
		howToUpdate: 'check that its ASCII fast path is still the line this patch widens (or drop the patch if it now covers them)',
		patch: async (original) => {
			const search = 'if (/^[\\u0020-\\u007E]*$/.test(string)) {';
			if (!original.includes(search)) throw new Error(`string-width's fast path "${search}" is not in its index.js`);
			return original.replace(search, `if (/^[${narrowClass}]*$/.test(string)) {`);
		},
	},
	{
		name: 'meow',
		version: '14.1.0',
		file: 'build/dependencies.js',
		original: 'build/dependencies.original.js',
		digest: 'b8a6bc10fd20a7a5066d87bc3d93a340d58f2dd07bfdc2ee1d96ab9bf47dc446',
		howToUpdate:
			'check whether its build/dependencies.js still runs normalize-package-data when the module loads (the line this patch makes lazy; drop the patch if it no longer does)',
		patch: async (original) => {
			const search = 'var normalizeExports = requireNormalize();\nconst normalizePackageData = getDefaultExportFromCjs(normalizeExports);';
			if (!original.includes(search)) throw new Error(`meow's eager "${search}" is not in its build/dependencies.js`);
			return original.replace(
				search,
				'const normalizePackageData = (...parameters) => getDefaultExportFromCjs(requireNormalize())(...parameters);',
			);
		},
	},
];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const marker = (name: string) =>
	`// Patched by modeldeck (scripts/patch-dependencies.ts); ${name}'s own file is beside it, *.original.js.\n`;

function installed(root: string, spec: PatchedPackage): {folder: string; version: string | undefined} {
	const folder = path.join(root, spec.name);
	const manifest = path.join(folder, 'package.json');
	const version = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as {version: string}).version : undefined;
	return {folder, version};
}

function versionProblem(spec: PatchedPackage, version: string | undefined): string {
	return `${spec.name} ${version ?? '(not installed)'} is installed, but scripts/patch-dependencies.ts patches ${spec.name} ${spec.version}: ${spec.howToUpdate}, then set its version and digest in patchedPackages and pin "${spec.name}": "<version>" exactly in package.json (and package-lock.json), and run npm install.`;
}

/** The file as it must be: the original, checked, and the patch made from it. */
async function expected(folder: string, spec: PatchedPackage): Promise<{problem: string} | {original: string; patched: string}> {
	const backup = path.join(folder, spec.original);
	const original = readFileSync(existsSync(backup) ? backup : path.join(folder, spec.file), 'utf8');
	if (sha256(original) !== spec.digest) {
		return {
			problem: `${path.join(folder, existsSync(backup) ? spec.original : spec.file)} is not ${spec.name} ${spec.version}'s own file (sha256 ${sha256(original)}): reinstall it (npm ci), or ${spec.howToUpdate} and update its digest in scripts/patch-dependencies.ts.`,
		};
	}

	return {original, patched: marker(spec.name) + (await spec.patch(original))};
}

/** What is wrong with the patches under ROOT (a node_modules folder); empty when they are applied and up to date. */
export async function patchProblems(root: string): Promise<string[]> {
	const problems: string[] = [];
	for (const spec of patchedPackages) {
		const {folder, version} = installed(root, spec);
		if (version !== spec.version) {
			problems.push(versionProblem(spec, version));
			continue;
		}

		const want = await expected(folder, spec);
		if ('problem' in want) problems.push(want.problem);
		else if (readFileSync(path.join(folder, spec.file), 'utf8') !== want.patched) {
			problems.push(
				`${path.join(folder, spec.file)} is not patched, or was patched from an older source/ui/ink: run npm run patch-dependencies (npm install does it).`,
			);
		}
	}

	return problems;
}

/** Apply the patches under ROOT; throws with what to do when a package is not the version its patch was made for. */
export async function applyPatches(root: string): Promise<void> {
	for (const spec of patchedPackages) {
		const {folder, version} = installed(root, spec);
		if (version !== spec.version) throw new Error(versionProblem(spec, version));
		const want = await expected(folder, spec);
		if ('problem' in want) throw new Error(want.problem);
		const backup = path.join(folder, spec.original);
		if (!existsSync(backup)) writeFileSync(backup, want.original);
		const target = path.join(folder, spec.file);
		if (readFileSync(target, 'utf8') !== want.patched) writeFileSync(target, want.patched);
	}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const root = path.resolve(process.argv[2] ?? path.join(repository, 'node_modules'));
	try {
		await applyPatches(root);
		console.log(`patched ${patchedPackages.map((spec) => `${spec.name} ${spec.version}`).join(', ')} in ${root}`);
	} catch (error) {
		console.error(error instanceof Error ? error.message : String(error));
		process.exitCode = 1;
	}
}
