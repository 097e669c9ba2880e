// The guard end to end: a canary made slow with the model server's knob, a real Prometheus scraping the real model
// servers, the real control plane holding the model's HTTPRoute, whose annotations guard the model and set its
// p99 threshold (read by the real Kubernetes source from the real API server). First an agent in dry-run mode
// finds the breach, says what it would do on the stream, alerts a real webhook in Slack's format, audits the finding
// as a dry run with an Event on the HTTPRoute, and changes nothing. Then a live agent rolls the canary back by
// itself, audited as modeldeck-guard with an Event, told to consoles, and alerted in Alertmanager's format.
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {CoreV1Api, KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startCluster} from '../../harness/cluster.ts';
import type {Cluster} from '../../harness/cluster.ts';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {collect, eventually} from './agent-support.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';

const RATE = 20;
const LOAD_LIMIT_MS = 150_000;

let cluster: Cluster | undefined;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let agent: RunningAgent | undefined;
let load: PacedLoad | undefined;
const servers: RunningModelServer[] = [];
let api: TestApi;
let admin: KubeConfig;
let webhook: http.Server | undefined;
let webhookUrl = '';
/** What the alert webhook received: the path posted to and the parsed JSON body. */
const alerts: {path: string; body: unknown}[] = [];

/** The guard's settings, on the model's HTTPRoute as an operator would write them. */
const guardAnnotations = {
	'modeldeck.dev/guard': 'true',
	'modeldeck.dev/guard-interval': '5s',
	'modeldeck.dev/guard-window': '20s',
	'modeldeck.dev/guard-failures': '2',
	// Stricter than the console's default 500 ms: the canary's ~250 ms p99 crosses it.
	'modeldeck.dev/guard-thresholds': '{"p99LatencyMs": 150}',
};

async function startGuardAgent(options: {
	dryRun: boolean;
	alertWebhook: string;
	alertFormat?: 'slack' | 'alertmanager';
}): Promise<RunningAgent> {
	return startAgent({
		reviewer: new KubeAccessReviewer(admin),
		cluster: await createKubeCluster({kubeconfigPath: cluster!.kubeconfig, context: 'admin', namespace: 'all'}),
		events: new KubeAgentClient(admin),
		metrics: createPrometheusMetrics({url: prometheus!.url, scrapeIntervalSeconds: 1}),
		judge: new MannWhitneyJudge(),
		guard: {enabled: true, dryRun: options.dryRun, tickMs: 1000},
		alertWebhook: options.alertWebhook,
		...(options.alertFormat ? {alertFormat: options.alertFormat} : {}),
	});
}

/** The Events the agent recorded on the model's HTTPRoute with this reason. */
async function routeEvents(reason: string) {
	const events = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({namespace: 'team-a', fieldSelector: `reason=${reason}`});
	return events.items.filter((event) => event.involvedObject.kind === 'HTTPRoute' && event.involvedObject.name === 'fraud');
}

async function routeWeights(): Promise<number[]> {
	const route = await api.get('HTTPRoute', 'team-a', 'fraud');
	return route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll([
		deployment({namespace: 'team-a', model: 'fraud', version: 'v1'}),
		deployment({namespace: 'team-a', model: 'fraud', version: 'v2'}),
		service('team-a', 'fraud-v1', 'fraud', 'v1'),
		service('team-a', 'fraud-v2', 'fraud', 'v2'),
		annotated(
			httpRoute('team-a', 'fraud', 'fraud', [
				{service: 'fraud-v1', weight: 80},
				{service: 'fraud-v2', weight: 20},
			]),
		),
	]);
	await api.waitForRollouts('team-a');

	const stable = await startModelServer({model: 'fraud', modelVersion: 'v1', namespace: 'team-a', port: 0, knobs: {latencyMs: 5}});
	const canary = await startModelServer({model: 'fraud', modelVersion: 'v2', namespace: 'team-a', port: 0, knobs: {latencyMs: 5}});
	servers.push(stable, canary);
	// The canary regresses: every answer 200 ms slower.
	canary.setKnobs({latencyMs: 200});
	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: servers.map((server, index) => ({
			job: `fraud-v${index + 1}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace: 'team-a'},
		})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: 2});
	load = startPacedLoad({urls: servers.map((server) => server.url), model: 'fraud', rate: RATE, limitMs: LOAD_LIMIT_MS});

	admin = new KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	webhook = http.createServer((request, response) => {
		let text = '';
		request.on('data', (chunk: Buffer) => (text += chunk.toString()));
		request.on('end', () => {
			alerts.push({path: request.url ?? '', body: JSON.parse(text) as unknown});
			response.writeHead(200).end('ok');
		});
	});
	await new Promise<void>((resolve) => webhook!.listen(0, '127.0.0.1', resolve));
	webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}`;
});

function annotated(object: Record<string, unknown>): Record<string, unknown> {
	const metadata = object['metadata'] as {annotations?: Record<string, string>};
	metadata.annotations = {...metadata.annotations, ...guardAnnotations};
	return object;
}

afterAll(async () => {
	await load?.stop();

	await agent?.close();
	await new Promise((resolve) => (webhook ? webhook.close(resolve) : resolve(undefined)));
	await prometheus?.stop();
	for (const server of servers) await server.close();
	await cluster?.stop();
});

describe('the canary guard', () => {
	it('in dry run reports what it would do, alerts in Slack’s format, audits the finding as a dry run and changes nothing', async () => {
		if (!cluster) throw new Error('setup failed');
		agent = await startGuardAgent({dryRun: true, alertWebhook: `${webhookUrl}/slack`, alertFormat: 'slack'});
		const url = agent.url;
		const viewer = collect(createAgentClient({url, token: cluster.tokens.viewer}), {namespace: 'team-a'});
		await viewer.connected();
		try {
			const wouldRollBack = await eventually('the dry-run guard to report what it would do', 120_000, () =>
				viewer.events.find((event) => event.type === 'guard' && event.message.startsWith('DRY RUN')),
			);
			// The reason names the model's own threshold from its annotation (150 ms, not the console's 500 ms).
			expect(wouldRollBack).toMatchObject({
				model: {namespace: 'team-a', name: 'fraud'},
				verdict: 'fail',
				rolledBack: false,
				message: expect.stringMatching(
					/^DRY RUN: guard would roll back v2: 2 failing verdicts in a row \(limit 2\): fail: .*p99 \d+ ms > 150 ms/,
				),
			});

			const slack = await eventually('the Slack-format alert', 20_000, () => alerts.find((alert) => alert.path === '/slack'));
			expect(slack.body).toEqual({
				text: expect.stringMatching(
					/^modeldeck guard :warning: would roll back \(dry run\) canary \*v2\* of \*team-a\/fraud\*: 2 failing verdicts in a row .*p99 \d+ ms > 150 ms/,
				),
			});

			const audit = await eventually('the dry run in the audit trail', 20_000, async () => {
				const entries = await createAgentClient({url, token: cluster!.tokens.viewer, namespace: 'team-a'}).audit(5);
				return entries.find((entry) => entry.action === 'dry-run rollback v2');
			});
			// Planned as a real rollback would be, from a fresh read: the audit says what it would change.
			expect(audit).toMatchObject({
				user: 'modeldeck-guard',
				target: 'team-a/fraud',
				result: 'ok',
				before: 'v1 80%, v2 20%',
				after: 'v1 80%, v2 20%',
			});
			expect(audit.message).toMatch(
				/^DRY RUN \(nothing changed\): guard would roll back v2 \(fraud: v1 80% → 100%, v2 20% → 0%\): .*p99 \d+ ms > 150 ms/,
			);
			const events = await eventually('the dry run’s Event on the HTTPRoute', 20_000, async () => {
				const found = await routeEvents('ModeldeckGuardDryRun');
				return found.length > 0 && found;
			});
			expect(events[0]).toMatchObject({
				type: 'Normal',
				source: {component: 'modeldeck-agent'},
				message: expect.stringMatching(/^modeldeck-guard: dry-run rollback v2 on team-a\/fraud: ok/),
			});

			// Nothing changed: the route's weights, no rollback anywhere, no rollback Event.
			expect(await routeWeights()).toEqual([80, 20]);
			expect(viewer.events.some((event) => event.type === 'guard' && event.rolledBack)).toBe(false);
			expect(await routeEvents('ModeldeckGuardRollback')).toEqual([]);
		} finally {
			viewer.unsubscribe();
			await agent.close();
			agent = undefined;
		}
	});

	it('rolls back a slow canary by itself, audited with an Event, told to consoles and alerted in Alertmanager’s format', async () => {
		if (!cluster) throw new Error('setup failed');
		agent = await startGuardAgent({dryRun: false, alertWebhook: `${webhookUrl}/api/v2/alerts`});
		const url = agent.url;
		const viewer = collect(createAgentClient({url, token: cluster.tokens.viewer}), {namespace: 'team-a'});
		await viewer.connected();
		try {
			const rolledBack = await eventually('the guard to roll back the canary', 120_000, () =>
				viewer.events.find((event) => event.type === 'guard' && event.rolledBack),
			);
			expect(rolledBack).toMatchObject({
				model: {namespace: 'team-a', name: 'fraud'},
				verdict: 'fail',
				message: expect.stringMatching(/^guard rolled back v2: 2 failing verdicts in a row/),
			});
			// Before acting it said the canary was failing.
			expect(viewer.events.some((event) => event.type === 'guard' && !event.rolledBack && event.verdict === 'fail')).toBe(true);
			expect(await routeWeights()).toEqual([100, 0]);
			const audit = await createAgentClient({url, token: cluster.tokens.viewer, namespace: 'team-a'}).audit(5);
			// Planned first and audited from the plan (it used to write unplanned and read the weights back).
			expect(audit[0]).toMatchObject({
				user: 'modeldeck-guard',
				action: 'rollback v2',
				target: 'team-a/fraud',
				result: 'ok',
				before: 'v1 80%, v2 20%',
				after: 'v1 100%, v2 0%',
			});
			expect(audit[0]!.message).toMatch(
				/^guard: fraud: v1 80% → 100%, v2 20% → 0%; reason: 2 failing verdicts in a row .*p99 \d+ ms > 150 ms/,
			);

			const events = await eventually('the rollback’s Event on the HTTPRoute', 20_000, async () => {
				const found = await routeEvents('ModeldeckGuardRollback');
				return found.length > 0 && found;
			});
			expect(events).toHaveLength(1);
			expect(events[0]!.message).toMatch(
				/^modeldeck-guard: rollback v2 on team-a\/fraud: ok \(v1 80%, v2 20% → v1 100%, v2 0%\): guard: fraud: v1 80% → 100%, v2 20% → 0%; reason: 2 failing verdicts/,
			);

			const alert = await eventually('the Alertmanager-format alert', 20_000, () =>
				alerts.find((candidate) => candidate.path === '/api/v2/alerts'),
			);
			expect(alert.body).toEqual([
				{
					labels: {
						alertname: 'ModeldeckCanaryRolledBack',
						severity: 'critical',
						namespace: 'team-a',
						model: 'fraud',
						canary: 'v2',
						source: 'modeldeck-agent',
						dry_run: 'false',
					},
					annotations: {
						summary: 'modeldeck guard rolled back canary v2 of team-a/fraud',
						description: expect.stringMatching(/^2 failing verdicts in a row \(limit 2\): fail: .*p99 \d+ ms > 150 ms/),
					},
					startsAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
				},
			]);
			expect(Date.parse((alert.body as {startsAt: string}[])[0]!.startsAt)).toBeGreaterThan(Date.now() - 120_000);
		} finally {
			viewer.unsubscribe();
		}
	});
});
