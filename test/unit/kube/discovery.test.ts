/**
 * Discovery without modeldeck's labels, on objects captured from a real API server (test/fixtures/kube/unlabelled.json,
 * made by capture-unlabelled.ts): unannotated routers, SMI TrafficSplits, Seldon Core 2 Experiments and Models, KServe
 * in RawDeployment mode, and Deployments sharing name and version labels — and the order that keeps an explicit label
 * the winner.
 */
import {describe, expect, it} from 'vitest';
import type {Model} from '../../../source/domain/types.ts';
import {analyseModels, buildModels} from '../../../source/adapters/kube/build-models.ts';
import {trimDeployment, trimPod, trimReplicaSet} from '../../../source/adapters/kube/trim.ts';
import {loadFixture} from '../../fixtures/kube/load.ts';
import {loadUnlabelledFixture} from '../../fixtures/kube/unlabelled.ts';

function summary(model: Model): string[] {
	return model.versions.map(
		(version) => `${version.name} ${version.track} ${version.weight}% ${version.replicasReady}/${version.replicasDesired}`,
	);
}

function find(models: Model[], name: string): Model {
	const model = models.find((candidate) => candidate.name === name);
	if (!model) throw new Error(`no model ${name} among ${models.map((candidate) => candidate.name).join(', ')}`);
	return model;
}

describe('discovery without our labels (captured from the API server)', () => {
	const models = buildModels(loadUnlabelledFixture());

	it('finds every kind of model, and only models', () => {
		expect(models.map((model) => `${model.name} ${model.router} ${model.discoveredBy}`)).toEqual([
			'checkout trafficsplit TrafficSplit/checkout backends',
			'churn replicas app.kubernetes.io/name + app.kubernetes.io/version labels',
			'churn-next replicas labels modeldeck.dev/model',
			'fraud httproute HTTPRoute/fraud backends',
			'income seldon Seldon Model/income',
			'iris seldon Seldon Experiment/iris-experiment',
			'reviews replicas app + version labels',
			'tabular kserve InferenceService/tabular (RawDeployment)',
		]);
		// A lone Deployment (web), even behind an HTTPRoute of its own, is an application, not a model.
		expect(models.some((model) => model.name === 'web')).toBe(false);
	});

	it('an unannotated HTTPRoute: the model is named after it, its versions the Deployments it reaches, its weights its own', () => {
		const fraud = find(models, 'fraud');
		expect(summary(fraud)).toEqual(['v7 stable 80% 2/2', 'v8 canary 20% 1/1']);
		expect(fraud.routerObject).toBe('HTTPRoute/fraud');
		expect(fraud.versions.map((version) => `${version.object} ${version.service}`)).toEqual([
			'Deployment/fraud-stable fraud-stable',
			'Deployment/fraud-canary fraud-canary',
		]);
		expect(fraud.warnings).toBeUndefined();
	});

	it('an SMI TrafficSplit claims its Deployments before their app + version labels would', () => {
		expect(summary(find(models, 'checkout'))).toEqual(['v1 stable 90% 2/2', 'v2 canary 10% 1/1']);
	});

	it('name + version labels: weights from ready replicas; an explicit modeldeck label wins over them', () => {
		expect(summary(find(models, 'churn'))).toEqual(['1.0 stable 75% 3/3', '1.1 canary 25% 1/1']);
		expect(summary(find(models, 'reviews'))).toEqual(['v1 stable 50% 1/1', 'v2 canary 50% 1/1']);
		// churn-next carries app.kubernetes.io/name=churn too, but modeldeck.dev/model=churn-next says otherwise.
		expect(summary(find(models, 'churn-next'))).toEqual(['2.0 stable 100% 1/1']);
	});

	it('a Seldon Experiment: its default is the model and the stable, candidates are versions, the mirror a warning', () => {
		const iris = find(models, 'iris');
		expect(summary(iris)).toEqual(['iris stable 70% 2/2', 'iris2 canary 30% 1/1']);
		expect(iris.versions.map((version) => version.image)).toEqual([
			'gs://seldon-models/scv2/samples/mlserver_1.3.5/iris-sklearn',
			'gs://seldon-models/scv2/samples/mlserver_1.3.5/iris2-sklearn',
		]);
		expect(iris.runtime).toBe('seldon');
		expect(iris.warnings).toEqual([
			'Experiment/iris-experiment mirrors 10% of requests to iris-shadow (a copy: its answers are not returned, so it is not a version here)',
		]);
		// The mirror and the candidates are not models of their own; a Model in no Experiment is.
		expect(models.some((model) => model.name === 'iris2' || model.name === 'iris-shadow')).toBe(false);
		expect(summary(find(models, 'income'))).toEqual(['income stable 100% 1/1']);
	});

	it('KServe RawDeployment: one version from its Deployment, and canaryTrafficPercent said to be ignored, not a fake canary', () => {
		const tabular = find(models, 'tabular');
		expect(summary(tabular)).toEqual(['tabular-predictor stable 100% 1/1']);
		expect(tabular.versions[0]!.image).toBe('gs://models/tabular/v2');
		expect(tabular.warnings).toEqual([
			'InferenceService/tabular runs in RawDeployment mode, where KServe ignores canaryTrafficPercent 20: there is one version and no canary; for a canary, run the new version as a second InferenceService behind an HTTPRoute',
		]);
		// KServe's Deployment is not a model of its own.
		expect(models.filter((model) => model.versions.some((version) => version.object === 'Deployment/tabular-predictor'))).toHaveLength(1);
	});

	it('the same models from what the watch keeps of Deployments, ReplicaSets and Pods (trim.ts)', () => {
		const snapshot = loadUnlabelledFixture();
		const trimmed = {
			...snapshot,
			deployments: snapshot.deployments.map(trimDeployment),
			replicaSets: snapshot.replicaSets.map(trimReplicaSet),
			pods: snapshot.pods.map(trimPod),
		} as typeof snapshot;
		expect(buildModels(trimmed)).toEqual(models);
		expect(JSON.stringify(trimmed.replicaSets).length).toBeLessThan(JSON.stringify(snapshot.replicaSets).length / 2);
	});

	it("keeps what actions need: the router entries with JSON pointers, and each version's Deployment", () => {
		const analyses = analyseModels(loadUnlabelledFixture());
		const checkout = analyses.find((analysis) => analysis.model.name === 'checkout')!;
		expect(checkout.traffic).toMatchObject({
			kind: 'trafficsplit',
			name: 'checkout',
			annotated: false,
			backends: [
				{pointer: '/spec/backends/0', identityField: 'service', identityValue: 'checkout-v1', writtenWeight: 90, versions: ['v1']},
				{pointer: '/spec/backends/1', identityField: 'service', identityValue: 'checkout-v2', writtenWeight: 10, versions: ['v2']},
			],
		});
		expect(checkout.deployments).toEqual({v1: 'checkout-v1', v2: 'checkout-v2'});
		const iris = analyses.find((analysis) => analysis.model.name === 'iris')!;
		expect(iris.traffic).toMatchObject({
			kind: 'seldon',
			name: 'iris-experiment',
			object: 'Experiment/iris-experiment',
			backends: [
				{pointer: '/spec/candidates/0', identityField: 'name', identityValue: 'iris', writtenWeight: 70, versions: ['iris']},
				{pointer: '/spec/candidates/1', identityField: 'name', identityValue: 'iris2', writtenWeight: 30, versions: ['iris2']},
			],
		});
	});
});

describe('discovery order', () => {
	it('an annotation on an HTTPRoute names the model; without labelled Deployments its versions are what its backends reach', () => {
		const snapshot = loadUnlabelledFixture();
		const route = snapshot.httpRoutes.find((candidate) => candidate.metadata?.name === 'fraud')!;
		route.metadata!.annotations = {'modeldeck.dev/model': 'fraud-model'};
		const models = buildModels(snapshot);
		const fraud = find(models, 'fraud-model');
		expect(fraud.discoveredBy).toBe('annotation modeldeck.dev/model on HTTPRoute/fraud backends');
		expect(summary(fraud)).toEqual(['v7 stable 80% 2/2', 'v8 canary 20% 1/1']);
		expect(fraud.warnings).toBeUndefined();
		// Nothing is shown twice: the router and its Deployments belong to fraud-model only.
		expect(models.filter((model) => model.routerObject === 'HTTPRoute/fraud')).toHaveLength(1);
		expect(models.some((model) => model.name === 'fraud')).toBe(false);
	});

	it('an annotated router reaching only Deployments labelled for another model says it has none of its own', () => {
		const snapshot = loadUnlabelledFixture();
		const route = snapshot.httpRoutes.find((candidate) => candidate.metadata?.name === 'fraud')!;
		route.metadata!.annotations = {'modeldeck.dev/model': 'fraud-model'};
		for (const deployment of snapshot.deployments) {
			if (deployment.metadata?.name?.startsWith('fraud-'))
				deployment.metadata.labels = {...deployment.metadata.labels, 'modeldeck.dev/model': 'other'};
		}

		const fraud = find(buildModels(snapshot), 'fraud-model');
		expect(fraud.discoveredBy).toBe('annotation modeldeck.dev/model on HTTPRoute/fraud');
		expect(fraud.versions).toEqual([]);
		expect(fraud.warnings?.[0]).toBe(
			'no Deployment is labelled modeldeck.dev/model=fraud-model in unlabelled: the router names no versions modeldeck can show',
		);
	});

	it('two Deployments with the same version label behind a router are told apart by their names', () => {
		const snapshot = loadUnlabelledFixture();
		for (const deployment of snapshot.deployments) {
			if (deployment.metadata?.name?.startsWith('fraud-')) deployment.metadata.labels = {...deployment.metadata.labels, version: 'same'};
			// The canary came later (the fixture's objects were all made in the same second).
			if (deployment.metadata?.name === 'fraud-canary') deployment.metadata.creationTimestamp = '2030-01-01T00:00:00Z';
		}

		expect(summary(find(buildModels(snapshot), 'fraud'))).toEqual(['fraud-stable stable 80% 2/2', 'fraud-canary canary 20% 1/1']);
	});

	it('a Seldon Experiment whose candidate is missing, whose default is not a candidate, with weights at 0: warnings', () => {
		const snapshot = loadUnlabelledFixture();
		const experiment = snapshot.seldonExperiments[0]!;
		experiment.spec = {
			default: 'elsewhere',
			candidates: [
				{name: 'iris', weight: 0},
				{name: 'ghost', weight: 0},
			],
		};
		const iris = find(buildModels(snapshot), 'elsewhere');
		expect(iris.warnings).toEqual([
			'Experiment/iris-experiment candidate ghost is not a Model in unlabelled',
			'Experiment/iris-experiment sends no traffic: every candidate weight is 0',
			'Experiment/iris-experiment default elsewhere is not one of its candidates',
		]);
		expect(iris.versions.map((version) => version.name)).toEqual(['iris', 'ghost']);
	});

	it('a RawDeployment InferenceService KServe has not reconciled says so', () => {
		const snapshot = loadUnlabelledFixture();
		snapshot.deployments = snapshot.deployments.filter((deployment) => deployment.metadata?.name !== 'tabular-predictor');
		const tabular = find(buildModels(snapshot), 'tabular');
		expect(tabular.versions).toEqual([]);
		expect(tabular.warnings?.[0]).toBe(
			'InferenceService/tabular runs in RawDeployment mode but no Deployment labelled serving.kserve.io/inferenceservice=tabular is in unlabelled: KServe has not reconciled it',
		);
	});

	it("the Standard mode (KServe 0.15 on) and the predictor's deploymentMode are raw too", () => {
		for (const change of [
			(isvc: {metadata?: {annotations?: Record<string, string>}}) =>
				(isvc.metadata!.annotations = {'serving.kserve.io/deploymentMode': 'Standard'}),
			(isvc: {metadata?: {annotations?: Record<string, string>}; spec?: {predictor?: Record<string, unknown>}}) => {
				isvc.metadata!.annotations = {};
				isvc.spec!.predictor!['deploymentMode'] = 'RawDeployment';
			},
		]) {
			const snapshot = loadUnlabelledFixture();
			change(snapshot.inferenceServices[0] as never);
			expect(find(buildModels(snapshot), 'tabular').discoveredBy).toBe('InferenceService/tabular (RawDeployment)');
		}
	});

	it('an Istio VirtualService without the annotation, through DestinationRule subsets (captured shapes-istio, labels taken off)', () => {
		const snapshot = loadFixture('shapes-istio');
		// The Deployments lose the label (their pods keep what the Services select); the routers lose the annotation.
		for (const deployment of snapshot.deployments) delete deployment.metadata?.labels?.['modeldeck.dev/model'];

		for (const service of snapshot.virtualServices) delete service.metadata?.annotations?.['modeldeck.dev/model'];
		const models = buildModels(snapshot);
		expect(models.map((model) => `${model.name} ${model.discoveredBy}`)).toEqual([
			'ranker VirtualService/ranker backends',
			'recommender VirtualService/recommender backends',
		]);
		expect(summary(find(models, 'recommender'))).toEqual(['v1 stable 80% 2/2', 'v2 canary 20% 1/1']);
	});

	it('Deployments a controller owns (a Knative Revision, a Flagger primary) are never grouped from their labels or a router', () => {
		const snapshot = loadUnlabelledFixture();
		for (const deployment of snapshot.deployments) {
			if (['churn-v1', 'fraud-canary'].includes(deployment.metadata?.name ?? '')) {
				deployment.metadata!.ownerReferences = [
					{apiVersion: 'serving.knative.dev/v1', kind: 'Revision', name: 'r', uid: 'u', controller: true},
				];
			}
		}

		const models = buildModels(snapshot);
		expect(models.some((model) => model.name === 'churn' || model.name === 'fraud')).toBe(false);
	});

	it("a serverless InferenceService's Deployments (labelled with its name) are its own, not a name + version group", () => {
		const snapshot = loadUnlabelledFixture();
		snapshot.inferenceServices[0]!.metadata!.annotations = {};
		for (const deployment of snapshot.deployments) {
			if (deployment.metadata?.name?.startsWith('churn-v1'))
				deployment.metadata.labels = {...deployment.metadata.labels, 'serving.kserve.io/inferenceservice': 'tabular'};
		}

		const models = buildModels(snapshot);
		expect(models.some((model) => model.name === 'churn')).toBe(false);
		expect(find(models, 'tabular').discoveredBy).toBe('InferenceService/tabular');
	});

	it('a TrafficSplit written at v1alpha1 (weights as quantities) is read', () => {
		const snapshot = loadUnlabelledFixture();
		snapshot.trafficSplits[0]!.spec!.backends = [
			{service: 'checkout-v1', weight: '750m'},
			{service: 'checkout-v2', weight: '250m'},
		];
		expect(summary(find(buildModels(snapshot), 'checkout'))).toEqual(['v1 stable 75% 2/2', 'v2 canary 25% 1/1']);
	});
});
