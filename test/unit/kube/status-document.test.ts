import {describe, expect, it} from 'vitest';
import {buildStatusDocument, renderStatusTable} from '../../../source/commands/status-document.ts';
import type {Verdict} from '../../../source/domain/analysis.ts';
import type {Model, Sample} from '../../../source/domain/types.ts';

const now = Date.UTC(2025, 0, 2, 3, 4, 5);

const fraud: Model = {
	namespace: 'team-a',
	name: 'fraud-detector',
	router: 'httproute',
	routerObject: 'HTTPRoute/fraud-detector',
	versions: [
		{
			name: 'v12',
			track: 'stable',
			weight: 90,
			replicasReady: 3,
			replicasDesired: 3,
			restarts: 0,
			image: 'registry.example/fraud:v12',
			created: '2025-01-01T00:00:00Z',
		},
		{
			name: 'v13',
			track: 'canary',
			weight: 10,
			replicasReady: 0,
			replicasDesired: 1,
			restarts: 4,
			image: 'registry.example/fraud:v13',
			created: '2025-01-02T00:00:00Z',
			problems: ['fraud-v13-abc CrashLoopBackOff'],
		},
	],
	warnings: ['HTTPRoute/fraud-detector weights add up to 120, not 100: shown as shares of the total'],
};

const churn: Model = {
	namespace: 'team-a',
	name: 'churn',
	router: 'replicas',
	versions: [
		{
			name: 'v1',
			track: 'stable',
			weight: 100,
			replicasReady: 2,
			replicasDesired: 2,
			restarts: 0,
			image: 'registry.example/churn:v1',
			created: '2025-01-01T00:00:00Z',
		},
	],
};

function sample(values: Partial<Sample>): Sample {
	return {rps: null, errorRatio: null, p50Ms: null, p95Ms: null, p99Ms: null, cpuCores: null, memoryBytes: null, time: now, ...values};
}

describe('buildStatusDocument', () => {
	it('is exactly the modeldeck.status/v1 contract, models sorted, readiness flags without metrics', () => {
		expect(buildStatusDocument({context: 'prod', models: [fraud, churn], now})).toEqual({
			schema: 'modeldeck.status/v1',
			context: 'prod',
			generatedAt: '2025-01-02T03:04:05.000Z',
			models: [
				{
					name: 'churn',
					namespace: 'team-a',
					router: 'replicas',
					versions: [
						{
							name: 'v1',
							track: 'stable',
							weight: 100,
							ready: 2,
							desired: 2,
							restarts: 0,
							image: 'registry.example/churn:v1',
							metrics: null,
							flags: [],
						},
					],
					verdict: null,
				},
				{
					name: 'fraud-detector',
					namespace: 'team-a',
					router: 'httproute',
					versions: [
						{
							name: 'v12',
							track: 'stable',
							weight: 90,
							ready: 3,
							desired: 3,
							restarts: 0,
							image: 'registry.example/fraud:v12',
							metrics: null,
							flags: [],
						},
						{
							name: 'v13',
							track: 'canary',
							weight: 10,
							ready: 0,
							desired: 1,
							restarts: 4,
							image: 'registry.example/fraud:v13',
							metrics: null,
							flags: [
								{kind: 'readiness', severity: 'critical', message: '0/1 pods ready'},
								{kind: 'restarts', severity: 'critical', message: 'pod fraud-v13-abc CrashLoopBackOff'},
							],
						},
					],
					verdict: null,
				},
			],
		});
	});

	it('adds metrics, threshold and canary flags from samples, and verdicts', () => {
		const samples = new Map([
			['team-a/fraud-detector/v12', sample({rps: 90, errorRatio: 0.001, p99Ms: 120})],
			['team-a/fraud-detector/v13', sample({rps: 10, errorRatio: 0.05, p99Ms: 600, cpuCores: 0.2, memoryBytes: 1e8})],
		]);
		const verdict: Verdict = {result: 'fail', score: 20, windowSeconds: 300, metrics: [], summary: 'errors 50x stable'};
		const document = buildStatusDocument({
			context: 'prod',
			models: [fraud],
			samples,
			verdicts: new Map([['team-a/fraud-detector', verdict]]),
			thresholds: {models: {'fraud-detector': {p99LatencyMs: 1000}}},
			now,
		});
		const [stable, canary] = document.models[0]!.versions;
		expect(stable!.metrics).toEqual({rps: 90, errorRatio: 0.001, p50Ms: null, p95Ms: null, p99Ms: 120, cpuCores: null, memoryBytes: null});
		expect(canary!.flags.map((flag) => flag.kind)).toEqual(['readiness', 'restarts', 'errors', 'canary', 'canary']);
		// The per-model override lifts the p99 limit to 1000 ms: no latency flag at 600 ms.
		expect(canary!.flags.some((flag) => flag.kind === 'latency')).toBe(false);
		expect(document.models[0]!.verdict).toEqual({result: 'fail', score: 20, windowSeconds: 300, summary: 'errors 50x stable'});
	});

	it('uses the flags it is given instead of computing them', () => {
		const flags = new Map([
			['team-a/churn/v1', [{kind: 'drift' as const, severity: 'warning' as const, message: 'output drift', since: now}]],
		]);
		expect(buildStatusDocument({context: 'c', models: [churn], flags, now}).models[0]!.versions[0]!.flags).toEqual([
			{kind: 'drift', severity: 'warning', message: 'output drift'},
		]);
	});
});

describe('renderStatusTable', () => {
	it('one row per version, warnings after the table', () => {
		const document = buildStatusDocument({context: 'prod', models: [fraud, churn], now});
		const warnings = new Map([['team-a/fraud-detector', fraud.warnings!]]);
		expect(renderStatusTable(document, warnings)).toBe(
			[
				'context prod · 2025-01-02T03:04:05.000Z',
				'NAMESPACE  MODEL           ROUTER     VERSION  TRACK   WEIGHT  READY  RESTARTS  FLAGS',
				'team-a     churn           replicas   v1       stable  100%    2/2    0         ok',
				'team-a     fraud-detector  httproute  v12      stable  90%     3/3    0         ok',
				'team-a     fraud-detector  httproute  v13      canary  10%     0/1    4         !! 0/1 pods ready; !! pod fraud-v13-abc CrashLoopBackOff',
				'warning: team-a/fraud-detector: HTTPRoute/fraud-detector weights add up to 120, not 100: shown as shares of the total',
				'',
			].join('\n'),
		);
	});

	it('metric columns appear with metrics; no models is said', () => {
		const samples = new Map([['team-a/churn/v1', sample({rps: 12.34, errorRatio: 0.0123, p99Ms: 87.6})]]);
		const table = renderStatusTable(buildStatusDocument({context: 'c', models: [churn], samples, now}));
		expect(table.split('\n')[1]).toContain('RPS   ERRORS  P99 MS  FLAGS');
		expect(table.split('\n')[2]).toContain('12.3  1.23%   88      ok');
		expect(renderStatusTable(buildStatusDocument({context: 'c', models: [], now}))).toContain('no models found');
	});
});

describe('status document: how each model was found, who owns it, what runs on it, where the figures came from', () => {
	it('carries discoveredBy, the owner, the controller rollout, the delivery and the metrics source', async () => {
		const {startDelivery} = await import('../../../source/domain/delivery.ts');
		const {state} = startDelivery(
			{
				model: {namespace: 'team-a', name: 'fraud-detector'},
				image: 'registry.example/fraud:v14',
				version: 'v14',
				steps: [5, 50, 100],
				pauseSeconds: 60,
				readyTimeoutSeconds: 300,
				maxHolds: 2,
				requestedBy: 'alice@prod',
			},
			'v12',
			'weights',
			now,
		);
		const owned: Model = {
			...fraud,
			discoveredBy: 'Rollout/fraud-detector',
			owner: {
				controller: 'Argo Rollouts',
				object: 'Rollout/fraud-detector',
				evidence: 'ownerReferences',
				command: 'kubectl argo rollouts promote fraud-detector -n team-a',
			},
			rollout: {controller: 'argo-rollouts', phase: 'Paused', step: 2, totalSteps: 4, paused: true},
			delivery: state,
		};
		const document = buildStatusDocument({
			context: 'prod',
			models: [owned, churn],
			now,
			metricsSource: {source: 'prometheus-operated', found: 'Service monitoring/prometheus-operated (Prometheus Operator)'},
		});
		expect(document.metricsSource).toEqual({
			source: 'prometheus-operated',
			found: 'Service monitoring/prometheus-operated (Prometheus Operator)',
		});
		const model = document.models.find((candidate) => candidate.name === 'fraud-detector')!;
		expect(model.discoveredBy).toBe('Rollout/fraud-detector');
		expect(model.owner?.command).toBe('kubectl argo rollouts promote fraud-detector -n team-a');
		expect(model.controllerRollout).toMatchObject({phase: 'Paused', step: 2, totalSteps: 4});
		expect(model.delivery).toEqual({
			phase: 'starting',
			version: 'v14',
			image: 'registry.example/fraud:v14',
			weight: 0,
			step: 0,
			steps: 3,
			paused: false,
			startedAt: new Date(now).toISOString(),
			requestedBy: 'alice@prod',
		});
		// A model without any of it carries none of the fields (scripts test for their presence).
		const plain = document.models.find((candidate) => candidate.name === 'churn')!;
		expect(Object.keys(plain)).toEqual(['name', 'namespace', 'router', 'versions', 'verdict']);
		expect(JSON.parse(JSON.stringify(document))).toEqual(document);
	});

	it('says there is no metrics source with null, and leaves the field out when the caller does not know', () => {
		expect(buildStatusDocument({context: 'c', models: [], now, metricsSource: null}).metricsSource).toBeNull();
		expect('metricsSource' in buildStatusDocument({context: 'c', models: [], now})).toBe(false);
	});
});
