// The agent's security against the REAL API server of the local control plane: tokens checked by TokenReview,
// every action by a SubjectAccessReview for what it changes, with the harness's viewer, operator and admin users.
// Actions go through the real Kubernetes source and leave Kubernetes Events on the objects they changed.
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {BatchV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api} from '@kubernetes/client-node';
import type {V1PolicyRule} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {startCluster} from '../../harness/cluster.ts';
import type {Cluster} from '../../harness/cluster.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient} from '../../source/agent/kube.ts';
import {KubeLoadJobRunner} from '../../source/agent/actions/load-job-runner.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import type {ActionProgress} from '../../source/domain/types.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import {findAgent} from '../../source/adapters/agent-client/find-agent.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import type {KubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {collect, eventually, freePort, plainPrediction, postLogs, spawnAgent} from './agent-support.ts';
import type {AgentProcess} from './agent-support.ts';

let cluster: Cluster | undefined;
let agent: RunningAgent | undefined;
let kube: KubeCluster | undefined;
let server: RunningModelServer | undefined;
let api: TestApi;
let admin: KubeConfig;
const unsubscribes: (() => void)[] = [];

function fraudObjects(namespace: string, model = 'fraud') {
	return [
		deployment({namespace, model, version: 'v1'}),
		deployment({namespace, model, version: 'v2'}),
		service(namespace, `${model}-v1`, model, 'v1'),
		service(namespace, `${model}-v2`, model, 'v2'),
		httpRoute(namespace, model, model, [
			{service: `${model}-v1`, weight: 90},
			{service: `${model}-v2`, weight: 10},
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
	await eventually(
		'the agent to see both models',
		60_000,
		() => running.core.findModel({namespace: 'team-a', name: 'fraud'}) && running.core.findModel({namespace: 'team-b', name: 'fraud'}),
	);
});

afterAll(async () => {
	for (const unsubscribe of unsubscribes) unsubscribe();
	await agent?.close();
	await server?.close();
	await cluster?.stop();
});

interface KubeEvent {
	reason: string;
	message: string;
	type: string;
	involvedObject: {kind: string; name: string; uid?: string; resourceVersion?: string};
}

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

async function routeWeights(namespace: string, model = 'fraud'): Promise<number[]> {
	const route = await api.get('HTTPRoute', namespace, model);
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

		const refused = await all(
			viewer.act({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 50}),
		);
		expect(refused).toEqual([
			{
				kind: 'failed',
				message: expect.stringMatching(
					/^the agent refused: 403: forbidden: viewer may not patch httproutes.gateway.networking.k8s.io "fraud" in namespace team-a/,
				),
			},
		]);
		const smoke = await all(viewer.act({kind: 'smoke-test', target: {namespace: 'team-a', name: 'fraud', version: 'v2'}}));
		expect(smoke[0]).toMatchObject({kind: 'failed', message: expect.stringMatching(/403: forbidden: viewer/)});
		expect(await routeWeights('team-a')).toEqual([90, 10]);
	});

	it('lets the operator act in team-a only, with an audit entry and a Kubernetes Event on the HTTPRoute', async () => {
		const operator = client('operator', 'team-a');
		const changed = await all(
			operator.act({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 30}),
		);
		expect(changed.at(-1)).toEqual({kind: 'done', message: 'fraud: v1 90% → 70%, v2 10% → 30%'});
		expect(await routeWeights('team-a')).toEqual([70, 30]);

		const elsewhere = await all(
			operator.act({kind: 'set-weight', model: {namespace: 'team-b', name: 'fraud'}, canary: 'v2', from: 10, to: 30}),
		);
		expect(elsewhere[0]).toMatchObject({
			kind: 'failed',
			message: expect.stringMatching(
				/403: forbidden: operator may not patch httproutes.gateway.networking.k8s.io "fraud" in namespace team-b/,
			),
		});
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
			const response = (await api.http.get(`/api/v1/namespaces/team-a/events?fieldSelector=involvedObject.name=fraud`)) as {
				items: KubeEvent[];
			};
			const ours = response.items.filter((event) => event.reason === 'ModeldeckSetWeight');
			return ours.length > 0 && ours;
		});
		expect(events[0]).toMatchObject({involvedObject: {kind: 'HTTPRoute'}, type: 'Normal'});
		// `after` is what the API server has after the change, read back: both versions.
		expect(events[0]!.message).toMatch(/^operator: set-weight v2 10→30% on team-a\/fraud: ok \(v1 90%, v2 10% → v1 70%, v2 30%\)/);
		// kubectl describe lists an object's Events by its uid: the Event carries the HTTPRoute's.
		const route = await api.get('HTTPRoute', 'team-a', 'fraud');
		expect(route.metadata.uid).toEqual(expect.any(String));
		expect(events[0]!.involvedObject.uid).toBe(route.metadata.uid);
		const described = (await api.http.get(
			`/api/v1/namespaces/team-a/events?fieldSelector=${encodeURIComponent(`involvedObject.uid=${route.metadata.uid}`)}`,
		)) as {items: KubeEvent[]};
		expect(described.items.map((event) => event.reason)).toContain('ModeldeckSetWeight');
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
		expect(found).toMatchObject({
			namespace: 'modeldeck',
			service: 'modeldeck-agent',
			port: 'http',
			url: `${running.server}/api/v1/namespaces/modeldeck/services/http:modeldeck-agent:http/proxy/`,
		});
		expect(found?.clientOptions.token).toBe(running.tokens.admin);
		expect(found?.warning).toBeUndefined();
		// No agent pod runs behind that Service here (its selector matches no pod, so its Endpoints are empty): the API
		// server itself answers: reaching it proves the client's TLS (the kubeconfig's CA) and token through the proxy.
		await expect(createAgentClient(found!.clientOptions).lookup('x')).rejects.toThrow(
			/the API server's service proxy refused v1\/predictions: 503: no ready agent pod behind Service modeldeck\/modeldeck-agent.*no endpoints available for service/,
		);
		// Going through the proxy is itself a permission: the viewer (built-in view role) may find the agent but not reach it.
		const asViewer = await findAgent({kubeconfig: running.kubeconfig, context: 'viewer'});
		expect(asViewer?.clientOptions.token).toBe(running.tokens.viewer);
		await expect(createAgentClient(asViewer!.clientOptions).lookup('x')).rejects.toThrow(/403: .*cannot get resource "services\/proxy"/);
	});

	it('creates a load-test Job of workers running the agent image, and deletes it when cancelled', async () => {
		const runner = new KubeLoadJobRunner(admin, {namespace: 'team-a', image: 'registry.example/modeldeck:test', pollMs: 100});
		const batch = admin.makeApiClient(BatchV1Api);
		const controller = new AbortController();
		let jobName = '';
		const run = runner.run(
			{
				target: {namespace: 'team-a', name: 'fraud', version: 'v2'},
				url: 'http://fraud-v2.team-a.svc:80/v2/models/fraud/infer',
				body: '{"inputs":[]}',
			},
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
			job = await eventually('the Job', 10_000, async () =>
				jobName ? await batch.readNamespacedJob({name: jobName, namespace: 'team-a'}) : undefined,
			);
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

// Callers made here from ServiceAccounts bound to Roles, with tokens from the TokenRequest API: the API server
// authenticates them (TokenReview) and decides each permission (SubjectAccessReview) as it would for kubectl.
const saNamespace = 'sa-team';
const readPods: V1PolicyRule = {apiGroups: [''], resources: ['pods'], verbs: ['list']};
const patchRoutes: V1PolicyRule = {apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'list', 'patch']};
const patchDeployments: V1PolicyRule = {apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'patch']};

/** A ServiceAccount in `saNamespace` allowed exactly `rules` there, and a token for it. */
async function serviceAccount(name: string, rules: V1PolicyRule[]): Promise<{token: string; user: string}> {
	const core = admin.makeApiClient(CoreV1Api);
	const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
	await core.createNamespacedServiceAccount({namespace: saNamespace, body: {metadata: {name}}});
	if (rules.length > 0) {
		await rbac.createNamespacedRole({namespace: saNamespace, body: {metadata: {name}, rules}});
		await rbac.createNamespacedRoleBinding({
			namespace: saNamespace,
			body: {
				metadata: {name},
				roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name},
				subjects: [{kind: 'ServiceAccount', name, namespace: saNamespace}],
			},
		});
	}

	const request = await core.createNamespacedServiceAccountToken({
		name,
		namespace: saNamespace,
		body: {spec: {audiences: [], expirationSeconds: 3600}},
	});
	const token = request.status?.token;
	if (!token) throw new Error(`the API server issued no token for ServiceAccount ${name}`);
	return {token, user: `system:serviceaccount:${saNamespace}:${name}`};
}

async function deploymentReplicas(namespace: string, name: string): Promise<number> {
	return (await api.get('Deployment', namespace, name)).spec.replicas;
}

/** A WebSocket to the stream with the caller's token, keeping every message it receives and how it closed. */
function openSocket(url: string, token: string) {
	const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/stream`, ['modeldeck.v1'], {headers: {authorization: `Bearer ${token}`}});
	const messages: Record<string, any>[] = [];
	let closed: {code: number; reason: string} | undefined;
	ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
	ws.on('close', (code, reason) => (closed = {code, reason: reason.toString()}));
	return {
		ws,
		messages,
		closed: () => closed,
		opened: () =>
			new Promise<void>((resolve, reject) => {
				ws.once('open', () => resolve());
				ws.once('error', reject);
			}),
		send: (message: unknown) => ws.send(JSON.stringify(message)),
	};
}

describe('agent security with ServiceAccount callers', () => {
	beforeAll(async () => {
		await api.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: saNamespace}});
		await api.createAll([...fraudObjects(saNamespace), ...fraudObjects(saNamespace, 'risk')]);
		await api.waitForRollouts(saNamespace);
		await eventually(
			'the agent to see the models',
			30_000,
			() =>
				the().agent.core.findModel({namespace: saNamespace, name: 'fraud'}) &&
				the().agent.core.findModel({namespace: saNamespace, name: 'risk'}),
		);
	});

	it('refuses a promote to a caller who may patch the HTTPRoute but not the Deployment it scales down, and allows it with both', async () => {
		const routeOnly = await serviceAccount('route-only', [readPods, patchRoutes]);
		const both = await serviceAccount('route-and-deployments', [readPods, patchRoutes, patchDeployments]);
		const promote = {kind: 'promote' as const, model: {namespace: saNamespace, name: 'fraud'}, canary: 'v2', stable: 'v1'};

		const refused = await fetch(`${the().agent.url}/v1/actions`, {
			method: 'POST',
			headers: {authorization: `Bearer ${routeOnly.token}`, 'content-type': 'application/json'},
			body: JSON.stringify(promote),
		});
		expect(refused.status).toBe(403);
		expect(((await refused.json()) as {error: string}).error).toMatch(
			new RegExp(`^forbidden: ${routeOnly.user} may not patch deployments.apps "fraud-v1" in namespace ${saNamespace}`),
		);
		expect(await routeWeights(saNamespace)).toEqual([90, 10]);
		expect(await deploymentReplicas(saNamespace, 'fraud-v1')).toBe(1);
		const audited = await createAgentClient({url: the().agent.url, token: routeOnly.token, namespace: saNamespace}).audit(5);
		expect(audited[0]).toMatchObject({
			user: routeOnly.user,
			action: 'promote v2',
			result: 'refused',
			message: expect.stringMatching(/may not patch deployments.apps "fraud-v1"/),
		});

		const allowed = await all(createAgentClient({url: the().agent.url, token: both.token, namespace: saNamespace}).act(promote));
		expect(allowed.at(-1)).toEqual({kind: 'done', message: 'fraud: v1 90% → 0%, v2 10% → 100%'});
		expect(await routeWeights(saNamespace)).toEqual([0, 100]);
		expect(await deploymentReplicas(saNamespace, 'fraud-v1')).toBe(0);

		// The audit's before and after are the plan's, every version: what the caller was authorised for and carried out.
		const trail = await createAgentClient({url: the().agent.url, token: both.token, namespace: saNamespace}).audit(5);
		expect(trail[0]).toMatchObject({user: both.user, action: 'promote v2', result: 'ok'});
		expect(trail[0]!.before).toBe('v1 90%, v2 10%');
		expect(trail[0]!.after).toBe('v1 0%, v2 100%');
		// v1, scaled to zero, is retired: the source lists it no more.
		expect((await kube!.readModel({namespace: saNamespace, name: 'fraud'})).versions.map((version) => version.name)).toEqual(['v2']);
	});

	it('reviews a socket’s token again before each action: a revoked one stops acting once the review cache forgets it', async () => {
		// An agent of its own whose reviewer cache keeps answers for 1 s instead of 10 s.
		const reviewCacheMs = 1000;
		const agentKube = new KubeAgentClient(admin);
		const shortCache = await startAgent({reviewer: new KubeAccessReviewer(admin), reviewCacheMs, cluster: kube!, events: agentKube});
		try {
			await eventually('the agent to see the model', 30_000, () => shortCache.core.findModel({namespace: saNamespace, name: 'risk'}));
			const revocable = await serviceAccount('revocable', [readPods, patchRoutes]);
			const socket = openSocket(shortCache.url, revocable.token);
			await socket.opened();
			const weight = (id: string, from: number, to: number) =>
				socket.send({type: 'act', id, action: {kind: 'set-weight', model: {namespace: saNamespace, name: 'risk'}, canary: 'v2', from, to}});
			const answer = (id: string) =>
				eventually(`the answer to ${id}`, 15_000, () =>
					socket.messages.find(
						(message) => message['id'] === id && (message['type'] === 'error' || ['done', 'failed'].includes(message['progress']?.kind)),
					),
				);

			// While the token is valid the socket acts.
			weight('before', 10, 30);
			expect(await answer('before')).toMatchObject({type: 'action-progress', progress: {kind: 'done'}});
			expect(await routeWeights(saNamespace, 'risk')).toEqual([70, 30]);

			// Deleting the ServiceAccount invalidates its tokens at the API server; the socket stays open.
			await admin.makeApiClient(CoreV1Api).deleteNamespacedServiceAccount({name: 'revocable', namespace: saNamespace});
			await eventually(
				'the API server to reject the token',
				15_000,
				async () => !(await new KubeAccessReviewer(admin).authenticate(revocable.token)),
			);
			await new Promise((resolve) => setTimeout(resolve, reviewCacheMs + 200));
			weight('after', 30, 20);
			expect(await answer('after')).toEqual({
				type: 'error',
				id: 'after',
				message: `${revocable.user}'s token is no longer accepted by the Kubernetes API server (TokenReview): it was revoked or expired since this connection was opened; reconnect with a valid token`,
			});
			expect(socket.closed()).toBeUndefined();
			expect(await routeWeights(saNamespace, 'risk')).toEqual([70, 30]);
			const refusal = shortCache.core.audit(1, saNamespace)[0];
			expect(refusal).toMatchObject({user: revocable.user, action: 'set-weight v2 30→20%', result: 'refused'});
			socket.ws.close();
		} finally {
			await shortCache.close();
		}
	});

	it('fills an Event’s involvedObject uid with only list on the object, as the agent’s ClusterRole grants (no get)', async () => {
		const recorder = await serviceAccount('event-recorder', [
			{apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['list']},
			{apiGroups: [''], resources: ['events'], verbs: ['create']},
		]);
		const asRecorder = new KubeConfig();
		asRecorder.loadFromOptions({
			clusters: [admin.getCurrentCluster()!],
			users: [{name: 'event-recorder', token: recorder.token}],
			contexts: [{name: 'event-recorder', cluster: admin.getCurrentCluster()!.name, user: 'event-recorder'}],
			currentContext: 'event-recorder',
		});
		await new KubeAgentClient(asRecorder).recordEvent(
			{apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'risk', namespace: saNamespace},
			'Normal',
			'ModeldeckTest',
			'uid check',
		);
		const route = await api.get('HTTPRoute', saNamespace, 'risk');
		const events = (await api.http.get(`/api/v1/namespaces/${saNamespace}/events?fieldSelector=reason=ModeldeckTest`)) as {
			items: KubeEvent[];
		};
		expect(events.items.map((event) => event.involvedObject)).toEqual([
			expect.objectContaining({kind: 'HTTPRoute', name: 'risk', uid: route.metadata.uid, resourceVersion: route.metadata.resourceVersion}),
		]);
	});

	it('holds an action to the writes authorised: a plan that writes more than them fails before writing anything', async () => {
		const model = {namespace: saNamespace, name: 'risk'};
		const [stableWeight, canaryWeight] = await routeWeights(saNamespace, 'risk');
		// What was authorised: a weight change, the HTTPRoute only. The promote's plan also scales v1's Deployment.
		const authorised = await kube!.plannedChanges({kind: 'set-weight', model, canary: 'v2', from: canaryWeight!, to: 50});
		expect(authorised.map((change) => change.object)).toEqual(['HTTPRoute/risk']);
		expect((await kube!.plannedChanges({kind: 'promote', model, canary: 'v2', stable: 'v1'})).map((change) => change.object)).toEqual([
			'HTTPRoute/risk',
			'Deployment/risk-v1',
		]);
		await expect(kube!.actWithin({kind: 'promote', model, canary: 'v2', stable: 'v1'}, authorised)).rejects.toThrow(
			/^Deployment\/risk-v1 \(v1 1 → 0 replicas\) was not among the changes authorised a moment ago, so nothing was written$/,
		);
		expect(await routeWeights(saNamespace, 'risk')).toEqual([stableWeight, canaryWeight]);
		expect(await deploymentReplicas(saNamespace, 'risk-v1')).toBe(1);
		// Within what was authorised, it acts.
		await kube!.actWithin({kind: 'set-weight', model, canary: 'v2', from: canaryWeight!, to: 50}, authorised);
		expect(await routeWeights(saNamespace, 'risk')).toEqual([50, 50]);
	});

	it('answers 403 to a caller who may not read the namespace, naming the permission, on HTTP and on the stream', async () => {
		const outsider = await serviceAccount('outsider', []);
		const {agent: running} = the();
		for (const path of [`/v1/predictions?namespace=${saNamespace}`, `/v1/audit?namespace=${saNamespace}`]) {
			const response = await fetch(`${running.url}${path}`, {headers: {authorization: `Bearer ${outsider.token}`}});
			expect(response.status, path).toBe(403);
			expect(((await response.json()) as {error: string}).error, path).toMatch(
				new RegExp(`^forbidden: ${outsider.user} may not list pods in namespace ${saNamespace}`),
			);
		}

		const socket = openSocket(running.url, outsider.token);
		await socket.opened();
		socket.send({type: 'subscribe', filter: {namespace: saNamespace}});
		const error = await eventually('the refusal', 10_000, () => socket.messages.find((message) => message['type'] === 'error'));
		expect(error['message']).toMatch(new RegExp(`^forbidden: ${outsider.user} may not list pods in namespace ${saNamespace}`));
		expect(await eventually('the socket to close', 10_000, () => socket.closed())).toEqual({code: 4403, reason: 'forbidden'});
	});

	it('never writes a caller’s token: not in its output, the audit, the store or the Events (the agent run as a process)', async () => {
		const {cluster: running} = the();
		const secretive = await serviceAccount('secretive', [readPods, patchRoutes]);
		const badToken = `not-a-token-${Math.random().toString(36).slice(2)}`;
		const scratch = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-agent-tokens-'));
		const db = path.join(scratch, 'agent.db');
		const port = await freePort();
		let agentProcess: AgentProcess | undefined;
		try {
			agentProcess = await spawnAgent([
				'--kubeconfig',
				running.kubeconfig,
				'--context',
				'admin',
				'--listen',
				`127.0.0.1:${port}`,
				'--db',
				db,
			]);
			const url = `http://127.0.0.1:${port}`;
			const headers = {authorization: `Bearer ${secretive.token}`, 'content-type': 'application/json'};
			await eventually('the agent to see the model', 30_000, async () => {
				const response = await fetch(`${url}/v1/actions`, {
					method: 'POST',
					headers,
					body: JSON.stringify({kind: 'smoke-test', target: {namespace: saNamespace, name: 'risk', version: 'v9'}}),
				});
				return response.status !== 404;
			});

			// Authenticated reads, refusals (no read permission, no patch permission, a bad token), actions over HTTP and the socket.
			expect((await fetch(`${url}/v1/predictions?namespace=${saNamespace}`, {headers})).status).toBe(200);
			expect((await fetch(`${url}/v1/audit?namespace=${saNamespace}`, {headers})).status).toBe(200);
			expect((await fetch(`${url}/v1/audit?namespace=team-b`, {headers})).status).toBe(403);
			expect((await fetch(`${url}/v1/audit`, {headers: {authorization: `Bearer ${badToken}`}})).status).toBe(401);
			const act = (body: unknown) => fetch(`${url}/v1/actions`, {method: 'POST', headers, body: JSON.stringify(body)});
			expect((await act({kind: 'set-weight', model: {namespace: 'team-b', name: 'fraud'}, canary: 'v2', from: 10, to: 20})).status).toBe(
				403,
			);
			const [, canary] = await routeWeights(saNamespace, 'risk');
			const changed = await act({
				kind: 'set-weight',
				model: {namespace: saNamespace, name: 'risk'},
				canary: 'v2',
				from: canary,
				to: canary === 35 ? 45 : 35,
			});
			expect(changed.status).toBe(200);
			const changedText = await changed.text();
			expect(changedText).toMatch(/"kind":"done"/);
			const socket = openSocket(url, secretive.token);
			await socket.opened();
			socket.send({type: 'subscribe', filter: {namespace: saNamespace}});
			socket.send({
				type: 'act',
				id: 'refused',
				action: {kind: 'promote', model: {namespace: saNamespace, name: 'risk'}, canary: 'v2', stable: 'v1'},
			});
			await eventually('the refusal over the socket', 15_000, () => socket.messages.find((message) => message['id'] === 'refused'));
			socket.ws.close();

			// Everything the agent wrote: its audit trail, its Events, its database, its output.
			const auditTrail = await (
				await fetch(`${url}/v1/audit?limit=1000`, {headers: {authorization: `Bearer ${running.tokens.admin}`}})
			).text();
			expect(JSON.parse(auditTrail).length).toBeGreaterThanOrEqual(3);
			const events = await eventually('the Events of the actions', 15_000, async () => {
				const lists = await Promise.all(
					[saNamespace, 'team-b'].map(
						(namespace) => api.http.get(`/api/v1/namespaces/${namespace}/events`) as Promise<{items: KubeEvent[]}>,
					),
				);
				const ours = lists.flatMap((list) => list.items).filter((event) => event.message.startsWith(secretive.user));
				return ours.length >= 3 && ours;
			});
			await agentProcess.kill('SIGTERM');
			const database = ['', '-wal', '-shm']
				.map((suffix) => (existsSync(db + suffix) ? readFileSync(db + suffix).toString('latin1') : ''))
				.join('');
			const written = {output: agentProcess.output(), audit: auditTrail, events: JSON.stringify(events), database};
			// The refusals and the action are all there, by user: the check below looks at the right text.
			expect(written.audit).toContain(secretive.user);
			expect(written.output).toContain(`audit: ${secretive.user} set-weight`);
			expect(written.database).toContain(secretive.user);

			const [header = '', payload = '', signature = ''] = secretive.token.split('.');
			expect(payload.length).toBeGreaterThan(16);
			expect(signature.length).toBeGreaterThan(16);
			const secrets = {
				token: secretive.token,
				'its header and the start of its payload': secretive.token.slice(0, header.length + 1 + 12),
				'its payload': payload,
				'its signature': signature,
				"its signature's first 16 characters": signature.slice(0, 16),
				'the bad token': badToken,
				"the admin's token": running.tokens.admin,
			};
			for (const [where, text] of Object.entries(written)) {
				for (const [what, secret] of Object.entries(secrets)) expect(text.includes(secret), `${what} in ${where}`).toBe(false);
			}
		} finally {
			await agentProcess?.kill();
			rmSync(scratch, {recursive: true, force: true});
		}
	});
});
