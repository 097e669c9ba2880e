/**
 * Discovery over generated clusters (objects from a cluster are outside input): whatever the labels, selectors, routers,
 * Seldon objects and InferenceServices, it never throws, no Deployment is a version of two models, and a Deployment
 * labelled modeldeck.dev/model is only ever a version of the model its label names.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {analyseModels, buildModels} from '../../../source/adapters/kube/build-models.ts';
import type {ClusterSnapshot} from '../../../source/adapters/kube/build-models.ts';

const namespaces = ['a', 'b'];
const values = ['x', 'y', 'v1', 'v2'];
const labelKeys = [
	'modeldeck.dev/model',
	'app.kubernetes.io/name',
	'app',
	'app.kubernetes.io/version',
	'version',
	'serving.kserve.io/inferenceservice',
	'component',
];
const names = ['x', 'y', 'x-predictor', 'y-v1', 'y-v2', 'z'];

const anyLabels = fc.dictionary(fc.constantFrom(...labelKeys), fc.constantFrom(...values, 'predictor'), {maxKeys: 5});
// Mostly the labels real workloads carry, so that routers and name + version groups reach several Deployments.
const workloadLabels = fc
	.tuple(
		fc.record(
			{
				app: fc.constantFrom('x', 'y'),
				version: fc.constantFrom('v1', 'v2'),
				'app.kubernetes.io/name': fc.constantFrom('x', 'y'),
				'app.kubernetes.io/version': fc.constantFrom('v1', 'v2'),
			},
			{requiredKeys: []},
		),
		fc.integer({min: 0, max: 9}),
		fc.constantFrom('x', 'z'),
	)
	// One in five is labelled explicitly, one in ten is KServe's.
	.map(
		([base, dice, value]): Record<string, string> =>
			dice < 2 ? {...base, 'modeldeck.dev/model': value} : dice === 2 ? {...base, 'serving.kserve.io/inferenceservice': value} : base,
	);
const labels = fc.oneof({arbitrary: workloadLabels, weight: 4}, {arbitrary: anyLabels, weight: 1});
const selector = fc.oneof(fc.constantFrom({app: 'x'}, {app: 'y', version: 'v1'}, {'app.kubernetes.io/name': 'x'}, {}), anyLabels);
const namespace = fc.constantFrom(...namespaces);
const weight = fc.oneof(fc.integer({min: -5, max: 200}), fc.constantFrom('500m', 'x', '1'), fc.constant(undefined));

const deployment = fc.record({
	metadata: fc.record({
		name: fc.constantFrom(...names),
		namespace,
		labels,
		creationTimestamp: fc.constantFrom('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'),
	}),
	spec: fc.record({replicas: fc.integer({min: 0, max: 3}), template: fc.record({metadata: fc.record({labels})})}),
	status: fc.record({readyReplicas: fc.integer({min: 0, max: 3})}),
});
const service = fc.record({
	metadata: fc.record({name: fc.constantFrom(...names), namespace}),
	spec: fc.record({selector}),
});
const httpRoute = fc.record({
	metadata: fc.record({
		name: fc.constantFrom(...names),
		namespace,
		annotations: fc.oneof(
			{arbitrary: fc.constant(undefined), weight: 4},
			{arbitrary: fc.dictionary(fc.constant('modeldeck.dev/model'), fc.constantFrom(...values)), weight: 1},
		),
	}),
	spec: fc.record({
		rules: fc.array(fc.record({backendRefs: fc.array(fc.record({name: fc.constantFrom(...names), weight}), {maxLength: 3})}), {
			maxLength: 2,
		}),
	}),
});
const virtualService = fc.record({
	metadata: fc.record({name: fc.constantFrom(...names), namespace}),
	spec: fc.record({
		http: fc.array(
			fc.record({
				route: fc.array(
					fc.record({
						destination: fc.record({host: fc.constantFrom(...names), subset: fc.option(fc.constantFrom(...values), {nil: undefined})}),
						weight,
					}),
					{maxLength: 3},
				),
			}),
			{maxLength: 2},
		),
	}),
});
const destinationRule = fc.record({
	metadata: fc.record({name: fc.constantFrom(...names), namespace}),
	spec: fc.record({
		host: fc.constantFrom(...names),
		subsets: fc.array(fc.record({name: fc.constantFrom(...values), labels}), {maxLength: 2}),
	}),
});
const trafficSplit = fc.record({
	metadata: fc.record({name: fc.constantFrom(...names), namespace}),
	spec: fc.record({
		service: fc.constantFrom(...names),
		backends: fc.array(fc.record({service: fc.constantFrom(...names), weight}), {maxLength: 3}),
	}),
});
const seldonModel = fc.record({
	metadata: fc.record({name: fc.constantFrom(...names), namespace}),
	spec: fc.record({storageUri: fc.constantFrom('gs://a', 'gs://b'), replicas: fc.option(fc.integer({min: 0, max: 3}), {nil: undefined})}),
	status: fc.record({
		availableReplicas: fc.integer({min: 0, max: 3}),
		conditions: fc.array(fc.record({type: fc.constantFrom('ModelReady', 'Ready'), status: fc.constantFrom('True', 'False')}), {
			maxLength: 2,
		}),
	}),
});
const experiment = fc.record({
	metadata: fc.record({name: fc.constantFrom(...names), namespace}),
	spec: fc.record({
		default: fc.option(fc.constantFrom(...names), {nil: undefined}),
		candidates: fc.array(fc.record({name: fc.constantFrom(...names), weight}), {maxLength: 3}),
		mirror: fc.option(fc.record({name: fc.constantFrom(...names), percent: fc.integer({min: 0, max: 100})}), {nil: undefined}),
	}),
});
const inferenceService = fc.record({
	metadata: fc.record({
		name: fc.constantFrom(...names),
		namespace,
		annotations: fc.dictionary(fc.constant('serving.kserve.io/deploymentMode'), fc.constantFrom('RawDeployment', 'Standard', 'Serverless')),
	}),
	spec: fc.record({predictor: fc.record({canaryTrafficPercent: fc.option(fc.integer({min: 0, max: 100}), {nil: undefined})})}),
});

/** Objects as an API server sends them: one object per kind, namespace and name. */
function unique<T>(arbitrary: fc.Arbitrary<T>, maxLength = 6): fc.Arbitrary<T[]> {
	return fc.uniqueArray(arbitrary, {
		maxLength,
		selector: (item) =>
			`${(item as {metadata: {namespace: string; name: string}}).metadata.namespace}/${(item as {metadata: {name: string}}).metadata.name}`,
	});
}

const snapshot: fc.Arbitrary<ClusterSnapshot> = fc.record({
	deployments: unique(deployment, 10),
	services: unique(service),
	httpRoutes: unique(httpRoute),
	virtualServices: unique(virtualService),
	destinationRules: unique(destinationRule),
	trafficSplits: unique(trafficSplit),
	seldonModels: unique(seldonModel, 2),
	seldonExperiments: unique(experiment, 2),
	inferenceServices: unique(inferenceService, 2),
}) as fc.Arbitrary<ClusterSnapshot>;

describe('discovery over generated clusters', () => {
	it('never throws, and every model is whole (a name, a namespace, versions with weights 0–100)', () => {
		fc.assert(
			fc.property(snapshot, (cluster) => {
				for (const model of buildModels(cluster)) {
					expect(typeof model.name).toBe('string');
					expect(typeof model.namespace).toBe('string');
					for (const version of model.versions) expect(version.weight >= 0 && version.weight <= 100).toBe(true);
				}
			}),
			{numRuns: 400},
		);
	});

	it('no Deployment is a version of two models', () => {
		fc.assert(
			fc.property(snapshot, (cluster) => {
				const seen = new Map<string, string>();
				for (const analysis of analyseModels(cluster)) {
					const {model} = analysis;
					const objects = new Set([
						...model.versions.map((version) => version.object).filter((object) => object?.startsWith('Deployment/')),
						...Object.values(analysis.deployments).map((name) => `Deployment/${name}`),
					]);
					for (const object of objects) {
						const key = `${model.namespace}/${object}`;
						expect(seen.get(key), `${key} is in ${seen.get(key)} and ${model.name}`).toBeUndefined();
						seen.set(key, model.name);
					}
				}
			}),
			{numRuns: 400},
		);
	});

	it('a Deployment labelled modeldeck.dev/model is only ever a version of the model its label names', () => {
		fc.assert(
			fc.property(snapshot, (cluster) => {
				const labelled = new Map<string, string>();
				for (const item of cluster.deployments ?? []) {
					const model = item.metadata?.labels?.['modeldeck.dev/model'];
					if (model) labelled.set(`${item.metadata?.namespace}/Deployment/${item.metadata?.name}`, model);
				}

				for (const model of buildModels(cluster)) {
					for (const version of model.versions) {
						const owner = labelled.get(`${model.namespace}/${version.object}`);
						if (owner !== undefined) expect(model.name, `${version.object} is labelled ${owner}`).toBe(owner);
					}
				}
			}),
			{numRuns: 400},
		);
	});
});
