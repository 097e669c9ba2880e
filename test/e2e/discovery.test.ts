/**
 * End to end against the local control plane: the built console in a real pty shows a cluster without modeldeck's
 * labels (unlabelled.ts: name + version labels, an unannotated HTTPRoute, a TrafficSplit, Seldon, KServe RawDeployment),
 * says in the model view how a model was found, and in a namespace with nothing says what it looked for.
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {applyUnlabelled, unlabelledNamespace} from '../fixtures/kube/unlabelled.ts';
import {PtyTerminal} from '../support/terminal.ts';

let cluster: Cluster;
let terminal: PtyTerminal | undefined;

beforeAll(async () => {
	cluster = await startCluster();
	const api = new TestApi(cluster.kubeconfig);
	await applyUnlabelled(api);
	await api.http.request('POST', '/api/v1/namespaces', {body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'nothing-here'}}});
});

afterAll(async () => {
	terminal?.kill();
	await cluster?.stop();
});

function consoleIn(namespace: string): PtyTerminal {
	return PtyTerminal.spawn(process.execPath, [path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '-n', namespace], {
		cols: 160,
		rows: 48,
		env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))},
	});
}

it('lists the models of an unlabelled cluster and says how one was found', async () => {
	terminal = consoleIn(unlabelledNamespace);
	// Every model once its Seldon candidates and KServe's Deployment are listed (a long version name is cut in the table).
	const screen = await terminal.waitFor(
		(text) => /iris2\s+canary/.test(text) && /tabular-pred/.test(text) && /checkout/.test(text),
		20_000,
	);
	for (const name of ['checkout', 'churn', 'churn-next', 'fraud', 'income', 'iris', 'reviews', 'tabular'])
		expect(screen).toMatch(new RegExp(`\\b${name}\\b`));
	expect(screen).toMatch(/iris2\s+canary\s+\S*\s*30%/);
	expect(screen).toMatch(/v8\s+canary\s+\S*\s*20%/);
	terminal.press('/');
	terminal.write('fraud');
	terminal.press('enter');
	await terminal.settle();
	terminal.press('enter');
	await terminal.waitFor('found by HTTPRoute/fraud backends', 10_000);
	terminal.press('q');
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
	terminal = undefined;
});

it('an empty namespace says what was looked for and how to label things', async () => {
	terminal = consoleIn('nothing-here');
	const screen = await terminal.waitFor('Looked for:', 20_000);
	expect(screen).toContain('No models in nothing-here');
	expect(screen).toContain('kubectl label deployment <name> modeldeck.dev/model=<model> app.kubernetes.io/version=<version>');
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
});
