/**
 * `modeldeck runbook run FILE --kubeconfig …` on the local control plane: the built program starts the console as it
 * does for a cluster, without a terminal, and carries the steps out — a key that shifts weight really patches the
 * HTTPRoute, read back here — and a check the cluster does not bear out exits 1.
 */
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {runProcess} from '../support/child-process.ts';

let cluster: Cluster;
let api: TestApi;
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-runbook-cluster-'));
const cli = path.resolve('dist/cli.js');

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
});

afterAll(async () => {
	await cluster?.stop();
});

async function weights(): Promise<number[]> {
	const route = await api.get('HTTPRoute', 'team-a', 'fraud');
	return route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);
}

function runbook(name: string, text: string): string {
	const file = path.join(directory, name);
	writeFileSync(file, text);
	return file;
}

function modeldeck(args: string[]) {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first.');
	return runProcess(process.execPath, [cli, ...args], {
		env: {...process.env, MODELDECK_CONFIG_DIR: directory, NO_COLOR: '1'},
		livenessMs: 120_000,
	});
}

it('keys shift the canary weight on the cluster; waits and checks read it back', async () => {
	expect(await weights()).toEqual([80, 20]);
	const file = runbook(
		'weight.yaml',
		`title: One step more for the canary
steps:
  - check: {model: fraud, version: v2, weight: 20}
  - check: {model: fraud, version: v2, exists: true}
  - say: Select the canary, a step more with +, confirmed with y.
    select: fraud v2
  - keys: +
  - say: The plan is read from the cluster; the confirmation shows it.
    wait: {dialog: confirm, timeout: 30s}
  - keys: y
  - wait: {model: fraud, version: v2, weight: 30, timeout: 60s}
  - check: {model: fraud, version: stable, weight: 70}
`,
	);
	const junit = path.join(directory, 'weight.xml');
	const run = await modeldeck(['runbook', 'run', file, '--junit', junit, '--kubeconfig', cluster.kubeconfig, '-n', 'team-a']);
	expect(run.stdout, run.stderr).toContain('passed: 8 passed, 0 failed');
	expect(run.stdout).toContain('context admin');
	expect(run.code).toBe(0);
	expect(await weights()).toEqual([70, 30]);
	expect(existsSync(junit)).toBe(true);
}, 150_000);

it('a check the cluster does not bear out: exit 1, expected against shown', async () => {
	const file = runbook('wrong.yaml', 'title: Wrong\nsteps:\n  - check: {model: fraud, version: v2, weight: 55}\n');
	const run = await modeldeck(['runbook', 'run', file, '--kubeconfig', cluster.kubeconfig, '-n', 'team-a']);
	expect(run.code).toBe(1);
	expect(run.stdout).toContain('expected: the weight of fraud v2 is 55%');
	expect(run.stdout).toMatch(/shown: {4}the weight of team-a\/fraud v2 is \d+%/);
}, 150_000);

it('a console flag that is wrong is bad input, exit 2', async () => {
	const file = runbook('ok.yaml', 'title: Ok\nsteps:\n  - check: {screen: fleet}\n');
	const run = await modeldeck(['runbook', 'run', file, '--kubeconfig', cluster.kubeconfig, '--context', 'nope']);
	expect(run.code).toBe(2);
	expect(run.stderr).toContain('Context nope is not in the kubeconfig');
}, 60_000);
