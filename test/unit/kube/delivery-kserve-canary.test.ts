import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {
	kserveBeforeAnnotation,
	kserveImagePatch,
	kserveReadiness,
	nextRevisionName,
	predictorImage,
} from '../../../source/adapters/kube/delivery/kserve-canary.ts';
import type {InferenceService} from '../../../source/adapters/kube/objects.ts';

function isvc(
	predictor: Record<string, unknown>,
	status: Record<string, unknown> = {},
	annotations?: Record<string, string>,
): InferenceService {
	return {
		metadata: {name: 'sentiment', namespace: 'ml', ...(annotations ? {annotations} : {})},
		spec: {predictor},
		status: {components: {predictor: {latestCreatedRevision: 'sentiment-predictor-00002', ...status}}},
	} as InferenceService;
}

const custom = {containers: [{name: 'kserve-container', image: 'registry/sentiment:v2'}]};

describe('nextRevisionName: the revision KServe creates for the next predictor spec', () => {
	it('counts up with the same prefix and zero padding', () => {
		expect(nextRevisionName('sentiment-predictor-00002')).toBe('sentiment-predictor-00003');
		expect(nextRevisionName('sentiment-predictor-default-00009')).toBe('sentiment-predictor-default-00010');
		expect(nextRevisionName('a-99999')).toBe('a-100000');
	});

	it('is the next number, same prefix, at least as wide, for any revision name', () => {
		const prefix = fc.stringMatching(/^[a-z][-a-z0-9]{0,30}[a-z0-9]$/);
		fc.assert(
			fc.property(prefix, fc.integer({min: 0, max: 10_000_000}), fc.integer({min: 1, max: 8}), (name, number, width) => {
				const latest = `${name}-${String(number).padStart(width, '0')}`;
				const next = nextRevisionName(latest);
				const match = /^(.*)-(\d+)$/.exec(next)!;
				expect(match[1]).toBe(name);
				expect(Number(match[2])).toBe(number + 1);
				expect(match[2]!.length).toBe(Math.max(width, String(number).length, String(number + 1).length));
			}),
		);
	});

	it('refuses what is not a revision name, saying why', () => {
		fc.assert(
			fc.property(
				fc.string({maxLength: 40}).filter((text) => !/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-\d{1,15}$/.test(text)),
				(text) => {
					expect(() => nextRevisionName(text)).toThrow(/is not a Knative revision name .*cannot tell which revision KServe will create/);
				},
			),
		);
		expect(() => nextRevisionName('sentiment-predictor')).toThrow(/not a Knative revision name/);
		expect(() => nextRevisionName(`${'a'.repeat(57)}-99999`)).toThrow(/longer than 63 characters/);
	});
});

describe('predictorImage', () => {
	it('is the custom container’s image, else the model’s override of its runtime’s, else a refusal saying what to do', () => {
		expect(predictorImage(isvc(custom))).toEqual({path: '/spec/predictor/containers/0/image', image: 'registry/sentiment:v2'});
		expect(predictorImage(isvc({model: {modelFormat: {name: 'sklearn'}, storageUri: 'gs://m/v1'}}))).toEqual({
			path: '/spec/predictor/model/image',
			image: undefined,
		});
		const refused = predictorImage(isvc({sklearn: {storageUri: 'gs://m/v1'}}));
		expect(refused).toEqual({
			problem: expect.stringMatching(/names a framework .*move it to spec.predictor.model .*or spec.predictor.containers/),
		});
	});
});

describe('kserveImagePatch', () => {
	it('tests and replaces the image, sets canaryTrafficPercent 0, labels the pods and keeps what it had', () => {
		const patch = kserveImagePatch(isvc({...custom, canaryTrafficPercent: 100}), 'registry/sentiment:v3', [
			'app.kubernetes.io/version',
			'v3',
		]);
		expect(patch).toEqual([
			{op: 'test', path: '/spec/predictor/containers/0/image', value: 'registry/sentiment:v2'},
			{op: 'replace', path: '/spec/predictor/containers/0/image', value: 'registry/sentiment:v3'},
			{op: 'test', path: '/spec/predictor/canaryTrafficPercent', value: 100},
			{op: 'replace', path: '/spec/predictor/canaryTrafficPercent', value: 0},
			{op: 'add', path: '/spec/predictor/labels', value: {}},
			{op: 'add', path: '/spec/predictor/labels/app.kubernetes.io~1version', value: 'v3'},
			{op: 'add', path: '/metadata/annotations', value: {}},
			{
				op: 'add',
				path: `/metadata/annotations/${kserveBeforeAnnotation.replace('/', '~1')}`,
				value: JSON.stringify({revision: 'sentiment-predictor-00002', image: 'registry/sentiment:v2', canaryTrafficPercent: 100}),
			},
		]);
	});

	it('adds canaryTrafficPercent and the model’s image when absent, testing the model it was planned from', () => {
		const model = {modelFormat: {name: 'sklearn'}, storageUri: 'gs://m/v1'};
		const patch = kserveImagePatch(isvc({model, labels: {team: 'ml'}}, {}, {owner: 'ml'}), 'registry/sklearn:v3', undefined)!;
		expect(patch.slice(0, 3)).toEqual([
			{op: 'test', path: '/spec/predictor/model', value: model},
			{op: 'add', path: '/spec/predictor/model/image', value: 'registry/sklearn:v3'},
			{op: 'add', path: '/spec/predictor/canaryTrafficPercent', value: 0},
		]);
		// No label asked; annotations there already: only the record of what it had.
		expect(patch.slice(3)).toEqual([
			{
				op: 'add',
				path: '/metadata/annotations/modeldeck.dev~1delivery-before',
				value: JSON.stringify({revision: 'sentiment-predictor-00002'}),
			},
		]);
	});

	it('is nothing to do when the image is set already (a runner repeating the effect), and refuses without a revision', () => {
		expect(kserveImagePatch(isvc(custom), 'registry/sentiment:v2', undefined)).toBeUndefined();
		const unreconciled = {...isvc(custom), status: {}} as InferenceService;
		expect(() => kserveImagePatch(unreconciled, 'registry/sentiment:v3', undefined)).toThrow(
			/no revision yet: KServe has not reconciled it/,
		);
	});
});

describe('kserveReadiness', () => {
	const predicted = 'sentiment-predictor-00003';
	it('waits for KServe to create the predicted revision, then for it to be ready', () => {
		expect(kserveReadiness(isvc(custom, {latestReadyRevision: 'sentiment-predictor-00002'}), predicted)).toEqual({
			ready: false,
			detail: 'waiting for KServe to create revision sentiment-predictor-00003 (latest created: sentiment-predictor-00002)',
		});
		const created = isvc(custom, {latestCreatedRevision: predicted, latestReadyRevision: 'sentiment-predictor-00002'});
		expect(kserveReadiness(created, predicted)).toMatchObject({ready: false, detail: expect.stringContaining('created, not ready yet')});
		const ready = isvc(custom, {latestCreatedRevision: predicted, latestReadyRevision: predicted});
		expect(kserveReadiness(ready, predicted)).toEqual({ready: true, detail: 'revision sentiment-predictor-00003 is ready'});
	});

	it('is fatal when KServe created another revision than predicted', () => {
		for (const other of ['sentiment-predictor-00004', 'other-00003']) {
			const readiness = kserveReadiness(isvc(custom, {latestCreatedRevision: other, latestReadyRevision: other}), predicted);
			expect(readiness).toMatchObject({ready: false, fatal: true});
			expect(readiness.detail).toContain(`KServe created revision ${other}, not ${predicted}`);
		}
	});
});
