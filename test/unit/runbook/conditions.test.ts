/** Conditions read the state through the screens' selectors: flags, verdicts, weights and figures as shown. */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {Condition, Subject} from '../../../source/domain/runbook/types.ts';
import type {Model, Sample} from '../../../source/domain/types.ts';
import {describeCondition, evaluateCondition} from '../../../source/runbook/conditions.ts';
import {initialState, type AppState} from '../../../source/state/state.ts';

const fraud: Model = {
	namespace: 'payments',
	name: 'fraud-detector',
	router: 'demo',
	versions: [
		{
			name: 'v12',
			track: 'stable',
			weight: 90,
			replicasReady: 2,
			replicasDesired: 2,
			restarts: 0,
			image: 'i:12',
			created: '2026-01-01T00:00:00Z',
		},
		{
			name: 'v13',
			track: 'canary',
			weight: 10,
			replicasReady: 1,
			replicasDesired: 1,
			restarts: 0,
			image: 'i:13',
			created: '2026-01-01T00:00:00Z',
		},
	],
};

const sample = (p99Ms: number | null, errorRatio: number): Sample => ({
	rps: 40,
	errorRatio,
	p50Ms: 20,
	p95Ms: 60,
	p99Ms,
	cpuCores: 0.25,
	memoryBytes: 3 * 1024 ** 3,
	time: 0,
});

function state(changes: Partial<AppState> = {}): AppState {
	return {
		...initialState({demo: true, readOnly: false, context: 'demo-prod', namespace: undefined, weightStep: 10, refreshSeconds: 2, now: 0}),
		models: [fraud],
		samples: {'payments/fraud-detector/v13': sample(480, 0.031), 'payments/fraud-detector/v12': sample(90, 0.001)},
		flags: {'payments/fraud-detector/v13': [{kind: 'latency', severity: 'warning', message: 'p99 high', since: 0}]},
		verdicts: {'payments/fraud-detector': {result: 'fail', score: 10, windowSeconds: 600, metrics: [], summary: 'p99 38% higher'}},
		...changes,
	};
}

const on = (subject: Subject, extra: Partial<Condition> = {}): Condition => ({model: 'fraud-detector', subject, negated: false, ...extra});
const bound = (operator: '>' | '<' | '=', value: number) => ({operator, value, text: `${operator} ${value}`});

describe('conditions', () => {
	it('a flag: kind and least severity, on the canary unless a version is named', () => {
		expect(evaluateCondition(on({kind: 'flag', flag: 'latency'}), state())).toEqual({
			met: true,
			shown: 'flags on payments/fraud-detector v13: latency warning',
		});
		expect(evaluateCondition(on({kind: 'flag', flag: 'latency', severity: 'critical'}), state()).met).toBe(false);
		expect(evaluateCondition(on({kind: 'flag', flag: 'any'}, {version: 'stable'}), state())).toEqual({
			met: false,
			shown: 'no flags on payments/fraud-detector v12',
		});
	});

	it('the verdict, with its summary', () => {
		expect(evaluateCondition(on({kind: 'verdict', verdict: 'fail'}), state())).toEqual({
			met: true,
			shown: 'the verdict on payments/fraud-detector is fail: p99 38% higher',
		});
		expect(evaluateCondition(on({kind: 'verdict', verdict: 'pass'}), state({verdicts: {}}))).toEqual({
			met: false,
			shown: 'no verdict on payments/fraud-detector yet',
		});
	});

	it('figures in the units the screens show', () => {
		expect(evaluateCondition(on({kind: 'figure', figure: 'p99', bound: bound('>', 400)}), state())).toEqual({
			met: true,
			shown: 'p99 of payments/fraud-detector v13 is 480 ms',
		});
		expect(evaluateCondition(on({kind: 'figure', figure: 'errors', bound: bound('<', 1)}), state())).toEqual({
			met: false,
			shown: 'errors of payments/fraud-detector v13 is 3.1%',
		});
		expect(evaluateCondition(on({kind: 'figure', figure: 'memory', bound: bound('>', 2 * 1024 ** 3)}), state()).shown).toContain('3.0Gi');
	});

	it('no figure is not met, negated or not', () => {
		const noData = state({samples: {'payments/fraud-detector/v13': sample(null, 0)}});
		for (const negated of [false, true]) {
			expect(evaluateCondition(on({kind: 'figure', figure: 'p99', bound: bound('>', 1)}, {negated}), noData)).toEqual({
				met: false,
				shown: 'no p99 figure for payments/fraud-detector v13 yet',
			});
		}
	});

	it('a missing model or version: not met, said with what is there; exists: false holds', () => {
		const missing = evaluateCondition({model: 'nope', subject: {kind: 'weight', bound: bound('=', 0)}, negated: false}, state());
		expect(missing).toEqual({met: false, shown: 'no model nope in the fleet (models: fraud-detector)'});
		expect(evaluateCondition(on({kind: 'exists'}, {version: 'v14', negated: true}), state()).met).toBe(true);
		expect(evaluateCondition(on({kind: 'exists'}, {version: 'v13', negated: true}), state()).met).toBe(false);
		expect(evaluateCondition(on({kind: 'weight', bound: bound('=', 0)}, {version: 'v14'}), state()).shown).toContain(
			'versions: v12 (stable, 90%), v13 (canary, 10%)',
		);
	});

	it('a model named twice needs its namespace', () => {
		const twice = state({models: [fraud, {...fraud, namespace: 'staging'}]});
		expect(evaluateCondition(on({kind: 'exists'}), twice).shown).toContain('write namespace/name');
		expect(evaluateCondition(on({kind: 'exists'}, {model: 'staging/fraud-detector'}), twice).met).toBe(true);
	});

	it('screen, dialog and toast', () => {
		expect(evaluateCondition({subject: {kind: 'screen', screen: 'fleet'}, negated: false}, state()).met).toBe(true);
		expect(evaluateCondition({subject: {kind: 'dialog', dialog: 'none'}, negated: false}, state())).toEqual({
			met: true,
			shown: 'no dialog is open',
		});
		const help = state({overlay: {kind: 'help'}});
		expect(evaluateCondition({subject: {kind: 'dialog', dialog: 'confirm'}, negated: false}, help)).toEqual({
			met: false,
			shown: 'the help dialog is open',
		});
		const toasts = state({toasts: [{id: 1, severity: 'success', message: 'fraud-detector: v13 10% → 0%', time: 0}]});
		expect(evaluateCondition({subject: {kind: 'toast', text: '10% → 0%'}, negated: false}, toasts).met).toBe(true);
	});

	it('not turns a condition round whenever the console shows the thing at all', () => {
		const subjects = fc.oneof(
			fc.record({kind: fc.constant('flag' as const), flag: fc.constantFrom('latency' as const, 'errors' as const, 'any' as const)}),
			fc.record({kind: fc.constant('verdict' as const), verdict: fc.constantFrom('pass' as const, 'fail' as const)}),
			fc.record({
				kind: fc.constant('weight' as const),
				bound: fc.record({
					operator: fc.constantFrom('>' as const, '<' as const, '=' as const),
					value: fc.integer({min: 0, max: 100}),
					text: fc.constant('x'),
				}),
			}),
			fc.record({
				kind: fc.constant('figure' as const),
				figure: fc.constantFrom('p99' as const, 'rps' as const, 'cpu' as const),
				bound: fc.record({
					operator: fc.constantFrom('>' as const, '<' as const),
					value: fc.double({min: 0, max: 1000, noNaN: true}),
					text: fc.constant('x'),
				}),
			}),
		);
		fc.assert(
			fc.property(subjects, fc.constantFrom('v12', 'v13', 'canary', 'stable'), (subject, version) => {
				const condition = on(subject as Subject, subject.kind === 'verdict' ? {} : {version});
				const plain = evaluateCondition(condition, state());
				const negated = evaluateCondition({...condition, negated: true}, state());
				expect(negated.met).toBe(!plain.met);
				expect(negated.shown).toBe(plain.shown);
				expect(describeCondition(condition)).not.toBe(describeCondition({...condition, negated: true}));
			}),
		);
	});
});
