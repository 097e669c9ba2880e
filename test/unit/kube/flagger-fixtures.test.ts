/**
 * What modeldeck makes of objects the real Flagger v1.36.1 wrote on the local control plane, captured by
 * test/integration/flagger.test.ts (MODELDECK_CAPTURE=1): the Canary, its target and primary, the Services,
 * VirtualService and DestinationRules Flagger generated, and the Events it recorded on the Canary.
 */
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {analyseModels, type ClusterSnapshot} from '../../../source/adapters/kube/build-models.ts';
import {refuseControllerOwned} from '../../../source/adapters/kube/flagger-actions.ts';

function fixture(name: string): ClusterSnapshot {
	return JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/kube', `${name}.json`), 'utf8')) as ClusterSnapshot;
}

function only(snapshot: ClusterSnapshot) {
	const analyses = analyseModels(snapshot);
	expect(analyses.map((analysis) => `${analysis.model.namespace}/${analysis.model.name} ${analysis.model.router}`)).toEqual([
		'team-a/fraud flagger',
	]);
	return analyses[0]!;
}

describe('objects Flagger wrote, captured from the real API server', () => {
	it('a failing analysis: one model (the generated Services, router and primary are Flagger’s), weights from its VirtualService, the halt’s metric value', () => {
		const snapshot = fixture('flagger-failing');
		const canary = snapshot.canaries![0]!;
		const {model} = only(snapshot);
		const weight = canary.status!.canaryWeight!;
		expect(weight).toBeGreaterThan(0);
		expect(model.versions.map(({track, name, weight: share, image}) => `${track} ${name} ${share}% ${image}`)).toEqual([
			`stable fraud-primary ${100 - weight}% registry.example/fraud:v1`,
			`canary fraud ${weight}% registry.example/fraud:v2`,
		]);
		expect(model.rollout).toMatchObject({
			controller: 'flagger',
			phase: 'Progressing',
			failedChecks: canary.status!.failedChecks,
			failedChecksLimit: 2,
			analysis: {phase: 'Failing', failingMetric: 'error-percent', detail: 'Halt fraud.team-a advancement error-percent 45.20 > 1'},
		});
		expect(model.discoveredBy).toBe('Canary/fraud (flagger.app), weights from VirtualService/fraud');
		expect(() => refuseControllerOwned(only(snapshot), 'set-weight')).toThrow(/^Flagger sets the weights of Canary\/fraud itself/);
	});

	it('waiting for promotion: status.canaryWeight is 0 as Flagger writes it, the router’s 40% is shown; the gate to open is named, and no stale halt', () => {
		const snapshot = fixture('flagger-waiting-promotion');
		expect(snapshot.canaries![0]!.status!.canaryWeight).toBe(0);
		const analysis = only(snapshot);
		expect(analysis.model.versions.map(({name, weight}) => `${name} ${weight}%`)).toEqual(['fraud-primary 60%', 'fraud 40%']);
		expect(analysis.model.rollout).toMatchObject({phase: 'WaitingPromotion', paused: true, step: 2, totalSteps: 2, failedChecks: 0});
		expect(analysis.model.rollout?.analysis?.failingMetric).toBeUndefined();
		expect(() => refuseControllerOwned(analysis, 'promote')).toThrow(
			/its confirm-promotion gate "promotion gate" is served by the loadtester, not by modeldeck — open it: curl -sd '\{"name":"fraud","namespace":"team-a"\}' http:\/\/127\.0\.0\.1:\d+\/gate\/open$/,
		);
	});
});
