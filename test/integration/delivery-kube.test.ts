/**
 * The Kubernetes DeliveryPort against a real control plane (kwok makes the new pods ready), driven by the real
 * DeliveryRunner: a new version of a plain model (Deployments behind an HTTPRoute) is created from the stable one,
 * stepped through its weights and promoted; a failing judgement rolls it back (0%, scaled to 0, kept); the state lives
 * in the route's annotation, discovery shows it, and a second runner resumes it. The judge here is given (the agent's
 * judge over real metrics is tested in delivery-agent.test.ts): what is under test is every write the port makes.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import type {VerdictResult} from '../../source/domain/analysis.ts';
import {deliveryAnnotation, type DeliverySpec, type DeliveryState} from '../../source/domain/delivery.ts';
import {DeliveryRunner, type DeliveryAuditRecord} from '../../source/delivery/runner.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, destinationRule, httpRoute, service, virtualService} from '../fixtures/kube/manifests.ts';
import {applyScenario} from '../fixtures/kube/setup.ts';

let cluster: Cluster;
let api: TestApi;
let kube: KubeCluster;

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
}, 300_000);

afterAll(async () => {
	await cluster?.stop();
});

/** A model `fraud` in NAMESPACE: Deployment fraud-v1 (2 replicas) and its Service behind an HTTPRoute at 100%. */
async function plainModel(namespace: string): Promise<void> {
	await applyScenario(api, {
		namespace,
		objects: [
			deployment({namespace, model: 'fraud', version: 'v1', replicas: 2}),
			service(namespace, 'fraud-v1', 'fraud', 'v1'),
			httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]),
		],
	});
}

function spec(namespace: string, overrides: Partial<DeliverySpec> = {}): DeliverySpec {
	return {
		model: {namespace, name: 'fraud'},
		image: 'registry.example/fraud:v2',
		version: 'v2',
		steps: [20, 60, 100],
		pauseSeconds: 0,
		readyTimeoutSeconds: 120,
		maxHolds: 0,
		requestedBy: 'pipeline',
		...overrides,
	};
}

function runner(verdicts: VerdictResult[] = [], audit: DeliveryAuditRecord[] = []): DeliveryRunner {
	return new DeliveryRunner({
		port: kube.deliveryPort(),
		judge: async (state: DeliveryState) => {
			return {result: verdicts.shift() ?? 'pass', summary: `judged at ${state.weight}%`};
		},
		smoke: async () => ({ok: true, message: 'smoke test passed'}),
		audit: (record) => {
			audit.push(record);
		},
		tickMs: 100,
		retryDelayMs: 100,
	});
}

async function routeWeights(namespace: string): Promise<Record<string, number>> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return Object.fromEntries(
		route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => [backend.name, backend.weight]),
	);
}

describe('KubeDeliveryPort', () => {
	it('plans every write from a fresh read, and refuses what it does not support with what it does', async () => {
		await plainModel('deliver-plan');
		const plan = await kube.planDelivery(spec('deliver-plan'));
		expect(plan).toMatchObject({mode: 'weights', stable: 'v1'});
		expect(plan.writes.map((write) => write.object)).toEqual([
			'Deployment/fraud-v2',
			'Service/fraud-v2',
			'HTTPRoute/fraud',
			'HTTPRoute/fraud',
			'HTTPRoute/fraud',
		]);
		expect(plan.writes[2]!.change).toBe('backend Service/fraud-v2 added at 0%');
		await expect(kube.planDelivery(spec('deliver-plan', {version: 'v1'}))).rejects.toThrow(/already has a version v1/);

		// A model without a router (weights from replicas) is refused, naming what is supported.
		const namespace = 'deliver-replicas';
		await applyScenario(api, {
			namespace,
			objects: [
				deployment({namespace, model: 'fraud', version: 'v1'}),
				deployment({namespace, model: 'fraud', version: 'v0', replicas: 0}),
			],
		});
		await expect(kube.planDelivery(spec(namespace))).rejects.toThrow(
			/routed by replicas \(replicas\): not supported yet — modeldeck rolls out new versions of models made of Deployments .* behind an HTTPRoute or an Istio VirtualService/,
		);
	});

	it('behind a VirtualService with a subset per version: adds a DestinationRule subset and a destination, and promotes', async () => {
		const namespace = 'deliver-istio';
		const host = `fraud.${namespace}.svc.cluster.local`;
		await applyScenario(api, {
			namespace,
			objects: [
				deployment({namespace, model: 'fraud', version: 'v1'}),
				service(namespace, 'fraud', 'fraud'),
				destinationRule(namespace, 'fraud', host, ['v1']),
				virtualService(namespace, 'fraud', 'fraud', [{host: 'fraud', subset: 'v1', weight: 100}]),
			],
		});
		const plan = await kube.planDelivery(spec(namespace));
		expect(plan.writes.slice(0, 3)).toEqual([
			{object: 'Deployment/fraud-v2', change: 'created from fraud-v1 with image registry.example/fraud:v2'},
			{object: 'DestinationRule/fraud', change: 'subset v2 added'},
			{object: 'VirtualService/fraud', change: 'destination fraud/v2 added at 0%'},
		]);
		const deliveries = runner();
		deliveries.run();
		await deliveries.start(spec(namespace));
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final.phase).toBe('promoted');
		const rule = await api.get('DestinationRule', namespace, 'fraud');
		expect(
			rule.spec.subsets.map((subset: {name: string; labels: Record<string, string>}) => [
				subset.name,
				subset.labels['app.kubernetes.io/version'],
			]),
		).toEqual([
			['v1', 'v1'],
			['v2', 'v2'],
		]);
		const virtual = await api.get('VirtualService', namespace, 'fraud');
		expect(virtual.spec.http[0].route).toEqual([
			{destination: {host: 'fraud', subset: 'v1', port: {number: 80}}, weight: 0},
			{destination: {host: 'fraud', subset: 'v2', port: {number: 80}}, weight: 100},
		]);
		expect((await kube.readModel(spec(namespace).model)).delivery?.phase).toBe('promoted');
	});

	it('behind a VirtualService with a Service per version: creates the new Service and its destination, and promotes', async () => {
		const namespace = 'deliver-istio-services';
		await applyScenario(api, {
			namespace,
			objects: [
				deployment({namespace, model: 'fraud', version: 'v1'}),
				service(namespace, 'fraud-v1', 'fraud', 'v1'),
				virtualService(namespace, 'fraud', 'fraud', [{host: `fraud-v1.${namespace}.svc.cluster.local`, weight: 100}]),
			],
		});
		const deliveries = runner();
		deliveries.run();
		expect(await deliveries.start(spec(namespace))).toMatchObject({ok: true});
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final.phase).toBe('promoted');
		expect((await api.get('Service', namespace, 'fraud-v2')).spec.selector['app.kubernetes.io/version']).toBe('v2');
		const virtual = await api.get('VirtualService', namespace, 'fraud');
		expect(
			virtual.spec.http[0].route.map((entry: {destination: {host: string}; weight: number}) => [entry.destination.host, entry.weight]),
		).toEqual([
			[`fraud-v1.${namespace}.svc.cluster.local`, 0],
			[`fraud-v2.${namespace}.svc.cluster.local`, 100],
		]);
	});

	it('creates the new version from the stable one, steps its weights, promotes, and keeps the state on the route', async () => {
		const namespace = 'deliver-promote';
		await plainModel(namespace);
		const audit: DeliveryAuditRecord[] = [];
		const deliveries = runner([], audit);
		deliveries.run();
		const started = await deliveries.start(spec(namespace));
		expect(started.ok).toBe(true);
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final.phase).toBe('promoted');

		const created = await api.get('Deployment', namespace, 'fraud-v2');
		expect(created.spec.template.spec.containers[0].image).toBe('registry.example/fraud:v2');
		expect(created.spec.template.metadata.labels['app.kubernetes.io/version']).toBe('v2');
		expect(created.spec.selector.matchLabels['modeldeck.dev/deployment']).toBe('fraud-v2');
		expect(created.spec.replicas).toBe(2);
		expect((await api.get('Service', namespace, 'fraud-v2')).spec.selector['app.kubernetes.io/version']).toBe('v2');
		expect(await routeWeights(namespace)).toEqual({'fraud-v1': 0, 'fraud-v2': 100});
		// The old stable is scaled to zero by the promotion, as the console's promote does.
		expect((await api.get('Deployment', namespace, 'fraud-v1')).spec.replicas).toBe(0);

		const route = await api.get('HTTPRoute', namespace, 'fraud');
		expect(route.metadata.annotations['modeldeck.dev/stable']).toBe('v2');
		expect(JSON.parse(route.metadata.annotations[deliveryAnnotation])).toMatchObject({phase: 'promoted', weight: 100});
		const model = await kube.readModel(spec(namespace).model);
		expect(model.delivery).toMatchObject({phase: 'promoted', spec: {version: 'v2'}});

		expect(audit[0]!.entry.action).toBe('rollout start');
		const weights = audit.filter((record) => record.entry.action === 'rollout weight').map((record) => record.state.weight);
		// 100% is the promotion itself, not a judged step.
		expect(weights).toEqual([20, 60]);
		expect(audit.at(-1)!.entry.action).toBe('rollout promote');
	});

	it('rolls back on a failing judgement: the new version at 0%, scaled to 0 and kept for inspection', async () => {
		const namespace = 'deliver-rollback';
		await plainModel(namespace);
		const deliveries = runner(['pass', 'fail']);
		deliveries.run();
		await deliveries.start(spec(namespace));
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final).toMatchObject({phase: 'rolled-back', reason: expect.stringContaining('judged fail at 60%')});
		expect(await routeWeights(namespace)).toEqual({'fraud-v1': 100, 'fraud-v2': 0});
		expect((await api.get('Deployment', namespace, 'fraud-v2')).spec.replicas).toBe(0);
		expect((await api.get('Deployment', namespace, 'fraud-v1')).spec.replicas).toBe(2);
		expect((await kube.readModel(spec(namespace).model)).delivery?.phase).toBe('rolled-back');
	});

	it('a second runner resumes a delivery from the route annotation; a bad annotation is a model warning', async () => {
		const namespace = 'deliver-resume';
		await plainModel(namespace);
		const first = runner();
		first.run();
		await first.start(spec(namespace, {pauseSeconds: 3600}));
		await api.waitFor('the first step', async () => (await routeWeights(namespace))['fraud-v2'] === 20);
		first.close();
		await first.idle();

		const second = runner();
		const resumed = await second.resume();
		expect(resumed.map((state) => [state.spec.model.namespace, state.phase, state.weight])).toContainEqual([namespace, 'stepping', 20]);
		await second.command(spec(namespace).model, 'abort', 'alice');
		second.run();
		const final = await second.settled(spec(namespace).model);
		second.close();
		expect(final).toMatchObject({phase: 'aborted', reason: 'aborted by alice'});
		expect(await routeWeights(namespace)).toEqual({'fraud-v1': 100, 'fraud-v2': 0});

		await api.patch('HTTPRoute', namespace, 'fraud', {metadata: {annotations: {[deliveryAnnotation]: '{"id": 7'}}});
		const model = await kube.readModel(spec(namespace).model);
		expect(model.delivery).toBeUndefined();
		expect(model.warnings?.join('\n')).toMatch(/modeldeck.dev\/delivery is not JSON/);
	});
});
