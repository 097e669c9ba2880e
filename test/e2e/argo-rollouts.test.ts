/**
 * End to end through the real Argo Rollouts controller: the built console in a real pty, as the operator, on a canary
 * Rollout routed by an Istio VirtualService. The operator promotes it a step, aborts it and retries it with the
 * console's keys, each confirmed in the dialog its plan opens; the controller's own changes (its status, the
 * VirtualService's weights) are what the screen and the test read back. A direct weight key on the Rollout, whose
 * router the controller owns, is refused on screen with the controller's own command, and nothing is written.
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type RunningRolloutsController, startRolloutsController} from '../../harness/argo-rollouts.ts';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {podTemplate, RolloutApi, rolloutCanary} from '../fixtures/kube/argo-rollouts-manifests.ts';
import {PtyTerminal} from '../support/terminal.ts';

const namespace = 'team-a';
let cluster: Cluster;
let controller: RunningRolloutsController;
let api: TestApi;
let rollouts: RolloutApi;
let terminal: PtyTerminal | undefined;

async function rolloutStatus(): Promise<Record<string, any>> {
	return (await rollouts.get('Rollout', namespace, 'fraud')).status ?? {};
}

beforeAll(async () => {
	cluster = await startCluster();
	controller = await startRolloutsController(cluster);
	api = new TestApi(cluster.kubeconfig);
	rollouts = new RolloutApi(api.http);
	for (const object of rolloutCanary(namespace, 'fraud')) await rollouts.create(object);
	await api.waitFor('fraud healthy on v1', async () => (await rolloutStatus()).phase === 'Healthy', 120_000);
	await rollouts.patch('Rollout', namespace, 'fraud', {spec: {template: podTemplate('fraud', 'v2')}});
	await api.waitFor(
		'fraud paused at weight 20',
		async () => {
			const status = await rolloutStatus();
			return (
				status.currentStepIndex === 1 &&
				(status.pauseConditions ?? []).length > 0 &&
				(await rollouts.weights(namespace, 'fraud')).join() === '80,20'
			);
		},
		120_000,
	);
}, 600_000);

afterAll(async () => {
	terminal?.kill();
	await controller?.stop();
	await cluster?.stop();
});

it('promotes, aborts and retries a Rollout through the controller, and refuses a direct weight with its command', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', 'operator', '-n', namespace],
		{cols: 160, rows: 40, env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-argo-'))}},
	);
	let screen = await terminal.waitFor(/fraud[\s\S]*v2\s+canary\s+\S*\s*20%/, 30_000);
	expect(screen).toMatch(/v1\s+stable\s+\S*\s*80%/);
	terminal.press('enter');
	screen = await terminal.waitFor('Argo Rollouts: Paused · step 2/4');
	expect(screen).toContain('router argo-rollouts VirtualService/fraud-vs');

	// A direct weight key: refused with the controller's own command, and the VirtualService is as the controller left it.
	terminal.press('+');
	screen = await terminal.waitFor('refused: Argo Rollouts owns VirtualService/fraud-vs: use kubectl argo rollouts promote fraud -n team-a');
	expect(screen).not.toContain('╭');
	expect(await rollouts.weights(namespace, 'fraud')).toEqual([80, 20]);

	// Promote one step: the plan, confirmed; the controller moves to 50% and pauses at step 4/4.
	terminal.press('>');
	screen = await terminal.waitFor('writes Rollout/fraud status: pause conditions cleared (as kubectl argo rollouts promote fraud');
	expect(screen).toContain('canary v2: 20% → 50%');
	terminal.press('y');
	screen = await terminal.waitFor('Argo Rollouts: Paused · step 4/4', 60_000);
	await terminal.waitFor(/v2.*50%/);
	expect(await rollouts.weights(namespace, 'fraud')).toEqual([50, 50]);

	// Abort: the controller sends everything back to the stable and says the rollout is aborted.
	terminal.press('A');
	screen = await terminal.waitFor('writes Rollout/fraud status: abort true (as kubectl argo rollouts abort fraud -n team-a)');
	expect(screen).toContain('Abort fraud through Argo Rollouts?');
	expect(screen).toContain('canary v2: 50% → 0%');
	terminal.press('y');
	screen = await terminal.waitFor('Argo Rollouts: Degraded', 60_000);
	expect(screen).toMatch(/RolloutAborted/);
	expect(await rollouts.weights(namespace, 'fraud')).toEqual([100, 0]);
	expect((await rolloutStatus()).abort).toBe(true);

	// Retry: the controller starts the steps over, 20% and paused at step 2/4.
	terminal.press('R');
	screen = await terminal.waitFor('writes Rollout/fraud status: abort false (as kubectl argo rollouts retry rollout fraud');
	expect(screen).toContain('Retry fraud through Argo Rollouts?');
	expect(screen).toContain('canary v2: 0% → 20%');
	terminal.press('y');
	await terminal.waitFor('Argo Rollouts: Paused · step 2/4', 60_000);
	await api.waitFor('the controller back at 20%', async () => (await rollouts.weights(namespace, 'fraud')).join() === '80,20');
	expect((await rolloutStatus()).abort).not.toBe(true);

	terminal.press('q');
	expect(await terminal.exited).toBe(0);
});
