/**
 * Everything through the API server, as in a real cluster: the built console in a pty, given only a kubeconfig (no
 * --agent, no --prometheus, no settings), finds the agent's Service and the Prometheus Operator's Service in the
 * cluster and reaches both through the API server's service proxy with the operator's own token. It shows the
 * predictions the agent streams over the proxied WebSocket (logged to the agent by real model servers, as KServe's
 * logger does) and the figures of a real Prometheus that scrapes those servers, and names the Prometheus it found.
 *
 * The agent and Prometheus run on this host, each behind its Service with a stand-in Pod and an Endpoints object
 * (test/support/service-behind-proxy.ts says what the proxy needs). The operator may reach them through the proxy
 * and no more: deploy/base/console-access.yaml for the agent, a Role with services/proxy on prometheus-operated for
 * Prometheus (what a cluster's admin would grant; the built-in view and edit roles do not include services/proxy).
 */
import {mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import {parse as parseYaml} from 'yaml';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {type RunningPrometheus, startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/main.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {freePort, plainPrediction, postLogs} from '../integration/agent-support.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';
import {hostAddress, serviceBehindProxy} from '../support/service-behind-proxy.ts';
import {PtyTerminal} from '../support/terminal.ts';

let cluster: Cluster;
let api: TestApi;
let agent: RunningAgent | undefined;
let prometheus: RunningPrometheus | undefined;
const modelServers: RunningModelServer[] = [];
let load: PacedLoad | undefined;
let terminal: PtyTerminal | undefined;

/** A Role in NAMESPACE bound to the operator. */
async function grantOperator(namespace: string, role: {metadata: Record<string, unknown>; rules: unknown[]}): Promise<void> {
	const post = (collection: string, body: unknown) => api.http.request('POST', collection, {body});
	await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
		apiVersion: 'rbac.authorization.k8s.io/v1',
		kind: 'Role',
		...role,
		metadata: {...role.metadata, namespace},
	});
	await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
		apiVersion: 'rbac.authorization.k8s.io/v1',
		kind: 'RoleBinding',
		metadata: {name: `${String(role.metadata['name'])}-operator`},
		roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata['name']},
		subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'operator'}],
	});
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	const host = hostAddress();
	const ingestPort = await freePort();
	for (const version of ['v1', 'v2']) {
		modelServers.push(
			await startModelServer({
				model: 'fraud',
				modelVersion: version,
				namespace: 'team-a',
				port: 0,
				knobs: {latencyMs: 5},
				logUrl: `http://${host}:${ingestPort}/v1/logs`,
			}),
		);
	}

	// Prometheus listens on the host's address only: the console can reach it through its Service and nothing else.
	prometheus = await startPrometheus({
		listenHost: host,
		scrapeIntervalSeconds: 1,
		scrapeTargets: modelServers.map((server, index) => ({
			job: `fraud-v${index + 1}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace: 'team-a'},
		})),
	});
	await waitForTargets(prometheus.url, {targets: 2});
	await serviceBehindProxy(api, {
		namespace: 'monitoring',
		service: 'prometheus-operated',
		labels: {'operated-prometheus': 'true', 'managed-by': 'prometheus-operator'},
		portName: 'web',
		servicePort: 9090,
		host,
		port: prometheus.port,
	});
	await grantOperator('monitoring', {
		metadata: {name: 'prometheus-query'},
		rules: [
			{
				apiGroups: [''],
				resources: ['services/proxy'],
				resourceNames: ['prometheus-operated', 'http:prometheus-operated:web'],
				verbs: ['get', 'create'],
			},
		],
	});

	// The agent checks each caller's token with the API server (TokenReview), as deployed.
	const identity = new KubeConfig();
	identity.loadFromFile(cluster.kubeconfig);
	identity.setCurrentContext('admin');
	agent = await startAgent({host, port: 0, ingestPort, reviewer: new KubeAccessReviewer(identity)});
	await serviceBehindProxy(api, {
		namespace: 'modeldeck',
		service: 'modeldeck-agent',
		labels: {'app.kubernetes.io/name': 'modeldeck-agent'},
		portName: 'http',
		servicePort: 8090,
		host,
		port: agent.port,
	});
	await grantOperator(
		'modeldeck',
		parseYaml(readFileSync(path.resolve('deploy/base/console-access.yaml'), 'utf8')) as {
			metadata: Record<string, unknown>;
			rules: unknown[];
		},
	);

	await api.waitForRollouts('team-a');
	// Traffic to both versions the whole time, slow enough that a prediction stays on screen for seconds: the
	// predictions the console streams, and Prometheus's figures.
	load = startPacedLoad({urls: modelServers.map((server) => server.url), model: 'fraud', rate: 2, limitMs: 240_000});
});

afterAll(async () => {
	terminal?.kill();
	await load?.stop();
	await agent?.close();
	await prometheus?.stop();
	for (const server of modelServers) await server.close();
	await cluster?.stop();
});

/** The RPS column of a version's row, as a number (NaN when the row or the figure is missing). */
function rps(screen: string, version: string): number {
	const row = screen.split('\n').find((line) => new RegExp(`\\s${version}\\s+(stable|canary)\\s`).test(line));
	// After the weight (`████░  80%`) comes RPS.
	const figure = row ? /%\s+(\d+(?:\.\d+)?k?)\s/.exec(row)?.[1] : undefined;
	return figure === undefined ? Number.NaN : Number(figure.replace(/k$/, '')) * (figure.endsWith('k') ? 1000 : 1);
}

it('with only a kubeconfig, the console streams predictions from the agent and shows figures from the Prometheus it found, both through the API server', async () => {
	terminal = PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', 'operator', '-n', 'team-a', '--refresh', '1'],
		{
			cols: 200,
			rows: 30,
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-')), MODELDECK_TOKEN: undefined, KUBECONFIG: undefined},
		},
	);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	// Both found, both answering, and the header names the Prometheus and how it was found.
	let screen = await terminal.waitFor((text) => text.includes('agent:ok') && text.includes('prom:ok'), 30_000);
	screen = await terminal.waitFor('prometheus: monitoring/prometheus-operated (found: Prometheus Operator)', 10_000);
	expect(screen).not.toMatch(/no Prometheus found|no modeldeck agent found/);
	// Figures Prometheus scraped from the model servers under load.
	screen = await terminal.waitFor((text) => rps(text, 'v1') > 0 && rps(text, 'v2') > 0, 60_000);

	// The prediction log: the model servers' requests, logged to the agent, streamed over the proxied WebSocket.
	terminal.press('l');
	await terminal.waitFor('Predictions');
	await terminal.waitFor(/fraud\s+v1\b[\s\S]*fraud\s+v2\b|fraud\s+v2\b[\s\S]*fraud\s+v1\b/, 20_000);
	const ingested = await postLogs(agent!.ingestUrl, [plainPrediction('through-the-api-server-1', {version: 'v2'})]);
	expect(ingested.status).toBeLessThan(300);
	await terminal.waitFor('through-the-api-server-1', 15_000);
	// And over HTTP through the proxy: a lookup by request id in the agent's store.
	terminal.press('f');
	await terminal.waitFor('Find a prediction by the start of its request id');
	terminal.write('through-the-api-server');
	terminal.press('enter');
	screen = await terminal.waitFor(/Prediction through-the-api-server-1[\s\S]*fraud v2 /, 15_000);
	expect(screen).toContain('request: ');
	terminal.press('esc');
	await terminal.waitFor((text) => !text.includes('Prediction through-the-api-server-1'));

	terminal.press('q');
	const code = await Promise.race([
		terminal.exited,
		new Promise((resolve) => setTimeout(() => resolve(`still running after q; screen:\n${terminal!.screen()}`), 15_000)),
	]);
	expect(code).toBe(0);
	terminal = undefined;
}, 180_000);
