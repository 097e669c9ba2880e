import {afterAll, beforeAll, expect, it} from 'vitest';
import {serviceAccountUser} from '../support/service-account.ts';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
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
	kubeconfig = await serviceAccountUser(api, {
		namespace: 'team-a',
		name: 'narrow',
		contextNamespace: 'team-a',
		server: cluster.server,
		caFile: cluster.caFile,
		rules: [
			{apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['list', 'watch']},
			{apiGroups: [''], resources: ['pods', 'services'], verbs: ['list', 'watch']},
			{apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['list', 'watch']},
		],
	});
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
