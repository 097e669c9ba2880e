import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {
	decodeFlaggerBefore,
	flaggerBeforeAnnotation,
	flaggerImagePatch,
	flaggerOutcomeAt,
	flaggerProgress,
	flaggerRevertPatch,
} from '../../../source/adapters/kube/delivery/flagger-owner.ts';
import type {Deployment} from '../../../source/adapters/kube/objects.ts';

const image = 'registry/fraud:v2';
const before = {image: 'registry/fraud:v1', revision: 'hash-v1'};

function canary(status: Record<string, unknown>): unknown {
	return {metadata: {name: 'fraud'}, status};
}

function target(current: string, annotations?: Record<string, string>): Deployment {
	return {
		metadata: {name: 'fraud', ...(annotations ? {annotations} : {})},
		spec: {template: {spec: {containers: [{name: 'server', image: current}]}}},
	} as Deployment;
}

describe('flaggerProgress: the Canary status → the delivery’s progress', () => {
	it('does not take the Succeeded of the previous revision for this one', () => {
		const observed = flaggerProgress({
			canary: canary({phase: 'Succeeded', lastAppliedSpec: 'hash-v1'}),
			primaryImage: 'registry/fraud:v1',
			before,
			image,
		});
		expect(observed).toEqual({kind: 'owner', progress: 'waiting for Flagger to see the new image (Succeeded) · canary 0%', weight: 0});
	});

	it('follows the analysis: phase, weight and failed checks', () => {
		const observed = flaggerProgress({
			canary: canary({phase: 'Progressing', lastAppliedSpec: 'hash-v2', canaryWeight: 20, failedChecks: 1}),
			rollout: {controller: 'flagger', phase: 'Progressing', failedChecks: 1, failedChecksLimit: 2},
			canaryWeight: 20,
			primaryImage: 'registry/fraud:v1',
			before,
			image,
		});
		expect(observed).toEqual({kind: 'owner', progress: 'Progressing · canary 20% · 1/2 failed checks', weight: 20});
	});

	it('is promoted once Flagger succeeded on the new revision and its primary runs the new image', () => {
		const status = {phase: 'Succeeded', lastAppliedSpec: 'hash-v2', lastPromotedSpec: 'hash-v2'};
		expect(flaggerProgress({canary: canary(status), primaryImage: image, before, image})).toMatchObject({outcome: 'promoted', weight: 100});
		// Succeeded while the primary still runs the old image: not yet.
		expect(flaggerProgress({canary: canary(status), primaryImage: 'registry/fraud:v1', before, image}).outcome).toBeUndefined();
	});

	it('does not take the Failed Flagger keeps while it takes up the new image for this revision’s', () => {
		// Flagger's scheduler, seeing a new target while Failed, writes the new hash with the phase still Failed, then
		// starts analysing: its Promoted condition is still the previous outcome's.
		const previous = {type: 'Promoted', status: 'False', reason: 'Failed', lastUpdateTime: '2026-12-07T13:00:00Z'};
		const recorded = {...before, outcomeAt: 'Failed@2026-12-07T13:00:00Z'};
		const syncing = flaggerProgress({
			canary: canary({phase: 'Failed', lastAppliedSpec: 'hash-v2', conditions: [previous]}),
			primaryImage: 'registry/fraud:v1',
			before: recorded,
			image,
		});
		expect(syncing).toEqual({
			kind: 'owner',
			progress: 'waiting for Flagger to start analysing the new image (its last outcome: Failed) · canary 0%',
			weight: 0,
		});
		// Failed again, written since: this revision's.
		const failed = flaggerProgress({
			canary: canary({phase: 'Failed', lastAppliedSpec: 'hash-v2', conditions: [{...previous, lastUpdateTime: '2026-12-07T13:00:40Z'}]}),
			primaryImage: 'registry/fraud:v1',
			before: recorded,
			image,
		});
		expect(failed).toMatchObject({outcome: 'rolled-back', weight: 0});
	});

	it('is rolled back with Flagger’s reason when the analysis of the new revision failed', () => {
		const observed = flaggerProgress({
			canary: canary({phase: 'Failed', lastAppliedSpec: 'hash-v2', failedChecks: 2}),
			rollout: {
				controller: 'flagger',
				phase: 'Failed',
				message: 'Canary analysis failed, Deployment scaled to zero.',
				analysis: {name: 'error-percent', phase: 'Failed', detail: 'Halt fraud.team-a advancement error-percent 45.20 > 1'},
			},
			primaryImage: 'registry/fraud:v1',
			before,
			image,
		});
		expect(observed).toMatchObject({
			outcome: 'rolled-back',
			weight: 0,
			message: 'Flagger: Canary analysis failed, Deployment scaled to zero.; Halt fraud.team-a advancement error-percent 45.20 > 1',
		});
		// A Failed of the previous revision is not this one's.
		const old = flaggerProgress({canary: canary({phase: 'Failed', lastAppliedSpec: 'hash-v1'}), before, image});
		expect(old.outcome).toBeUndefined();
	});

	it('never throws on any Canary, and its weight is a percentage', () => {
		const anything = fc.anything();
		const status = fc.record(
			{
				phase: fc.oneof(fc.constantFrom('Initializing', 'Progressing', 'Promoting', 'Finalising', 'Succeeded', 'Failed'), anything),
				lastAppliedSpec: fc.oneof(fc.constantFrom('hash-v1', 'hash-v2'), anything),
				canaryWeight: fc.oneof(fc.integer({min: -10, max: 200}), fc.double(), anything),
				failedChecks: fc.oneof(fc.integer({min: -1, max: 5}), anything),
			},
			{requiredKeys: []},
		);
		fc.assert(
			fc.property(
				fc.oneof(fc.record({status}), anything),
				fc.option(fc.double(), {nil: undefined}),
				fc.option(fc.constantFrom(image, 'registry/fraud:v1'), {nil: undefined}),
				fc.option(fc.record({image: fc.string(), revision: fc.constantFrom('hash-v1', 'hash-v2')}), {nil: undefined}),
				(object, canaryWeight, primaryImage, recorded) => {
					const observation = {canary: object, image, ...(canaryWeight === undefined ? {} : {canaryWeight})};
					const observed = flaggerProgress({
						...observation,
						...(primaryImage === undefined ? {} : {primaryImage}),
						...(recorded === undefined ? {} : {before: recorded}),
					});
					expect(observed.weight).toBeGreaterThanOrEqual(0);
					expect(observed.weight).toBeLessThanOrEqual(100);
					expect(typeof observed.progress).toBe('string');
					if (observed.outcome === 'promoted') expect(primaryImage).toBe(image);
				},
			),
		);
	});
});

describe('the target Deployment’s image', () => {
	it('is set with a test of the image it had and a record of it; set already: no patch', () => {
		const patch = flaggerImagePatch(target('registry/fraud:v1'), image, 'hash-v1');
		expect(patch).toEqual([
			{op: 'test', path: '/spec/template/spec/containers/0/image', value: 'registry/fraud:v1'},
			{op: 'replace', path: '/spec/template/spec/containers/0/image', value: image},
			{op: 'add', path: '/metadata/annotations', value: {}},
			{op: 'add', path: '/metadata/annotations/modeldeck.dev~1delivery-before', value: JSON.stringify(before)},
		]);
		expect(flaggerImagePatch(target(image), image, 'hash-v1')).toBeUndefined();
		// Flagger's last outcome is recorded with it.
		expect(flaggerImagePatch(target('registry/fraud:v1'), image, 'hash-v1', 'Failed@2026-12-07T13:00:00Z')?.at(-1)).toEqual({
			op: 'add',
			path: '/metadata/annotations/modeldeck.dev~1delivery-before',
			value: JSON.stringify({...before, outcomeAt: 'Failed@2026-12-07T13:00:00Z'}),
		});
		expect(flaggerOutcomeAt({conditions: [{type: 'Promoted', reason: 'Succeeded', lastUpdateTime: 't'}]})).toBe('Succeeded@t');
		expect(flaggerOutcomeAt({conditions: 'no'})).toBeUndefined();
		expect(() => flaggerImagePatch({metadata: {name: 'fraud'}} as Deployment, image, undefined)).toThrow(
			'Deployment/fraud has no container image to change',
		);
	});

	it('an abort puts it back on the primary’s image, else on the one recorded', () => {
		const recorded = target(image, {[flaggerBeforeAnnotation]: JSON.stringify({image: 'registry/fraud:v0'})});
		expect(flaggerRevertPatch(recorded, image, 'registry/fraud:v1')?.[1]).toEqual({
			op: 'replace',
			path: '/spec/template/spec/containers/0/image',
			value: 'registry/fraud:v1',
		});
		expect(flaggerRevertPatch(recorded, image, image)?.[1]).toMatchObject({value: 'registry/fraud:v0'});
		// Not on the new image any more (reverted already, or changed by someone else): nothing to do.
		expect(flaggerRevertPatch(target('registry/fraud:v9'), image, 'registry/fraud:v1')).toBeUndefined();
	});

	it('a bad record is ignored, never thrown', () => {
		fc.assert(
			fc.property(fc.anything(), (value) => {
				const decoded = decodeFlaggerBefore(typeof value === 'string' ? value : JSON.stringify(value));
				if (decoded) expect(typeof decoded.image).toBe('string');
			}),
		);
		expect(decodeFlaggerBefore('{')).toBeUndefined();
	});
});
