// The single executable's entry (scripts/sea.ts bundles it as CommonJS): yoga-layout's WebAssembly is loaded here,
// before anything imports Ink, because the module that would load it (with a top-level await, which CommonJS cannot
// have) is patched to take it from here; then the command line starts as in the npm bin.
import {loadYoga} from 'yoga-layout/load';

declare global {
	/** The loaded Yoga, which the patched yoga-layout module of the bundle takes (scripts/sea.ts, seaPatches). */
	var __modeldeckYoga: Awaited<ReturnType<typeof loadYoga>> | undefined;
}

// As in source/cli.tsx: without fetch, Yoga decodes its inline bytes directly instead of loading Node's HTTP client.
const fetchDescriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
Object.defineProperty(globalThis, 'fetch', {value: undefined, configurable: true, writable: true});
loadYoga()
	.then((yoga) => {
		globalThis.__modeldeckYoga = yoga;
	})
	.finally(() => {
		if (fetchDescriptor) Object.defineProperty(globalThis, 'fetch', fetchDescriptor);
	})
	.then(() => import('../source/cli.tsx'))
	.catch((error) => {
		process.stderr.write(`modeldeck: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exitCode = 1;
	});
