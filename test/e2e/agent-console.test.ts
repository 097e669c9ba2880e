/**
 * The console with a real agent: the built console in a pty, against the local control plane, streams predictions
 * from the agent and acts through it with the operator's own token, which the agent checks with the real API
 * server (TokenReview, SubjectAccessReview).
 *
 * The console normally reaches an in-cluster agent through the API server's service proxy. On this local control
 * plane every service-proxy request answers 404 (even for the `kubernetes` Service), so this test points the console
 * at the agent with --agent and the token in MODELDECK_TOKEN. The discovery half is covered: without --agent the
 * console finds the agent's Service by its label, and says "agent: down" with the proxy's answer.
 */
import {mkdtempSync} from 'node:fs';
import {networkInterfaces, tmpdir} from 'node:os';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.mjs';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {createKubeCluster} from '../../source/sources/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {PtyTerminal} from '../support/terminal.ts';
import {plainPrediction, postLogs} from '../integration/agent-support.ts';

let cluster: Cluster;
let agent: RunningAgent | undefined;
let terminal: PtyTerminal | undefined;
let api: TestApi;

function hostAddress(): string {
	for (const addresses of Object.values(networkInterfaces())) {
		for (const address of addresses ?? []) {
			if (address.family === 'IPv4' && !address.internal && !address.address.startsWith('169.254.')) return address.address;
		}
	}

	throw new Error('This test needs a non-loopback IPv4 address on the machine (the API server will not proxy to loopback).');
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	const admin = new KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	const host = hostAddress();
	agent = await startAgent({
		host,
		port: 0,
		reviewer: new KubeAccessReviewer(admin),
		cluster: await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'all'}),
		events: new KubeAgentClient(admin),
	});
	const port = Number(new URL(agent.url).port);
	await api.createAll([
		// The agent's Service, as deploy/ creates it: the console finds the agent by its label.
		{apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'modeldeck'}},
		{
			apiVersion: 'v1',
			kind: 'Service',
			metadata: {name: 'modeldeck-agent', namespace: 'modeldeck', labels: {'app.kubernetes.io/name': 'modeldeck-agent'}},
			spec: {ports: [{name: 'http', port: 8090, targetPort: port}]},
		},
		{
			apiVersion: 'discovery.k8s.io/v1',
			kind: 'EndpointSlice',
			metadata: {name: 'modeldeck-agent-host', namespace: 'modeldeck', labels: {'kubernetes.io/service-name': 'modeldeck-agent'}},
			addressType: 'IPv4',
			endpoints: [{addresses: [host], conditions: {ready: true}}],
			ports: [{name: 'http', port, protocol: 'TCP'}],
		},
	]);
});

afterAll(async () => {
	terminal?.kill();
	await agent?.close();
	await cluster?.stop();
});

it('without --agent, finds the agent Service in the cluster and says how reaching it went', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', 'admin', '-n', 'team-a'],
		{cols: 140, rows: 30, env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'))}},
	);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	// Found (not "no modeldeck agent found"): the header names the proxy's answer instead.
	const screen = await terminal.waitFor(/agent down: .*(proxy|refused|503|404)/, 20_000);
	expect(screen).not.toContain('no modeldeck agent found');
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
	terminal = undefined;
});

it('streams predictions from the agent and acts through it, as the operator', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', 'operator', '-n', 'team-a', '--agent', agent!.url],
		{
			cols: 120,
			rows: 30,
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-')), MODELDECK_TOKEN: cluster.tokens.operator},
		},
	);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	await terminal.waitFor('agent:ok', 20_000);

	terminal.press('l');
	await terminal.waitFor('Predictions');
	const ingested = await postLogs(agent!.url, [plainPrediction('through-the-agent-1', {version: 'v2'})]);
	expect(ingested.status).toBeLessThan(300);
	await terminal.waitFor('through-the-a', 15_000);

	terminal.press('esc');
	await terminal.waitFor('WEIGHT'); // the fleet table, not the log
	terminal.press('+');
	await terminal.waitFor('canary v2: 20% → 30%');
	terminal.press('y');
	await terminal.waitFor(/v2\s+canary\s+\S*\s*30%/, 20_000);
	const route = await api.get('HTTPRoute', 'team-a', 'fraud');
	expect(route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)).toEqual([70, 30]);
	// The agent did it as the operator the console authenticated as, and audited it.
	terminal.press('a');
	const screen = await terminal.waitFor('set-weight', 15_000);
	expect(screen).toContain('operator');

	terminal.press('q');
	expect(await terminal.exited).toBe(0);
});
