import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {describeAction, parseAction} from '../../../source/agent/actions/validate.ts';
import {actionPermissions} from '../../../source/agent/auth/permissions.ts';
import {deliverySpecProblems} from '../../../source/domain/delivery.ts';

const model = {namespace: 'ml', name: 'fraud'};

describe('parseAction: deliver and delivery', () => {
	it('reads a deliver with defaults for what is left out, the model being the action`s', () => {
		const action = parseAction({
			kind: 'deliver',
			model,
			spec: {image: 'registry/fraud:v13', version: 'v13', model: {namespace: 'x', name: 'y'}},
		});
		expect(action).toEqual({
			kind: 'deliver',
			model,
			spec: {
				model,
				image: 'registry/fraud:v13',
				version: 'v13',
				steps: [5, 25, 50, 100],
				pauseSeconds: 120,
				readyTimeoutSeconds: 300,
				maxHolds: 2,
				requestedBy: '',
			},
		});
		expect(describeAction(action as never).action).toBe('deliver v13 (registry/fraud:v13) steps 5,25,50,100');
		// A plan that named the version itself (a KServe revision) keeps the name asked for as its label.
		const planned = parseAction({kind: 'deliver', model, spec: {image: 'i', version: 'fraud-predictor-00003', versionLabel: 'v13'}});
		expect(planned).toMatchObject({spec: {version: 'fraud-predictor-00003', versionLabel: 'v13'}});
		expect(parseAction({kind: 'delivery', model, command: 'abort'})).toEqual({kind: 'delivery', model, command: 'abort'});
	});

	it('says what is wrong and how to fix it', () => {
		expect(parseAction({kind: 'deliver', model})).toMatch(/spec must be an object \{image, version/);
		expect(parseAction({kind: 'deliver', model, spec: {version: 'v13'}})).toMatch(/spec.image must be a container image, e.g./);
		expect(parseAction({kind: 'deliver', model, spec: {image: 'i', version: 'v13', steps: [50, 10]}})).toMatch(
			/steps must go up: 50 then 10/,
		);
		expect(parseAction({kind: 'deliver', model, spec: {image: 'i', version: 'V 13'}})).toMatch(/not a version name/);
		expect(parseAction({kind: 'deliver', model, spec: {image: 'i', version: 'v13', pauseSeconds: -1}})).toMatch(
			/spec.pauseSeconds must be a number from 0/,
		);
		expect(parseAction({kind: 'deliver', model, spec: {image: 'i', version: 'v13', versionLabel: 'v 13'}})).toMatch(
			/spec.versionLabel must be a label value/,
		);
		expect(parseAction({kind: 'delivery', model, command: 'stop'})).toBe('command must be one of pause, resume, abort');
		expect(parseAction({kind: 'deliver', model, expected: {v1: 100}, spec: {image: 'i', version: 'v2'}})).toBe(
			'expected is only for traffic changes, not deliver',
		);
	});

	it('never throws on any body, and whatever it accepts is a spec the domain accepts', () => {
		const spec = fc.record(
			{
				image: fc.oneof(fc.string(), fc.constant('registry/fraud:v13'), fc.integer()),
				version: fc.oneof(fc.string(), fc.constantFrom('v13', '1.2.0'), fc.constant(null)),
				steps: fc.oneof(fc.array(fc.oneof(fc.integer({min: -5, max: 120}), fc.double(), fc.string())), fc.constant('5,25')),
				pauseSeconds: fc.oneof(fc.double(), fc.integer({min: 0, max: 600})),
				readyTimeoutSeconds: fc.oneof(fc.double(), fc.integer({min: 1, max: 600})),
				maxHolds: fc.oneof(fc.double(), fc.integer({min: 0, max: 5})),
				requestedBy: fc.oneof(fc.string(), fc.integer()),
			},
			{requiredKeys: []},
		);
		const body = fc.oneof(
			fc.record(
				{kind: fc.constant('deliver'), model: fc.oneof(fc.constant(model), fc.jsonValue()), spec: fc.oneof(spec, fc.jsonValue())},
				{requiredKeys: ['kind']},
			),
			fc.record(
				{
					kind: fc.constant('delivery'),
					model: fc.oneof(fc.constant(model), fc.jsonValue()),
					command: fc.oneof(fc.constantFrom('pause', 'resume', 'abort'), fc.string()),
				},
				{requiredKeys: ['kind']},
			),
			fc.jsonValue(),
		);
		fc.assert(
			fc.property(body, (value) => {
				const parsed = parseAction(value);
				if (typeof parsed === 'string') {
					expect(parsed.length).toBeGreaterThan(0);
					return;
				}

				if (parsed.kind === 'deliver') {
					expect(deliverySpecProblems(parsed.spec)).toEqual([]);
					expect(parsed.spec.model).toEqual(parsed.model);
				}
			}),
			{numRuns: 2000},
		);
	});
});

describe('permissions of deliver and delivery', () => {
	const httpModel = {namespace: 'ml', name: 'fraud', router: 'httproute' as const, routerObject: 'HTTPRoute/fraud-route', versions: []};
	it('a deliver needs to create Deployments and Services and patch the router and Deployments', () => {
		const spec = {model, image: 'i', version: 'v2', steps: [100], pauseSeconds: 0, readyTimeoutSeconds: 1, maxHolds: 0, requestedBy: ''};
		expect(actionPermissions({kind: 'deliver', model, spec}, () => httpModel)).toEqual([
			{verb: 'create', group: 'apps', resource: 'deployments', namespace: 'ml'},
			{verb: 'create', group: '', resource: 'services', namespace: 'ml'},
			{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'ml', name: 'fraud-route'},
			{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'ml'},
		]);
		const istio = {...httpModel, router: 'virtualservice' as const, routerObject: 'VirtualService/fraud'};
		expect(actionPermissions({kind: 'deliver', model, spec}, () => istio)).toContainEqual({
			verb: 'patch',
			group: 'networking.istio.io',
			resource: 'destinationrules',
			namespace: 'ml',
		});
		expect(actionPermissions({kind: 'delivery', model, command: 'abort'}, () => httpModel)).toEqual([
			{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'ml', name: 'fraud-route'},
			{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'ml'},
		]);
		expect(actionPermissions({kind: 'delivery', model, command: 'pause'}, () => undefined)).toMatchObject({notFound: expect.any(String)});
		// A KServe InferenceService: the image and canaryTrafficPercent are all a rollout of it changes.
		const kserve = {...httpModel, router: 'kserve' as const, routerObject: 'InferenceService/fraud'};
		const patchInferenceService = {
			verb: 'patch',
			group: 'serving.kserve.io',
			resource: 'inferenceservices',
			namespace: 'ml',
			name: 'fraud',
		};
		expect(actionPermissions({kind: 'deliver', model, spec}, () => kserve)).toEqual([patchInferenceService]);
		expect(actionPermissions({kind: 'delivery', model, command: 'abort'}, () => kserve)).toEqual([patchInferenceService]);
	});
});
