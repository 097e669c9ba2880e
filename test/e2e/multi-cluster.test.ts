/**
 * End to end with two real control planes: the built console in a real pty, started with `--context prod-us,prod-eu`
 * on a kubeconfig that has both, shows one fleet with a CLUSTER column, prod-us's rows under the red PROD badge its
 * settings give it, and the header names both contexts.
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {mergeKubeconfigs} from '../support/merged-kubeconfig.ts';
import {runProcess} from '../support/child-process.ts';
import {PtyTerminal} from '../support/terminal.ts';

let us: Cluster;
let eu: Cluster;
let directory: string;
let terminal: PtyTerminal | undefined;

beforeAll(async () => {
	us = await startCluster();
	eu = await startCluster();
	for (const cluster of [us, eu]) {
		const api = new TestApi(cluster.kubeconfig);
		await api.createAll(fraudScenario('team-a').objects);
		await api.waitForRollouts('team-a');
	}

	directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-multi-'));
	mergeKubeconfigs(path.join(directory, 'kubeconfig'), [
		{context: 'prod-us', kubeconfig: us.kubeconfig},
		{context: 'prod-eu', kubeconfig: eu.kubeconfig},
	]);
	mkdirSync(path.join(directory, 'config'));
	writeFileSync(path.join(directory, 'config', 'config.json'), JSON.stringify({contexts: {'prod-us': {label: 'PROD', color: 'red'}}}));
}, 300_000);

afterAll(async () => {
	terminal?.kill();
	await Promise.all([us?.stop(), eu?.stop()]);
	if (directory) rmSync(directory, {recursive: true, force: true});
});

/** Where TEXT starts on the screen, as [column, row]. */
function find(terminal: PtyTerminal, text: string): [number, number] {
	const lines = terminal.screen().split('\n');
	const row = lines.findIndex((line) => line.includes(text));
	return [lines[row]!.indexOf(text), row];
}

it('shows both clusters merged with a CLUSTER column and a red PROD badge', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		// --colors full: the badge's colour is what is checked, whatever the environment says (CI=true turns auto off).
		[
			path.resolve('dist/cli.js'),
			'--kubeconfig',
			path.join(directory, 'kubeconfig'),
			'--context',
			'prod-us,prod-eu',
			'-n',
			'team-a',
			'--colors',
			'full',
		],
		{cols: 120, rows: 30, env: {MODELDECK_CONFIG_DIR: path.join(directory, 'config')}},
	);
	const screen = await terminal.waitFor((text) => /PROD\s+fraud/.test(text) && /prod-eu\s+fraud/.test(text), 30_000);
	expect(screen).toMatch(/^\s*CLUSTER\s+MODEL/m);
	expect(screen.split('\n')[0]).toContain('prod-us,prod-eu');
	// Both clusters' fraud models, each with its versions.
	expect(screen.match(/v1\s+stable/g)).toHaveLength(2);
	expect(screen.match(/v2\s+canary/g)).toHaveLength(2);
	// The badge on the row is red: inverse video in the red of the palette.
	const [column, row] = find(terminal, 'PROD    fraud');
	const cell = terminal.xterm.buffer.active.getLine(terminal.xterm.buffer.active.viewportY + row)!.getCell(column)!;
	expect(cell.getChars()).toBe('P');
	expect(cell.isInverse()).toBeTruthy();
	expect(cell.isFgPalette()).toBe(true);
	expect(cell.getFgColor()).toBe(1);
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
}, 120_000);

it('refuses a list naming a context the kubeconfig does not have, or a context twice, listing the ones it has', async () => {
	const config = path.join(directory, 'empty-config');
	mkdirSync(config, {recursive: true});
	const run = (context: string) =>
		runProcess(process.execPath, [path.resolve('dist/cli.js'), '--kubeconfig', path.join(directory, 'kubeconfig'), '--context', context], {
			env: {...process.env, MODELDECK_CONFIG_DIR: config},
			livenessMs: 60_000,
		});
	const missing = await run('prod-us,prod-ap');
	expect(missing.code).toBe(2);
	expect(missing.stderr).toContain(
		'--context names a context the kubeconfig does not have: prod-ap (contexts: prod-us, prod-eu). Fix the list.',
	);
	const twice = await run('prod-us, prod-us');
	expect(twice.code).toBe(2);
	expect(twice.stderr).toContain('--context names the context prod-us twice: list each context once.');
	const empty = await run('prod-us,');
	expect(empty.code).toBe(2);
	expect(empty.stderr).toContain('with no empty name (got "prod-us,")');
}, 120_000);
