// Production bundle: one ESM entry with lazily loaded chunks (the Kubernetes client, the agent, Prometheus),
// minified, NODE_ENV=production, so start-up parses a few files instead of a thousand modules.
// The bin, dist/cli.js, is not the bundle: it is scripts/check-node.mjs (plain syntax any Node can read) followed by an
// import of the bundle, dist/main.js, so an old Node prints what is wrong and how to fix it instead of failing inside
// the bundle.
import {build} from 'esbuild';
import {chmod, readFile, rm, writeFile} from 'node:fs/promises';
import {patchProblems} from './patch-dependencies.ts';
import {axiosWithoutWebGlobals, httpWithoutFacade} from './no-undici.ts';

const started = performance.now();
// Ink and string-width are patched in node_modules at install (scripts/patch-dependencies.ts), for the tests and the
// bundle alike: a bundle built from unpatched or stale copies would draw with code the tests never ran.
// MODELDECK_ALLOW_UNPATCHED=1 builds anyway, for measuring a patch against the stock code (bench/RESULTS.md).
const problems = await patchProblems('node_modules');
if (problems.length > 0) {
	console.error(problems.join('\n'));
	if (process.env['MODELDECK_ALLOW_UNPATCHED'] !== '1') process.exit(1);
}

const manifest = JSON.parse(await readFile('package.json', 'utf8')) as {name: string; version: string; bin: unknown};
await rm('dist', {recursive: true, force: true});
const result = await build({
	entryPoints: {main: 'source/cli.tsx'},
	outdir: 'dist',
	bundle: true,
	splitting: true,
	format: 'esm',
	platform: 'node',
	target: 'node22',
	// MODELDECK_MINIFY=0 keeps names readable in CPU profiles.
	minify: process.env['MODELDECK_MINIFY'] !== '0',
	sourcemap: 'linked',
	chunkNames: 'chunks/[name]-[hash]',
	// Node ≥ 22 has the RegExp v flag; esbuild would otherwise turn every /…/v literal into new RegExp(…, 'v'), which
	// builds the whole character set when the module loads (string-width's \p{RGI_Emoji} alone took 15–20 ms of start-up).
	supported: {'regexp-set-notation': true},
	define: {
		'process.env.NODE_ENV': '"production"',
		// What meow would read from package.json on every start (and normalise: licences, repository URLs), built in.
		MODELDECK_PACKAGE: JSON.stringify({name: manifest.name, version: manifest.version, bin: manifest.bin}),
	},
	// Optional peer of Ink, only loaded when DEV=true.
	external: ['react-devtools-core'],
	// jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; its ES modules bundle.
	alias: {'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js'},
	banner: {
		// CommonJS dependencies bundled into ESM still call require() for Node built-ins.
		js: "import {createRequire as __modeldeckCreateRequire} from 'node:module';const require=__modeldeckCreateRequire(import.meta.url);",
	},
	// no-undici.ts: keeps Node's bundled undici out of the process (Ink's frame building is patched in node_modules at install).
	plugins: [httpWithoutFacade, axiosWithoutWebGlobals],
	metafile: true,
	logLevel: 'warning',
});
// The bin keeps source/cli.tsx's shebang (its V8 flags); the bundle's copy of it is harmless. After the Node check
// comes scripts/bin-start.mjs, which turns Node's compile cache on and imports the bundle.
const [shebang] = (await readFile('source/cli.tsx', 'utf8')).split('\n', 1);
const check = await readFile('scripts/check-node.mjs', 'utf8');
const bin = await readFile('scripts/bin-start.mjs', 'utf8');
await writeFile('dist/cli.js', `${shebang}\n${check}\n${bin}`);
await chmod('dist/cli.js', 0o755);
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const total = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(`built dist/ (${outputs.length} files, ${(total / 1024).toFixed(0)} KiB) in ${Math.round(performance.now() - started)} ms`);
