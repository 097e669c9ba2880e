/**
 * The model view of a Flagger canary, from objects shaped as Flagger writes them (through discovery, not a
 * hand-made Model): its phase, step, failed checks against the threshold and the failing metric's value, at the
 * smallest and the largest supported terminal.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {buildModels} from '../../source/adapters/kube/build-models.ts';
import type {Deployment} from '../../source/adapters/kube/objects.ts';
import type {CanaryEvent, FlaggerCanary} from '../../source/adapters/kube/objects/flagger.ts';
import {fakeSources} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

const namespace = 'prod';

function deployment(name: string, image: string, labels: Record<string, string>): Deployment {
	return {
		metadata: {name, namespace, creationTimestamp: '2026-12-07T01:00:00Z', labels},
		spec: {replicas: 2, selector: {matchLabels: labels}, template: {metadata: {labels}, spec: {containers: [{name: 'server', image}]}}},
		status: {replicas: 2, readyReplicas: 2},
	};
}

const canary: FlaggerCanary = {
	apiVersion: 'flagger.app/v1beta1',
	kind: 'Canary',
	metadata: {name: 'fraud-scorer', namespace, resourceVersion: '7'},
	spec: {
		targetRef: {apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud-scorer'},
		service: {port: 8080},
		analysis: {
			interval: '1m',
			threshold: 5,
			maxWeight: 50,
			stepWeight: 10,
			metrics: [
				{name: 'request-success-rate', thresholdRange: {min: 99}},
				{name: 'request-duration', thresholdRange: {max: 500}},
			],
		},
	},
	status: {
		phase: 'Progressing',
		canaryWeight: 20,
		failedChecks: 3,
		conditions: [
			{type: 'Promoted', status: 'Unknown', reason: 'Progressing', message: 'New revision detected, progressing canary analysis.'},
		],
	},
};

const halt: CanaryEvent = {
	metadata: {name: 'fraud-scorer.1', namespace},
	involvedObject: {kind: 'Canary', name: 'fraud-scorer', namespace},
	type: 'Warning',
	message: 'Halt fraud-scorer.prod advancement success rate 45.20% < 99%',
	lastTimestamp: '2026-12-07T02:03:00Z',
};

const models = buildModels({
	deployments: [
		deployment('fraud-scorer', 'registry/fraud:v2', {app: 'fraud-scorer'}),
		deployment('fraud-scorer-primary', 'registry/fraud:v1', {app: 'fraud-scorer-primary'}),
	],
	canaries: [canary],
	canaryEvents: [halt],
});

let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	cleanup = undefined;
});

describe.each([
	[60, 15],
	[240, 60],
])('a Flagger canary in the model view at %ix%i', (columns, rows) => {
	it('shows Flagger’s phase, step and failed checks, and the failing metric’s value when there is room', async () => {
		const sources = fakeSources({metrics: false});
		sources.cluster.models = models;
		const ui = await renderAtSize({sources}, columns, rows);
		cleanup = ui.cleanup;
		await ui.waitFor('MODEL');
		await ui.press('enter');
		await settle(100);
		const frame = await ui.waitFor('Flagger');
		expect(frameProblems(frame, ui.violations(), columns, rows)).toEqual([]);
		expect(frame).toMatch(/STABLE \S/);
		expect(frame).toMatch(/CANARY \S/);
		expect(frame).toContain('fraud-scorer-primary');
		expect(frame).toContain('router flagger Canary/fraud-scorer');
		expect(frame).toContain('Flagger: Progressing · step 2/5 · failed checks 3/5');
		if (columns >= 120) {
			expect(frame).toContain('request-success-rate: Halt fraud-scorer.prod advancement success rate 45.20% < 99%');
			expect(frame).toContain(
				`Flagger acts, not modeldeck: kubectl -n prod patch canary fraud-scorer --type merge -p '{"spec":{"skipAnalysis":true}}'`,
			);
			expect(frame).toMatch(/ 80% /);
			expect(frame).toMatch(/ 20% /);
		}
	});
});
