import {trimManagedFields} from '../../../source/adapters/kube/trim.ts';
import {describe, expect, it} from 'vitest';
import {backoffDelay, defaultBackoff, watchedKinds} from '../../../source/adapters/kube/watch.ts';
import {defaultConventions} from '../../../source/adapters/kube/conventions.ts';

describe('watch restarts', () => {
	it('back off exponentially from 1 s to a 30 s cap', () => {
		expect([1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => backoffDelay(attempt))).toEqual([
			1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
		]);
		expect(defaultBackoff.absentRecheckMs).toBe(60_000);
	});

	it('watch every kind discovery needs, workloads without a label selector (models are found without our labels); custom resources and autoscalers are optional', () => {
		const kinds = watchedKinds({...defaultConventions, modelLabel: 'team'});
		expect(
			kinds.map(
				(kind) =>
					`${kind.type.plural}${kind.labelSelector ? `?${kind.labelSelector}` : ''}${kind.fieldSelector ? `#${kind.fieldSelector}` : ''}${kind.optional ? ' (optional)' : ''}`,
			),
		).toEqual([
			'deployments',
			'replicasets',
			'pods',
			'services',
			'horizontalpodautoscalers (optional)',
			'httproutes (optional)',
			'virtualservices (optional)',
			'destinationrules (optional)',
			'inferenceservices (optional)',
			'trafficsplits (optional)',
			'models (optional)',
			'experiments (optional)',
			'rollouts (optional)',
			'analysisruns (optional)',
			'canaries (optional)',
			'events#involvedObject.kind=Canary (optional)',
			'deliveries (optional)',
		]);
		// Workloads are cut to what discovery reads; every other kind but Events keeps all but its managedFields' field
		// sets (ownership reads the managers).
		expect(kinds.filter((kind) => kind.trim && kind.trim !== trimManagedFields).map((kind) => kind.key)).toEqual([
			'deployments',
			'replicaSets',
			'pods',
		]);
		expect(kinds.filter((kind) => !kind.trim).map((kind) => kind.key)).toEqual(['canaryEvents']);
	});
});
