import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {deliveryAnnotation, encodeDeliveryState, startDelivery} from '../../../source/domain/delivery.ts';
import {buildModels, type ClusterSnapshot} from '../../../source/adapters/kube/build-models.ts';
import {deployment, httpRoute, service} from '../../fixtures/kube/manifests.ts';

function snapshot(annotation: string): ClusterSnapshot {
	const route = httpRoute('ml', 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]) as {
		metadata: {annotations: Record<string, string>};
	};
	route.metadata.annotations[deliveryAnnotation] = annotation;
	return {
		deployments: [deployment({namespace: 'ml', model: 'fraud', version: 'v1'})],
		services: [service('ml', 'fraud-v1', 'fraud', 'v1')],
		httpRoutes: [route],
	} as ClusterSnapshot;
}

describe('discovery of a delivery kept on the router', () => {
	it('shows the state as Model.delivery', () => {
		const {state} = startDelivery(
			{
				model: {namespace: 'ml', name: 'fraud'},
				image: 'i',
				version: 'v2',
				steps: [50, 100],
				pauseSeconds: 1,
				readyTimeoutSeconds: 5,
				maxHolds: 0,
				requestedBy: 'a',
			},
			'v1',
			'weights',
			5,
		);
		const [model] = buildModels(snapshot(encodeDeliveryState(state)));
		expect(model?.delivery).toEqual(state);
		expect(model?.warnings ?? []).toEqual([]);
	});

	it('never crashes on whatever the annotation holds: a bad one is a warning saying how to fix it', () => {
		fc.assert(
			fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
				const [model] = buildModels(snapshot(text));
				expect(model?.name).toBe('fraud');
				if (!model?.delivery) expect(model?.warnings?.join('\n')).toMatch(/remove the annotation or start the rollout again/);
			}),
			{numRuns: 300},
		);
	});
});
