/** What the watch keeps of Deployments, ReplicaSets and Pods: the fields discovery reads, on any input. */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {findOwner} from '../../../source/adapters/kube/discovery/ownership.ts';
import {trimDeployment, trimManagedFields, trimPod, trimReplicaSet} from '../../../source/adapters/kube/trim.ts';
import {loadUnlabelledFixture} from '../../fixtures/kube/unlabelled.ts';

const trimmers = {trimDeployment, trimReplicaSet, trimPod};

describe('trim', () => {
	it("never throws, keeps what the informer's cache is keyed by, and trimming twice changes nothing", () => {
		const meta = fc.record(
			{name: fc.string(), namespace: fc.string(), resourceVersion: fc.string(), managedFields: fc.anything(), annotations: fc.anything()},
			{requiredKeys: []},
		);
		const object = fc.oneof(fc.anything(), fc.record({metadata: meta, spec: fc.anything(), status: fc.anything()}, {requiredKeys: []}));
		for (const trim of Object.values(trimmers)) {
			fc.assert(
				fc.property(object, (input) => {
					const once = trim(input) as {metadata?: Record<string, unknown>};
					expect(trim(once)).toEqual(once);
					const metadata = (input as {metadata?: unknown})?.metadata;
					if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
						const original = metadata as Record<string, unknown>;
						for (const key of ['name', 'namespace', 'resourceVersion']) expect(once.metadata?.[key]).toEqual(original[key]);
						expect(once.metadata && 'managedFields' in once.metadata).toBe(false);
					}
				}),
				{numRuns: 200},
			);
		}
	});

	it("drops managedFields, the last-applied copy, a ReplicaSet's template and a pod's volumes and env", () => {
		const snapshot = loadUnlabelledFixture();
		const pod = {
			...snapshot.pods[0]!,
			metadata: {
				...snapshot.pods[0]!.metadata,
				managedFields: [{manager: 'kubelet'}],
				annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'yes'},
			},
		};
		const trimmed = trimPod(pod) as typeof pod;
		expect(trimmed.metadata).not.toHaveProperty('managedFields');
		expect(trimmed.metadata?.annotations).toEqual({keep: 'yes'});
		expect(Object.keys(trimmed.spec ?? {})).toEqual(['containers']);
		// The API server's defaults (terminationMessagePath, imagePullPolicy, ...) go; the resources stay.
		expect(trimmed.spec?.containers?.[0]).toEqual({name: 'server', image: pod.spec?.containers?.[0]?.image, resources: {}});
		const replicaSet = trimReplicaSet(snapshot.replicaSets[0]) as (typeof snapshot.replicaSets)[0];
		expect(replicaSet).not.toHaveProperty('spec');
		expect(replicaSet.metadata?.ownerReferences).toEqual(snapshot.replicaSets[0]!.metadata?.ownerReferences);
	});
});

describe('trimManagedFields', () => {
	const manager = fc.constantFrom(
		'rollouts-controller',
		'flagger',
		'manager',
		'kubectl-client-side-apply',
		'kube-controller-manager',
		'modeldeck',
	);
	const entry = fc.record(
		{manager, operation: fc.constantFrom('Apply', 'Update'), fieldsType: fc.constant('FieldsV1'), fieldsV1: fc.anything()},
		{requiredKeys: ['manager']},
	);
	const routed = fc.record({
		kind: fc.constantFrom('HTTPRoute', 'VirtualService', 'TrafficSplit', 'Service'),
		metadata: fc.record(
			{
				name: fc.string({minLength: 1}),
				namespace: fc.constantFrom('ml', 'team-a'),
				resourceVersion: fc.string(),
				managedFields: fc.array(entry, {maxLength: 4}),
				labels: fc.dictionary(fc.constantFrom('app', 'app.kubernetes.io/managed-by', 'flagger'), fc.string()),
				annotations: fc.dictionary(fc.constantFrom('kubectl.kubernetes.io/last-applied-configuration', 'modeldeck.dev/model'), fc.string()),
			},
			{requiredKeys: ['name', 'namespace', 'managedFields']},
		),
		spec: fc.anything(),
	});

	it('keeps who wrote an object and drops the field sets: ownership is found the same on the trimmed object', () => {
		fc.assert(
			fc.property(routed, (object) => {
				const trimmed = trimManagedFields(object) as typeof object;
				expect(trimManagedFields(trimmed)).toEqual(trimmed);
				expect(findOwner(object.kind, trimmed)).toEqual(findOwner(object.kind, object));
				expect(JSON.stringify(trimmed.metadata.managedFields)).not.toContain('fieldsV1');
				expect(trimmed.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
				expect(trimmed.spec).toEqual(object.spec);
			}),
			{numRuns: 300},
		);
	});

	it('never throws on anything', () => {
		fc.assert(fc.property(fc.anything(), (input) => void trimManagedFields(input)));
	});
});
