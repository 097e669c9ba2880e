/**
 * Flagger, for real: the Flagger controller v1.36.1 (built from the Go module proxy by harness/flagger.ts) runs a
 * Canary on a Deployment on the local control plane (kwok makes the pods Ready), with the Istio provider (it writes
 * the VirtualService and DestinationRules itself), a custom metric from a real Prometheus that scrapes a gauge this
 * test sets, and a confirm-promotion gate served by Flagger's real loadtester.
 *
 * modeldeck shows what Flagger wrote — its phase, canary weight, failed checks against the threshold, and the metric
 * value Flagger judged (from the Halt Events it records) — from a fresh read and through the watch. An action on the
 * canary is refused with the reason and Flagger's own way, and that way, carried out as given, makes Flagger promote.
 * A second Canary uses the Gateway API provider: its weights are read from the HTTPRoute Flagger writes.
 */
import {execFile} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {
	ensureFlagger,
	installFlaggerCrds,
	type RunningFlagger,
	type RunningLoadtester,
	startFlagger,
	startLoadtester,
} from '../../harness/flagger.ts';
import {type RunningPrometheus, startPrometheus} from '../../harness/prometheus.ts';
import {PlanRefusal} from '../../source/domain/plan.ts';
import type {Model} from '../../source/domain/types.ts';
import {analyseModels, type ClusterSnapshot, type ModelAnalysis} from '../../source/adapters/kube/build-models.ts';
import {resourcePath, resourceTypes} from '../../source/adapters/kube/http.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import type {CanaryEvent, FlaggerCanary} from '../../source/adapters/kube/objects/flagger.ts';
import {TestApi} from '../fixtures/kube/api.ts';

type Json = Record<string, any>;
const namespace = 'team-a';
const metricTemplates = {group: 'flagger.app', version: 'v1beta1', plural: 'metrictemplates'};

let cluster: Cluster;
let api: TestApi;
let kube: KubeCluster;
let flagger: RunningFlagger | undefined;
let loadtester: RunningLoadtester | undefined;
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
	loadtester = await startLoadtester();
	flagger = await startFlagger(cluster, {meshProvider: 'istio', metricsServer: prometheus.url});
	api = new TestApi(cluster.kubeconfig);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
}, 1_200_000);

afterAll(async () => {
	await flagger?.stop();
	await loadtester?.stop();
	await prometheus?.stop();
	gauge?.close();
	await cluster?.stop();
});

async function canaryObject(): Promise<FlaggerCanary> {
	return api.http.get<FlaggerCanary>(resourcePath(resourceTypes.canaries, namespace, 'fraud'));
}

/** What modeldeck makes of the namespace as the API server has it now, with the Canary it was made from. */
async function modeldeckNow(): Promise<{analysis: ModelAnalysis; canary: FlaggerCanary; all: ModelAnalysis[]; snapshot: ClusterSnapshot}> {
	const [canary, deployments, services, virtualServices, destinationRules, events] = await Promise.all([
		canaryObject(),
		api.list('Deployment', namespace),
		api.list('Service', namespace),
		api.list('VirtualService', namespace),
		api.list('DestinationRule', namespace),
		api.http.get<{items: CanaryEvent[]}>(resourcePath(resourceTypes.events, namespace), {
			query: {fieldSelector: 'involvedObject.kind=Canary'},
		}),
	]);
	const snapshot = {
		deployments,
		services,
		virtualServices,
		destinationRules,
		canaries: [canary],
		canaryEvents: events.items,
	} as ClusterSnapshot;
	const all = analyseModels(snapshot);
	const analysis = all.find((candidate) => candidate.model.name === 'fraud');
	if (!analysis) throw new Error(`no model fraud among ${all.map((candidate) => candidate.model.name).join(', ')}`);
	return {analysis, canary, all, snapshot};
}

/**
 * With MODELDECK_CAPTURE=1, what the API server holds at this moment is written as a fixture for the unit tests
 * (test/unit/kube/flagger-fixtures.test.ts), without managedFields.
 */
function capture(name: string, snapshot: ClusterSnapshot): void {
	if (process.env['MODELDECK_CAPTURE'] !== '1') return;
	const strip = (key: string, value: unknown) => (key === 'managedFields' ? undefined : value);
	writeFileSync(path.join(import.meta.dirname, '../fixtures/kube', `${name}.json`), `${JSON.stringify(snapshot, strip, '\t')}\n`);
}

function weights(model: Model): string[] {
	return model.versions.map((version) => `${version.track} ${version.name} ${version.weight}%`);
}

function image(model: Model, version: string): string | undefined {
	return model.versions.find((candidate) => candidate.name === version)?.image;
}

/** The weights Flagger wrote in its VirtualService, by destination host. */
async function routeWeights(): Promise<Record<string, number>> {
	const route = await api.get('VirtualService', namespace, 'fraud');
	return Object.fromEntries((route.spec?.http?.[0]?.route ?? []).map((entry: Json) => [entry.destination?.host, entry.weight ?? 0]));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(PlanRefusal);
		return (error as Error).message;
	}

	throw new Error('the action was not refused');
}

async function setImage(tag: string): Promise<void> {
	await api.patch('Deployment', namespace, 'fraud', {
		spec: {template: {spec: {containers: [{name: 'server', image: `registry.example/fraud:${tag}`}]}}},
	});
}

describe('a Flagger Canary on the real Flagger controller', () => {
	it('initialises, fails its analysis on a metric value, and promotes through its gate: modeldeck shows each state as Flagger wrote it', async () => {
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
				spec: {provider: {type: 'prometheus', address: prometheus!.url}, query: 'max(fraud_error_percent)'},
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
						maxWeight: 40,
						stepWeight: 20,
						metrics: [{name: 'error-percent', templateRef: {name: 'error-percent', namespace}, thresholdRange: {max: 1}, interval: '1m'}],
						webhooks: [{name: 'promotion gate', type: 'confirm-promotion', url: `${loadtester!.url}/gate/check`}],
					},
				},
			},
		});

		// 1. Flagger creates fraud-primary, the Services and its router, and takes all traffic to the primary.
		const initialized = await api.waitFor(
			'the Canary to be Initialized',
			async () => (await canaryObject()).status?.phase === 'Initialized',
			180_000,
		);
		expect(initialized).toBe(true);
		const first = await modeldeckNow();
		expect(first.all.map((analysis) => analysis.model.name)).toEqual(['fraud']);
		expect(weights(first.analysis.model)).toEqual(['stable fraud-primary 100%']);
		expect(image(first.analysis.model, 'fraud-primary')).toBe('registry.example/fraud:v1');
		expect(first.analysis.model.rollout).toMatchObject({
			controller: 'flagger',
			phase: 'Initialized',
			failedChecks: 0,
			failedChecksLimit: 2,
		});
		expect(first.analysis.model.owner).toMatchObject({controller: 'Flagger', object: 'Canary/fraud'});
		expect(await routeWeights()).toEqual({'fraud-primary': 100, 'fraud-canary': 0});

		// 2. A new image with a failing metric: Flagger shifts 20% and halts on the value it reads from Prometheus.
		errorPercent = 45.2;
		await setImage('v2');
		const failing = await api.waitFor(
			'Flagger to count a failed check with its Halt event',
			async () => {
				const now = await modeldeckNow();
				return (now.canary.status?.failedChecks ?? 0) >= 1 &&
					now.canary.status?.phase === 'Progressing' &&
					now.analysis.model.rollout?.analysis?.failingMetric
					? now
					: undefined;
			},
			120_000,
		);
		capture('flagger-failing', failing.snapshot);
		const written = failing.canary.status!;
		expect(written.canaryWeight).toBeGreaterThan(0);
		expect(weights(failing.analysis.model)).toEqual([
			`stable fraud-primary ${100 - written.canaryWeight!}%`,
			`canary fraud ${written.canaryWeight}%`,
		]);
		expect(await routeWeights()).toEqual({'fraud-primary': 100 - written.canaryWeight!, 'fraud-canary': written.canaryWeight});
		expect(image(failing.analysis.model, 'fraud')).toBe('registry.example/fraud:v2');
		expect(failing.analysis.model.rollout).toMatchObject({phase: 'Progressing', failedChecks: written.failedChecks, failedChecksLimit: 2});
		expect(failing.analysis.model.rollout?.analysis).toMatchObject({
			phase: 'Failing',
			failingMetric: 'error-percent',
			detail: 'Halt fraud.team-a advancement error-percent 45.20 > 1',
		});

		// Every change modeldeck would make itself is refused, with Flagger's own way; nothing is written.
		const routeBefore = (await api.get('VirtualService', namespace, 'fraud')).metadata.resourceVersion;
		const weight = await refusal(
			kube.plan({kind: 'set-weight', model: {namespace, name: 'fraud'}, canary: 'fraud', from: written.canaryWeight!, to: 50}),
		);
		expect(weight).toMatch(
			/^Flagger sets the weights of Canary\/fraud itself \(20% steps up to 40%; Canary\/fraud is Progressing, canary at \d+%, \d\/2 failed checks\)/,
		);
		await expect(kube.setCanaryWeight({namespace, name: 'fraud'}, 'fraud', 50)).rejects.toThrow(
			/^Flagger sets the weights of Canary\/fraud itself/,
		);
		await expect(kube.rollback({namespace, name: 'fraud'}, 'fraud')).rejects.toThrow(
			/^Flagger rolls Canary\/fraud back itself after 2 failed checks/,
		);
		const routeAfter = (await api.get('VirtualService', namespace, 'fraud')).metadata.resourceVersion;
		// Flagger itself may have written since; modeldeck's refusals wrote nothing (no write carries modeldeck's weight 50).
		if (routeAfter !== routeBefore) expect(Object.values(await routeWeights())).not.toContain(50);

		// Two failed checks: Flagger rolls back. The watch shows it as Flagger wrote it.
		const failed = await watchUntil((model) => model.rollout?.phase === 'Failed');
		const failedCanary = await canaryObject();
		expect(failedCanary.status?.phase).toBe('Failed');
		expect(weights(failed)).toEqual(['stable fraud-primary 100%']);
		expect(failed.rollout).toMatchObject({phase: 'Failed', failedChecks: failedCanary.status?.failedChecks, failedChecksLimit: 2});
		expect(failed.rollout?.analysis).toMatchObject({
			phase: 'Failed',
			failingMetric: 'error-percent',
			detail: 'Halt fraud.team-a advancement error-percent 45.20 > 1',
		});
		expect(failed.rollout?.message).toBe(failedCanary.status?.conditions?.find((condition) => condition.type === 'Promoted')?.message);
		expect(await routeWeights()).toEqual({'fraud-primary': 100, 'fraud-canary': 0});

		// 3. A good image: Flagger reaches its maximum weight and waits at its promotion gate.
		errorPercent = 0.5;
		await setImage('v3');
		const waiting = await api.waitFor(
			'Flagger to wait for promotion approval',
			async () => {
				const now = await modeldeckNow();
				return now.canary.status?.phase === 'WaitingPromotion' ? now : undefined;
			},
			180_000,
		);
		capture('flagger-waiting-promotion', waiting.snapshot);
		// Flagger zeroes status.canaryWeight as it waits, while its VirtualService still sends the canary 40%.
		expect(waiting.canary.status?.canaryWeight).toBe(0);
		expect(await routeWeights()).toEqual({'fraud-primary': 60, 'fraud-canary': 40});
		expect(weights(waiting.analysis.model)).toEqual(['stable fraud-primary 60%', 'canary fraud 40%']);
		expect(waiting.analysis.model.rollout).toMatchObject({phase: 'WaitingPromotion', paused: true, step: 2, totalSteps: 2});

		// modeldeck does not open a gate it does not serve: it says how, and that command, run as given, promotes.
		const promote = await refusal(
			kube.plan({kind: 'promote', model: {namespace, name: 'fraud'}, canary: 'fraud', stable: 'fraud-primary'}),
		);
		const command = `curl -sd '{"name":"fraud","namespace":"team-a"}' ${loadtester!.url}/gate/open`;
		expect(promote).toBe(
			`Flagger promotes Canary/fraud itself (Canary/fraud is WaitingPromotion, canary at 40%, ${waiting.canary.status?.failedChecks}/2 failed checks); its confirm-promotion gate "promotion gate" is served by the loadtester, not by modeldeck — open it: ${command}`,
		);
		await promisify(execFile)('sh', ['-c', promote.slice(promote.lastIndexOf(': ') + 2)]);
		const succeeded = await watchUntil((model) => model.rollout?.phase === 'Succeeded', 180_000);
		expect(weights(succeeded)).toEqual(['stable fraud-primary 100%']);
		expect(succeeded.rollout?.analysis?.phase).toBe('Successful');
		const promoted = await modeldeckNow();
		expect(image(promoted.analysis.model, 'fraud-primary')).toBe('registry.example/fraud:v3');
		expect(await routeWeights()).toEqual({'fraud-primary': 100, 'fraud-canary': 0});
	}, 900_000);
});

describe('a Flagger Canary with the Gateway API provider', () => {
	it('weights are read from the HTTPRoute Flagger writes, through to a promotion Flagger makes on its own', async () => {
		const ns = 'team-b';
		const labels = {app: 'ranker'};
		await api.create({
			apiVersion: 'apps/v1',
			kind: 'Deployment',
			metadata: {name: 'ranker', namespace: ns, labels},
			spec: {
				replicas: 1,
				selector: {matchLabels: labels},
				template: {metadata: {labels}, spec: {containers: [{name: 'server', image: 'registry.example/ranker:v1'}]}},
			},
		});
		await api.http.request('POST', resourcePath(resourceTypes.canaries, ns), {
			body: {
				apiVersion: 'flagger.app/v1beta1',
				kind: 'Canary',
				metadata: {name: 'ranker', namespace: ns},
				spec: {
					provider: 'gatewayapi:v1',
					targetRef: {apiVersion: 'apps/v1', kind: 'Deployment', name: 'ranker'},
					service: {port: 8080, gatewayRefs: [{name: 'public', namespace: ns}]},
					// No metric checks: Flagger advances every interval (10 s, its floor) and promotes by itself.
					analysis: {interval: '10s', threshold: 1, maxWeight: 50, stepWeight: 50},
				},
			},
		});
		const read = async () => {
			const [canary, deployments, httpRoutes] = await Promise.all([
				api.http.get<FlaggerCanary>(resourcePath(resourceTypes.canaries, ns, 'ranker')),
				api.list('Deployment', ns),
				api.list('HTTPRoute', ns),
			]);
			const analyses = analyseModels({deployments, httpRoutes, canaries: [canary]} as ClusterSnapshot);
			expect(analyses.map((analysis) => analysis.model.name)).toEqual(['ranker']);
			const backends = (httpRoutes[0]?.spec?.rules?.[0]?.backendRefs ?? []) as Json[];
			return {canary, model: analyses[0]!.model, route: Object.fromEntries(backends.map((backend) => [backend.name, backend.weight]))};
		};

		await api.waitFor('the Canary to be Initialized', async () => (await read()).canary.status?.phase === 'Initialized', 180_000);
		await api.patch('Deployment', ns, 'ranker', {
			spec: {template: {spec: {containers: [{name: 'server', image: 'registry.example/ranker:v2'}]}}},
		});
		const halfway = await api.waitFor(
			'Flagger to give the canary 50%',
			async () => {
				const now = await read();
				return now.canary.status?.phase === 'Progressing' && now.route['ranker-canary'] === 50 ? now : undefined;
			},
			180_000,
		);
		expect(halfway.route).toEqual({'ranker-primary': 50, 'ranker-canary': 50});
		expect(halfway.model.versions.map((version) => `${version.track} ${version.name} ${version.weight}% ${version.image}`)).toEqual([
			'stable ranker-primary 50% registry.example/ranker:v1',
			'canary ranker 50% registry.example/ranker:v2',
		]);
		expect(halfway.model.discoveredBy).toBe('Canary/ranker (flagger.app), weights from HTTPRoute/ranker');
		expect(halfway.model.rollout).toMatchObject({phase: 'Progressing', step: 1, totalSteps: 1, failedChecks: 0, failedChecksLimit: 1});

		const done = await api.waitFor(
			'Flagger to promote',
			async () => {
				const now = await read();
				return now.canary.status?.phase === 'Succeeded' ? now : undefined;
			},
			180_000,
		);
		expect(done.route).toEqual({'ranker-primary': 100, 'ranker-canary': 0});
		expect(done.model.versions.map((version) => `${version.track} ${version.name} ${version.weight}% ${version.image}`)).toEqual([
			'stable ranker-primary 100% registry.example/ranker:v2',
		]);
	}, 600_000);
});

/** The model `fraud` as modeldeck's watch shows it, once `until` holds. */
function watchUntil(until: (model: Model) => boolean, timeoutMs = 120_000): Promise<Model> {
	return new Promise((resolve, reject) => {
		let stop = () => {};
		const timer = setTimeout(() => {
			stop();
			reject(new Error(`the watch never showed it within ${timeoutMs} ms; Flagger's log: ${flagger?.logs().slice(-3000)}`));
		}, timeoutMs);
		stop = kube.watchModels(
			namespace,
			(models) => {
				const model = models.find((candidate) => candidate.name === 'fraud' && candidate.router === 'flagger');
				if (model && until(model)) {
					clearTimeout(timer);
					queueMicrotask(() => stop());
					resolve(model);
				}
			},
			() => {},
		);
	});
}
