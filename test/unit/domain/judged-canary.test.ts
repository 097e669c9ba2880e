/**
 * The canary the console judges while a rollout of ours runs is the version being rolled out, so that the verdict on
 * screen and the rollout's own judgement are about the same pair; otherwise (no rollout, or one that ended) the first
 * canary, as before.
 */
import {describe, expect, it} from 'vitest';
import type {CanaryJudge, Verdict} from '../../../source/domain/analysis.ts';
import {startDelivery, type DeliveryState} from '../../../source/domain/delivery.ts';
import {analyse, judgedCanary} from '../../../source/domain/pipeline.ts';
import type {Model, Series} from '../../../source/domain/types.ts';

const now = Date.parse('2026-12-07T06:00:00Z');

function version(name: string, track: 'stable' | 'canary', weight: number): Model['versions'][number] {
	return {name, track, weight, replicasReady: 1, replicasDesired: 1, restarts: 0, image: `r/m:${name}`, created: '2026-12-01T00:00:00Z'};
}

function model(delivery?: DeliveryState): Model {
	return {
		namespace: 'prod',
		name: 'fraud',
		router: 'httproute',
		versions: [version('v12', 'stable', 75), version('v13', 'canary', 0), version('v14', 'canary', 25)],
		...(delivery ? {delivery} : {}),
	};
}

function delivering(phase: DeliveryState['phase']): DeliveryState {
	const spec = {
		model: {namespace: 'prod', name: 'fraud'},
		image: 'r/m:v14',
		version: 'v14',
		steps: [25, 100],
		pauseSeconds: 60,
		readyTimeoutSeconds: 60,
		maxHolds: 1,
		requestedBy: 'alice',
	};
	return {...startDelivery(spec, 'v12', 'weights', now).state, phase, stepIndex: 0, weight: 25};
}

const series = (value: number): Series => ({p99Ms: [{time: now, value}]});

describe('the canary the console judges', () => {
	it('is the version a running rollout delivers, else the first canary', () => {
		expect(judgedCanary(model(delivering('stepping')))?.name).toBe('v14');
		expect(judgedCanary(model(delivering('rolled-back')))?.name).toBe('v13');
		expect(judgedCanary(model())?.name).toBe('v13');
	});

	it('is what the judge is given: the verdict shown is about the rollout’s pair', () => {
		const judged: Array<Series | undefined> = [];
		const judge: CanaryJudge = {
			judge(canary): Verdict {
				judged.push(canary);
				return {result: 'pass', score: 100, windowSeconds: 60, metrics: [], summary: 'ok'};
			},
		};
		const history = {'prod/fraud/v12': series(40), 'prod/fraud/v13': series(1), 'prod/fraud/v14': series(41)};
		analyse({
			models: [model(delivering('stepping'))],
			history,
			detectors: [],
			judge,
			judgeWindowSeconds: 60,
			now,
			samples: {},
			thresholds: {},
			previous: {},
		});
		expect(judged).toEqual([history['prod/fraud/v14']]);
	});
});
