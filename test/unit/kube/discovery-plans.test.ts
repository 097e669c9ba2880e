/**
 * What actions write on models found without modeldeck's labels (objects captured from the API server): an unannotated
 * HTTPRoute like an annotated one, an SMI TrafficSplit's and a Seldon Experiment's weights with the same `test`s, the
 * stable mark on a router without any annotations, and KServe's RawDeployment refused with what to do instead.
 */
import {describe, expect, it} from 'vitest';
import {analyseModels, type ModelAnalysis} from '../../../source/adapters/kube/build-models.ts';
import {PlanError, planPromote, planSetWeight} from '../../../source/adapters/kube/plans.ts';
import {loadUnlabelledFixture} from '../../fixtures/kube/unlabelled.ts';

function analysis(name: string): ModelAnalysis {
	const found = analyseModels(loadUnlabelledFixture()).find((candidate) => candidate.model.name === name);
	if (!found) throw new Error(`no ${name}`);
	return found;
}

describe('weights of models found without our labels', () => {
	it('an unannotated HTTPRoute: tested and replaced like an annotated one', () => {
		expect(planSetWeight(analysis('fraud'), 'v8', 40)).toEqual([
			{
				type: {group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes'},
				namespace: 'unlabelled',
				name: 'fraud',
				object: 'HTTPRoute/fraud',
				change: 'v7 80% → 60%, v8 20% → 40%',
				patch: [
					{op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'fraud-stable'},
					{op: 'test', path: '/spec/rules/0/backendRefs/0/weight', value: 80},
					{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 60},
					{op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'fraud-canary'},
					{op: 'test', path: '/spec/rules/0/backendRefs/1/weight', value: 20},
					{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 40},
				],
			},
		]);
	});

	it('an SMI TrafficSplit: its backends tested by Service and weight', () => {
		const [write] = planSetWeight(analysis('checkout'), 'v2', 30);
		expect(write).toMatchObject({
			type: {group: 'split.smi-spec.io', version: 'v1alpha2', plural: 'trafficsplits'},
			name: 'checkout',
			object: 'TrafficSplit/checkout',
		});
		expect(write!.patch).toEqual([
			{op: 'test', path: '/spec/backends/0/service', value: 'checkout-v1'},
			{op: 'test', path: '/spec/backends/0/weight', value: 90},
			{op: 'replace', path: '/spec/backends/0/weight', value: 70},
			{op: 'test', path: '/spec/backends/1/service', value: 'checkout-v2'},
			{op: 'test', path: '/spec/backends/1/weight', value: 10},
			{op: 'replace', path: '/spec/backends/1/weight', value: 30},
		]);
	});

	it('a Seldon Experiment: its candidates tested by name and weight', () => {
		const [write] = planSetWeight(analysis('iris'), 'iris2', 50);
		expect(write).toMatchObject({
			type: {group: 'mlops.seldon.io', version: 'v1alpha1', plural: 'experiments'},
			name: 'iris-experiment',
			object: 'Experiment/iris-experiment',
		});
		expect(write!.patch).toEqual([
			{op: 'test', path: '/spec/candidates/0/name', value: 'iris'},
			{op: 'test', path: '/spec/candidates/0/weight', value: 70},
			{op: 'replace', path: '/spec/candidates/0/weight', value: 50},
			{op: 'test', path: '/spec/candidates/1/name', value: 'iris2'},
			{op: 'test', path: '/spec/candidates/1/weight', value: 30},
			{op: 'replace', path: '/spec/candidates/1/weight', value: 50},
		]);
	});

	it('promote on a router with no annotations at all writes the map, guarded by the resourceVersion it was read at', () => {
		const fraud = analysis('fraud');
		expect(fraud.traffic).toMatchObject({annotated: false});
		const plan = planPromote(fraud, 'v8', true);
		const patch = plan.traffic[0]!.patch;
		expect(patch.slice(-2)).toEqual([
			{op: 'test', path: '/metadata/resourceVersion', value: fraud.model.resourceVersion},
			{op: 'add', path: '/metadata/annotations', value: {'modeldeck.dev/stable': 'v8'}},
		]);
		expect(plan.traffic[0]!.change).toBe('v7 80% → 0%, v8 20% → 100%; v8 marked stable (modeldeck.dev/stable)');
	});

	it('KServe RawDeployment has no canary: a weight is refused with what to do instead', () => {
		const tabular = analysis('tabular');
		// KServe owns the Deployment: no action scales it or undoes its template behind KServe's back.
		expect(tabular.deployments).toEqual({});
		expect(() => planSetWeight(tabular, 'tabular-predictor', 20)).toThrow(PlanError);
		// The only version is the stable: the refusal names it; a second version would hit the raw-mode refusal.
		const withCanary: ModelAnalysis = {
			...tabular,
			model: {
				...tabular.model,
				versions: [...tabular.model.versions, {...tabular.model.versions[0]!, name: 'other', track: 'canary', weight: 0}],
			},
		};
		expect(() => planSetWeight(withCanary, 'other', 20)).toThrow(
			'InferenceService/tabular runs in RawDeployment mode, where KServe has no canary (canaryTrafficPercent is ignored): roll out a new predictor with kubectl apply, or run the new version as a second InferenceService behind an HTTPRoute',
		);
	});
});
