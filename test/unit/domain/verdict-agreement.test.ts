/**
 * A verdict never says pass while a critical canary flag stands on a metric the judge covers: as a domain rule over
 * generated verdicts and flags, and through the store's analysis over generated samples.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {CanaryJudge, MetricJudgement, Verdict} from '../../../source/domain/analysis.ts';
import {verdictAgreeingWith} from '../../../source/domain/judge.ts';
import {
	type Flag,
	type FlagKind,
	METRIC_NAMES,
	type MetricName,
	type Model,
	type Sample,
	type Severity,
	versionKey,
} from '../../../source/domain/types.ts';
import {analyse} from '../../../source/domain/pipeline.ts';

const judged: MetricName[] = METRIC_NAMES.filter((metric) => metric !== 'rps');
const kinds: FlagKind[] = ['latency', 'errors', 'cpu', 'memory', 'canary', 'anomaly', 'drift', 'readiness', 'restarts'];
const severities: Severity[] = ['info', 'warning', 'critical'];

const judgementArb: fc.Arbitrary<MetricJudgement> = fc.record({
	metric: fc.constantFrom(...judged),
	effect: fc.double({noNaN: true}),
	pValue: fc.option(fc.double({min: 0, max: 1, noNaN: true}), {nil: null}),
	result: fc.constantFrom('pass' as const, 'high' as const, 'low' as const, 'nodata' as const),
	critical: fc.boolean(),
	explanation: fc.string(),
});

const verdictArb: fc.Arbitrary<Verdict> = fc.record({
	result: fc.constantFrom('pass' as const, 'marginal' as const, 'fail' as const, 'insufficient-data' as const),
	score: fc.option(fc.double({min: 0, max: 100, noNaN: true}), {nil: null}),
	windowSeconds: fc.constantFrom(300, 600),
	metrics: fc.uniqueArray(judgementArb, {selector: (metric) => metric.metric, maxLength: 6}),
	summary: fc.string(),
});

const flagArb: fc.Arbitrary<Flag> = fc
	.record({
		kind: fc.constantFrom(...kinds),
		severity: fc.constantFrom(...severities),
		message: fc.string({minLength: 1}),
		since: fc.integer({min: 0}),
		metric: fc.option(fc.constantFrom(...METRIC_NAMES), {nil: undefined}),
	})
	.map(({metric, ...flag}) => (metric === undefined ? flag : {...flag, metric}));

function contradicting(verdict: Verdict, flags: readonly Flag[]): Flag[] {
	return flags.filter(
		(flag) => flag.kind === 'canary' && flag.severity === 'critical' && verdict.metrics.some((metric) => metric.metric === flag.metric),
	);
}

describe('verdictAgreeingWith', () => {
	it('never passes while a critical canary flag stands on a judged metric, and says which flag', () => {
		fc.assert(
			fc.property(verdictArb, fc.array(flagArb, {maxLength: 8}), (verdict, flags) => {
				const agreed = verdictAgreeingWith(verdict, flags);
				const against = contradicting(verdict, flags);
				if (against.length > 0) {
					expect(agreed.result).not.toBe('pass');
					expect(agreed.readyToPromote).toBeUndefined();
					if (verdict.result === 'pass' || verdict.result === 'marginal') {
						expect(agreed.result).toBe('fail');
						expect(agreed.flaggedBy).toEqual(expect.arrayContaining(against));
						expect(agreed.summary).toContain(agreed.flaggedBy![0]!.message);
						expect(agreed.flaggedBy![0]!.kind).toBe('canary');
					}
				}

				// Fail and insufficient data are already not a pass: left as they are.
				if (verdict.result === 'fail' || verdict.result === 'insufficient-data') expect(agreed).toBe(verdict);
				// Idempotent: agreeing twice changes nothing more.
				expect(verdictAgreeingWith(agreed, flags)).toEqual(agreed);
			}),
			{numRuns: 500},
		);
	});

	it('leaves a verdict alone when no flag contradicts it', () => {
		fc.assert(
			fc.property(verdictArb, fc.array(flagArb, {maxLength: 8}), (verdict, flags) => {
				const harmless = flags.filter((flag) => contradicting(verdict, [flag]).length === 0 && flag.kind !== 'restarts');
				expect(verdictAgreeingWith(verdict, harmless)).toBe(verdict);
			}),
			{numRuns: 300},
		);
	});

	it("fails a verdict while the canary's pods are OOMKilled and stable's are not", () => {
		const verdict: Verdict = {result: 'marginal', score: 83, windowSeconds: 600, metrics: [], summary: 'marginal: worse memory — score 83'};
		const oom: Flag = {kind: 'restarts', severity: 'critical', message: 'pod OOMKilled', since: 0};
		expect(verdictAgreeingWith(verdict, [oom]).summary).toBe(
			'fail: canary pod OOMKilled — the judge alone said marginal: worse memory — score 83',
		);
		expect(verdictAgreeingWith(verdict, [oom], [oom])).toBe(verdict);
	});
});

describe('analyse: the verdict shown agrees with the flags shown', () => {
	const model: Model = {
		namespace: 'payments',
		name: 'fraud',
		router: 'demo',
		versions: [
			{
				name: 'v1',
				track: 'stable',
				weight: 90,
				replicasReady: 2,
				replicasDesired: 2,
				restarts: 0,
				image: 'a',
				created: '2025-01-01T00:00:00Z',
			},
			{
				name: 'v2',
				track: 'canary',
				weight: 10,
				replicasReady: 1,
				replicasDesired: 1,
				restarts: 0,
				image: 'b',
				created: '2025-01-01T00:00:00Z',
			},
		],
	};
	const stableKey = versionKey({namespace: 'payments', name: 'fraud', version: 'v1'});
	const canaryKey = versionKey({namespace: 'payments', name: 'fraud', version: 'v2'});
	/** A judge that saw nothing wrong in the history (as when a regression began after its window was judged). */
	const passingJudge: CanaryJudge = {
		judge: (_canary, _stable, windowSeconds) => ({
			result: 'pass',
			score: 100,
			windowSeconds,
			metrics: judged.map((metric) => ({metric, effect: 0, pValue: 0.5, result: 'pass' as const, critical: false, explanation: ''})),
			summary: 'pass: score 100 (6 of 6 metrics passed) over 10m — ready to promote',
			readyToPromote: true,
		}),
	};
	const sampleArb: fc.Arbitrary<Sample> = fc.record({
		time: fc.constant(1_700_000_000_000),
		rps: fc.option(fc.double({min: 0, max: 1000, noNaN: true}), {nil: null}),
		errorRatio: fc.option(fc.double({min: 0, max: 1, noNaN: true}), {nil: null}),
		p50Ms: fc.option(fc.double({min: 0, max: 5000, noNaN: true}), {nil: null}),
		p95Ms: fc.option(fc.double({min: 0, max: 5000, noNaN: true}), {nil: null}),
		p99Ms: fc.option(fc.double({min: 0, max: 5000, noNaN: true}), {nil: null}),
		cpuCores: fc.option(fc.double({min: 0, max: 8, noNaN: true}), {nil: null}),
		memoryBytes: fc.option(fc.double({min: 0, max: 8e9, noNaN: true}), {nil: null}),
	}) as fc.Arbitrary<Sample>;

	it('never shows pass next to a critical canary flag, over generated samples', () => {
		fc.assert(
			fc.property(sampleArb, sampleArb, (canary, stable) => {
				const result = analyse({
					models: [model],
					samples: {[canaryKey]: canary, [stableKey]: stable},
					history: {},
					thresholds: {},
					detectors: [],
					judge: passingJudge,
					judgeWindowSeconds: 600,
					previous: {},
					now: 1_700_000_000_000,
				});
				const verdict = result.verdicts['payments/fraud']!;
				const critical = (result.flags[canaryKey] ?? []).filter((flag) => flag.kind === 'canary' && flag.severity === 'critical');
				if (critical.length > 0) expect(verdict.result).toBe('fail');
				else expect(verdict.result).toBe('pass');
			}),
			{numRuns: 300},
		);
	});
});
