/**
 * A rollout of a model a Flagger Canary owns, through the real Flagger controller (harness/flagger.ts) with the Istio
 * provider and a metric check from a real Prometheus that scrapes a gauge this test sets: modeldeck sets the new image on
 * the Canary's target Deployment and follows the Canary's status. With a good metric Flagger promotes (its primary gets
 * the new image) and the delivery ends promoted; with a bad one Flagger fails its analysis and the delivery ends rolled
 * back with Flagger's reason. An abort reverts the target's image, and Flagger sends all traffic back to its primary.
 */
import http from 'node:http';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {ensureFlagger, installFlaggerCrds, type RunningFlagger, startFlagger} from '../../harness/flagger.ts';
import {type RunningPrometheus, startPrometheus} from '../../harness/prometheus.ts';
import {flaggerBeforeAnnotation} from '../../source/adapters/kube/delivery/flagger-owner.ts';
import {resourcePath, resourceTypes} from '../../source/adapters/kube/http.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import type {FlaggerCanary} from '../../source/adapters/kube/objects/flagger.ts';
import {type DeliveryAuditRecord, DeliveryRunner} from '../../source/delivery/runner.ts';
import type {DeliverySpec} from '../../source/domain/delivery.ts';
import {TestApi} from '../fixtures/kube/api.ts';

const namespace = 'team-a';
const model = {namespace, name: 'fraud'};
const metricTemplates = {group: 'flagger.app', version: 'v1beta1', plural: 'metrictemplates'};

let cluster: Cluster;
let api: TestApi;
let kube: KubeCluster;
let flagger: RunningFlagger | undefined;
let prometheus: RunningPrometheus | undefined;
let gauge: http.Server | undefined;
/** The value Prometheus scrapes as `fraud_error_percent`, which the Canary's metric holds to at most 1. */
let errorPercent = 0.5;

beforeAll(async () => {
	await ensureFlagger();
	cluster = await startCluster();
	await installFlaggerCrds(cluster);
	gauge = http.createServer((_request, response) => {
		response.setHeader('content-type', 'text/plain; version=0.0.4');
		response.end(`# TYPE fraud_error_percent gauge\nfraud_error_percent ${errorPercent}\n`);
	});
	await new Promise<void>((resolve) => gauge!.listen(0, '127.0.0.1', resolve));
	const address = gauge.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	prometheus = await startPrometheus({scrapeTargets: [{job: 'fraud', targets: [`127.0.0.1:${port}`]}]});
	flagger = await startFlagger(cluster, {meshProvider: 'istio', metricsServer: prometheus.url});
	api = new TestApi(cluster.kubeconfig);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'all'});

	const labels = {app: 'fraud'};
	await api.create({
		apiVersion: 'apps/v1',
		kind: 'Deployment',
		metadata: {name: 'fraud', namespace, labels},
		spec: {
			replicas: 1,
			selector: {matchLabels: labels},
			template: {
				metadata: {labels},
				spec: {containers: [{name: 'server', image: 'registry.example/fraud:v1', ports: [{containerPort: 8080}]}]},
			},
		},
	});
	await api.http.request('POST', resourcePath(metricTemplates, namespace), {
		body: {
			apiVersion: 'flagger.app/v1beta1',
			kind: 'MetricTemplate',
			metadata: {name: 'error-percent', namespace},
			spec: {provider: {type: 'prometheus', address: prometheus.url}, query: 'max(fraud_error_percent)'},
		},
	});
	await api.http.request('POST', resourcePath(resourceTypes.canaries, namespace), {
		body: {
			apiVersion: 'flagger.app/v1beta1',
			kind: 'Canary',
			metadata: {name: 'fraud', namespace},
			spec: {
				provider: 'istio',
				targetRef: {apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud'},
				progressDeadlineSeconds: 120,
				service: {port: 8080},
				analysis: {
					// Flagger's floor: a shorter interval is run every 10 s.
					interval: '10s',
					threshold: 2,
					maxWeight: 50,
					stepWeight: 50,
					metrics: [{name: 'error-percent', templateRef: {name: 'error-percent', namespace}, thresholdRange: {max: 1}, interval: '1m'}],
				},
			},
		},
	});
	await api.waitFor('the Canary to be Initialized', async () => (await canary()).status?.phase === 'Initialized', 180_000);
}, 1_200_000);

afterAll(async () => {
	await flagger?.stop();
	await prometheus?.stop();
	gauge?.close();
	await cluster?.stop();
});

async function canary(): Promise<FlaggerCanary> {
	return api.http.get<FlaggerCanary>(resourcePath(resourceTypes.canaries, namespace, 'fraud'));
}

async function imageOf(deployment: string): Promise<string> {
	return (await api.get('Deployment', namespace, deployment)).spec.template.spec.containers[0].image;
}

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
		judge: async () => ({result: 'pass', summary: 'not asked: Flagger judges'}),
		smoke: async () => ({ok: true, message: 'not asked'}),
		audit: (record) => {
			audit.push(record);
		},
		tickMs: 500,
		retryDelayMs: 500,
	});
}

describe('a rollout of a Flagger model', () => {
	it('sets the image on the Canary target and follows Flagger to its promotion', async () => {
		errorPercent = 0.5;
		const plan = await kube.planDelivery(spec('v2'));
		expect(plan).toMatchObject({mode: 'owner', stable: 'fraud-primary'});
		expect(plan.writes[0]).toEqual({
			object: 'Deployment/fraud',
			change: 'image → registry.example/fraud:v2; Flagger runs its canary analysis',
		});
		expect(plan.writes[1]?.change).toContain('registry.example/fraud:v1');
		// The Succeeded of Flagger's initialisation is not taken for this rollout's.
		const audit: DeliveryAuditRecord[] = [];
		const deliveries = runner(audit);
		deliveries.run();
		expect((await deliveries.start(spec('v2'))).ok).toBe(true);
		const final = await deliveries.settled(model);
		deliveries.close();
		expect(final.phase).toBe('promoted');
		expect((await canary()).status?.phase).toBe('Succeeded');
		// Flagger, not modeldeck, promoted: its primary runs the new image.
		expect(await imageOf('fraud-primary')).toBe('registry.example/fraud:v2');
		expect(await imageOf('fraud')).toBe('registry.example/fraud:v2');
		const found = await kube.readModel(model);
		expect(found.versions.map((version) => `${version.name}:${version.track}:${version.weight}`)).toEqual(['fraud-primary:stable:100']);
		// The state is kept on the Canary, and discovery shows it.
		expect(found.delivery).toMatchObject({phase: 'promoted', mode: 'owner'});
		expect(audit.at(-1)?.entry.action).toBe('rollout promote');
	}, 600_000);

	it('ends rolled back with Flagger’s reason when its analysis fails', async () => {
		errorPercent = 45.2;
		const deliveries = runner([]);
		deliveries.run();
		expect((await deliveries.start(spec('v3'))).ok).toBe(true);
		const final = await deliveries.settled(model);
		deliveries.close();
		expect((await canary()).status?.phase).toBe('Failed');
		expect(final.phase).toBe('rolled-back');
		expect(final.reason).toMatch(/^Flagger: .*error-percent 45\.20 > 1/);
		expect(await imageOf('fraud-primary')).toBe('registry.example/fraud:v2');
	}, 600_000);

	it('aborts by putting the target back on the primary’s image: Flagger sends all traffic back to its primary', async () => {
		// Started right after v3 failed: Flagger, seeing the new target while Failed, first writes v4's hash with the phase
		// still Failed; that Failed is not v4's (flagger-owner.ts), so the rollout goes on until the abort.
		// A failing metric under a high threshold keeps Flagger in its analysis until the abort.
		await api.http.patch(resourcePath(resourceTypes.canaries, namespace, 'fraud'), {spec: {analysis: {threshold: 100}}}, 'merge');
		errorPercent = 45.2;
		const deliveries = runner([]);
		deliveries.run();
		expect((await deliveries.start(spec('v4'))).ok).toBe(true);
		await api.waitFor(
			'Flagger to analyse v4',
			async () => {
				const status = (await canary()).status;
				return status?.phase === 'Progressing' && (status.failedChecks ?? 0) >= 1;
			},
			120_000,
		);
		expect(await imageOf('fraud')).toBe('registry.example/fraud:v4');
		await deliveries.command(model, 'abort', 'alice');
		const final = await deliveries.settled(model);
		deliveries.close();
		expect(final).toMatchObject({phase: 'aborted', reason: 'aborted by alice'});
		// Back on the primary's image (v2), not on v3 (the target's image before, which Flagger had failed).
		const target = await api.get('Deployment', namespace, 'fraud');
		expect(target.spec.template.spec.containers[0].image).toBe('registry.example/fraud:v2');
		expect(target.metadata.annotations?.[flaggerBeforeAnnotation]).toBeUndefined();
		errorPercent = 0.5;
		await api.waitFor('Flagger to be done with the reverted target', async () => (await canary()).status?.phase === 'Succeeded', 180_000);
		const found = await kube.readModel(model);
		expect(found.versions.map((version) => `${version.name}:${version.track}:${version.weight}:${version.image}`)).toEqual([
			'fraud-primary:stable:100:registry.example/fraud:v2',
		]);
	}, 600_000);
});
