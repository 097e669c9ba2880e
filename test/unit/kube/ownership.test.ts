import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {analyseModels} from '../../../source/adapters/kube/build-models.ts';
import {findOwner} from '../../../source/adapters/kube/discovery/ownership.ts';
import type {KubeObject} from '../../../source/adapters/kube/objects.ts';
import {PlanError} from '../../../source/adapters/kube/plans.ts';
import {refuseDirectChange, refuseOwnedWrites} from '../../../source/adapters/kube/owned-writes.ts';
import {loadFixture} from '../../fixtures/kube/load.ts';
import {rolloutObject} from '../../fixtures/kube/argo-rollouts.ts';

const owners = [
	{apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', controller: 'Argo Rollouts', command: /^kubectl argo rollouts promote /},
	{apiVersion: 'flagger.app/v1beta1', kind: 'Canary', controller: 'Flagger', command: /^kubectl edit canary\//},
	{apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', controller: 'KServe', command: /^kubectl patch inferenceservice /},
	{apiVersion: 'serving.knative.dev/v1', kind: 'Route', controller: 'Knative', command: /^kubectl edit route\//},
	{apiVersion: 'serving.knative.dev/v1', kind: 'Service', controller: 'Knative', command: /^kn service update /},
	{apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', controller: 'Knative', command: /^kubectl edit ingress\//},
] as const;

const managers = [
	{manager: 'rollouts-controller', labels: {}, controller: 'Argo Rollouts'},
	{manager: 'flagger', labels: {}, controller: 'Flagger'},
	{manager: 'manager', labels: {'serving.kserve.io/inferenceservice': 'fraud'}, controller: 'KServe'},
	{manager: 'controller', labels: {'serving.knative.dev/route': 'fraud'}, controller: 'Knative'},
] as const;

/** Managers people and tools write with, which own nothing. */
const bystanders = fc.constantFrom(
	'kubectl-client-side-apply',
	'kubectl-edit',
	'kubectl-patch',
	'helm',
	'argocd-controller',
	'kube-controller-manager',
	'modeldeck',
	'manager',
	'controller',
);
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const kind = fc.constantFrom('HTTPRoute', 'VirtualService', 'Deployment', 'TrafficSplit');

function object(metadata: Record<string, unknown>): KubeObject {
	return {metadata: {name: 'fraud-route', namespace: 'ml', ...metadata}};
}

describe('findOwner', () => {
	it('ownerReferences to a controller’s object: that controller, the object, the evidence and its command', () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...owners),
				name,
				kind,
				fc.array(fc.record({apiVersion: fc.constantFrom('v1', 'apps/v1', 'example.com/v1'), kind: fc.string(), name}), {maxLength: 3}),
				(owner, ownerName, objectKind, others) => {
					const found = findOwner(
						objectKind,
						object({ownerReferences: [...others, {apiVersion: owner.apiVersion, kind: owner.kind, name: ownerName, controller: true}]}),
					);
					expect(found).toMatchObject({
						controller: owner.controller,
						object: `${owner.kind}/${ownerName}`,
						evidence: `ownerReferences ${owner.kind}/${ownerName}`,
					});
					expect(found?.command).toMatch(owner.command);
					expect(found?.command).toContain(ownerName);
				},
			),
		);
	});

	it('the managedFields manager of a controller owns the object, whatever else wrote it', () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...managers),
				fc.array(bystanders, {maxLength: 4}),
				fc.nat(),
				kind,
				(owner, others, position, objectKind) => {
					const entries: Array<{manager: string; operation: string}> = others.map((manager) => ({manager, operation: 'Update'}));
					entries.splice(position % (entries.length + 1), 0, {manager: owner.manager, operation: 'Update'});
					const found = findOwner(objectKind, object({managedFields: entries, labels: owner.labels}));
					expect(found).toMatchObject({controller: owner.controller, evidence: `managedFields manager ${owner.manager}`});
				},
			),
		);
	});

	it('objects written only by people and tools have no owner', () => {
		fc.assert(
			fc.property(
				fc.array(bystanders, {maxLength: 5}),
				fc.dictionary(fc.constantFrom('app', 'team', 'app.kubernetes.io/name'), name),
				kind,
				(written, labels, objectKind) => {
					expect(findOwner(objectKind, object({managedFields: written.map((manager) => ({manager})), labels}))).toBeUndefined();
				},
			),
		);
	});

	it('a Rollout naming the object in its strategy owns it, though it holds no reference to it', () => {
		const rollout = rolloutObject();
		expect(findOwner('VirtualService', object({name: 'fraud-vs'}), [rollout])).toMatchObject({
			controller: 'Argo Rollouts',
			object: 'Rollout/fraud',
			evidence: 'named by Rollout/fraud spec.strategy',
		});
		expect(findOwner('Service', object({name: 'fraud-canary'}), [rollout])?.controller).toBe('Argo Rollouts');
		// Another namespace's Rollout names another object.
		expect(findOwner('VirtualService', object({name: 'fraud-vs', namespace: 'other'}), [rollout])).toBeUndefined();
	});

	it('the controllers’ labels and annotations', () => {
		expect(findOwner('VirtualService', object({labels: {'serving.kserve.io/inferenceservice': 'fraud'}}))).toMatchObject({
			controller: 'KServe',
			object: 'InferenceService/fraud',
		});
		expect(findOwner('Service', object({annotations: {'argo-rollouts.argoproj.io/managed-by-rollouts': 'fraud'}}))).toMatchObject({
			controller: 'Argo Rollouts',
			object: 'Rollout/fraud',
		});
		expect(findOwner('Deployment', object({name: 'fraud-primary', labels: {'app.kubernetes.io/managed-by': 'flagger'}}))).toMatchObject({
			controller: 'Flagger',
			object: 'Canary/fraud',
		});
	});

	it('never throws on any metadata an API server (or anything else) could send', () => {
		fc.assert(
			fc.property(fc.anything(), kind, (metadata, objectKind) => {
				const found = findOwner(objectKind, {metadata} as KubeObject);
				if (found) expect(typeof found.controller).toBe('string');
			}),
			{numRuns: 500},
		);
	});
});

describe('the ownership pass and the refusal of owned writes', () => {
	it('an annotated HTTPRoute written by Argo Rollouts: the model gets the owner, and a weight change is refused with its command', () => {
		const snapshot = loadFixture('shapes-httproute');
		const route = snapshot.httpRoutes.find((candidate) => candidate.metadata?.name === 'fraud-detector')!;
		route.metadata!.managedFields = [{manager: 'kubectl-create'}, {manager: 'rollouts-controller'}];
		route.metadata!.annotations = {...route.metadata!.annotations, 'argo-rollouts.argoproj.io/managed-by-rollouts': 'fraud-detector'};
		const analysis = analyseModels(snapshot).find((candidate) => candidate.model.name === 'fraud-detector')!;
		expect(analysis.model.owner).toMatchObject({
			controller: 'Argo Rollouts',
			object: 'Rollout/fraud-detector',
			evidence: 'managedFields manager rollouts-controller',
		});
		const action = {
			kind: 'set-weight',
			model: {namespace: analysis.model.namespace, name: 'fraud-detector'},
			canary: 'v13',
			from: 10,
			to: 20,
		} as const;
		expect(() => refuseDirectChange(analysis, action)).toThrow(PlanError);
		expect(() => refuseDirectChange(analysis, action)).toThrow(
			`Argo Rollouts owns HTTPRoute/fraud-detector: use kubectl argo rollouts promote fraud-detector -n shapes-httproute; modeldeck does not write behind a controller, which would revert it (Rollout/fraud-detector, managedFields manager rollouts-controller)`,
		);
	});

	it('a model nobody owns plans as before', () => {
		const analysis = analyseModels(loadFixture('shapes-httproute')).find((candidate) => candidate.model.name === 'fraud-detector')!;
		expect(analysis.model.owner).toBeUndefined();
		expect(() =>
			refuseDirectChange(analysis, {kind: 'set-weight', model: {namespace: 'x', name: 'fraud-detector'}, canary: 'v13', from: 10, to: 20}),
		).not.toThrow();
		expect(() => refuseOwnedWrites(analysis, [{object: 'HTTPRoute/fraud-detector'}])).not.toThrow();
	});

	it('a Deployment owned by a Flagger Canary is never scaled behind it', () => {
		const snapshot = loadFixture('shapes-replicas');
		const models = analyseModels(snapshot);
		const target = models.find((candidate) => Object.keys(candidate.deployments).length > 0)!;
		const deploymentName = Object.values(target.deployments)[0]!;
		const deployment = snapshot.deployments.find((candidate) => candidate.metadata?.name === deploymentName)!;
		deployment.metadata!.ownerReferences = [{apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: 'fraud', controller: true}];
		const analysis = analyseModels(snapshot).find((candidate) => candidate.model.name === target.model.name)!;
		expect(analysis.owned?.[`Deployment/${deploymentName}`]).toMatchObject({controller: 'Flagger', object: 'Canary/fraud'});
		expect(() => refuseOwnedWrites(analysis, [{object: `Deployment/${deploymentName}`}])).toThrow(
			/^Flagger owns Deployment\/\S+: use kubectl edit canary\/fraud -n \S+ .*\(Canary\/fraud, ownerReferences Canary\/fraud\)$/,
		);
	});
});
