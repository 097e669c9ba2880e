// The agent's security against the REAL API server of the local control plane: tokens checked by TokenReview,
// every action by a SubjectAccessReview for what it changes, with the harness's viewer, operator and admin users.
// Actions go through the real Kubernetes source and leave Kubernetes Events on the objects they changed.
import {BatchV1Api, KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {startCluster} from '../../harness/cluster.mjs';
import type {Cluster} from '../../harness/cluster.mjs';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import type {ActionProgress} from '../../source/domain/types.ts';
import {createAgentClient} from '../../source/sources/agent-client.ts';
import {findAgent} from '../../source/sources/agent-client/find-agent.ts';
import {createKubeCluster} from '../../source/sources/kube/index.ts';
import type {KubeCluster} from '../../source/sources/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {collect, eventually, plainPrediction, postLogs} from './agent-support.ts';

let cluster: Cluster | undefined;
let agent: RunningAgent | undefined;
let kube: KubeCluster | undefined;
let server: RunningModelServer | undefined;
let api: TestApi;
let admin: KubeConfig;
const unsubscribes: (() => void)[] = [];

function fraudObjects(namespace: string) {
	return [
		deployment({namespace, model: 'fraud', version: 'v1'}),
		deployment({namespace, model: 'fraud', version: 'v2'}),
		service(namespace, 'fraud-v1', 'fraud', 'v1'),
		service(namespace, 'fraud-v2', 'fraud', 'v2'),
		httpRoute(namespace, 'fraud', 'fraud', [
			{service: 'fraud-v1', weight: 90},
			{service: 'fraud-v2', weight: 10},
		]),
	];
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	for (const namespace of ['team-a', 'team-b']) {
		await api.createAll(fraudObjects(namespace));
		await api.waitForRollouts(namespace);
	}

	admin = new KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	const agentKube = new KubeAgentClient(admin);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'all'});
	server = await startModelServer({model: 'fraud', modelVersion: 'v2', port: 0});
	const modelUrl = server.url;
	agent = await startAgent({
		reviewer: new KubeAccessReviewer(admin),
		cluster: kube,
		events: agentKube,
		apiServerReachable: () => agentKube.reachable(),
		resolveEndpoint: () => modelUrl,
	});
	const running = agent;
	await eventually('the agent to see both models', 60_000, () => running.core.findModel({namespace: 'team-a', name: 'fraud'}) && running.core.findModel({namespace: 'team-b', name: 'fraud'}));
});

afterAll(async () => {
	for (const unsubscribe of unsubscribes) unsubscribe();
	await agent?.close();
	await server?.close();
	await cluster?.stop();
});

function the(): {agent: RunningAgent; cluster: Cluster} {
	if (!agent || !cluster) throw new Error('the control plane or the agent did not start');
	return {agent, cluster};
}

async function all(progress: AsyncIterable<ActionProgress>): Promise<ActionProgress[]> {
	const items: ActionProgress[] = [];
	for await (const item of progress) items.push(item);
	return items;
}

function client(user: 'viewer' | 'operator' | 'admin', namespace?: string) {
	return createAgentClient({url: the().agent.url, token: the().cluster.tokens[user], ...(namespace ? {namespace} : {})});
}

async function routeWeights(namespace: string): Promise<number[]> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);
}

describe('agent security against the real API server', () => {
	it('answers 401 without a token or with one the API server does not accept', async () => {
		const {agent: running} = the();
		for (const path of ['/v1/predictions?requestId=x', '/v1/audit']) {
			const response = await fetch(`${running.url}${path}`);
			expect(response.status).toBe(401);
			expect(((await response.json()) as {error: string}).error).toMatch(/missing bearer token/);
		}

		const bad = await fetch(`${running.url}/v1/actions`, {method: 'POST', headers: {authorization: 'Bearer not-a-real-token'}, body: '{}'});
		expect(bad.status).toBe(401);
		expect(((await bad.json()) as {error: string}).error).toMatch(/did not accept the token \(TokenReview\)/);
		const upgrade = await new Promise<number>((resolve) => {
			const ws = new WebSocket(`${running.url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1']);
			ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
			ws.on('open', () => resolve(101));
			ws.on('error', () => undefined);
		});
		expect(upgrade).toBe(401);
		// Health and metrics need no token; ready means the store is open and the API server answers.
		expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
		expect((await fetch(`${running.url}/metrics`)).status).toBe(200);
	});

	it('lets the viewer watch the stream and look up predictions, but not act', async () => {
		const {agent: running} = the();
		const viewer = client('viewer');
		const watched = collect(viewer, {namespace: 'team-a'});
		unsubscribes.push(watched.unsubscribe);
		await watched.connected();
		expect((await postLogs(running.url, [plainPrediction('seen-by-viewer')])).status).toBe(200);
		expect((await watched.waitForPredictions(1))[0]).toMatchObject({requestId: 'seen-by-viewer'});
		expect(await viewer.lookup('seen-by-viewer')).toHaveLength(1);

		const refused = await all(viewer.act({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 50}));
		expect(refused).toEqual([{kind: 'failed', message: expect.stringMatching(/^the agent refused: 403: forbidden: viewer may not patch httproutes.gateway.networking.k8s.io "fraud" in namespace team-a/)}]);
		const smoke = await all(viewer.act({kind: 'smoke-test', target: {namespace: 'team-a', name: 'fraud', version: 'v2'}}));
		expect(smoke[0]).toMatchObject({kind: 'failed', message: expect.stringMatching(/403: forbidden: viewer/)});
		expect(await routeWeights('team-a')).toEqual([90, 10]);
	});

	it('lets the operator act in team-a only, with an audit entry and a Kubernetes Event on the HTTPRoute', async () => {
		const operator = client('operator', 'team-a');
		const changed = await all(operator.act({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 30}));
		expect(changed.at(-1)).toEqual({kind: 'done', message: "v2 now takes 30% of fraud's traffic"});
		expect(await routeWeights('team-a')).toEqual([70, 30]);

		const elsewhere = await all(operator.act({kind: 'set-weight', model: {namespace: 'team-b', name: 'fraud'}, canary: 'v2', from: 10, to: 30}));
		expect(elsewhere[0]).toMatchObject({kind: 'failed', message: expect.stringMatching(/403: forbidden: operator may not patch httproutes.gateway.networking.k8s.io "fraud" in namespace team-b/)});
		expect(await routeWeights('team-b')).toEqual([90, 10]);

		const smoke = await all(operator.act({kind: 'smoke-test', target: {namespace: 'team-a', name: 'fraud', version: 'v2'}}));
		expect(smoke.at(-1)).toMatchObject({kind: 'done'});

		const audit = await operator.audit(20);
		expect(audit.map((entry) => [entry.user, entry.action, entry.result])).toEqual(
			expect.arrayContaining([
				['operator', 'set-weight v2 10→30%', 'ok'],
				['operator', 'smoke-test', 'ok'],
				['viewer', 'set-weight v2 10→50%', 'refused'],
			]),
		);
		// The refusal in team-b is in team-b's trail, which the operator may read too (it lists pods everywhere).
		expect((await client('operator', 'team-b').audit(5))[0]).toMatchObject({user: 'operator', result: 'refused'});

		const events = await eventually('the Kubernetes Event', 15_000, async () => {
			const response = (await api.http.get(`/api/v1/namespaces/team-a/events?fieldSelector=involvedObject.name=fraud`)) as {items: {reason: string; message: string; involvedObject: {kind: string}; type: string}[]};
			const ours = response.items.filter((event) => event.reason === 'ModeldeckSetWeight');
			return ours.length > 0 && ours;
		});
		expect(events[0]).toMatchObject({involvedObject: {kind: 'HTTPRoute'}, type: 'Normal'});
		expect(events[0]!.message).toMatch(/^operator: set-weight v2 10→30% on team-a\/fraud: ok \(v1 stable 90%, v2 canary 10% → v2 canary 30%\)/);
	});

	it('finds the agent’s Service and reaches it through the API server’s proxy with the user’s own token', async () => {
		const {cluster: running} = the();
		await api.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'modeldeck'}});
		await api.create({
			apiVersion: 'v1',
			kind: 'Service',
			metadata: {name: 'modeldeck-agent', namespace: 'modeldeck', labels: {'app.kubernetes.io/name': 'modeldeck-agent'}},
			spec: {ports: [{name: 'http', port: 8090, targetPort: 8090}], selector: {'app.kubernetes.io/name': 'modeldeck-agent'}},
		});
		const found = await findAgent({kubeconfig: running.kubeconfig, context: 'admin'});
		expect(found).toMatchObject({namespace: 'modeldeck', service: 'modeldeck-agent', port: 'http', url: `${running.server}/api/v1/namespaces/modeldeck/services/http:modeldeck-agent:http/proxy/`});
		expect(found?.clientOptions.token).toBe(running.tokens.admin);
		expect(found?.warning).toBeUndefined();
		// No agent pod runs behind that Service here (its selector matches no pod, so its Endpoints are empty): the API
		// server itself answers: reaching it proves the client's TLS (the kubeconfig's CA) and token through the proxy.
		await expect(createAgentClient(found!.clientOptions).lookup('x')).rejects.toThrow(/the API server's service proxy refused v1\/predictions: 503: no ready agent pod behind Service modeldeck\/modeldeck-agent.*no endpoints available for service/);
		// Going through the proxy is itself a permission: the viewer (built-in view role) may find the agent but not reach it.
		const asViewer = await findAgent({kubeconfig: running.kubeconfig, context: 'viewer'});
		expect(asViewer?.clientOptions.token).toBe(running.tokens.viewer);
		await expect(createAgentClient(asViewer!.clientOptions).lookup('x')).rejects.toThrow(/403: .*cannot get resource "services\/proxy"/);
	});

	it('creates a load-test Job of workers running the agent image, and deletes it when cancelled', async () => {
		const runner = new KubeAgentClient(admin).jobRunner({namespace: 'team-a', image: 'registry.example/modeldeck:test', pollMs: 100});
		const batch = admin.makeApiClient(BatchV1Api);
		const controller = new AbortController();
		let jobName = '';
		const run = runner.run(
			{target: {namespace: 'team-a', name: 'fraud', version: 'v2'}, url: 'http://fraud-v2.team-a.svc:80/v2/models/fraud/infer', body: '{"inputs":[]}'},
			{rps: 3000, workers: 3, durationSeconds: 30, warmupSeconds: 5},
			(message) => {
				const created = /^created Job team-a\/(\S+) with 3 workers$/.exec(message);
				if (created) jobName = created[1]!;
			},
			controller.signal,
		);
		run.catch(() => undefined);
		let job;
		try {
			job = await eventually('the Job', 10_000, async () => (jobName ? await batch.readNamespacedJob({name: jobName, namespace: 'team-a'}) : undefined));
		} finally {
			controller.abort();
		}

		expect(job.spec).toMatchObject({parallelism: 3, completions: 3, completionMode: 'Indexed'});
		expect(job.spec?.template.spec?.containers[0]?.args).toEqual(expect.arrayContaining(['agent', 'loadtest-worker', '--rps', '1000']));
		await expect(run).rejects.toThrow(/cancelled/);
		await eventually('the Job to be deleted', 15_000, async () => {
			try {
				const current = await batch.readNamespacedJob({name: jobName, namespace: 'team-a'});
				return Boolean(current.metadata?.deletionTimestamp);
			} catch (error) {
				return (error as {code?: number}).code === 404;
			}
		});
	});
});
