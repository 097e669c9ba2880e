/**
 * A rollout of a model an Argo Rollout owns, through the real Argo Rollouts controller (harness/argo-rollouts.ts):
 * modeldeck sets the new image (and version label) on the Rollout's pod template and follows the controller, which
 * runs its own canary steps; the delivery ends promoted when the controller has made the new version stable. A second
 * rollout, held by the Rollout's indefinite pause, is aborted through the Rollout as the plugin aborts.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type RunningRolloutsController, startRolloutsController} from '../../harness/argo-rollouts.ts';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {DeliveryRunner, type DeliveryAuditRecord} from '../../source/delivery/runner.ts';
import type {DeliverySpec} from '../../source/domain/delivery.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {RolloutApi, rolloutCanary} from '../fixtures/kube/argo-rollouts-manifests.ts';

const namespace = 'team-a';
const model = {namespace, name: 'fraud'};
let cluster: Cluster;
let controller: RunningRolloutsController;
let api: TestApi;
let rollouts: RolloutApi;
let kube: KubeCluster;

beforeAll(async () => {
	cluster = await startCluster();
	controller = await startRolloutsController(cluster);
	api = new TestApi(cluster.kubeconfig);
	rollouts = new RolloutApi(api.http);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'all'});
	for (const object of rolloutCanary(namespace, 'fraud', {steps: [{setWeight: 50}, {pause: {duration: '2s'}}]}))
		await rollouts.create(object);
	await api.waitFor(
		'fraud healthy on v1',
		async () => {
			const found = await kube.readModel(model);
			return found.rollout?.phase === 'Healthy' && found.versions.length === 1;
		},
		90_000,
	);
}, 600_000);

afterAll(async () => {
	await controller?.stop();
	await cluster?.stop();
});

function spec(version: string): DeliverySpec {
	return {
		model,
		image: `registry.example/fraud:${version}`,
		version,
		steps: [100],
		pauseSeconds: 0,
		readyTimeoutSeconds: 60,
		maxHolds: 0,
		requestedBy: 'pipeline',
	};
}

function runner(audit: DeliveryAuditRecord[]): DeliveryRunner {
	return new DeliveryRunner({
		port: kube.deliveryPort(),
		judge: async () => ({result: 'pass', summary: 'not asked: the controller judges'}),
		smoke: async () => ({ok: true, message: 'not asked'}),
		audit: (record) => {
			audit.push(record);
		},
		tickMs: 200,
		retryDelayMs: 200,
	});
}

describe('a rollout of an Argo Rollouts model', () => {
	it('sets the image on the Rollout and follows the controller to the promotion', async () => {
		const plan = await kube.planDelivery(spec('v2'));
		expect(plan).toMatchObject({mode: 'owner', stable: 'v1'});
		expect(plan.writes[0]).toEqual({
			object: 'Rollout/fraud',
			change: 'image → registry.example/fraud:v2; Argo Rollouts runs its canary steps',
		});
		const audit: DeliveryAuditRecord[] = [];
		const deliveries = runner(audit);
		deliveries.run();
		expect((await deliveries.start(spec('v2'))).ok).toBe(true);
		const final = await deliveries.settled(model);
		deliveries.close();
		expect(final.phase).toBe('promoted');
		const rollout = await rollouts.get('Rollout', namespace, 'fraud');
		expect(rollout.spec.template.spec.containers[0].image).toBe('registry.example/fraud:v2');
		expect(rollout.spec.template.metadata.labels['app.kubernetes.io/version']).toBe('v2');
		expect(rollout.status.phase).toBe('Healthy');
		// The controller, not modeldeck, moved the traffic: all of it on v2, now its stable.
		const found = await kube.readModel(model);
		expect(found.versions.map((version) => `${version.name}:${version.track}:${version.weight}`)).toEqual(['v2:stable:100']);
		expect(await rollouts.weights(namespace, 'fraud')).toEqual([100, 0]);
		// The state is kept on the Rollout, and discovery shows it.
		expect((await kube.readModel(model)).delivery).toMatchObject({phase: 'promoted', mode: 'owner'});
		expect(audit.at(-1)?.entry.action).toBe('rollout promote');
	});

	it('aborts through the Rollout when asked', async () => {
		await rollouts.patch('Rollout', namespace, 'fraud', {spec: {strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}}});
		const deliveries = runner([]);
		deliveries.run();
		expect((await deliveries.start(spec('v3'))).ok).toBe(true);
		await api.waitFor('the controller at step 2, paused', async () => (await kube.readModel(model)).rollout?.paused === true, 60_000);
		await deliveries.command(model, 'abort', 'alice');
		const final = await deliveries.settled(model);
		deliveries.close();
		expect(final).toMatchObject({phase: 'aborted', reason: 'aborted by alice'});
		const rollout = await rollouts.get('Rollout', namespace, 'fraud');
		expect(rollout.status.abort).toBe(true);
	});
});
