import {describe, expect, it} from 'vitest';
import {analyseModels, type ModelAnalysis} from '../../../source/adapters/kube/build-models.ts';
import type {Deployment, ReplicaSet} from '../../../source/adapters/kube/objects.ts';
import {
	PlanError,
	planPromote,
	planRollbackTraffic,
	planSetWeight,
	planSwitch,
	planTemplateUndo,
} from '../../../source/adapters/kube/plans.ts';
import {type FixtureName, loadFixture} from '../../fixtures/kube/load.ts';

function analysis(fixture: FixtureName, name: string, change?: (snapshot: ReturnType<typeof loadFixture>) => void): ModelAnalysis {
	const snapshot = loadFixture(fixture);
	change?.(snapshot);
	const found = analyseModels(snapshot).find((candidate) => candidate.model.name === name);
	if (!found) throw new Error(`no ${name}`);
	return found;
}

describe('planSetWeight', () => {
	it('HTTPRoute: tests each backend it changes (name and weight) before replacing the weight', () => {
		const writes = planSetWeight(analysis('shapes-httproute', 'fraud-detector'), 'v13', 20);
		expect(writes).toEqual([
			{
				type: {group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes'},
				namespace: 'shapes-httproute',
				name: 'fraud-detector',
				object: 'HTTPRoute/fraud-detector',
				change: 'v12 90% → 80%, v13 10% → 20%',
				patch: [
					{op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'fraud-detector-v12'},
					{op: 'test', path: '/spec/rules/0/backendRefs/0/weight', value: 90},
					{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 80},
					{op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'fraud-detector-v13'},
					{op: 'test', path: '/spec/rules/0/backendRefs/1/weight', value: 10},
					{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 20},
				],
			},
		]);
	});

	it('adds a weight a backend does not have, and writes nothing when nothing changes', () => {
		const unweighted = analysis('shapes-httproute', 'fraud-detector', (snapshot) => {
			delete snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs![1]!.weight;
			snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs![0]!.weight = 100;
		});
		expect(planSetWeight(unweighted, 'v13', 5)[0]!.patch.slice(3)).toEqual([
			{op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'fraud-detector-v13'},
			{op: 'add', path: '/spec/rules/0/backendRefs/1/weight', value: 5},
		]);
		expect(planSetWeight(analysis('shapes-httproute', 'fraud-detector'), 'v13', 10)).toEqual([]);
	});

	it('VirtualService: destination host identifies the entry', () => {
		const [write] = planSetWeight(analysis('shapes-istio', 'recommender'), 'v2', 50);
		expect(write!.object).toBe('VirtualService/recommender');
		expect(write!.type.plural).toBe('virtualservices');
		expect(write!.patch).toEqual([
			{op: 'test', path: '/spec/http/0/route/0/destination/host', value: 'recommender'},
			{op: 'test', path: '/spec/http/0/route/0/weight', value: 80},
			{op: 'replace', path: '/spec/http/0/route/0/weight', value: 50},
			{op: 'test', path: '/spec/http/0/route/1/destination/host', value: 'recommender'},
			{op: 'test', path: '/spec/http/0/route/1/weight', value: 20},
			{op: 'replace', path: '/spec/http/0/route/1/weight', value: 50},
		]);
	});

	it('KServe: test and replace canaryTrafficPercent', () => {
		const [write] = planSetWeight(analysis('shapes-kserve', 'sentiment'), 'sentiment-predictor-00002', 35);
		expect(write).toMatchObject({
			object: 'InferenceService/sentiment',
			patch: [
				{op: 'test', path: '/spec/predictor/canaryTrafficPercent', value: 20},
				{op: 'replace', path: '/spec/predictor/canaryTrafficPercent', value: 35},
			],
		});
	});

	it('replicas: keeps the total, scales up before scaling down', () => {
		const writes = planSetWeight(analysis('shapes-replicas', 'churn'), 'v2', 50);
		expect(writes.map((write) => [write.name, write.patch])).toEqual([
			[
				'churn-v2',
				[
					{op: 'test', path: '/spec/replicas', value: 1},
					{op: 'replace', path: '/spec/replicas', value: 2},
				],
			],
			[
				'churn-v1',
				[
					{op: 'test', path: '/spec/replicas', value: 3},
					{op: 'replace', path: '/spec/replicas', value: 2},
				],
			],
		]);
		// A small non-zero share never rounds to zero pods.
		expect(planSetWeight(analysis('shapes-replicas', 'churn'), 'v2', 1).map((write) => write.change)).toEqual([]);
		expect(planSetWeight(analysis('shapes-replicas', 'churn'), 'v2', 0).map((write) => write.change)).toEqual([
			'v1 3 → 4 replicas',
			'v2 1 → 0 replicas',
		]);
	});

	it('refuses what cannot be done, saying how to fix it', () => {
		expect(() => planSetWeight(analysis('odd-a', 'scorer'), 'v2', 10)).toThrow(
			new PlanError(
				"cannot change weights of scorer: HTTPRoute/scorer entry scorer-v9 reaches no version; point each entry at one version's Service first",
			),
		);
		expect(() => planSetWeight(analysis('shapes-httproute', 'fraud-detector'), 'v12', 10)).toThrow(/v12 is the stable version/);
		expect(() => planSetWeight(analysis('shapes-httproute', 'fraud-detector'), 'v99', 10)).toThrow(
			'fraud-detector has no version v99 (versions: v12, v13)',
		);
		expect(() => planSetWeight(analysis('shapes-httproute', 'fraud-detector'), 'v13', 101)).toThrow(/use a whole number from 0 to 100/);
		const withAutoscaler = analysis('shapes-replicas', 'churn', (snapshot) => {
			snapshot.autoscalers = [
				{
					metadata: {name: 'churn-v1', namespace: 'shapes-replicas'},
					spec: {scaleTargetRef: {kind: 'Deployment', name: 'churn-v1'}, maxReplicas: 5},
				},
			];
		});
		expect(() => planSetWeight(withAutoscaler, 'v2', 50)).toThrow(/scaled by a HorizontalPodAutoscaler/);
	});

	it('three versions: other canaries keep their share', () => {
		const three = analysis('odd-a', 'scorer', (snapshot) => {
			snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs = [
				{name: 'scorer-v1', port: 80, weight: 70},
				{name: 'scorer-v2', port: 80, weight: 20},
				{name: 'scorer-v3', port: 80, weight: 10},
			];
		});
		expect(planSetWeight(three, 'v3', 30)[0]!.change).toBe('v1 70% → 50%, v3 10% → 30%');
		expect(() => planSetWeight(three, 'v3', 90)).toThrow('cannot give v3 90%: other canaries hold 20% (v2 20%); lower them first');
	});

	it('a version the route does not name cannot get traffic until it is added', () => {
		const absent = analysis('shapes-httproute', 'fraud-detector', (snapshot) => {
			snapshot.httpRoutes[0]!.spec!.rules![0]!.backendRefs = [{name: 'fraud-detector-v12', port: 80, weight: 100}];
		});
		expect(() => planSetWeight(absent, 'v13', 10)).toThrow(
			'v13 is not in HTTPRoute/fraud-detector: add an entry for its Service fraud-detector-v13 first',
		);
	});
});

describe('planPromote, planRollbackTraffic, planSwitch', () => {
	it('promote on a router: all traffic to the canary in one patch, then the old stable scaled to zero unless kept', () => {
		const plan = planPromote(analysis('shapes-httproute', 'fraud-detector'), 'v13', false);
		// The weights and the modeldeck.dev/stable annotation in one patch: the promoted version is stable from then on.
		expect(plan.traffic.map((write) => write.change)).toEqual(['v12 90% → 0%, v13 10% → 100%; v13 marked stable (modeldeck.dev/stable)']);
		expect(plan.traffic[0]!.patch.at(-1)).toEqual({op: 'add', path: '/metadata/annotations/modeldeck.dev~1stable', value: 'v13'});
		expect(plan.scaleDown).toMatchObject([
			{
				object: 'Deployment/fraud-detector-v12',
				patch: [
					{op: 'test', path: '/spec/replicas', value: 3},
					{op: 'replace', path: '/spec/replicas', value: 0},
				],
			},
		]);
		expect(planPromote(analysis('shapes-httproute', 'fraud-detector'), 'v13', true).scaleDown).toEqual([]);
		expect(() => planPromote(analysis('shapes-httproute', 'fraud-detector'), 'v12', false)).toThrow(
			'v12 is already the stable version of fraud-detector',
		);
	});

	it('promote on KServe drops canaryTrafficPercent, rollback sets it to 0', () => {
		const sentiment = analysis('shapes-kserve', 'sentiment');
		expect(planPromote(sentiment, 'sentiment-predictor-00002', false)).toMatchObject({
			traffic: [
				{
					patch: [
						{op: 'test', path: '/spec/predictor/canaryTrafficPercent', value: 20},
						{op: 'remove', path: '/spec/predictor/canaryTrafficPercent'},
					],
				},
			],
			scaleDown: [],
		});
		expect(planRollbackTraffic(sentiment, 'sentiment-predictor-00002')[0]!.patch).toEqual([
			{op: 'test', path: '/spec/predictor/canaryTrafficPercent', value: 20},
			{op: 'replace', path: '/spec/predictor/canaryTrafficPercent', value: 0},
		]);
		expect(planSwitch(sentiment, 'sentiment-predictor-00001')[0]!.patch[1]).toEqual({
			op: 'replace',
			path: '/spec/predictor/canaryTrafficPercent',
			value: 0,
		});
		expect(() => planSetWeight(analysis('shapes-kserve', 'summarizer'), 'summarizer-predictor-00003', 10)).toThrow(/stable version/);
	});

	it('promote without a router scales the canary up to the model size and the rest to zero, canary first', () => {
		const writes = planPromote(analysis('shapes-replicas', 'churn'), 'v2', true).traffic;
		expect(writes.map((write) => write.change)).toEqual(['v2 1 → 4 replicas', 'v1 3 → 0 replicas']);
	});

	it('rollback: canary to 0, the stable takes its share; switch: everything to one version in one write', () => {
		expect(planRollbackTraffic(analysis('shapes-istio', 'recommender'), 'v2').map((write) => write.change)).toEqual([
			'v1 80% → 100%, v2 20% → 0%',
		]);
		expect(planRollbackTraffic(analysis('odd-b', 'scorer'), 'v1')).toEqual([]);
		const switched = planSwitch(analysis('shapes-istio', 'ranker'), 'v4');
		expect(switched).toHaveLength(1);
		expect(switched[0]!.change).toBe('v3 50% → 0%, v4 50% → 100%; v4 marked stable (modeldeck.dev/stable)');
	});
});

describe('planTemplateUndo', () => {
	const snapshot = loadFixture('shapes-httproute');
	const base = snapshot.deployments.find((item) => item.metadata?.name === 'fraud-detector-v13')!;
	const firstReplicaSet = snapshot.replicaSets.find((item) => item.metadata?.name?.startsWith('fraud-detector-v13'))!;

	function history(): {deployment: Deployment; replicaSets: ReplicaSet[]} {
		const deployment = structuredClone(base);
		deployment.metadata!.annotations = {'deployment.kubernetes.io/revision': '2', 'kubectl.kubernetes.io/last-applied-configuration': '{}'};
		deployment.spec!.template!.spec!.containers![0]!.image = 'registry.example/fraud:v13-bad';
		const first = structuredClone(firstReplicaSet);
		first.metadata!.annotations = {...first.metadata!.annotations, 'kubernetes.io/change-cause': 'v13 first'};
		const second = structuredClone(firstReplicaSet);
		second.metadata!.name = 'fraud-detector-v13-bad';
		second.metadata!.annotations = {...second.metadata!.annotations, 'deployment.kubernetes.io/revision': '2'};
		second.spec!.template!.spec!.containers![0]!.image = 'registry.example/fraud:v13-bad';
		const unrelated = structuredClone(firstReplicaSet);
		unrelated.metadata!.ownerReferences = [{kind: 'Deployment', name: 'other', uid: 'other-uid'}];
		unrelated.metadata!.annotations = {'deployment.kubernetes.io/revision': '7'};
		return {deployment, replicaSets: [first, second, unrelated]};
	}

	it('restores the previous revision template without its pod-template-hash, guarded by the template as read', () => {
		const {deployment, replicaSets} = history();
		const write = planTemplateUndo(deployment, replicaSets)!;
		expect(write.change).toBe('template of revision 1 restored (was revision 2)');
		expect(write.patch[0]).toEqual({op: 'test', path: '/spec/template', value: deployment.spec!.template});
		const template = write.patch[1]!.value as {metadata: {labels: Record<string, string>}; spec: {containers: Array<{image: string}>}};
		expect(write.patch[1]!.path).toBe('/spec/template');
		expect(template.spec.containers[0]!.image).toBe('registry.example/fraud:v13');
		expect(template.metadata.labels['pod-template-hash']).toBeUndefined();
		expect(template.metadata.labels['app.kubernetes.io/version']).toBe('v13');
		// kubectl's rule: the Deployment keeps its own revision and last-applied annotations, the rest comes from the ReplicaSet.
		expect(write.patch[2]).toEqual({
			op: 'add',
			path: '/metadata/annotations',
			value: {
				'deployment.kubernetes.io/revision': '2',
				'kubectl.kubernetes.io/last-applied-configuration': '{}',
				'kubernetes.io/change-cause': 'v13 first',
			},
		});
		// The ReplicaSet the fixture came from is untouched.
		expect(replicaSets[0]!.spec!.template!.metadata!.labels!['pod-template-hash']).toBeDefined();
	});

	it('nothing to restore at revision 1; a paused Deployment is refused', () => {
		expect(planTemplateUndo(base, snapshot.replicaSets)).toBeUndefined();
		const {deployment, replicaSets} = history();
		deployment.spec!.paused = true;
		expect(() => planTemplateUndo(deployment, replicaSets)).toThrow(/is paused: resume it/);
	});
});
