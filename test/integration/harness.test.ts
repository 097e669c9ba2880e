// The local control plane itself, against the real binaries (npm run harness:build): version, Deployments that
// become ready on kwok's fake nodes, RBAC of the three users, CRDs, service-account tokens, and stop by PID.
import {existsSync, readFileSync} from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import * as k8s from '@kubernetes/client-node';
import {FAKE_NODES, startCluster, type Cluster} from '../../harness/cluster.ts';

let cluster: Cluster | undefined;

function the(): Cluster {
	if (!cluster) throw new Error('cluster did not start');
	return cluster;
}

function config(context: 'admin' | 'viewer' | 'operator'): k8s.KubeConfig {
	const kc = new k8s.KubeConfig();
	kc.loadFromFile(the().kubeconfig);
	kc.setCurrentContext(context);
	return kc;
}

function apps(context: 'admin' | 'viewer' | 'operator'): k8s.AppsV1Api {
	return config(context).makeApiClient(k8s.AppsV1Api);
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

/** The HTTP status of a failed call, or 200 if it went through. */
async function statusOf(call: () => Promise<unknown>): Promise<number> {
	try {
		await call();
		return 200;
	} catch (err) {
		if (err instanceof k8s.ApiException) return err.code;
		throw err;
	}
}

function deployment(name: string, replicas: number): k8s.V1Deployment {
	const labels = {'modeldeck.dev/model': 'harness', 'app.kubernetes.io/version': name};
	return {
		metadata: {name, labels},
		spec: {
			replicas,
			selector: {matchLabels: labels},
			template: {
				metadata: {labels},
				spec: {containers: [{name: 'server', image: 'registry.invalid/model-server:1'}]},
			},
		},
	};
}

async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const v = await fn();
			if (v !== undefined) return v;
		} catch (err) {
			last = err;
		}
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

/** Running, not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
	try {
		return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
	} catch {
		return false;
	}
}

beforeAll(async () => {
	cluster = await startCluster();
}, 300_000);

afterAll(async () => {
	const c = cluster;
	if (!c) return;
	await c.stop();
	// every process it started is gone, and the temporary state dir with them
	for (const p of c.processes) expect(alive(p.pid)).toBe(false);
	expect(existsSync(c.dir)).toBe(false);
}, 60_000);

describe('local control plane', () => {
	it('runs Kubernetes 1.34 and writes a kubeconfig with a context per user', async () => {
		const version = await config('admin').makeApiClient(k8s.VersionApi).getCode();
		expect(version.gitVersion).toMatch(/^v1\.34\.\d+$/);
		expect(`${version.major}.${version.minor}`).toBe('1.34');
		expect(the().version).toBe(version.gitVersion);

		const kc = new k8s.KubeConfig();
		kc.loadFromFile(the().kubeconfig);
		expect(kc.getCurrentContext()).toBe('admin');
		expect(
			kc
				.getContexts()
				.map((c) => c.name)
				.sort(),
		).toEqual(['admin', 'operator', 'viewer']);
		expect(kc.getContextObject('operator')?.namespace).toBe('team-a');
	});

	it('creates the namespaces and fake nodes that kwok keeps Ready', async () => {
		const core = config('admin').makeApiClient(k8s.CoreV1Api);
		const namespaces = (await core.listNamespace()).items.map((n) => n.metadata?.name);
		expect(namespaces).toEqual(expect.arrayContaining(['team-a', 'team-b']));
		const nodes = (await core.listNode()).items;
		expect(nodes.map((n) => n.metadata?.name).sort()).toEqual([...FAKE_NODES]);
		for (const n of nodes) {
			expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
		}
	});

	it('schedules the pods of a Deployment and reports them ready', async () => {
		const api = apps('admin');
		await api.createNamespacedDeployment({namespace: 'team-a', body: deployment('ready-v1', 3)});
		const d = await eventually('readyReplicas = 3', 120_000, async () => {
			const got = await api.readNamespacedDeployment({namespace: 'team-a', name: 'ready-v1'});
			return got.status?.readyReplicas === 3 && got.status.availableReplicas === 3 ? got : undefined;
		});
		expect(d.status?.replicas).toBe(3);

		const pods = await config('admin').makeApiClient(k8s.CoreV1Api).listNamespacedPod({
			namespace: 'team-a',
			labelSelector: 'app.kubernetes.io/version=ready-v1',
		});
		expect(pods.items).toHaveLength(3);
		for (const p of pods.items) {
			expect(p.status?.phase).toBe('Running');
			expect(FAKE_NODES as readonly string[]).toContain(p.spec?.nodeName);
		}
		const rs = await api.listNamespacedReplicaSet({namespace: 'team-a', labelSelector: 'app.kubernetes.io/version=ready-v1'});
		expect(rs.items).toHaveLength(1);
	}, 150_000);

	it('lets the viewer read but refuses it any change', async () => {
		await apps('admin').createNamespacedDeployment({namespace: 'team-a', body: deployment('viewer-v1', 1)});
		const viewer = apps('viewer');
		expect(await statusOf(() => viewer.readNamespacedDeployment({namespace: 'team-a', name: 'viewer-v1'}))).toBe(200);
		expect(
			await statusOf(() =>
				viewer.patchNamespacedDeployment({namespace: 'team-a', name: 'viewer-v1', body: {spec: {replicas: 2}}}, mergePatch),
			),
		).toBe(403);
		expect(await statusOf(() => viewer.deleteNamespacedDeployment({namespace: 'team-a', name: 'viewer-v1'}))).toBe(403);
	}, 30_000);

	it('lets the operator change deployments in team-a only', async () => {
		const admin = apps('admin');
		await admin.createNamespacedDeployment({namespace: 'team-a', body: deployment('op-v1', 1)});
		await admin.createNamespacedDeployment({namespace: 'team-b', body: deployment('op-v1', 1)});
		const operator = apps('operator');
		const patch = {metadata: {annotations: {'modeldeck.dev/touched': 'yes'}}};

		expect(await statusOf(() => operator.patchNamespacedDeployment({namespace: 'team-a', name: 'op-v1', body: patch}, mergePatch))).toBe(
			200,
		);
		const changed = await admin.readNamespacedDeployment({namespace: 'team-a', name: 'op-v1'});
		expect(changed.metadata?.annotations?.['modeldeck.dev/touched']).toBe('yes');

		expect(await statusOf(() => operator.patchNamespacedDeployment({namespace: 'team-b', name: 'op-v1', body: patch}, mergePatch))).toBe(
			403,
		);
		// reads are cluster-wide
		expect(await statusOf(() => operator.readNamespacedDeployment({namespace: 'team-b', name: 'op-v1'}))).toBe(200);
		// but not everything: no deletes, no secrets
		expect(await statusOf(() => operator.deleteNamespacedDeployment({namespace: 'team-a', name: 'op-v1'}))).toBe(403);
		const core = config('operator').makeApiClient(k8s.CoreV1Api);
		expect(await statusOf(() => core.listNamespacedSecret({namespace: 'team-a'}))).toBe(403);
	}, 30_000);

	it('serves the Gateway API, Istio and KServe CRDs, readable by the viewer and patchable by the operator', async () => {
		const crds = await config('admin').makeApiClient(k8s.ApiextensionsV1Api).listCustomResourceDefinition();
		const established = crds.items
			.filter((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))
			.map((c) => c.metadata?.name);
		expect(established).toEqual(
			expect.arrayContaining([
				'httproutes.gateway.networking.k8s.io',
				'virtualservices.networking.istio.io',
				'destinationrules.networking.istio.io',
				'inferenceservices.serving.kserve.io',
			]),
		);

		const route = {
			apiVersion: 'gateway.networking.k8s.io/v1',
			kind: 'HTTPRoute',
			metadata: {name: 'harness', annotations: {'modeldeck.dev/model': 'harness'}},
			spec: {
				parentRefs: [{name: 'gateway'}],
				rules: [
					{
						backendRefs: [
							{name: 'harness-v1', port: 80, weight: 90},
							{name: 'harness-v2', port: 80, weight: 10},
						],
					},
				],
			},
		};
		const ref = {group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes'};
		for (const namespace of ['team-a', 'team-b']) {
			await config('admin')
				.makeApiClient(k8s.CustomObjectsApi)
				.createNamespacedCustomObject({...ref, namespace, body: route});
		}
		const viewer = config('viewer').makeApiClient(k8s.CustomObjectsApi);
		expect(await statusOf(() => viewer.getNamespacedCustomObject({...ref, namespace: 'team-a', name: 'harness'}))).toBe(200);

		const operator = config('operator').makeApiClient(k8s.CustomObjectsApi);
		const shift = [
			{op: 'test', path: '/spec/rules/0/backendRefs/1/weight', value: 10},
			{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 50},
			{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 50},
		];
		const patched = (await operator.patchNamespacedCustomObject(
			{...ref, namespace: 'team-a', name: 'harness', body: shift},
			jsonPatch,
		)) as {spec: {rules: {backendRefs: {weight: number}[]}[]}};
		expect(patched.spec.rules[0]?.backendRefs.map((b) => b.weight)).toEqual([50, 50]);
		// the same test op now fails: a concurrent change is a conflict, not an overwrite
		expect(
			await statusOf(() => operator.patchNamespacedCustomObject({...ref, namespace: 'team-a', name: 'harness', body: shift}, jsonPatch)),
		).toBe(422);
		expect(
			await statusOf(() => operator.patchNamespacedCustomObject({...ref, namespace: 'team-b', name: 'harness', body: shift}, jsonPatch)),
		).toBe(403);

		// InferenceService has a status subresource
		const isvcRef = {group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices', namespace: 'team-a'};
		const admin = config('admin').makeApiClient(k8s.CustomObjectsApi);
		await admin.createNamespacedCustomObject({
			...isvcRef,
			body: {
				apiVersion: 'serving.kserve.io/v1beta1',
				kind: 'InferenceService',
				metadata: {name: 'harness'},
				spec: {predictor: {canaryTrafficPercent: 10, model: {modelFormat: {name: 'sklearn'}, storageUri: 'gs://x/y'}}},
				status: {url: 'ignored on create'},
			},
		});
		const created = (await admin.getNamespacedCustomObject({...isvcRef, name: 'harness'})) as {status?: unknown};
		expect(created.status).toBeUndefined();
	}, 30_000);

	it('signs service-account tokens that the API server accepts', async () => {
		const core = config('admin').makeApiClient(k8s.CoreV1Api);
		const tr = await core.createNamespacedServiceAccountToken({
			namespace: 'team-a',
			name: 'default',
			body: {spec: {audiences: [], expirationSeconds: 600}},
		});
		const token = tr.status?.token;
		expect(token).toBeTruthy();
		const review = await config('admin')
			.makeApiClient(k8s.AuthenticationV1Api)
			.createTokenReview({
				body: {spec: {token: token ?? ''}},
			});
		expect(review.status?.authenticated).toBe(true);
		expect(review.status?.user?.username).toBe('system:serviceaccount:team-a:default');
	});
});
