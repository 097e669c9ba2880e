// Production bundle: one ESM entry with lazily loaded chunks (the Kubernetes client, the agent, Prometheus),
// minified, NODE_ENV=production, so start-up parses a few files instead of a thousand modules.
import {build} from 'esbuild';
import {chmod, rm} from 'node:fs/promises';
import {renderPatches} from './render-patches.mjs';

const started = performance.now();
await rm('dist', {recursive: true, force: true});
const result = await build({
	entryPoints: {cli: 'source/cli.tsx'},
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
	define: {'process.env.NODE_ENV': '"production"'},
	// Optional peer of Ink, only loaded when DEV=true.
	external: ['react-devtools-core'],
	// jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; its ES modules bundle.
	alias: {'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js'},
	banner: {
		// CommonJS dependencies bundled into ESM still call require() for Node built-ins.
		js: "import {createRequire as __modeldeckCreateRequire} from 'node:module';const require=__modeldeckCreateRequire(import.meta.url);",
	},
	plugins: [renderPatches],
	metafile: true,
	logLevel: 'warning',
});
await chmod('dist/cli.js', 0o755);
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const total = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(`built dist/ (${outputs.length} files, ${(total / 1024).toFixed(0)} KiB) in ${Math.round(performance.now() - started)} ms`);
