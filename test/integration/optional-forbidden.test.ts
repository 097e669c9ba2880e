/**
 * A user who may read the workloads of one namespace but none of the custom resources modeldeck also looks for
 * (Rollouts, Canaries, Seldon, TrafficSplits …), as is common on shared clusters: the models still come, each refused
 * kind is said once, and the cluster is not marked stale at every recheck.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {createKubeCluster} from '../../source/sources/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {type Recorder, record, weightsOf} from '../fixtures/kube/watch-helpers.ts';

let cluster: Cluster;
let api: TestApi;
let recorder: Recorder | undefined;
let kubeconfig: string;

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	const post = (collection: string, body: unknown) => api.http.request('POST', collection, {body});
	await post('/api/v1/namespaces/team-a/serviceaccounts', {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'narrow'}});
	await post('/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles', {
		apiVersion: 'rbac.authorization.k8s.io/v1',
		kind: 'Role',
		metadata: {name: 'workloads-only'},
		rules: [
			{apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['list', 'watch']},
			{apiGroups: [''], resources: ['pods', 'services'], verbs: ['list', 'watch']},
			{apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['list', 'watch']},
		],
	});
	await post('/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings', {
		apiVersion: 'rbac.authorization.k8s.io/v1',
		kind: 'RoleBinding',
		metadata: {name: 'workloads-only-narrow'},
		roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'workloads-only'},
		subjects: [{kind: 'ServiceAccount', name: 'narrow', namespace: 'team-a'}],
	});
	const issued = (await post('/api/v1/namespaces/team-a/serviceaccounts/narrow/token', {
		apiVersion: 'authentication.k8s.io/v1',
		kind: 'TokenRequest',
		spec: {expirationSeconds: 3600},
	})) as {
		status: {token: string};
	};
	kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'modeldeck-narrow-')), 'kubeconfig');
	writeFileSync(
		kubeconfig,
		JSON.stringify({
			apiVersion: 'v1',
			kind: 'Config',
			clusters: [{name: 'local', cluster: {server: cluster.server, 'certificate-authority': cluster.caFile}}],
			users: [{name: 'narrow', user: {token: issued.status.token}}],
			contexts: [{name: 'narrow', context: {cluster: 'local', user: 'narrow', namespace: 'team-a'}}],
			'current-context': 'narrow',
		}),
	);
});

afterAll(async () => {
	recorder?.stop();
	await cluster?.stop();
});

it('shows the models, says each refused kind once, and stays alive while the refusals stand', async () => {
	// Rechecks every second, so that a refusal said at every recheck would show many times in the window below.
	const port = await createKubeCluster({
		kubeconfigPath: kubeconfig,
		namespace: 'team-a',
		backoff: {initialMs: 200, maxMs: 1000, absentRecheckMs: 1000},
	});
	let alive = 0;
	const unsubscribe = port.watchModels(
		'team-a',
		() => {},
		() => {},
		() => alive++,
	);
	recorder = record(port, 'team-a');
	const models = await recorder.until('the fraud model', (list) => weightsOf(list, 'team-a', 'fraud')?.v2 === 'canary 20');
	expect(weightsOf(models, 'team-a', 'fraud')).toEqual({v1: 'stable 80', v2: 'canary 20'});
	await new Promise((resolve) => setTimeout(resolve, 8000));
	unsubscribe();
	const refusals = recorder.errors.filter((error) => /forbidden/.test(error.message));
	expect(refusals.length).toBeGreaterThan(0);
	// Each refused kind once, however many rechecks there were.
	const messages = refusals.map((error) => error.message);
	expect(new Set(messages).size).toBe(messages.length);
	for (const plural of ['rollouts', 'canaries'])
		expect(
			messages.some((message) => message.includes(plural)),
			plural,
		).toBe(true);
	// Healthy moments keep coming: the refusals do not keep the cluster stale.
	expect(alive).toBeGreaterThan(2);
});
