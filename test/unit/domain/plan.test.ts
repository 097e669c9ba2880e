import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {parseAction} from '../../../source/agent/actions/validate.ts';
import {
	actionConflict,
	changedVersions,
	isNoop,
	noopMessage,
	planAfter,
	planBefore,
	planConflict,
	planDangers,
	plannedAction,
	PlanRefusal,
	planLines,
	planResult,
	planTraffic,
	type TrafficAction,
} from '../../../source/domain/plan.ts';
import type {Flag, Model} from '../../../source/domain/types.ts';

function model(weights: number[], name = 'search-ranker'): Model {
	return {
		namespace: 'ml-serving',
		name,
		router: 'httproute',
		versions: weights.map((weight, index) => ({
			name: `v${index + 1}`,
			track: index === 0 ? 'stable' : 'canary',
			weight,
			replicasReady: 1,
			replicasDesired: 1,
			restarts: 0,
			image: 'img',
			created: `2026-11-0${index + 1}T00:00:00Z`,
		})),
	};
}

const ref = {namespace: 'ml-serving', name: 'search-ranker'};

describe('planTraffic', () => {
	it('promote lists every version, the one it names and the ones it silently zeroed before', () => {
		const plan = planTraffic(model([80, 15, 5]), {kind: 'promote', model: ref, canary: 'v2', stable: 'v1'});
		expect(planLines(plan)).toEqual(['stable v1: 80% → 0%', 'canary v2: 15% → 100%', 'canary v3: 5% → 0%']);
		expect(planBefore(plan)).toBe('v1 80%, v2 15%, v3 5%');
		expect(planAfter(plan)).toBe('v1 0%, v2 100%, v3 0%');
		expect(planResult(plan)).toBe('search-ranker: v1 80% → 0%, v2 15% → 100%, v3 5% → 0%');
	});

	it('a change that changes nothing is a no-op with a message', () => {
		const rollback = planTraffic(model([100, 0]), {kind: 'rollback', model: ref, canary: 'v2'});
		expect(isNoop(rollback)).toBe(true);
		expect(noopMessage(rollback)).toBe('nothing to change: search-ranker is already there (v1 100%, v2 0%)');
		expect(isNoop(planTraffic(model([75, 25]), {kind: 'set-weight', model: ref, canary: 'v2', from: 25, to: 25}))).toBe(true);
		expect(isNoop(planTraffic(model([75, 25]), {kind: 'set-weight', model: ref, canary: 'v2', from: 25, to: 30}))).toBe(false);
	});

	it('refuses what cannot be done, saying why', () => {
		expect(() => planTraffic(model([90, 10]), {kind: 'set-weight', model: ref, canary: 'v1', from: 90, to: 10})).toThrow(PlanRefusal);
		expect(() => planTraffic(model([60, 30, 10]), {kind: 'set-weight', model: ref, canary: 'v2', from: 30, to: 95})).toThrow(
			/other canaries hold 10%/,
		);
		expect(() => planTraffic(model([90, 10]), {kind: 'set-weight', model: ref, canary: 'v2', from: 10, to: 4.5})).toThrow(
			/4.5 is not a weight/,
		);
		expect(() => planTraffic(model([90, 10]), {kind: 'promote', model: ref, canary: 'v9', stable: 'v1'})).toThrow(
			'search-ranker has no version v9 (versions: v1, v2)',
		);
	});

	it('over generated models and actions: every version is listed, weights still sum to 100, only changed ones say →', () => {
		const arbitrary = fc.integer({min: 2, max: 4}).chain((n) =>
			fc.record({
				weights: fc.array(fc.integer({min: 0, max: 100}), {minLength: n - 1, maxLength: n - 1}).map((cuts) => {
					const sorted = [0, ...cuts.sort((a, b) => a - b), 100];
					return sorted.slice(1).map((cut, index) => cut - sorted[index]!);
				}),
				target: fc.integer({min: 0, max: n - 1}),
				to: fc.integer({min: 0, max: 100}),
				kind: fc.constantFrom('set-weight', 'promote', 'rollback', 'switch'),
			}),
		);
		fc.assert(
			fc.property(arbitrary, ({weights, target, to, kind}) => {
				const name = `v${target + 1}`;
				const action: TrafficAction =
					kind === 'set-weight'
						? {kind, model: ref, canary: name, from: weights[target]!, to}
						: kind === 'switch'
							? {kind, model: ref, from: 'v1', to: name}
							: kind === 'promote'
								? {kind, model: ref, canary: name, stable: 'v1'}
								: {kind: 'rollback', model: ref, canary: name};
				let plan;
				try {
					plan = planTraffic(model(weights), action);
				} catch (error) {
					expect(error).toBeInstanceOf(PlanRefusal);
					return;
				}

				expect(plan.versions.map((version) => version.name)).toEqual(weights.map((_, index) => `v${index + 1}`));
				expect(plan.versions.reduce((sum, version) => sum + version.after, 0)).toBe(100);
				const lines = planLines(plan);
				expect(lines.filter((line) => line.includes('→'))).toHaveLength(changedVersions(plan).length);
				// The action sent carries the weights planned from: the same model holds, a moved weight conflicts.
				const sent = plannedAction(plan);
				expect(actionConflict(model(weights), sent)).toBeUndefined();
				const moved = model(weights.map((weight, index) => (index === 0 ? weight - 1 : index === 1 ? weight + 1 : weight)));
				expect(actionConflict(moved, sent)).toMatch(/changed since the plan was confirmed/);
			}),
			{numRuns: 300},
		);
	});
});

describe('plan conflicts', () => {
	it('names every version that moved, came or went', () => {
		expect(planConflict(model([70, 30]), {v1: 80, v2: 20})).toBe(
			'search-ranker changed since the plan was confirmed: v1 is at 70% now, not 80%, v2 is at 30% now, not 20%; nothing was written — look again and retry',
		);
		expect(planConflict(model([70, 20, 10]), {v1: 70, v2: 20})).toMatch(/v3 \(10%\) appeared/);
		expect(planConflict(model([70, 30]), {v1: 70, v2: 30, v3: 0})).toMatch(/v3 is gone \(was 0%\)/);
		expect(planConflict(model([70, 30]), undefined)).toBeUndefined();
	});
});

describe('planDangers', () => {
	const critical: Flag = {kind: 'latency', severity: 'critical', message: 'canary p99 1178 ms is 2607% worse than stable 44 ms', since: 0};
	const warning: Flag = {kind: 'cpu', severity: 'warning', message: 'cpu high', since: 0};

	it('a version gaining traffic while flagged critical or judged fail, with the evidence', () => {
		const plan = planTraffic(model([90, 10]), {kind: 'set-weight', model: ref, canary: 'v2', from: 10, to: 20});
		expect(planDangers(plan, (version) => (version === 'v2' ? [critical, warning] : []), undefined)).toEqual([
			{version: 'v2', before: 10, after: 20, evidence: ['critical: canary p99 1178 ms is 2607% worse than stable 44 ms']},
		]);
		const verdict = {result: 'fail' as const, score: 12, windowSeconds: 600, metrics: [], summary: 'fail: score 12'};
		expect(planDangers(plan, () => [], verdict)).toEqual([
			{version: 'v2', before: 10, after: 20, evidence: ['verdict fail: fail: score 12']},
		]);
		expect(planDangers(plan, () => [warning], {...verdict, result: 'pass'})).toEqual([]);
	});

	it('less traffic to a flagged version is no danger', () => {
		const plan = planTraffic(model([90, 10]), {kind: 'rollback', model: ref, canary: 'v2'});
		expect(planDangers(plan, (version) => (version === 'v2' ? [critical] : []), undefined)).toEqual([]);
	});
});

describe('the agent reads `expected` from untrusted JSON', () => {
	const base = {kind: 'set-weight', model: {namespace: 'a', name: 'b'}, canary: 'v2', from: 10, to: 20};

	it('accepts a map of whole weights and refuses anything else with a message', () => {
		expect(parseAction({...base, expected: {v1: 90, v2: 10}})).toEqual({...base, expected: {v1: 90, v2: 10}});
		expect(parseAction({...base, expected: {v1: 90.5}})).toBe('expected.v1: "90.5" is not a weight: type a whole number from 0 to 100');
		expect(parseAction({...base, expected: [90, 10]})).toBe('expected must be an object {version: weight}');
		expect(parseAction({kind: 'smoke-test', target: {namespace: 'a', name: 'b', version: 'v1'}, expected: {}})).toBe(
			'expected is only for traffic changes, not smoke-test',
		);
	});

	it('fuzzed: never throws, and whatever it accepts holds whole weights 0–100', () => {
		fc.assert(
			fc.property(
				fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)))),
				(expected) => {
					const parsed = parseAction({...base, expected});
					if (typeof parsed === 'string') return;
					const weights = Object.values((parsed as {expected?: Record<string, number>}).expected ?? {});
					expect(weights.every((weight) => Number.isInteger(weight) && weight >= 0 && weight <= 100)).toBe(true);
				},
			),
			{numRuns: 500},
		);
	});
});
