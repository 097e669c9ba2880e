import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {DeliverySpec} from '../../../source/domain/delivery.ts';
import {defaultConventions} from '../../../source/adapters/kube/conventions.ts';
import {derivedName, newDeployment, newService} from '../../../source/adapters/kube/delivery/new-version.ts';
import type {Deployment, Service} from '../../../source/adapters/kube/objects.ts';
import {PlanError} from '../../../source/adapters/kube/plans.ts';

const versionLabel = defaultConventions.versionLabel;
const spec: DeliverySpec = {
	model: {namespace: 'ml', name: 'fraud'},
	image: 'registry/fraud:v13',
	version: 'v13',
	steps: [5, 100],
	pauseSeconds: 1,
	readyTimeoutSeconds: 10,
	maxHolds: 0,
	requestedBy: 'alice',
};

const stable: Deployment = {
	metadata: {name: 'fraud-v12', namespace: 'ml', labels: {'modeldeck.dev/model': 'fraud', [versionLabel]: 'v12'}, resourceVersion: '7'},
	spec: {
		replicas: 3,
		selector: {matchLabels: {'modeldeck.dev/model': 'fraud', [versionLabel]: 'v12', pod: 'fraud-v12'}},
		template: {
			metadata: {
				labels: {'modeldeck.dev/model': 'fraud', [versionLabel]: 'v12', pod: 'fraud-v12'},
				annotations: {'kubectl.kubernetes.io/default-container': 'model'},
			},
			spec: {
				containers: [
					{name: 'proxy', image: 'envoy'},
					{name: 'model', image: 'registry/fraud:v12'},
				],
				nodeSelector: {a: 'b'},
			},
		},
	},
};

describe('derivedName', () => {
	it('swaps the stable version at the end of the name, else appends the new one', () => {
		expect(derivedName('fraud-v12', 'v12', 'v13')).toBe('fraud-v13');
		expect(derivedName('fraud', 'v12', 'v13')).toBe('fraud-v13');
		expect(derivedName('v12', 'v12', 'v13')).toBe('v12-v13');
	});

	it('always gives a name of at most 63 characters not ending in a separator', () => {
		fc.assert(
			fc.property(
				fc.stringMatching(/^[a-z][-a-z0-9]{0,62}$/),
				fc.stringMatching(/^[a-z0-9]{1,10}$/),
				fc.stringMatching(/^[a-z0-9][-a-z0-9.]{0,62}$/),
				(name, old, version) => {
					const derived = derivedName(name, old, version);
					expect(derived.length).toBeLessThanOrEqual(63);
					expect(derived).not.toMatch(/[-.]$/);
				},
			),
		);
	});
});

describe('newDeployment', () => {
	it('copies the template with the new image on the stable image`s container and the new version label', () => {
		const created = newDeployment(stable, 'v12', spec, defaultConventions, 'ml/fraud@1');
		expect(created.metadata?.name).toBe('fraud-v13');
		expect(created.metadata?.resourceVersion).toBeUndefined();
		expect(created.spec?.replicas).toBe(3);
		expect(created.spec?.template?.spec?.containers?.map((container) => container.image)).toEqual(['envoy', 'registry/fraud:v13']);
		expect(created.spec?.selector?.matchLabels).toEqual({'modeldeck.dev/model': 'fraud', [versionLabel]: 'v13', pod: 'fraud-v13'});
		expect(created.spec?.template?.metadata?.labels).toEqual(created.spec?.selector?.matchLabels);
		expect(created.spec?.template?.spec?.nodeSelector).toEqual({a: 'b'});
		// The stable one is not changed.
		expect(stable.spec?.template?.spec?.containers?.[1]?.image).toBe('registry/fraud:v12');
	});

	it('refuses a stable Deployment whose selector would also select the new pods', () => {
		const loose = {...stable, spec: {...stable.spec, selector: {matchLabels: {'modeldeck.dev/model': 'fraud'}}}};
		expect(() => newDeployment(loose, 'v12', spec, defaultConventions, 'x')).toThrow(PlanError);
		expect(() => newDeployment(loose, 'v12', spec, defaultConventions, 'x')).toThrow(/selector has no app.kubernetes.io\/version/);
	});

	it('for any Deployment from the cluster: a PlanError, or a Deployment whose pods its selector selects and the stable`s does not', () => {
		const labels = fc.dictionary(fc.constantFrom('a', 'b', versionLabel, 'pod'), fc.constantFrom('x', 'v12', 'fraud-v12'));
		const anyDeployment = fc.record(
			{
				metadata: fc.record({name: fc.constantFrom('fraud-v12', 'fraud', 'x')}, {requiredKeys: []}),
				spec: fc.record(
					{
						replicas: fc.integer({min: 0, max: 5}),
						selector: fc.record({matchLabels: labels}, {requiredKeys: []}),
						template: fc.record(
							{
								metadata: fc.record({labels}, {requiredKeys: []}),
								spec: fc.record({
									containers: fc.array(fc.record({image: fc.constantFrom('registry/fraud:v12', 'envoy')}, {requiredKeys: []})),
								}),
							},
							{requiredKeys: []},
						),
					},
					{requiredKeys: []},
				),
			},
			{requiredKeys: []},
		) as fc.Arbitrary<Deployment>;
		fc.assert(
			fc.property(anyDeployment, (deployment) => {
				let created: Deployment;
				try {
					created = newDeployment(deployment, 'v12', spec, defaultConventions, 'x');
				} catch (error) {
					expect(error).toBeInstanceOf(PlanError);
					return;
				}

				const selector = created.spec?.selector?.matchLabels ?? {};
				const podLabels = created.spec?.template?.metadata?.labels ?? {};
				for (const [key, value] of Object.entries(selector)) expect(podLabels[key]).toBe(value);
				expect(selector[versionLabel]).toBe('v13');
				const stableSelector = deployment.spec?.selector?.matchLabels ?? {};
				expect(Object.entries(stableSelector).every(([key, value]) => podLabels[key] === value)).toBe(false);
				expect(created.spec?.template?.spec?.containers?.some((container) => container.image === spec.image)).toBe(true);
			}),
			{numRuns: 300},
		);
	});
});

describe('newService', () => {
	it('selects the new version with the stable`s ports, and refuses a Service shared by all versions', () => {
		const stableService: Service = {
			metadata: {name: 'fraud-v12'},
			spec: {selector: {'modeldeck.dev/model': 'fraud', [versionLabel]: 'v12'}, ports: [{name: 'http', port: 80}]},
		};
		const created = newService(stableService, 'v12', spec, defaultConventions, 'x');
		expect(created.metadata?.name).toBe('fraud-v13');
		expect(created.spec).toEqual({selector: {'modeldeck.dev/model': 'fraud', [versionLabel]: 'v13'}, ports: [{name: 'http', port: 80}]});
		expect(() =>
			newService({...stableService, spec: {selector: {'modeldeck.dev/model': 'fraud'}}}, 'v12', spec, defaultConventions, 'x'),
		).toThrow(/selects no app.kubernetes.io\/version/);
	});
});
