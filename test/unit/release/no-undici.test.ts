/**
 * The production bundle keeps Node's own undici out of the console's process (scripts/no-undici.ts): a module that
 * imports node:http as an ES module and uses prometheus-query (axios), bundled with the build's plugins, runs without
 * loading it — and loads it when bundled without them, so the check can fail.
 */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {build, type Plugin} from 'esbuild';
import {afterAll, expect, it} from 'vitest';
import {axiosWithoutWebGlobals, httpWithoutFacade} from '../../../scripts/no-undici.ts';

const work = mkdtempSync(path.join(tmpdir(), 'modeldeck-no-undici-'));
afterAll(() => rmSync(work, {recursive: true, force: true}));

const entry = path.join(work, 'entry.ts');
writeFileSync(
	entry,
	[
		"import http, {STATUS_CODES} from 'node:http';",
		"import {PrometheusDriver} from 'prometheus-query';",
		"const driver = new PrometheusDriver({endpoint: 'http://127.0.0.1:9'});",
		'const undici = process.moduleLoadList.some((name) => name.includes("undici"));',
		'console.log(JSON.stringify({undici, ok: typeof http.request === "function" && STATUS_CODES[404] === "Not Found" && typeof driver.instantQuery === "function"}));',
	].join('\n'),
);

async function run(plugins: Plugin[]): Promise<{undici: boolean; ok: boolean}> {
	const outfile = path.join(work, `out-${plugins.length}.mjs`);
	await build({
		entryPoints: [entry],
		outfile,
		bundle: true,
		format: 'esm',
		platform: 'node',
		target: 'node22',
		// As scripts/build.ts: CommonJS dependencies call require() for Node built-ins.
		banner: {js: "import {createRequire as __c} from 'node:module';const require=__c(import.meta.url);"},
		nodePaths: [path.resolve('node_modules')],
		// node_modules may be a symlink (a worktree's): resolve through it, not to where it points.
		preserveSymlinks: true,
		plugins,
		logLevel: 'error',
	});
	return JSON.parse(execFileSync(process.execPath, [outfile], {encoding: 'utf8'}).trim()) as {undici: boolean; ok: boolean};
}

it('bundled with the plugins, node:http and prometheus-query work without loading Node’s undici', async () => {
	expect(await run([httpWithoutFacade, axiosWithoutWebGlobals])).toEqual({undici: false, ok: true});
});

it('bundled without them, the same module loads it', async () => {
	expect(await run([])).toEqual({undici: true, ok: true});
});
