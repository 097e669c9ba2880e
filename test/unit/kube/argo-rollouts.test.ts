import {readFileSync} from 'node:fs';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {analyseModels, buildModels, type ClusterSnapshot} from '../../../source/adapters/kube/build-models.ts';
import {findOwner} from '../../../source/adapters/kube/discovery/ownership.ts';
import {PlanError} from '../../../source/adapters/kube/plans.ts';
import {planRolloutCommand, weightAtNextPause} from '../../../source/adapters/kube/rollout-plans.ts';
import {refuseDirectChange} from '../../../source/adapters/kube/owned-writes.ts';
import type {Rollout} from '../../../source/adapters/kube/objects/argo-rollouts.ts';
import {failedAnalysisRun, rolloutReplicaSet, rolloutSnapshot} from '../../fixtures/kube/argo-rollouts.ts';

function fraud(snapshot: ClusterSnapshot = rolloutSnapshot()) {
	const found = analyseModels(snapshot).find((analysis) => analysis.model.name === 'fraud');
	if (!found) throw new Error('no fraud');
	return found;
}

function withStatus(change: (rollout: Rollout) => void): ClusterSnapshot {
	const snapshot = rolloutSnapshot();
	change(snapshot.rollouts![0]!);
	return snapshot;
}

describe('a Rollout as a model', () => {
	it('versions are the stable and canary ReplicaSets, weights the controller’s, step, pause and owner as it says', () => {
		const {model} = fraud();
		expect(model).toMatchObject({
			namespace: 'ml',
			name: 'fraud',
			router: 'argo-rollouts',
			routerObject: 'VirtualService/fraud-vs',
			discoveredBy: 'Rollout/fraud',
			owner: {controller: 'Argo Rollouts', object: 'Rollout/fraud', command: 'kubectl argo rollouts promote fraud -n ml'},
			rollout: {controller: 'argo-rollouts', phase: 'Paused', step: 2, totalSteps: 4, paused: true, message: 'CanaryPauseStep'},
		});
		expect(
			model.versions.map(({name, track, weight, replicasReady, replicasDesired, object, service}) => ({
				name,
				track,
				weight,
				replicasReady,
				replicasDesired,
				object,
				service,
			})),
		).toEqual([
			{
				name: 'v1',
				track: 'stable',
				weight: 80,
				replicasReady: 4,
				replicasDesired: 4,
				object: 'ReplicaSet/fraud-5f6a7',
				service: 'fraud-stable',
			},
			{
				name: 'v2',
				track: 'canary',
				weight: 20,
				replicasReady: 1,
				replicasDesired: 1,
				object: 'ReplicaSet/fraud-b7c9d',
				service: 'fraud-canary',
			},
		]);
	});

	it('its router and Services are claimed: no other model is made of them, and the router is recorded as owned', () => {
		const analysis = fraud();
		expect(buildModels(rolloutSnapshot()).map((model) => model.name)).toEqual(['fraud']);
		expect(analysis.owned?.['VirtualService/fraud-vs']).toMatchObject({controller: 'Argo Rollouts', object: 'Rollout/fraud'});
	});

	it('without traffic routing the weights are the ready replicas, as the controller splits them', () => {
		const snapshot = withStatus((rollout) => {
			delete rollout.spec!.strategy!.canary!.trafficRouting;
			delete rollout.status!.canary;
		});
		snapshot.replicaSets = [rolloutReplicaSet('5f6a7', 'v1', 3, 3), rolloutReplicaSet('b7c9d', 'v2', 1, 1)];
		expect(fraud(snapshot).model.versions.map((version) => version.weight)).toEqual([75, 25]);
		expect(fraud(snapshot).model.routerObject).toBe('Rollout/fraud');
	});

	it('fully promoted: one version with all traffic, the last step', () => {
		const snapshot = withStatus((rollout) => {
			rollout.status = {phase: 'Healthy', currentPodHash: '5f6a7', stableRS: '5f6a7', currentStepIndex: 4};
		});
		const {model} = fraud(snapshot);
		expect(model.versions.map(({name, track, weight}) => ({name, track, weight}))).toEqual([{name: 'v1', track: 'stable', weight: 100}]);
		expect(model.rollout).toMatchObject({phase: 'Healthy', step: 4, totalSteps: 4, paused: false});
	});

	it('shows the AnalysisRun it owns: its result and the failing metric with its measurement', () => {
		const snapshot = rolloutSnapshot();
		snapshot.analysisRuns = [failedAnalysisRun()];
		expect(fraud(snapshot).model.rollout?.analysis).toEqual({
			name: 'fraud-b7c9d-2',
			phase: 'Failed',
			failingMetric: 'error-rate',
			detail: '1 of 1 measurements failed; last 0.31 (Failed)',
		});
	});

	it('hashes name the versions when the pod templates carry no version labels', () => {
		const snapshot = rolloutSnapshot();
		for (const replicaSet of snapshot.replicaSets!) delete replicaSet.spec!.template!.metadata!.labels!['app.kubernetes.io/version'];
		expect(fraud(snapshot).model.versions.map((version) => version.name)).toEqual(['5f6a7', 'b7c9d']);
	});

	it('a Rollout whose ReplicaSets are not there yet says so', () => {
		const snapshot = rolloutSnapshot();
		snapshot.replicaSets = [];
		expect(fraud(snapshot).model.warnings?.[0]).toMatch(/no ReplicaSets yet.*controller running/);
	});

	it('weights out of maxTrafficWeight are shown in percent, the steps’ too, and a rounded pair still sums to 100', () => {
		const thousandths = withStatus((rollout) => {
			rollout.spec!.strategy!.canary!.trafficRouting!.maxTrafficWeight = 1000;
			rollout.status!.canary = {weights: {canary: {weight: 155}, stable: {weight: 845}}};
		});
		const {model, traffic} = fraud(thousandths);
		expect(model.versions.map((version) => version.weight)).toEqual([84, 16]);
		const steps = thousandths.rollouts![0]!.spec!.strategy!.canary!.steps!;
		expect(traffic.kind === 'argo-rollouts' && traffic.control.stepWeights).toEqual(
			steps.map((step) => (step.setWeight === undefined ? undefined : Math.round(step.setWeight / 10))),
		);
		// A weight the API server would not hold (a fraction) is still read as a split of 100.
		const fraction = withStatus((rollout) => {
			rollout.status!.canary = {weights: {canary: {weight: 1.5}, stable: {weight: 98.5}}};
		});
		expect(fraud(fraction).model.versions.map((version) => version.weight)).toEqual([98, 2]);
		// An experiment's destinations take what the two leave.
		const experiment = withStatus((rollout) => {
			rollout.status!.canary = {weights: {canary: {weight: 20}, stable: {weight: 60}}};
		});
		expect(fraud(experiment).model.versions.map((version) => version.weight)).toEqual([60, 20]);
		const unreadable = withStatus((rollout) => {
			rollout.status!.canary = {weights: {canary: {weight: 'x' as never}, stable: {weight: 70}}};
		});
		expect(fraud(unreadable).model.versions.map((version) => version.weight)).toEqual([70, 30]);
		expect(fraud(unreadable).model.warnings).toContain(
			"Rollout/fraud's status.canary.weights.canary.weight is not a number (x): the canary is shown at 30%",
		);
	});

	it('any Rollout-shaped input gives a model: weights 0–100 summing to 100 (or nothing), step within the steps, never a throw', () => {
		const step = fc.oneof(
			fc.record({setWeight: fc.oneof(fc.integer({min: -10, max: 120}), fc.constant(Number.NaN), fc.string() as fc.Arbitrary<never>)}),
			fc.record({pause: fc.oneof(fc.constant({}), fc.record({duration: fc.string()}))}),
			fc.anything() as fc.Arbitrary<never>,
		);
		const hash = fc.constantFrom('5f6a7', 'b7c9d', 'zzz', undefined);
		const rollout = fc.record(
			{
				steps: fc.option(fc.array(step, {maxLength: 6}), {nil: undefined}),
				routed: fc.boolean(),
				currentStepIndex: fc.option(fc.oneof(fc.integer({min: -2, max: 9}), fc.anything() as fc.Arbitrary<never>), {nil: undefined}),
				stableRS: hash,
				currentPodHash: hash,
				canaryWeight: fc.option(fc.oneof(fc.integer({min: -5, max: 130}), fc.double()), {nil: undefined}),
				paused: fc.option(fc.boolean(), {nil: undefined}),
				pauseConditions: fc.option(fc.oneof(fc.constant(null), fc.array(fc.record({reason: fc.string()}), {maxLength: 2})), {
					nil: undefined,
				}),
				phase: fc.option(fc.oneof(fc.string(), fc.anything() as fc.Arbitrary<never>), {nil: undefined}),
			},
			{requiredKeys: []},
		);
		fc.assert(
			fc.property(rollout, fc.integer({min: 0, max: 5}), fc.integer({min: 0, max: 5}), (shape, stableReady, canaryReady) => {
				const snapshot = withStatus((object) => {
					object.spec!.paused = shape.paused as boolean;
					object.spec!.strategy!.canary!.steps = shape.steps as never;
					if (!shape.routed) delete object.spec!.strategy!.canary!.trafficRouting;
					object.status = {
						phase: shape.phase as string,
						stableRS: shape.stableRS as string,
						currentPodHash: shape.currentPodHash as string,
						currentStepIndex: shape.currentStepIndex as number,
						pauseConditions: shape.pauseConditions as never,
						canary: {weights: {canary: {weight: shape.canaryWeight as number}, stable: {weight: 100 - (shape.canaryWeight ?? 0)}}},
					};
				});
				snapshot.replicaSets = [rolloutReplicaSet('5f6a7', 'v1', 5, stableReady), rolloutReplicaSet('b7c9d', 'v2', 5, canaryReady)];
				const {model} = fraud(snapshot);
				const total = model.versions.reduce((sum, version) => sum + version.weight, 0);
				for (const version of model.versions) expect(version.weight).toBeGreaterThanOrEqual(0);
				for (const version of model.versions) expect(version.weight).toBeLessThanOrEqual(100);
				if (model.versions.length > 0 && shape.routed && model.versions.length === 2) expect(total).toBe(100);
				if (model.rollout?.step !== undefined) {
					expect(model.rollout.step).toBeGreaterThanOrEqual(1);
					expect(model.rollout.step).toBeLessThanOrEqual(model.rollout.totalSteps!);
				}
			}),
			{numRuns: 300},
		);
	});
});

describe('Argo Rollouts commands, planned as the kubectl argo rollouts plugin makes them', () => {
	it('promote at a pause step clears the pause conditions through the status subresource', () => {
		const {writes, after} = planRolloutCommand(fraud(), 'promote');
		expect(writes).toEqual([
			expect.objectContaining({
				type: {group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts'},
				subresource: 'status',
				name: 'fraud',
				object: 'Rollout/fraud status',
				patch: [{op: 'remove', path: '/status/pauseConditions'}],
			}),
		]);
		expect(writes[0]!.change).toContain('kubectl argo rollouts promote fraud -n ml');
		// Next stop: the pause after setWeight 50.
		expect(Object.fromEntries(after)).toEqual({v1: 50, v2: 50});
	});

	it('promote of a canary that is not paused moves to the next step, guarded by the step it was planned from', () => {
		const analysis = fraud(
			withStatus((rollout) => {
				rollout.status!.pauseConditions = undefined;
				rollout.status!.controllerPause = false;
				rollout.status!.currentStepIndex = 0;
			}),
		);
		expect(planRolloutCommand(analysis, 'promote').writes[0]!.patch).toEqual([
			{op: 'test', path: '/status/currentStepIndex', value: 0},
			{op: 'add', path: '/status/currentStepIndex', value: 1},
		]);
	});

	it('promote of an inconclusive step paused by the controller skips it (pause cleared, controllerPause false, next index)', () => {
		const analysis = fraud(
			withStatus((rollout) => {
				rollout.status!.canary!.currentStepAnalysisRunStatus = {name: 'fraud-b7c9d-2', status: 'Inconclusive'};
			}),
		);
		expect(planRolloutCommand(analysis, 'promote').writes[0]!.patch).toEqual([
			{op: 'test', path: '/status/currentStepIndex', value: 1},
			{op: 'remove', path: '/status/pauseConditions'},
			{op: 'add', path: '/status/controllerPause', value: false},
			{op: 'add', path: '/status/currentStepIndex', value: 2},
		]);
	});

	it('spec.paused is unpaused on the Rollout itself, after the status patch', () => {
		const analysis = fraud(
			withStatus((rollout) => {
				rollout.spec!.paused = true;
			}),
		);
		const {writes} = planRolloutCommand(analysis, 'promote');
		expect(writes.map((write) => [write.object, write.subresource])).toEqual([
			['Rollout/fraud status', 'status'],
			['Rollout/fraud', undefined],
		]);
		expect(writes[1]!.patch).toEqual([
			{op: 'test', path: '/spec/paused', value: true},
			{op: 'replace', path: '/spec/paused', value: false},
		]);
	});

	it('promote --full sets status.promoteFull; abort and retry set status.abort', () => {
		expect(planRolloutCommand(fraud(), 'promote-full').writes[0]!.patch).toEqual([{op: 'add', path: '/status/promoteFull', value: true}]);
		expect(Object.fromEntries(planRolloutCommand(fraud(), 'promote-full').after)).toEqual({v1: 0, v2: 100});
		expect(planRolloutCommand(fraud(), 'abort').writes[0]!.patch).toEqual([{op: 'add', path: '/status/abort', value: true}]);
		expect(Object.fromEntries(planRolloutCommand(fraud(), 'abort').after)).toEqual({v1: 100, v2: 0});
		const aborted = fraud(
			withStatus((rollout) => {
				rollout.status!.abort = true;
			}),
		);
		expect(planRolloutCommand(aborted, 'retry').writes[0]!.patch).toEqual([{op: 'add', path: '/status/abort', value: false}]);
		expect(Object.fromEntries(planRolloutCommand(aborted, 'retry').after)).toEqual({v1: 80, v2: 20});
	});

	it('refuses what the plugin would do for nothing: retry of a Rollout not aborted, abort twice, abort without a canary', () => {
		expect(() => planRolloutCommand(fraud(), 'retry')).toThrow(/not aborted/);
		expect(() =>
			planRolloutCommand(
				fraud(
					withStatus((rollout) => {
						rollout.status!.abort = true;
					}),
				),
				'abort',
			),
		).toThrow(/already aborted.*kubectl argo rollouts retry rollout fraud -n ml/);
		expect(() =>
			planRolloutCommand(
				fraud(
					withStatus((rollout) => {
						rollout.status!.currentPodHash = '5f6a7';
					}),
				),
				'abort',
			),
		).toThrow(/nothing to abort/);
		expect(() =>
			planRolloutCommand(
				fraud(
					withStatus((rollout) => {
						rollout.status = {phase: 'Healthy', currentPodHash: '5f6a7', stableRS: '5f6a7', currentStepIndex: 4};
					}),
				),
				'promote',
			),
		).toThrow('nothing to promote: Rollout/fraud runs one version, no canary is rolling out');
	});

	it('the next stop is the last setWeight before the next pause, or 100 at the end', () => {
		const control = {stepWeights: [20, undefined, 50, undefined, 80], pauseSteps: [false, true, false, true, false]};
		expect(weightAtNextPause(control, 0)).toBe(20);
		expect(weightAtNextPause(control, 2)).toBe(50);
		expect(weightAtNextPause(control, 4)).toBe(100);
		fc.assert(
			fc.property(
				fc.array(fc.option(fc.integer({min: 0, max: 100}), {nil: undefined}), {maxLength: 8}),
				fc.array(fc.boolean(), {maxLength: 8}),
				fc.integer({min: 0, max: 9}),
				(stepWeights, pauseSteps, from) => {
					const weight = weightAtNextPause({stepWeights, pauseSteps}, from);
					expect(weight === 100 || weight === 0 || stepWeights.includes(weight)).toBe(true);
				},
			),
		);
	});
});

describe('never fight the controller: direct changes of a Rollout’s traffic are refused with its command', () => {
	it.each([
		[
			{kind: 'set-weight', model: {namespace: 'ml', name: 'fraud'}, canary: 'v2', from: 20, to: 30} as const,
			/kubectl argo rollouts promote fraud -n ml.*kubectl argo rollouts abort fraud -n ml/,
		],
		[
			{kind: 'promote', model: {namespace: 'ml', name: 'fraud'}, canary: 'v2', stable: 'v1'} as const,
			/kubectl argo rollouts promote fraud -n ml --full/,
		],
		[{kind: 'rollback', model: {namespace: 'ml', name: 'fraud'}, canary: 'v2'} as const, /kubectl argo rollouts abort fraud -n ml/],
		[{kind: 'switch', model: {namespace: 'ml', name: 'fraud'}, from: 'v1', to: 'v2'} as const, /kubectl argo rollouts promote fraud -n ml/],
	])('%s', (action, command) => {
		expect(() => refuseDirectChange(fraud(), action)).toThrow(PlanError);
		expect(() => refuseDirectChange(fraud(), action)).toThrow(/^Argo Rollouts owns VirtualService\/fraud-vs: use kubectl argo rollouts /);
		expect(() => refuseDirectChange(fraud(), action)).toThrow(command);
	});
});

describe('Rollouts as the real controller left them (argo-rollouts-captured.json, from capture-argo-rollouts.ts)', () => {
	const captured = () =>
		JSON.parse(readFileSync(new URL('../../fixtures/kube/argo-rollouts-captured.json', import.meta.url), 'utf8')) as ClusterSnapshot;

	it('fraud, paused at step 2 of 4: v1 stable 80%, v2 canary 20%, its VirtualService owned through the controller’s managedFields too', () => {
		const snapshot = captured();
		const analyses = analyseModels(snapshot);
		expect(analyses.map((analysis) => analysis.model.name)).toEqual(['fraud', 'scorer']);
		const {model} = analyses[0]!;
		expect(model.versions.map(({name, track, weight, replicasReady}) => ({name, track, weight, replicasReady}))).toEqual([
			{name: 'v1', track: 'stable', weight: 80, replicasReady: 2},
			{name: 'v2', track: 'canary', weight: 20, replicasReady: 1},
		]);
		expect(model.rollout).toEqual({
			controller: 'argo-rollouts',
			phase: 'Paused',
			step: 2,
			totalSteps: 4,
			paused: true,
			message: 'CanaryPauseStep',
		});
		expect(findOwner('VirtualService', snapshot.virtualServices![0]!)).toMatchObject({
			controller: 'Argo Rollouts',
			evidence: 'managedFields manager rollouts-controller',
		});
		expect(findOwner('Service', snapshot.services![0]!)).toMatchObject({controller: 'Argo Rollouts', object: 'Rollout/fraud'});
	});

	it('scorer, aborted by its failed AnalysisRun: all traffic on the stable, the failing metric and its measured value', () => {
		const {model} = analyseModels(captured())[1]!;
		expect(model.versions.map(({name, track, weight}) => `${name} ${track} ${weight}`)).toEqual(['v1 stable 100', 'v2 canary 0']);
		// An abort sends the controller back to the first step.
		expect(model.rollout).toMatchObject({
			phase: 'Degraded',
			step: 1,
			totalSteps: 3,
			analysis: {phase: 'Failed', failingMetric: 'error-rate', detail: '1 of 1 measurements failed; last 0.3 (Failed)'},
		});
		expect(model.rollout?.message).toMatch(/^RolloutAborted: /);
		expect(() => planRolloutCommand(analyseModels(captured())[1]!, 'retry')).not.toThrow();
	});
});
