import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {analyseModels, type ModelAnalysis} from '../../../source/adapters/kube/build-models.ts';
import {haltedMetric} from '../../../source/adapters/kube/discovery/flagger.ts';
import {refuseControllerOwned} from '../../../source/adapters/kube/flagger-actions.ts';
import type {Deployment, Service, VirtualService} from '../../../source/adapters/kube/objects.ts';
import type {CanaryEvent, FlaggerCanary} from '../../../source/adapters/kube/objects/flagger.ts';

const namespace = 'ml';

function deployment(
	name: string,
	image: string,
	replicas: number,
	ready: number,
	labels: Record<string, string> = {app: name},
): Deployment {
	return {
		apiVersion: 'apps/v1',
		kind: 'Deployment',
		metadata: {name, namespace, creationTimestamp: '2026-12-07T01:00:00Z', labels},
		spec: {
			replicas,
			selector: {matchLabels: {app: name}},
			template: {metadata: {labels: {app: name}}, spec: {containers: [{name: 'server', image}]}},
		},
		status: {replicas, readyReplicas: ready},
	};
}

function canary(status: FlaggerCanary['status'], analysis: Record<string, unknown> = {}): FlaggerCanary {
	return {
		apiVersion: 'flagger.app/v1beta1',
		kind: 'Canary',
		metadata: {name: 'fraud', namespace, resourceVersion: '42'},
		spec: {
			provider: 'istio',
			targetRef: {apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud'},
			service: {port: 8080},
			analysis: {
				interval: '1m',
				threshold: 5,
				maxWeight: 50,
				stepWeight: 10,
				metrics: [
					{name: 'request-success-rate', thresholdRange: {min: 99}, interval: '1m'},
					{name: 'request-duration', thresholdRange: {max: 500}, interval: '1m'},
				],
				...analysis,
			},
		},
		status,
	};
}

const progressing: FlaggerCanary['status'] = {
	phase: 'Progressing',
	canaryWeight: 30,
	failedChecks: 2,
	iterations: 0,
	lastTransitionTime: '2026-12-07T02:00:00Z',
	conditions: [
		{type: 'Promoted', status: 'Unknown', reason: 'Progressing', message: 'New revision detected, progressing canary analysis.'},
	],
};

const halt: CanaryEvent = {
	apiVersion: 'v1',
	kind: 'Event',
	metadata: {name: 'fraud.1', namespace},
	involvedObject: {kind: 'Canary', name: 'fraud', namespace},
	type: 'Warning',
	reason: 'Synced',
	message: 'Halt fraud.ml advancement success rate 45.20% < 99%',
	lastTimestamp: '2026-12-07T02:03:00Z',
};

const generated = {
	services: ['fraud', 'fraud-primary', 'fraud-canary'].map(
		(name): Service => ({metadata: {name, namespace}, spec: {selector: {app: 'fraud-primary'}}}),
	),
	virtualServices: [
		{
			metadata: {name: 'fraud', namespace},
			spec: {
				hosts: ['fraud'],
				http: [
					{
						route: [
							{destination: {host: 'fraud-primary'}, weight: 70},
							{destination: {host: 'fraud-canary'}, weight: 30},
						],
					},
				],
			},
		} satisfies VirtualService,
	],
};

function snapshot(status: FlaggerCanary['status'], events: CanaryEvent[] = [], analysis: Record<string, unknown> = {}) {
	return {
		deployments: [
			deployment('fraud', 'registry/fraud:v2', 1, 1),
			deployment('fraud-primary', 'registry/fraud:v1', 2, 2, {app: 'fraud-primary'}),
		],
		...structuredClone(generated),
		canaries: [canary(status, analysis)],
		canaryEvents: events,
	};
}

function first(analyses: ModelAnalysis[]): ModelAnalysis {
	const analysis = analyses[0];
	if (!analysis) throw new Error('no model');
	return analysis;
}

describe('Flagger Canaries as models', () => {
	it('during an analysis: primary (stable) and target (canary) at Flagger’s weight, with phase, step, checks and the failing metric’s value', () => {
		const analyses = analyseModels(snapshot(progressing, [halt]));
		expect(analyses).toHaveLength(1);
		const {model, traffic} = first(analyses);
		expect(model).toMatchObject({namespace, name: 'fraud', router: 'flagger', routerObject: 'Canary/fraud', resourceVersion: '42'});
		expect(
			model.versions.map(({name, track, weight, image, replicasReady, replicasDesired}) => ({
				name,
				track,
				weight,
				image,
				replicasReady,
				replicasDesired,
			})),
		).toEqual([
			{name: 'fraud-primary', track: 'stable', weight: 70, image: 'registry/fraud:v1', replicasReady: 2, replicasDesired: 2},
			{name: 'fraud', track: 'canary', weight: 30, image: 'registry/fraud:v2', replicasReady: 1, replicasDesired: 1},
		]);
		expect(model.rollout).toEqual({
			controller: 'flagger',
			phase: 'Progressing',
			message: 'New revision detected, progressing canary analysis.',
			failedChecks: 2,
			failedChecksLimit: 5,
			step: 3,
			totalSteps: 5,
			analysis: {
				name: 'request-success-rate ≥ 99, request-duration ≤ 500',
				phase: 'Failing',
				failingMetric: 'request-success-rate',
				detail: 'Halt fraud.ml advancement success rate 45.20% < 99%',
			},
		});
		expect(model.owner).toMatchObject({controller: 'Flagger', object: 'Canary/fraud'});
		expect(traffic.kind).toBe('flagger');
	});

	it('claims what Flagger generates: the Services and VirtualService are not shown again, nor the Deployments', () => {
		const analyses = analyseModels(snapshot({phase: 'Succeeded', canaryWeight: 0, failedChecks: 0}));
		expect(analyses.map((analysis) => analysis.model.name)).toEqual(['fraud']);
		const {model} = first(analyses);
		expect(model.versions.map(({name, track, weight}) => ({name, track, weight}))).toEqual([
			{name: 'fraud-primary', track: 'stable', weight: 100},
		]);
		expect(model.rollout).toMatchObject({phase: 'Succeeded', analysis: {phase: 'Successful'}});
		expect(model.rollout?.analysis?.failingMetric).toBeUndefined();
	});

	it('a failed canary: the primary keeps everything and the last halt says which metric and value', () => {
		const failed = {
			phase: 'Failed',
			canaryWeight: 0,
			failedChecks: 5,
			conditions: [{type: 'Promoted', status: 'False', reason: 'Failed', message: 'Canary analysis failed, Deployment scaled to zero.'}],
		};
		const {model} = first(analyseModels(snapshot(failed, [halt])));
		expect(model.versions.map(({name, weight}) => `${name} ${weight}`)).toEqual(['fraud-primary 100']);
		expect(model.rollout).toMatchObject({
			phase: 'Failed',
			failedChecks: 5,
			failedChecksLimit: 5,
			message: 'Canary analysis failed, Deployment scaled to zero.',
		});
		expect(model.rollout?.analysis).toMatchObject({phase: 'Failed', failingMetric: 'request-success-rate', detail: halt.message});
	});

	it('waiting for promotion, Flagger zeroes status.canaryWeight but its router still gives the canary its share: the router’s weights are shown', () => {
		const waiting = {phase: 'WaitingPromotion', canaryWeight: 0, failedChecks: 0};
		const input = snapshot(waiting);
		input.virtualServices[0]!.spec!.http![0]!.route = [
			{destination: {host: 'fraud-primary.ml.svc.cluster.local'}, weight: 50},
			{destination: {host: 'fraud-canary'}, weight: 50},
		];
		const {model} = first(analyseModels(input));
		expect(model.versions.map(({name, weight}) => `${name} ${weight}`)).toEqual(['fraud-primary 50', 'fraud 50']);
		expect(model.rollout).toMatchObject({phase: 'WaitingPromotion', paused: true, step: 5, totalSteps: 5});
		expect(model.discoveredBy).toBe('Canary/fraud (flagger.app), weights from VirtualService/fraud');
		// Without its router (not installed, not readable), the status's weight is all there is.
		const {model: alone} = first(analyseModels({...snapshot(waiting), virtualServices: []}));
		expect(alone.versions.map(({name, weight}) => `${name} ${weight}`)).toEqual(['fraud-primary 100', 'fraud 0']);
	});

	it('with the Gateway API provider, the weights of the HTTPRoute Flagger generated', () => {
		const input = {
			...snapshot({phase: 'WaitingPromotion', canaryWeight: 0, failedChecks: 0}),
			virtualServices: [],
			httpRoutes: [
				{
					metadata: {name: 'fraud', namespace},
					spec: {
						rules: [
							{
								backendRefs: [
									{name: 'fraud-primary', port: 8080, weight: 70},
									{name: 'fraud-canary', port: 8080, weight: 30},
								],
							},
						],
					},
				},
			],
		};
		const analyses = analyseModels(input);
		expect(analyses.map((analysis) => analysis.model.name)).toEqual(['fraud']);
		expect(first(analyses).model.versions.map(({name, weight}) => `${name} ${weight}`)).toEqual(['fraud-primary 70', 'fraud 30']);
		expect(first(analyses).model.discoveredBy).toBe('Canary/fraud (flagger.app), weights from HTTPRoute/fraud');
	});

	it('a halt from an earlier run is not shown once no check is failing', () => {
		const {model} = first(analyseModels(snapshot({...progressing, failedChecks: 0}, [halt])));
		expect(model.rollout?.analysis).toEqual({name: 'request-success-rate ≥ 99, request-duration ≤ 500', phase: 'Running'});
	});

	it('a primary modeldeck cannot see is said, weights still Flagger’s', () => {
		const {model} = first(analyseModels({...snapshot(progressing), deployments: []}));
		expect(model.versions.map(({name, weight, image}) => `${name} ${weight} ${image || '?'}`)).toEqual([
			'fraud-primary 70 ?',
			'fraud 30 ?',
		]);
		expect(model.warnings).toEqual([
			"Deployment/fraud-primary (Flagger's primary) is not among the Deployments read: its image and replicas are unknown",
		]);
	});

	it('before Flagger created the primary, the target serves all', () => {
		const analyses = analyseModels({deployments: [deployment('fraud', 'registry/fraud:v1', 1, 1)], canaries: [canary(undefined)]});
		expect(analyses[0]?.model.versions.map(({name, weight}) => `${name} ${weight}`)).toEqual(['fraud 100']);
		expect(analyses[0]?.model.rollout?.phase).toBe('Initializing');
	});

	it('the newest Halt event wins; events of other Canaries and older runs’ successes are ignored', () => {
		const older = {
			...halt,
			metadata: {name: 'fraud.0', namespace},
			message: 'Halt fraud.ml advancement request duration 1.2s > 500ms',
			lastTimestamp: '2026-12-07T02:01:00Z',
		};
		const other = {
			...halt,
			involvedObject: {kind: 'Canary', name: 'other', namespace},
			lastTimestamp: '2026-12-07T02:09:00Z',
			message: 'Halt other.ml advancement error-rate 9.00 > 1',
		};
		const {model} = first(analyseModels(snapshot(progressing, [older, halt, other])));
		expect(model.rollout?.analysis?.failingMetric).toBe('request-success-rate');
	});

	it('names the metric in every way Flagger words a halt', () => {
		expect(
			haltedMetric(
				'Halt advancement no values found for istio metric request-success-rate probably fraud.ml is not receiving traffic: running query failed: no values found',
			),
		).toBe('request-success-rate');
		expect(haltedMetric('Halt fraud.ml advancement request duration 1.2s > 500ms')).toBe('request-duration');
		expect(haltedMetric('Halt fraud.ml advancement error-rate 12.50 > 1')).toBe('error-rate');
		expect(haltedMetric('Halt advancement no values found for custom metric: error-rate: no values found')).toBe('error-rate');
		expect(haltedMetric('Halt fraud.ml advancement pre-rollout check smoke failed Post "http://x": refused')).toBe('smoke');
	});

	it('every action is refused with the reason and Flagger’s own way: the loadtester gate when there is one', () => {
		const gates = {
			webhooks: [
				{name: 'promotion gate', type: 'confirm-promotion', url: 'http://flagger-loadtester.test/gate/check'},
				{name: 'rollback', type: 'rollback', url: 'http://flagger-loadtester.test/rollback/check'},
			],
		};
		const [gated] = analyseModels(snapshot(progressing, [], gates));
		expect(() => refuseControllerOwned(gated!, 'promote')).toThrow(
			`Flagger promotes Canary/fraud itself (Canary/fraud is Progressing, canary at 30%, 2/5 failed checks); its confirm-promotion gate "promotion gate" is served by the loadtester, not by modeldeck — open it: kubectl -n test exec deploy/flagger-loadtester -- curl -sd '{"name":"fraud","namespace":"ml"}' http://flagger-loadtester.test/gate/open`,
		);
		expect(() => refuseControllerOwned(gated!, 'rollback')).toThrow(
			/rollback gate "rollback".*http:\/\/flagger-loadtester\.test\/rollback\/open$/,
		);
		expect(() => refuseControllerOwned(gated!, 'set-weight')).toThrow(
			/^Flagger sets the weights of Canary\/fraud itself \(10% steps up to 50%;.*gate\/open$/,
		);

		// A gate at an address outside the cluster is opened from where you are.
		const [local] = analyseModels(
			snapshot(progressing, [], {webhooks: [{name: 'gate', type: 'confirm-promotion', url: 'http://127.0.0.1:9090/gate/check'}]}),
		);
		expect(() => refuseControllerOwned(local!, 'promote')).toThrow(
			/open it: curl -sd '\{"name":"fraud","namespace":"ml"\}' http:\/\/127\.0\.0\.1:9090\/gate\/open$/,
		);

		const [plain] = analyseModels(snapshot(progressing));
		expect(() => refuseControllerOwned(plain!, 'promote')).toThrow(
			/no confirm-promotion gate — to promote without analysis: kubectl -n ml patch canary fraud --type merge -p '\{"spec":\{"skipAnalysis":true\}\}'$/,
		);
		expect(() => refuseControllerOwned(plain!, 'rollback')).toThrow(
			/after 5 failed checks .* kubectl -n ml rollout undo deployment\/fraud$/,
		);

		const [idle] = analyseModels(snapshot({phase: 'Succeeded', canaryWeight: 0, failedChecks: 0}));
		expect(() => refuseControllerOwned(idle!, 'promote')).toThrow(/^nothing to promote: Canary\/fraud is Succeeded/);
	});

	it('any object in a Canary’s place gives a model or nothing, never a throw; weights stay whole and sum to 100', () => {
		const anything = fc.anything({maxDepth: 3});
		const canaryLike = fc.record({
			metadata: fc.record({name: fc.constantFrom('fraud', 'x', ''), namespace: fc.constantFrom('ml', 'other')}),
			spec: fc.oneof(
				anything,
				fc.record({
					targetRef: fc.oneof(
						anything,
						fc.record({kind: fc.constantFrom('Deployment', 'DaemonSet'), name: fc.oneof(fc.constantFrom('fraud'), anything)}),
					),
					service: fc.oneof(anything, fc.record({name: fc.oneof(fc.string(), anything)})),
					analysis: fc.oneof(
						anything,
						fc.record({
							threshold: fc.oneof(fc.integer(), anything),
							stepWeight: fc.oneof(fc.integer(), fc.double(), anything),
							maxWeight: fc.oneof(fc.integer(), anything),
							stepWeights: fc.oneof(fc.array(fc.integer()), anything),
							iterations: fc.oneof(fc.integer(), anything),
							metrics: fc.oneof(
								fc.array(fc.oneof(anything, fc.record({name: fc.string(), thresholdRange: anything, threshold: anything}))),
								anything,
							),
							webhooks: fc.oneof(
								fc.array(
									fc.oneof(
										anything,
										fc.record({name: fc.string(), type: fc.constantFrom('confirm-promotion', 'rollback'), url: fc.string()}),
									),
								),
								anything,
							),
						}),
					),
				}),
			),
			status: fc.oneof(
				anything,
				fc.record({
					phase: fc.oneof(fc.constantFrom('Progressing', 'Succeeded', 'Failed', 'Waiting', 'Promoting', 'Initializing'), anything),
					canaryWeight: fc.oneof(fc.integer(), fc.double(), anything),
					failedChecks: fc.oneof(fc.integer(), anything),
					iterations: fc.oneof(fc.integer(), anything),
					conditions: fc.oneof(
						fc.array(fc.oneof(anything, fc.record({type: fc.constantFrom('Promoted'), message: fc.oneof(fc.string(), anything)}))),
						anything,
					),
				}),
			),
		});
		const eventLike = fc.oneof(
			anything,
			fc.record({
				involvedObject: fc.oneof(anything, fc.record({kind: fc.constant('Canary'), name: fc.constant('fraud')})),
				type: fc.constant('Warning'),
				message: fc.oneof(
					fc.string().map((text) => `Halt ${text}`),
					anything,
				),
				lastTimestamp: fc.oneof(fc.string(), anything),
			}),
		);
		const entryWeight = fc.oneof(
			fc.integer({min: -5, max: 300}),
			fc.double(),
			fc.constantFrom(Number.MAX_VALUE, Number.POSITIVE_INFINITY, Number.NaN, 0),
			anything,
		);
		const host = fc.constantFrom('fraud-primary', 'fraud-canary', 'fraud-primary.ml.svc.cluster.local', 'other', '');
		const routerLike = fc.oneof(
			anything,
			fc.record({
				metadata: fc.record({name: fc.constantFrom('fraud', 'x'), namespace: fc.constantFrom('ml', 'other')}),
				spec: fc.oneof(
					anything,
					fc.record({
						http: fc.oneof(
							anything,
							fc.array(
								fc.record({
									route: fc.oneof(anything, fc.array(fc.record({destination: fc.oneof(anything, fc.record({host})), weight: entryWeight}))),
								}),
							),
						),
					}),
				),
			}),
		);
		const routeLike = fc.oneof(
			anything,
			fc.record({
				metadata: fc.record({name: fc.constantFrom('fraud', 'x'), namespace: fc.constantFrom('ml', 'other')}),
				spec: fc.oneof(
					anything,
					fc.record({
						rules: fc.oneof(
							anything,
							fc.array(fc.record({backendRefs: fc.oneof(anything, fc.array(fc.record({name: host, weight: entryWeight})))})),
						),
					}),
				),
			}),
		);
		fc.assert(
			fc.property(
				fc.array(fc.oneof(anything, canaryLike), {maxLength: 3}),
				fc.array(eventLike, {maxLength: 3}),
				fc.array(routerLike, {maxLength: 2}),
				fc.array(routeLike, {maxLength: 2}),
				(canaries, events, virtualServices, httpRoutes) => {
					const analyses = analyseModels({
						deployments: [deployment('fraud', 'a', 1, 1), deployment('fraud-primary', 'b', 1, 1)],
						canaries: canaries as FlaggerCanary[],
						canaryEvents: events as CanaryEvent[],
						virtualServices: virtualServices as VirtualService[],
						httpRoutes: httpRoutes as never[],
					});
					for (const {model, traffic} of analyses) {
						if (model.router !== 'flagger') continue;
						for (const version of model.versions)
							expect(Number.isInteger(version.weight) && version.weight >= 0 && version.weight <= 100).toBe(true);
						if (model.versions.length > 0) expect(model.versions.reduce((sum, version) => sum + version.weight, 0)).toBe(100);
						expect(typeof model.rollout?.phase).toBe('string');
						for (const kind of ['promote', 'rollback', 'set-weight', 'switch'] as const)
							expect(() => refuseControllerOwned({model, traffic, deployments: {}}, kind)).toThrow(/\S/);
					}
				},
			),
			{numRuns: 400},
		);
	});
});
