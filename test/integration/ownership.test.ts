/**
 * Never fight a controller, on the real API server: the owner of a router or a workload is found from what the API
 * server records — the managedFields manager of whoever wrote it (a write made as `flagger` here, with the API
 * server's own `fieldManager`), ownerReferences to an existing InferenceService — and arrives through the watch as
 * well as through an action's fresh read. A weight change or a scale of an owned object is refused with the owner's
 * command, before anything is written; an object nobody owns changes as before.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {PlanRefusal} from '../../source/domain/plan.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import {resourcePath} from '../../source/adapters/kube/http.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {inferenceService} from '../fixtures/kube/manifests.ts';
import {fraudScenario, replicasScenario} from '../fixtures/kube/scenarios.ts';
import {applyScenario} from '../fixtures/kube/setup.ts';
import {record, type Recorder} from '../fixtures/kube/watch-helpers.ts';

let cluster: Cluster;
let api: TestApi;
let admin: KubeCluster;
let recorder: Recorder | undefined;

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await applyScenario(api, replicasScenario);
	await api.waitForRollouts('team-a');
	admin = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
}, 300_000);

afterAll(async () => {
	recorder?.stop();
	await cluster?.stop();
});

const routeWeights = async () =>
	(await api.get('HTTPRoute', 'team-a', 'fraud')).spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);

describe('who owns what is written, found on the real API server', () => {
	it('an HTTPRoute nobody owns: the weight change is planned as before', async () => {
		const plan = await admin.plan({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 20, to: 30});
		expect(plan.writes).toEqual([{object: 'HTTPRoute/fraud', change: 'v1 80% → 70%, v2 20% → 30%'}]);
	});

	it('written by Flagger (its managedFields manager): the watch says who owns it, and a weight change is refused with Flagger’s way', async () => {
		// A write as Flagger makes it: the API server records the writer's field manager.
		await api.http.request('PATCH', resourcePath(TestApi.type('HTTPRoute'), 'team-a', 'fraud'), {
			query: {fieldManager: 'flagger'},
			body: {metadata: {labels: {'app.kubernetes.io/managed-by': 'flagger'}}},
			patchType: 'merge',
		});
		const route = await api.get('HTTPRoute', 'team-a', 'fraud');
		expect(route.metadata.managedFields.map((entry: {manager: string}) => entry.manager)).toContain('flagger');

		recorder = record(admin, 'team-a');
		const models = await recorder.until('fraud owned', (list) => list.some((model) => model.name === 'fraud' && model.owner !== undefined));
		expect(models.find((model) => model.name === 'fraud')!.owner).toMatchObject({
			controller: 'Flagger',
			object: 'Canary/fraud',
			evidence: 'managedFields manager flagger',
		});

		const action = {kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 20, to: 30} as const;
		await expect(admin.plan(action)).rejects.toThrow(PlanRefusal);
		await expect(admin.plan(action)).rejects.toThrow(/^Flagger owns HTTPRoute\/fraud: use kubectl edit canary\/fraud -n team-a /);
		await expect(admin.act(action)).rejects.toThrow(/^Flagger owns HTTPRoute\/fraud/);
		await expect(admin.plan({kind: 'rollback', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2'})).rejects.toThrow(
			/^Flagger owns HTTPRoute\/fraud/,
		);
		expect(await routeWeights()).toEqual([80, 20]);
	});

	it('a Deployment owned by an InferenceService (ownerReferences): scaling it for a weight is refused with KServe’s command', async () => {
		const owner = await api.create(inferenceService('shapes-replicas', 'churn-isvc', 'gs://models/churn/v1'));
		const deployment = await api.get('Deployment', 'shapes-replicas', 'churn-v2');
		await api.patch('Deployment', 'shapes-replicas', 'churn-v2', {
			metadata: {
				ownerReferences: [{apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', name: 'churn-isvc', uid: owner.metadata.uid}],
			},
		});
		const action = {kind: 'set-weight', model: {namespace: 'shapes-replicas', name: 'churn'}, canary: 'v2', from: 25, to: 50} as const;
		await expect(admin.plan(action)).rejects.toThrow(
			/^KServe owns Deployment\/churn-v2: use kubectl patch inferenceservice churn-isvc -n shapes-replicas --type merge .*\(InferenceService\/churn-isvc, ownerReferences InferenceService\/churn-isvc\)$/,
		);
		expect((await api.get('Deployment', 'shapes-replicas', 'churn-v2')).spec.replicas).toBe(deployment.spec.replicas);
	});
});
