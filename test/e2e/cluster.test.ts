/**
 * End to end against the local control plane: the built console in a real pty, as the operator user, shows the
 * models that are in the cluster and shifts a weight through the confirmation; the route is read back.
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {PtyTerminal} from '../support/terminal.ts';

let cluster: Cluster;
let api: TestApi;
let terminal: PtyTerminal | undefined;

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
});

afterAll(async () => {
	terminal?.kill();
	await cluster?.stop();
});

it('shows the cluster models and shifts a weight end to end, as the operator', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', 'operator', '-n', 'team-a'],
		{cols: 110, rows: 30, env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))}},
	);
	let screen = await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	expect(screen).not.toContain('DEMO');
	expect(screen).toContain('operator');
	expect(screen).toMatch(/v1\s+stable\s+\S*\s*80%/);
	expect(screen).toMatch(/v2\s+canary\s+\S*\s*20%/);
	// No Prometheus in this cluster either: once looked for, it is off (the header's second line says what was looked for).
	await terminal.waitFor('prom:off', 20_000);
	// No agent installed in this cluster: the console says so and keeps working with direct actions.
	screen = await terminal.waitFor('agent:off');
	terminal.press('l');
	screen = await terminal.waitFor('no prediction log');
	expect(screen).toContain('no modeldeck agent found');

	terminal.press('+');
	screen = await terminal.waitFor('canary v2: 20% → 30%');
	expect(screen).toContain('writes HTTPRoute');
	// Said before anything is sent: no agent checks or audits this one.
	// user@context: the kubeconfig's user is known from the first frame (it was only after the client had loaded).
	expect(screen).toContain('no agent: straight to the cluster as operator@operator, audited in this console only');
	terminal.press('y');
	await terminal.waitFor(/v2\s+canary\s+\S*\s*30%/, 20_000);

	const route = await api.get('HTTPRoute', 'team-a', 'fraud');
	expect(route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)).toEqual([70, 30]);

	// The console's own audit view records it, under the name of the kubeconfig context whose user the API server checked.
	terminal.press('a');
	screen = await terminal.waitFor(/set-weight\s+team-a\/fraud/, 10_000);
	expect(screen.split('\n').find((line) => line.includes('set-weight'))).toMatch(
		/\boperator\s+set-weight\s+team-a\/fraud\s+.*20% → .*30% ok/,
	);

	terminal.press('q');
	expect(await terminal.exited).toBe(0);
});
