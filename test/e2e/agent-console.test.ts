/**
 * The issue's "done when", end to end: the built console in a pty, started without --agent, finds the agent's
 * Service by its label and talks to it through the API server's service proxy (HTTP and WebSocket) with the
 * operator's own token, which the agent checks with the real API server (TokenReview, SubjectAccessReview). Real
 * model servers log every request to the agent as KServe's logger does, and a real Prometheus scrapes them. The
 * operator watches predictions stream in, looks one up by request id, shifts traffic, smoke-tests both versions side
 * by side, load-tests them, rolls back, and reads all of it back in the audit view under their own name; then the
 * canary is made slow with the model server's knob and the agent's guard rolls it back by itself, which the console
 * shows and the audit view records. The agent acts with deploy/base's ServiceAccount and RBAC, nothing more.
 *
 * The agent is a process on this host, behind its Service as test/support/service-behind-proxy.ts puts it (which says
 * what kube-apiserver's service proxy needs to reach it); and the user needs `services/proxy` on the Service:
 * deploy/base/console-access.yaml, bound to the operator.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import {parse as parseYaml} from 'yaml';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/main.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {agentServiceAccountKubeconfig} from '../support/agent-service-account.ts';
import {hostAddress, serviceBehindProxy} from '../support/service-behind-proxy.ts';
import {PtyTerminal} from '../support/terminal.ts';
import {freePort, plainPrediction, postLogs} from '../integration/agent-support.ts';

const agentNamespace = 'modeldeck';
const agentService = 'modeldeck-agent';

let cluster: Cluster;
let agent: RunningAgent | undefined;
const modelServers = new Map<string, RunningModelServer>();
let terminal: PtyTerminal | undefined;
let api: TestApi;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let load: PacedLoad | undefined;
/** The guard watches the model only once the test turns it on (as an operator would annotate a model). */
let guarded = false;

/** Puts the agent at host:port behind its Service the way the API server's service proxy finds it. */
async function registerAgent(host: string, port: number): Promise<void> {
	const post = (collection: string, body: unknown) => api.http.request('POST', collection, {body});
	// As deploy/base/service.yaml, minus the selector: the endpoints controller would otherwise empty our Endpoints.
	await serviceBehindProxy(api, {
		namespace: agentNamespace,
		service: agentService,
		labels: {'app.kubernetes.io/name': 'modeldeck-agent'},
		portName: 'http',
		servicePort: 8090,
		host,
		port,
		pod: 'modeldeck-agent-on-host',
		createNamespace: false,
	});
	// What an operator needs to reach the agent, as shipped.
	const role = parseYaml(readFileSync(path.resolve('deploy/base/console-access.yaml'), 'utf8')) as {metadata: Record<string, unknown>};
	await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${agentNamespace}/roles`, {
		...role,
		metadata: {...role.metadata, namespace: agentNamespace},
	});
	await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${agentNamespace}/rolebindings`, {
		apiVersion: 'rbac.authorization.k8s.io/v1',
		kind: 'RoleBinding',
		metadata: {name: 'modeldeck-console-operator'},
		roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata['name']},
		subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'operator'}],
	});
}

/** A settings directory whose load test (`t`) is short: 3 s at 20 requests/s per version after 1 s of warm-up. */
function settingsDirectory(): string {
	const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-'));
	writeFileSync(path.join(directory, 'config.json'), JSON.stringify({loadTest: {rps: 20, durationSeconds: 3, warmupSeconds: 1}}));
	return directory;
}

function startConsole(context: string, cols: number, rows: number): PtyTerminal {
	// No --agent and no MODELDECK_TOKEN: the console finds the agent and uses the kubeconfig's own token.
	return PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', context, '-n', 'team-a'],
		{
			cols,
			rows,
			env: {MODELDECK_CONFIG_DIR: settingsDirectory(), MODELDECK_TOKEN: undefined, KUBECONFIG: undefined},
		},
	);
}

/** Milliseconds from the console's formatMs: `3.2`, `41`, `1.2s`. */
function ms(text: string): number {
	return text.endsWith('s') ? Number(text.slice(0, -1)) * 1000 : Number(text);
}

/** Requests a model server answered, from its own /metrics. */
async function answered(server: RunningModelServer): Promise<number> {
	const text = await (await fetch(`${server.url}/metrics`)).text();
	return text
		.split('\n')
		.filter((line) => line.startsWith('modeldeck_inference_requests_total{'))
		.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	const host = hostAddress();
	// Every request and response logged to the agent's ingest port as KServe's logger does.
	const ingestPort = await freePort();
	for (const version of ['v1', 'v2']) {
		modelServers.set(
			version,
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

	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: [...modelServers.values()].map((server, index) => ({
			job: `fraud-v${index + 1}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace: 'team-a'},
		})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: 2});

	// The agent acts with the deployed ServiceAccount's permissions only: anything the RBAC lacks fails here.
	await api.http.request('POST', '/api/v1/namespaces', {body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: agentNamespace}}});
	const agentKubeconfig = await agentServiceAccountKubeconfig(cluster, api, agentNamespace);
	const identity = new KubeConfig();
	identity.loadFromFile(agentKubeconfig);
	agent = await startAgent({
		host,
		port: 0,
		ingestPort,
		metrics: createPrometheusMetrics({url: prometheus.url, scrapeIntervalSeconds: 1}),
		judge: new MannWhitneyJudge(),
		guard: {
			enabled: true,
			tickMs: 1000,
			settingsFile: () => ({models: {'team-a/fraud': {enabled: guarded, intervalSeconds: 5, windowSeconds: 20, consecutiveFailures: 2}}}),
		},
		reviewer: new KubeAccessReviewer(identity),
		cluster: await createKubeCluster({kubeconfigPath: agentKubeconfig, namespace: 'all'}),
		events: new KubeAgentClient(identity),
		// The versions' Services have no pods that serve here: the agent sends test traffic to these real servers.
		resolveEndpoint: (target) => {
			const server = target.namespace === 'team-a' && target.name === 'fraud' ? modelServers.get(target.version) : undefined;
			if (!server) throw new Error(`no model server for ${target.namespace}/${target.name}/${target.version} in this test`);
			return server.url;
		},
	});
	await registerAgent(host, Number(new URL(agent.url).port));
	// Traffic to both versions the whole time: the predictions the console streams, and Prometheus's figures.
	load = startPacedLoad({urls: [...modelServers.values()].map((server) => server.url), model: 'fraud', rate: 10, limitMs: 300_000});
});

afterAll(async () => {
	terminal?.kill();
	await load?.stop();
	await agent?.close();
	await prometheus?.stop();
	for (const server of modelServers.values()) await server.close();
	await cluster?.stop();
});

it('a user without services/proxy finds the agent but is told which permission reaching it takes', async () => {
	terminal = startConsole('viewer', 220, 24);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	const screen = await terminal.waitFor(
		/agent down: the API server's service proxy refused the stream: 403: your user needs "get" and "create" on services\/proxy in namespace modeldeck/,
		20_000,
	);
	expect(screen).not.toContain('no modeldeck agent found');
	terminal.press('s');
	await terminal.waitFor('needs the modeldeck agent');
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
	terminal = undefined;
});

it('the operator streams and looks up predictions, shifts traffic, smoke and load tests and rolls back through the service proxy, all audited as the operator; the guard then rolls a slow canary back by itself', async () => {
	terminal = startConsole('operator', 150, 40);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	await terminal.waitFor('agent:ok', 20_000);

	// Predictions: logged by the real model servers to the agent, streamed to the console over the proxied WebSocket.
	terminal.press('l');
	await terminal.waitFor('Predictions');
	await terminal.waitFor(/fraud\s+v1\b[\s\S]*fraud\s+v2\b|fraud\s+v2\b[\s\S]*fraud\s+v1\b/, 20_000);
	const ingested = await postLogs(agent!.ingestUrl, [plainPrediction('via-proxy-1', {version: 'v2'})]);
	expect(ingested.status).toBeLessThan(300);
	await terminal.waitFor('via-proxy-1', 15_000);

	// Look one up by request id in the agent's store: a request the v2 server answered and logged under its ce-id.
	const answer = await fetch(`${modelServers.get('v2')!.url}/v2/models/fraud/infer`, {
		method: 'POST',
		headers: {'content-type': 'application/json', 'ce-id': 'e2e-lookup-7'},
		body: JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4]}]}),
	});
	expect(answer.status).toBe(200);
	terminal.press('f');
	await terminal.waitFor('Find a prediction by the start of its request id');
	terminal.write('e2e-lookup-7');
	terminal.press('enter');
	// The one request that matches opens with its request and response.
	let screen = await terminal.waitFor(/Prediction e2e-lookup-7[\s\S]*fraud v2 [\s\S]*\d\d:\d\d:\d\d · [\d.]+ ms · ok/, 15_000);
	expect(screen).toContain('request: ');
	expect(screen).toContain('response: ');
	terminal.press('esc');
	await terminal.waitFor((text) => !text.includes('Prediction e2e-lookup-7'));

	// A traffic change: POST through the proxy, authorised by the agent as the operator.
	terminal.press('esc');
	await terminal.waitFor('WEIGHT');
	terminal.press('+');
	await terminal.waitFor('canary v2: 20% → 30%');
	expect(terminal.screen()).toContain('through the agent, which checks your permission and audits it');
	terminal.press('y');
	await terminal.waitFor(/v2\s+canary\s+\S*\s*30%/, 20_000);
	const route = await api.get('HTTPRoute', 'team-a', 'fraud');
	expect(route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)).toEqual([70, 30]);

	// Smoke tests of both versions against their real model servers, side by side: every check reported, all passed.
	terminal.press('enter');
	await terminal.waitFor('router httproute');
	terminal.press('s');
	screen = await terminal.waitFor(/✔ smoke v1 (\d+)\/\1 checks passed\s+✔ smoke v2 (\d+)\/\2 checks passed/, 20_000);
	const titles = screen.split('\n').findIndex((line) => line.includes('smoke v1'));
	const [, total] = /smoke v1 (\d+)\//.exec(screen)!;
	expect(Number(total)).toBeGreaterThanOrEqual(5);
	const checkLines = screen.split('\n').slice(titles + 1, titles + 1 + Math.min(8, Number(total)));
	for (const check of ['server ready', 'model metadata', 'inference answered']) {
		// The same check in both columns, on one line.
		expect(
			checkLines.some((line) => line.split(`✔ ${check}`).length === 3),
			`✔ ${check} twice on one line in:\n${screen}`,
		).toBe(true);
	}

	expect(checkLines.join('\n')).not.toContain('✖');

	// Load test of stable and canary side by side, after confirming: results per version on one screen.
	const before = {v1: await answered(modelServers.get('v1')!), v2: await answered(modelServers.get('v2')!)};
	terminal.press('t');
	// The settings' short load test is what the confirmation offers.
	await terminal.waitFor('20 requests/s to each of v1 and v2');
	expect(terminal.screen()).toContain('for 3 s after 1 s warm-up');
	terminal.press('y');
	await terminal.waitFor(/⟳ Load test fraud v1 vs v2/, 15_000);
	screen = await terminal.waitFor(/✔ Load test fraud v1 vs v2/, 75_000);
	for (const version of ['v1', 'v2'] as const) {
		const row = new RegExp(
			`^\\s*${version}\\s+([\\d.]+k?) req/s p50 (\\S+) p95 (\\S+) p99 (\\S+) max (\\S+) ms · errors (\\d+)/(\\d+)`,
			'm',
		).exec(screen);
		expect(row, `a result row for ${version} in:\n${screen}`).not.toBeNull();
		const [, rate, p50, p95, p99, max, errors, requests] = row!;
		expect(Number(rate)).toBeGreaterThan(0);
		expect(ms(p50!)).toBeGreaterThan(0);
		expect(ms(p50!)).toBeLessThanOrEqual(ms(p95!));
		expect(ms(p95!)).toBeLessThanOrEqual(ms(p99!));
		expect(ms(p99!)).toBeLessThanOrEqual(ms(max!));
		expect(Number(errors)).toBe(0);
		expect(Number(requests)).toBeGreaterThan(0);
		// The traffic reached that version's real server (warm-up requests and the background load come on top).
		expect((await answered(modelServers.get(version)!)) - before[version]).toBeGreaterThanOrEqual(Number(requests));
	}

	// Roll the canary back from the model view, through the agent: all traffic returns to stable.
	terminal.press('r');
	await terminal.waitFor('canary v2: 30% → 0%');
	terminal.press('y');
	await terminal.waitFor(/✔ Roll back fraud canary v2/, 20_000);
	const rolledBack = await api.get('HTTPRoute', 'team-a', 'fraud');
	expect(rolledBack.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)).toEqual([100, 0]);

	// The audit trail, read from the agent through the proxy: every action, by the operator.
	terminal.press('esc');
	await terminal.waitFor('WEIGHT');
	terminal.press('a');
	screen = await terminal.waitFor(
		(text) => ['set-weight', 'smoke-test', 'load-test', 'rollback'].every((action) => text.includes(action)),
		15_000,
	);
	for (const action of ['set-weight', 'smoke-test', 'load-test', 'rollback']) {
		const line = screen.split('\n').find((candidate) => candidate.includes(action))!;
		expect(line).toMatch(/\boperator\b/);
		expect(line).toMatch(/\bok\b/);
		expect(line).toContain('team-a/fraud');
	}

	// The guard: the canary back at 10%, the model put under guard, then v2 made 200 ms slower with its knob.
	terminal.press('esc');
	await terminal.waitFor('WEIGHT');
	terminal.press('+');
	await terminal.waitFor('canary v2: 0% → 10%');
	terminal.press('y');
	await terminal.waitFor(/v2\s+canary\s+\S*\s*10%/, 20_000);
	guarded = true;
	modelServers.get('v2')!.setKnobs({latencyMs: 200});
	// The agent judges canary against stable from Prometheus, rolls back by itself and tells every console.
	// Why, as the guard found it: the canary's p99 against stable's.
	await terminal.waitFor(/guard: fraud: guard rolled back v2: .*canary p99 \d+ ms/, 120_000);
	const guardedRoute = await api.get('HTTPRoute', 'team-a', 'fraud');
	expect(guardedRoute.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)).toEqual([100, 0]);
	await terminal.waitFor(/v2\s+canary\s+\S*\s*0%/, 20_000);
	terminal.press('a');
	screen = await terminal.waitFor(/modeldeck-guard/, 15_000);
	const guardLine = screen.split('\n').find((line) => line.includes('modeldeck-guard'))!;
	// Audited from the rollback's plan: its weights before and after.
	expect(guardLine).toMatch(/modeldeck-guard\s+rollback v2\s+team-a\/fraud\s+.*v2 10% → .*v2 0% ok/);

	terminal.press('q');
	expect(await terminal.exited).toBe(0);
	terminal = undefined;
}, 300_000);

/** The console at --agent URL (what a `kubectl port-forward` gives), as the kubeconfig's `context` user. */
function startDirect(context: string, token: string | undefined): PtyTerminal {
	return PtyTerminal.spawn(
		process.execPath,
		[path.resolve('dist/cli.js'), '--kubeconfig', cluster.kubeconfig, '--context', context, '-n', 'team-a', '--agent', agent!.url],
		{
			cols: 200,
			rows: 24,
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-')), MODELDECK_TOKEN: token, KUBECONFIG: undefined},
		},
	);
}

const weights = async () =>
	(await api.get('HTTPRoute', 'team-a', 'fraud')).spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);

it('with --agent (a port-forward) the console sends the kubeconfig user’s own token, and the agent itself refuses a viewer’s traffic change', async () => {
	const before = await weights();
	terminal = startDirect('viewer', undefined);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	await terminal.waitFor('agent:ok', 20_000);
	terminal.press('+');
	await terminal.waitFor(/canary v2: \d+% → \d+%/);
	terminal.press('y');
	// The agent's SubjectAccessReview with the viewer's own identity: not the console, not the API server's proxy.
	await terminal.waitFor(/the agent refused: 403: forbidden: viewer may not patch httproutes/, 15_000);
	expect(await weights()).toEqual(before);
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
	terminal = undefined;
});

it('with --agent, MODELDECK_TOKEN names who acts instead of the kubeconfig’s user', async () => {
	const before = await weights();
	terminal = startDirect('viewer', cluster.tokens.operator);
	await terminal.waitFor(/fraud[\s\S]*v2/, 20_000);
	await terminal.waitFor('agent:ok', 20_000);
	terminal.press('+');
	await terminal.waitFor(/canary v2: \d+% → \d+%/);
	const [, from, to] = /canary v2: (\d+)% → (\d+)%/.exec(terminal.screen())!;
	terminal.press('y');
	await terminal.waitFor(new RegExp(`v2\\s+canary\\s+\\S*\\s*${to}%`), 15_000);
	expect(await weights()).toEqual([100 - Number(to), Number(to)]);
	expect(before).toEqual([100 - Number(from), Number(from)]);
	terminal.press('a');
	const screen = await terminal.waitFor(/operator\s+set-weight/, 15_000);
	expect(screen.split('\n').find((line) => /operator\s+set-weight/.test(line))).toContain('team-a/fraud');
	terminal.press('q');
	expect(await terminal.exited).toBe(0);
	terminal = undefined;
});
