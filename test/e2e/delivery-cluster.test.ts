/**
 * End to end on the local control plane: the built console in a real pty, talking to the real agent (a process on this
 * host, at --agent, acting with deploy/base's ServiceAccount and RBAC), starts a progressive rollout of a new version
 * of a plain model (Deployment fraud-v1 behind an HTTPRoute) with `d`, sees it created and stepped on screen and in the
 * cluster, and aborts it with `X`: rolled back on screen, 0% and `aborted` in the route's annotation, and audited by
 * the agent. Then a second rollout is paused with `P` after it stepped once, holds its weight through more than its
 * pause, and goes on once resumed.
 *
 * As in test/integration/delivery-agent.test.ts, each version's model server is a process of its own on this host
 * (the agent smoke-tests and the judge measures them: its resolveEndpoint points at them, since the versions'
 * Services have no pods that serve here), scraped by a real Prometheus under paced load. `npm run build` first.
 */
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {type DeliveryState, deliveryAnnotation} from '../../source/domain/delivery.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {eventually} from '../integration/agent-support.ts';
import {type ModelServerProcess, startModelServerProcess} from '../support/model-server-process.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';
import {PtyTerminal} from '../support/terminal.ts';
import {agentServiceAccountKubeconfig} from '../support/agent-service-account.ts';

const namespace = 'team-a';
const cli = path.resolve('dist/cli.js');
let cluster: Cluster | undefined;
let api: TestApi;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let load: PacedLoad | undefined;
let agent: RunningAgent | undefined;
let terminal: PtyTerminal | undefined;
let storeDirectory = '';
const servers = new Map<string, ModelServerProcess>();

beforeAll(async () => {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	const route = httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]) as {
		metadata: {annotations: Record<string, string>};
	};
	// A canary margin that keeps the noise of two equal servers from failing the new version.
	route.metadata.annotations['modeldeck.dev/guard-thresholds'] = '{"p99LatencyMs": 400, "canaryMargin": 3}';
	await api.createAll([deployment({namespace, model: 'fraud', version: 'v1'}), service(namespace, 'fraud-v1', 'fraud', 'v1'), route]);
	await api.waitForRollouts(namespace);

	for (const version of ['v1', 'v2', 'v3']) {
		servers.set(version, await startModelServerProcess({model: 'fraud', version, namespace, latencyMs: 20}));
	}

	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: [...servers].map(([version, server]) => ({
			job: `fraud-${version}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace},
		})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: servers.size});
	load = startPacedLoad({urls: [...servers.values()].map((server) => server.url), model: 'fraud', rate: 10, limitMs: 280_000});

	storeDirectory = mkdtempSync(path.join(tmpdir(), 'modeldeck-delivery-e2e-'));
	// The agent acts with the deployed ServiceAccount's permissions only: anything its RBAC lacks for a rollout fails here.
	await api.http.request('POST', '/api/v1/namespaces', {body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'modeldeck'}}});
	const agentKubeconfig = await agentServiceAccountKubeconfig(cluster, api, 'modeldeck');
	const identity = new KubeConfig();
	identity.loadFromFile(agentKubeconfig);
	agent = await startAgent({
		host: '127.0.0.1',
		port: 0,
		dbPath: path.join(storeDirectory, 'agent.db'),
		reviewer: new KubeAccessReviewer(identity),
		cluster: await createKubeCluster({kubeconfigPath: agentKubeconfig, namespace: 'all'}),
		events: new KubeAgentClient(identity),
		metrics: createPrometheusMetrics({url: prometheus.url, scrapeIntervalSeconds: 1}),
		judge: new MannWhitneyJudge(),
		resolveEndpoint: (target) => {
			const server = target.namespace === namespace && target.name === 'fraud' ? servers.get(target.version) : undefined;
			if (!server) throw new Error(`no model server for ${target.namespace}/${target.name}/${target.version} in this test`);
			return server.url;
		},
	});
	await eventually('the agent to see the model', 30_000, () => agent!.core.findModel({namespace, name: 'fraud'}));
}, 300_000);

afterEach(() => {
	terminal?.kill();
	terminal = undefined;
});

afterAll(async () => {
	terminal?.kill();
	await load?.stop();
	await agent?.close();
	await prometheus?.stop();
	for (const server of servers.values()) await server.close();
	await cluster?.stop();
	if (storeDirectory) rmSync(storeDirectory, {recursive: true, force: true});
});

function startConsole(): PtyTerminal {
	// The operator's own token from the kubeconfig (context admin) goes to the agent, which checks it with the API server.
	return PtyTerminal.spawn(
		process.execPath,
		[cli, '--kubeconfig', cluster!.kubeconfig, '--context', 'admin', '-n', namespace, '--agent', agent!.url],
		{
			cols: 160,
			rows: 40,
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-e2e-')), MODELDECK_TOKEN: undefined, KUBECONFIG: undefined},
		},
	);
}

async function delivery(): Promise<DeliveryState | undefined> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	const text = route.metadata.annotations?.[deliveryAnnotation];
	return text ? (JSON.parse(text) as DeliveryState) : undefined;
}

async function weights(): Promise<Record<string, number>> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return Object.fromEntries(
		route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => [backend.name, backend.weight]),
	);
}

/** Presses a dangerous key and says yes to its confirmation, whose title starts with TITLE. */
async function confirmed(term: PtyTerminal, key: string, title: string): Promise<string> {
	term.press(key);
	const screen = await term.waitFor(title);
	term.press('y');
	return screen;
}

/** From the fleet: `d`, the image typed (the version is its tag), steps and pause replaced, reviewed and confirmed. */
async function rollOut(term: PtyTerminal, image: string, version: string, steps: string, pause: string): Promise<string> {
	term.press('d');
	await term.waitFor('Roll out a new version of fraud');
	term.write(image);
	await term.waitFor(new RegExp(`version\\s+${version}`));
	term.press('tab');
	term.press('tab');
	for (let index = 0; index < 20; index++) term.press('backspace');
	term.write(steps);
	term.press('tab');
	for (let index = 0; index < 10; index++) term.press('backspace');
	term.write(pause);
	await term.waitFor(new RegExp(`pause\\s+${pause}`));
	term.press('enter');
	const plan = await term.waitFor(`Roll out fraud ${version} (${image})?`, 20_000);
	term.press('y');
	return plan;
}

describe('a rollout on the local control plane, from the console in a pty, run by the agent', () => {
	it('starts with d, shows the new version stepping, aborts with X, and the cluster and the audit agree', async () => {
		const term = (terminal = startConsole());
		await term.waitFor(/fraud[\s\S]*v1/, 30_000);
		await term.waitFor('agent:ok', 20_000);

		const plan = await rollOut(term, 'registry.example/fraud:v2', 'v2', '10,50,100', '5s');
		expect(plan).toContain('new version v2 (registry.example/fraud:v2) beside stable');
		expect(plan).toContain('steps 10% → 50% → 100%, 5s each');

		term.press('enter');
		let screen = await term.waitFor(/rollout v2 over v1: step \d\/3 · (10|50)% · (judging|paused)/, 90_000);
		// The new version beside the stable one, made ready and smoke-tested by the agent before its first step.
		expect(screen).toMatch(/STABLE v1\s+CANARY v2/);
		expect(screen).toContain('registry.example/fraud:v2');
		expect(screen).toMatch(/v2 is ready/);
		expect(screen).toMatch(/smoke test passed: smoke test of v2 passed/);
		// In the cluster: the new version's Deployment from v1's template with the new image, and its router backend.
		const created = await api.get('Deployment', namespace, 'fraud-v2');
		expect(created.spec.template.spec.containers[0].image).toBe('registry.example/fraud:v2');
		expect(created.metadata.labels['app.kubernetes.io/version']).toBe('v2');
		expect(Object.keys(await weights())).toEqual(['fraud-v1', 'fraud-v2']);
		expect((await weights())['fraud-v2']).toBeGreaterThan(0);
		expect(await delivery()).toMatchObject({phase: 'stepping', spec: {version: 'v2', requestedBy: expect.any(String)}});

		screen = await confirmed(term, 'X', 'Abort the rollout of');
		expect(screen).toContain('rolls it back: all traffic to');
		screen = await term.waitFor(/last rollout v2 over v1: aborted: aborted by/, 30_000);

		const state = await eventually('the aborted state kept', 20_000, async () => {
			const kept = await delivery();
			return kept?.phase === 'aborted' && kept;
		});
		expect(state.reason).toMatch(/aborted by/);
		expect(await weights()).toEqual({'fraud-v1': 100, 'fraud-v2': 0});

		const audit = await createAgentClient({url: agent!.url, token: cluster!.tokens.admin, namespace}).audit(50);
		const trail = audit.map((entry) => entry.action);
		expect(trail).toContain('rollout start');
		expect(trail).toContain('rollout abort');
		expect(audit.find((entry) => entry.action === 'rollout start')?.message).toMatch(
			/Deployment\/fraud-v2: created from fraud-v1 with image registry.example\/fraud:v2/,
		);
		expect(audit.find((entry) => entry.action.startsWith('deliver v2'))).toMatchObject({result: 'ok'});

		// The audit view says the same.
		term.press('esc');
		term.press('a');
		screen = await term.waitFor('Audit log');
		expect(screen).toMatch(/rollout abort/);
		term.press('q');
		expect(await term.exited).toBe(0);
	}, 180_000);

	it('pauses a rollout with P after it stepped once: it holds its weight through more than its pause, then resumes and goes on', async () => {
		const term = (terminal = startConsole());
		await term.waitFor(/fraud[\s\S]*v1/, 30_000);
		await term.waitFor('agent:ok', 20_000);
		// A pause long enough for the console to pause the second step before its judgement.
		await rollOut(term, 'registry.example/fraud:v3', 'v3', '10,50,100', '8s');
		term.press('enter');
		await term.waitFor(/rollout v3 over v1: step 1\/3 · 10% · judging/, 90_000);
		// One step, on the judge's pass over the real servers' metrics.
		await term.waitFor(/rollout v3 over v1: step 2\/3 · 50% · judging/, 60_000);

		await confirmed(term, 'P', 'Pause the rollout of');
		await term.waitFor(/rollout v3 over v1: step 2\/3 · 50% · paused/, 20_000);
		expect(await delivery()).toMatchObject({phase: 'stepping', paused: true, weight: 50, stepIndex: 1});
		// Twice the pause and more: no judgement, no step.
		await new Promise((resolve) => setTimeout(resolve, 20_000));
		expect(await delivery()).toMatchObject({phase: 'stepping', paused: true, weight: 50, stepIndex: 1});
		expect((await weights())['fraud-v3']).toBe(50);
		expect(term.screen()).toMatch(/rollout v3 over v1: step 2\/3 · 50% · paused \(\d+s left when resumed\)/);

		await confirmed(term, 'P', 'Resume the rollout of');
		await term.waitFor(/rollout v3 over v1: step \d\/3 · \d+% · judging/, 20_000);
		expect((await delivery())?.paused).toBeFalsy();
		const audit = await createAgentClient({url: agent!.url, token: cluster!.tokens.admin, namespace}).audit(50);
		expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(['rollout pause', 'rollout resume']));

		// Resumed, it goes on: the paused step is judged, and the rollout runs to its end (promoted, or rolled back when
		// the judge finds the new version's server slower: both share this busy machine with the test).
		await term.waitFor(/judged \w+ at 50%/, 60_000);
		await term.waitFor(/last rollout v3 over v1: (promoted|rolled back)/, 120_000);
		expect((await delivery())?.phase).toMatch(/^(promoted|rolled-back)$/);
		term.press('q');
		expect(await term.exited).toBe(0);
	}, 180_000);
});
