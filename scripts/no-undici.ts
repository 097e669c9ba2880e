// esbuild plugins for the production bundle that keep Node's own bundled undici (its fetch, WebSocket, Request,
// Response, Headers, FormData: ~0.75 MB of source) out of the console's process. The console never uses them, and
// loading them costs about 12 MB of RSS and 30-60 ms at start-up (measured on Node 24: a bare
// `import http from 'node:http'` takes a process from 45 to 57 MB RSS). Two things in the bundle loaded them:
//
// 1. `import … from 'node:http'` (in modeldeck's source and in ES-module dependencies such as @kubernetes/client-node).
//    The first ES-module import of a built-in makes its ES-module facade, which reads every export once, and
//    node:http's exports include lazy getters (WebSocket, CloseEvent, MessageEvent) that load undici to answer. Such
//    imports get a module that require()s node:http instead (require() makes no facade). The names are the ones
//    node:http exports; one an importer uses that is missing here fails the build.
// 2. axios (inside prometheus-query) reads globalThis.FormData once when its utils are evaluated, and
//    globalThis.Request and Response when it builds a default fetch adapter at evaluation that nothing uses (the
//    adapters call getFetch() themselves, for a request that asks for the fetch adapter; in Node axios takes the http
//    adapter). In Node those globals are lazy data properties: reading them, or
//    even their descriptors, loads undici. Its utils then leave out their `instanceof FormData` test (its duck-typed test
//    still recognises a FormData: `[object FormData]` with an append method), and no fetch adapter is built at load.
//    The build fails if either text is not found (axios changed: check the patch again).
import type {Plugin} from 'esbuild';
import {readFile} from 'node:fs/promises';

/** node:http's exports other than the lazy getters (which stay reachable through the default export). */
const httpNames = [
	'Agent',
	'ClientRequest',
	'IncomingMessage',
	'METHODS',
	'OutgoingMessage',
	'STATUS_CODES',
	'Server',
	'ServerResponse',
	'createServer',
	'get',
	'request',
	'setMaxIdleHTTPParsers',
	'validateHeaderName',
	'validateHeaderValue',
];

export const httpWithoutFacade: Plugin = {
	name: 'http-without-facade',
	setup(build) {
		build.onResolve({filter: /^(node:)?http$/}, (args) =>
			args.kind === 'import-statement' || args.kind === 'dynamic-import'
				? {path: 'node:http', namespace: 'http-without-facade'}
				: undefined,
		);
		build.onLoad({filter: /.*/, namespace: 'http-without-facade'}, () => ({
			// `require` is the bundle's own (the banner's createRequire), so node:http loads as CommonJS.
			contents: [
				"const http = require('node:http');",
				'export default http;',
				`export const {${httpNames.join(', ')}} = http;`,
				'export const globalAgent = http.globalAgent;',
				'export const maxHeaderSize = http.maxHeaderSize;',
			].join('\n'),
			loader: 'js',
		}));
	},
};

const formData: [string, string] = [
	"const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;",
	'const FormDataCtor = undefined; // modeldeck: reading globalThis.FormData loads Node’s undici (scripts/no-undici.ts)',
];

/** File (under node_modules/axios/) → its patches, [text, replacement]. The bundle takes dist/node/axios.cjs. */
export const axiosPatches: Record<string, Array<[string, string]>> = {
	'dist/node/axios.cjs': [formData, ['};\ngetFetch();\n', '};\n// modeldeck: no fetch adapter built at load (scripts/no-undici.ts)\n']],
	'lib/utils.js': [formData],
	'lib/adapters/fetch.js': [
		[
			'const adapter = getFetch();\n\nexport default adapter;',
			'// modeldeck: no fetch adapter built at load (scripts/no-undici.ts)\nexport default undefined;',
		],
	],
};

export const axiosWithoutWebGlobals: Plugin = {
	name: 'axios-without-web-globals',
	setup(build) {
		build.onLoad(
			{filter: /[/\\]node_modules[/\\]axios[/\\](dist[/\\]node[/\\]axios\.cjs|lib[/\\]utils\.js|lib[/\\]adapters[/\\]fetch\.js)$/},
			async (args) => {
				const file = args.path.replace(/\\/g, '/').replace(/.*\/node_modules\/axios\//, '');
				let source = await readFile(args.path, 'utf8');
				for (const [text, replacement] of axiosPatches[file] ?? []) {
					if (!source.includes(text)) throw new Error(`scripts/no-undici.ts: axios's ${file} changed; the patch no longer applies`);
					source = source.replace(text, replacement);
				}

				return {contents: source, loader: 'js'};
			},
		);
	},
};
