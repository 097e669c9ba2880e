import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {Model} from '../../../source/domain/types.ts';
import {analyseModels, buildModels} from '../../../source/adapters/kube/build-models.ts';
import {defaultConventions} from '../../../source/adapters/kube/conventions.ts';
import {loadFixture, mergeFixtures} from '../../fixtures/kube/load.ts';

function model(models: Model[], namespace: string, name: string): Model {
	const found = models.find((candidate) => candidate.namespace === namespace && candidate.name === name);
	if (!found) throw new Error(`no model ${namespace}/${name} in ${models.map((m) => `${m.namespace}/${m.name}`).join(', ')}`);
	return found;
}

function weights(found: Model): Record<string, string> {
	return Object.fromEntries(found.versions.map((version) => [version.name, `${version.track} ${version.weight}`]));
}

describe('buildModels: supported shapes, from real objects', () => {
	it('Deployments split by a Gateway API HTTPRoute', () => {
		const [fraud, ...rest] = buildModels(loadFixture('shapes-httproute'));
		expect(rest).toEqual([]);
		expect(fraud).toMatchObject({
			namespace: 'shapes-httproute',
			name: 'fraud-detector',
			router: 'httproute',
			routerObject: 'HTTPRoute/fraud-detector',
			versions: [
				{
					name: 'v12',
					track: 'stable',
					weight: 90,
					replicasReady: 3,
					replicasDesired: 3,
					restarts: 0,
					image: 'registry.example/fraud:v12',
					object: 'Deployment/fraud-detector-v12',
					service: 'fraud-detector-v12',
					resources: {cpuRequestCores: 0.5, cpuLimitCores: 0.5, memoryRequestBytes: 2 ** 30, memoryLimitBytes: 2 ** 30},
					autoscaler: {min: 3, max: 6, current: 3},
				},
				{
					name: 'v13',
					track: 'canary',
					weight: 10,
					replicasReady: 1,
					replicasDesired: 1,
					image: 'registry.example/fraud:v13',
					service: 'fraud-detector-v13',
				},
			],
		});
		expect(fraud!.resourceVersion).toMatch(/^\d+$/);
		expect(fraud!.warnings).toBeUndefined();
		expect(fraud!.versions[0]!.created).toMatch(/^\d{4}-\d\d-\d\dT/);
	});

	it('Istio VirtualServices, by DestinationRule subsets and by per-version hosts', () => {
		const models = buildModels(loadFixture('shapes-istio'));
		expect(weights(model(models, 'shapes-istio', 'recommender'))).toEqual({v1: 'stable 80', v2: 'canary 20'});
		expect(model(models, 'shapes-istio', 'recommender').router).toBe('virtualservice');
		expect(model(models, 'shapes-istio', 'recommender').warnings).toBeUndefined();
		// A 50/50 tie: the older is stable; both were created in the same second, so the name decides.
		expect(weights(model(models, 'shapes-istio', 'ranker'))).toEqual({v3: 'stable 50', v4: 'canary 50'});
	});

	it('KServe: the revision that had all traffic is stable, the latest is the canary at canaryTrafficPercent', () => {
		const models = buildModels(loadFixture('shapes-kserve'));
		const sentiment = model(models, 'shapes-kserve', 'sentiment');
		expect(sentiment).toMatchObject({router: 'kserve', runtime: 'kserve', routerObject: 'InferenceService/sentiment'});
		expect(sentiment.versions).toMatchObject([
			{
				name: 'sentiment-predictor-00001',
				// Knative's private Service of the revision: where a smoke test reaches this version alone.
				service: 'sentiment-predictor-00001-private',
				track: 'stable',
				weight: 80,
				replicasReady: 2,
				replicasDesired: 2,
				image: 'gs://models/sentiment/v1',
			},
			{
				name: 'sentiment-predictor-00002',
				track: 'canary',
				weight: 20,
				replicasReady: 1,
				image: 'gs://models/sentiment/v2',
				resources: {cpuRequestCores: 0.5, cpuLimitCores: 1, memoryRequestBytes: 2 ** 30, memoryLimitBytes: 2 ** 31},
				autoscaler: {min: 1, max: 4, current: 1},
			},
		]);
		const summarizer = model(models, 'shapes-kserve', 'summarizer');
		expect(weights(summarizer)).toEqual({'summarizer-predictor-00003': 'stable 100'});
	});

	it('KServe: a rollout’s state is read from the Delivery of the same name, never from an annotation KServe copies into revisions', () => {
		const snapshot = loadFixture('shapes-kserve');
		const state = {
			id: 'shapes-kserve/sentiment@1',
			spec: {
				model: {namespace: 'shapes-kserve', name: 'sentiment'},
				image: 'registry/sentiment:v3',
				version: 'sentiment-predictor-00003',
				steps: [50, 100],
				pauseSeconds: 0,
				readyTimeoutSeconds: 60,
				maxHolds: 0,
				requestedBy: 'alice',
			},
			mode: 'weights',
			phase: 'stepping',
			stable: 'sentiment-predictor-00001',
			stepIndex: 0,
			weight: 50,
			paused: false,
			holds: 0,
			startedAt: 1,
			updatedAt: 2,
			events: [],
		};
		const delivery = (model: string, text: string) => ({
			apiVersion: 'modeldeck.dev/v1alpha1',
			kind: 'Delivery',
			metadata: {name: model, namespace: 'shapes-kserve'},
			spec: {model, state: text},
		});
		const models = buildModels({...snapshot, deliveries: [delivery('sentiment', JSON.stringify(state))]});
		expect(model(models, 'shapes-kserve', 'sentiment').delivery).toMatchObject({phase: 'stepping', weight: 50});
		expect(model(models, 'shapes-kserve', 'summarizer').delivery).toBeUndefined();
		const broken = buildModels({...snapshot, deliveries: [delivery('summarizer', '{"id": 7')]});
		expect(model(broken, 'shapes-kserve', 'summarizer').warnings?.join('\n')).toMatch(/not JSON/);
	});

	it('without a router, weights are the ratio of ready replicas', () => {
		const [churn] = buildModels(loadFixture('shapes-replicas'));
		expect(churn).toMatchObject({router: 'replicas', runtime: 'seldon'});
		expect(weights(churn!)).toEqual({v1: 'stable 75', v2: 'canary 25'});
		expect(churn!.routerObject).toBeUndefined();
	});
});

describe('buildModels: odd shapes become warnings, never crashes', () => {
	it('three versions, a route to a missing Service, weights adding up to 120, a Deployment without a version label', () => {
		const scorer = model(buildModels(loadFixture('odd-a')), 'odd-a', 'scorer');
		// 60 + 30 + 30 (to the missing scorer-v9) = 120: shares of the total, v3 is not in the route.
		expect(weights(scorer)).toEqual({v1: 'stable 50', v2: 'canary 25', v3: 'canary 0'});
		expect(scorer.warnings).toEqual([
			'Deployment scorer-legacy has modeldeck.dev/model=scorer but no app.kubernetes.io/version label: not shown; add the label to show it as a version',
			'HTTPRoute/scorer sends traffic to Service scorer-v9, which does not exist',
			'HTTPRoute/scorer weights add up to 120, not 100: shown as shares of the total',
		]);
	});

	it('pod restarts, CrashLoopBackOff and OOMKilled from container statuses', () => {
		const crashy = model(buildModels(loadFixture('odd-a')), 'odd-a', 'crashy');
		expect(crashy.versions[0]!.restarts).toBe(4);
		expect(crashy.versions[0]!.problems).toEqual([expect.stringMatching(/^crashy-v1-[a-z0-9]+-[a-z0-9]+ CrashLoopBackOff, OOMKilled$/)]);
	});

	it('a model in two namespaces is two models', () => {
		const models = buildModels(mergeFixtures('odd-a', 'odd-b'));
		expect(models.filter((candidate) => candidate.name === 'scorer').map((candidate) => candidate.namespace)).toEqual(['odd-a', 'odd-b']);
		expect(weights(model(models, 'odd-b', 'scorer'))).toEqual({v1: 'stable 100'});
	});

	it('a subset no DestinationRule defines reaches no version', () => {
		const snapshot = loadFixture('shapes-istio');
		snapshot.destinationRules = [];
		const recommender = model(buildModels(snapshot), 'shapes-istio', 'recommender');
		expect(weights(recommender)).toEqual({v1: 'stable 0', v2: 'canary 0'});
		expect(recommender.warnings).toEqual([
			'VirtualService/recommender routes to subset v1 of recommender, but no DestinationRule in shapes-istio defines it',
			'VirtualService/recommender routes to subset v2 of recommender, but no DestinationRule in shapes-istio defines it',
		]);
	});

	it('two routers for one model: the HTTPRoute is used and the choice is said', () => {
		const snapshot = loadFixture('shapes-httproute');
		const istio = loadFixture('shapes-istio');
		const virtualService = structuredClone(istio.virtualServices.find((item) => item.metadata?.name === 'ranker')!);
		virtualService.metadata!.namespace = 'shapes-httproute';
		virtualService.metadata!.annotations = {'modeldeck.dev/model': 'fraud-detector'};
		snapshot.virtualServices = [virtualService];
		const fraud = buildModels(snapshot)[0]!;
		expect(fraud.router).toBe('httproute');
		expect(fraud.warnings).toEqual([
			'several routers are annotated modeldeck.dev/model=fraud-detector (HTTPRoute/fraud-detector, VirtualService/ranker): using HTTPRoute/fraud-detector',
		]);
	});

	it('a single backend without a weight gets all traffic; all weights 0 is said', () => {
		const snapshot = loadFixture('shapes-httproute');
		const rule = snapshot.httpRoutes[0]!.spec!.rules![0]!;
		rule.backendRefs = [{name: 'fraud-detector-v13', port: 80}];
		const single = buildModels(snapshot)[0]!;
		// Track is not decided by weight: v12, the older version with replicas, stays stable until a promotion says otherwise.
		expect(weights(single)).toEqual({v12: 'stable 0', v13: 'canary 100'});
		expect(single.warnings).toBeUndefined();
		rule.backendRefs = [
			{name: 'fraud-detector-v12', port: 80, weight: 0},
			{name: 'fraud-detector-v13', port: 80, weight: 0},
		];
		expect(buildModels(snapshot)[0]!.warnings).toEqual(['HTTPRoute/fraud-detector sends no traffic: every backend weight is 0']);
	});

	it('a backend Service selecting both versions splits its share by ready pods', () => {
		const snapshot = loadFixture('shapes-httproute');
		snapshot.services.push({
			apiVersion: 'v1',
			kind: 'Service',
			metadata: {name: 'fraud-detector', namespace: 'shapes-httproute'},
			spec: {selector: {'modeldeck.dev/model': 'fraud-detector'}},
		});
		snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs = [{name: 'fraud-detector', port: 80, weight: 100}];
		const fraud = buildModels(snapshot)[0]!;
		expect(weights(fraud)).toEqual({v12: 'stable 75', v13: 'canary 25'});
		expect(fraud.warnings).toEqual([
			'fraud-detector in HTTPRoute/fraud-detector selects several versions (v12, v13): its 100% is split by ready pods',
		]);
	});

	it('a backend that is not a Service, or in another namespace, is said', () => {
		const snapshot = loadFixture('shapes-httproute');
		snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs = [
			{group: 'example.io', kind: 'Bucket', name: 'b', weight: 50},
			{name: 'fraud-detector-v13', namespace: 'elsewhere', weight: 50},
		];
		expect(buildModels(snapshot)[0]!.warnings).toEqual([
			'HTTPRoute/fraud-detector backend b is a example.io/Bucket, not a Service: its traffic is not attributed to a version',
			'HTTPRoute/fraud-detector sends traffic to Service elsewhere/fraud-detector-v13, which does not exist',
		]);
	});

	it('two Deployments claiming one version: the first is shown', () => {
		const snapshot = loadFixture('shapes-httproute');
		const copy = structuredClone(snapshot.deployments[1]!);
		copy.metadata!.name = 'fraud-detector-v13-copy';
		snapshot.deployments.push(copy);
		const fraud = buildModels(snapshot)[0]!;
		expect(fraud.versions.map((version) => version.object)).toEqual(['Deployment/fraud-detector-v12', 'Deployment/fraud-detector-v13']);
		expect(fraud.warnings).toEqual([
			'Deployments fraud-detector-v13 and fraud-detector-v13-copy both claim version v13: only the first is shown; give each version its own label value',
		]);
	});

	it('a router annotated for a model without Deployments is a model with a warning', () => {
		const snapshot = loadFixture('shapes-httproute');
		snapshot.deployments = [];
		const fraud = buildModels(snapshot)[0]!;
		expect(fraud.versions).toEqual([]);
		expect(fraud.warnings?.[0]).toBe(
			'no Deployment is labelled modeldeck.dev/model=fraud-detector in shapes-httproute: the router names no versions modeldeck can show',
		);
	});

	it('after a promotion (the route annotated modeldeck.dev/stable) the promoted version is stable', () => {
		const snapshot = loadFixture('shapes-httproute');
		const backends = snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs!;
		backends[0]!.weight = 0;
		backends[1]!.weight = 100;
		snapshot.httpRoutes[0]!.metadata!.annotations = {...snapshot.httpRoutes[0]!.metadata!.annotations, 'modeldeck.dev/stable': 'v13'};
		expect(weights(buildModels(snapshot)[0]!)).toEqual({v13: 'stable 100', v12: 'canary 0'});
	});

	it('track does not follow weight: a canary given more than half stays the canary (issue 14, defect 3)', () => {
		const snapshot = loadFixture('shapes-httproute');
		const backends = snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs!;
		backends[0]!.weight = 32;
		backends[1]!.weight = 68;
		// It used to read v13 as stable here, so that `weight MODEL 38` then changed v12.
		expect(weights(buildModels(snapshot)[0]!)).toEqual({v12: 'stable 32', v13: 'canary 68'});
		// A Deployment that declares itself stable is believed.
		snapshot.deployments.find((item) => item.metadata?.labels?.['app.kubernetes.io/version'] === 'v13')!.metadata!.annotations = {
			'modeldeck.dev/stable': 'v13',
		};
		expect(weights(buildModels(snapshot)[0]!)).toEqual({v13: 'stable 68', v12: 'canary 32'});
	});

	it('with no ready pods and no router, the oldest is stable at 0%', () => {
		const snapshot = loadFixture('shapes-replicas');
		for (const item of snapshot.deployments) item.status!.readyReplicas = 0;
		snapshot.deployments[1]!.metadata!.creationTimestamp = '2020-01-01T00:00:00Z';
		expect(weights(buildModels(snapshot)[0]!)).toEqual({v2: 'stable 0', v1: 'canary 0'});
	});

	it('KServe: a spec the status has not caught up with, no previous revision, no status at all', () => {
		const snapshot = loadFixture('shapes-kserve');
		const sentiment = snapshot.inferenceServices.find((item) => item.metadata?.name === 'sentiment')!;
		sentiment.spec!.predictor!.canaryTrafficPercent = 50;
		expect(model(buildModels(snapshot), 'shapes-kserve', 'sentiment').warnings).toEqual([
			'KServe has not applied canaryTrafficPercent 50 yet: sentiment-predictor-00002 gets 20% for now',
		]);
		const summarizer = snapshot.inferenceServices.find((item) => item.metadata?.name === 'summarizer')!;
		summarizer.spec!.predictor!.canaryTrafficPercent = 10;
		summarizer.status!.components!.predictor!.previousRolledoutRevision = undefined;
		expect(model(buildModels(snapshot), 'shapes-kserve', 'summarizer')).toMatchObject({
			versions: [{name: 'summarizer-predictor-00003', track: 'stable', weight: 100}],
			warnings: [
				'InferenceService/summarizer has canaryTrafficPercent 10 but no earlier rolled-out revision: summarizer-predictor-00003 gets all traffic',
			],
		});
		delete summarizer.status;
		expect(model(buildModels(snapshot), 'shapes-kserve', 'summarizer')).toMatchObject({
			versions: [],
			warnings: ['InferenceService/summarizer has no revisions in its status yet: KServe has not reconciled it'],
		});
	});

	it('an InferenceService named like a Deployment model is not shown twice', () => {
		const snapshot = mergeFixtures('shapes-httproute', 'shapes-kserve');
		snapshot.inferenceServices[0]!.metadata!.namespace = 'shapes-httproute';
		snapshot.inferenceServices[0]!.metadata!.name = 'fraud-detector';
		const models = buildModels(snapshot).filter((candidate) => candidate.namespace === 'shapes-httproute');
		expect(models).toHaveLength(1);
		expect(models[0]!.warnings).toEqual([
			'InferenceService/fraud-detector has the same name as this model and is not shown; rename one of them',
		]);
	});

	it('honours other conventions', () => {
		const snapshot = loadFixture('shapes-replicas');
		for (const item of snapshot.deployments) {
			item.metadata!.labels = {team: 'churn', release: item.metadata!.labels!['app.kubernetes.io/version']!};
		}

		const models = buildModels(snapshot, {...defaultConventions, modelLabel: 'team', versionLabel: 'release'});
		expect(models.map((candidate) => `${candidate.name}:${candidate.versions.map((version) => version.name).join(',')}`)).toEqual([
			'churn:v1,v2',
		]);
	});

	it('never throws on malformed objects', () => {
		const anything = fc.anything({maxDepth: 3});
		const labelled = fc.record({
			metadata: fc.record({
				name: fc.string(),
				labels: fc.dictionary(fc.constantFrom('modeldeck.dev/model', 'app.kubernetes.io/version', 'x'), fc.string()),
				annotations: fc.dictionary(fc.constantFrom('modeldeck.dev/model'), fc.string()),
			}),
			spec: anything,
			status: anything,
		});
		const list = fc.array(fc.oneof(anything, labelled), {maxLength: 4});
		fc.assert(
			fc.property(list, list, list, list, list, list, (deployments, services, httpRoutes, virtualServices, inferenceServices, others) => {
				const snapshot = {
					deployments,
					services,
					httpRoutes,
					virtualServices,
					inferenceServices,
					pods: others,
					replicaSets: others,
					autoscalers: others,
					destinationRules: others,
				} as never;
				const models = buildModels(snapshot);
				return Array.isArray(models);
			}),
			{numRuns: 300},
		);
	});

	it('keeps what actions need: backends with JSON pointers and Deployment names', () => {
		const [analysis] = analyseModels(loadFixture('shapes-istio')).filter((candidate) => candidate.model.name === 'recommender');
		expect(analysis!.traffic).toMatchObject({
			kind: 'virtualservice',
			name: 'recommender',
			backends: [
				{
					pointer: '/spec/http/0/route/0',
					identityField: 'destination/host',
					identityValue: 'recommender',
					writtenWeight: 80,
					versions: ['v1'],
				},
				{
					pointer: '/spec/http/0/route/1',
					identityField: 'destination/host',
					identityValue: 'recommender',
					writtenWeight: 20,
					versions: ['v2'],
				},
			],
		});
		expect(analysis!.deployments).toEqual({v1: 'recommender-v1', v2: 'recommender-v2'});
	});
});

describe('modeldeck annotations', () => {
	it('collects modeldeck.dev/ annotations, later objects winning, and nothing else', async () => {
		const {modeldeckAnnotations} = await import('../../../source/adapters/kube/build-models.ts');
		expect(modeldeckAnnotations([{'modeldeck.dev/guard': 'false', other: 'x'}, {'modeldeck.dev/guard': 'true'}])).toEqual({
			'modeldeck.dev/guard': 'true',
		});
		expect(modeldeckAnnotations([{other: 'x'}, undefined])).toBeUndefined();
	});
});
