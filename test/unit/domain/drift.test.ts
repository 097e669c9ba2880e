import {describe, expect, it} from 'vitest';
import {driftFlag, predictionDrift, predictionOutputs} from '../../../source/domain/drift.ts';
import type {Prediction} from '../../../source/domain/types.ts';
import {expectClose} from './stats/expect-close.ts';

function classes(counts: Record<string, number>): string[] {
	return Object.entries(counts).flatMap(([name, count]) => Array<string>(count).fill(name));
}

// Same formulas in Python: [0.6 + 0.3*((i*0.618034)%1) - 0.15 for i in range(1,301)] and
// [0.5 + 0.3*((j*0.414214)%1) - 0.15 for j in range(1,301)].
const shiftedScores = Array.from({length: 300}, (_, index) => 0.6 + 0.3 * (((index + 1) * 0.618_034) % 1) - 0.15);
const stableScores = Array.from({length: 300}, (_, index) => 0.5 + 0.3 * (((index + 1) * 0.414_214) % 1) - 0.15);

describe('predictionDrift on class outputs', () => {
	it('matches SciPy and the PSI definition, and calls a moderate shift drift', () => {
		// SciPy 1.17.1: scipy.stats.chi2_contingency([[30, 45, 25], [50, 30, 20]]) → statistic 8.555555555555557,
		// pvalue 0.0138734577625275. PSI (NumPy, definition with ε = 1e-4): 0.1741420685351333.
		const result = predictionDrift(classes({approve: 30, review: 45, deny: 25}), classes({approve: 50, review: 30, deny: 20}));
		expect(result.method).toBe('chi-square');
		expectClose(result.statistic, 8.555_555_555_555_557, 1e-12);
		expectClose(result.pValue, 0.013_873_457_762_527_5, 1e-11);
		expectClose(result.psi, 0.174_142_068_535_133_3, 1e-12);
		expect(result).toMatchObject({level: 'moderate', drifted: true, canaryCount: 100, stableCount: 100});
		expect(result.explanation).toBe(
			"outputs drifted (moderate): PSI 0.174, χ²=8.6 (df 2) p=0.014 over 3 classes — 100 canary vs 100 stable predictions; biggest change 'approve' 30% of canary vs 50% of stable",
		);
	});

	it('does not call a difference that is not significant drift', () => {
		// SciPy 1.17.1: chi2_contingency([[40, 60], [50, 50]]) (Yates) → statistic 1.6363636363636362, pvalue 0.20082512269514174.
		const result = predictionDrift(classes({fraud: 40, ok: 60}), classes({fraud: 50, ok: 50}));
		expectClose(result.pValue, 0.200_825_122_695_141_74, 1e-11);
		expect(result).toMatchObject({level: 'none', drifted: false});
		expect(result.explanation).toMatch(/^no output drift: /);
	});

	it('does not flag a significant but small shift, and says so', () => {
		const result = predictionDrift(classes({fraud: 480, ok: 3520}), classes({fraud: 300, ok: 3700}));
		expect(result.pValue).toBeLessThan(0.001);
		expect(result.psi).toBeLessThan(0.1);
		expect(result.drifted).toBe(false);
		expect(result.explanation).toMatch(/^small output shift \(PSI below 0\.1, not flagged\)/);
	});

	it('calls a new class significant drift', () => {
		const result = predictionDrift(classes({ok: 60, fraud: 20, error: 20}), classes({ok: 80, fraud: 20}));
		expect(result).toMatchObject({level: 'significant', drifted: true});
		expect(result.explanation).toContain("biggest change 'error' 20% of canary vs 0% of stable");
		expect(driftFlag(result, 7)).toMatchObject({kind: 'drift', severity: 'critical', since: 7});
	});

	it('finds no drift in identical mixes', () => {
		const result = predictionDrift(classes({a: 70, b: 30}), classes({a: 140, b: 60}));
		expect(result).toMatchObject({statistic: 0, pValue: 1, psi: 0, drifted: false, level: 'none'});
		expect(driftFlag(result, 7)).toBeUndefined();
	});

	it('treats one shared class as no drift', () => {
		expect(predictionDrift(classes({ok: 60}), classes({ok: 90}))).toMatchObject({pValue: 1, drifted: false});
	});

	it('reads small integer outputs (class ids) as classes', () => {
		const canary = [...Array<number>(60).fill(1), ...Array<number>(40).fill(0)];
		const stable = [...Array<number>(40).fill(1), ...Array<number>(60).fill(0)];
		expect(predictionDrift(canary, stable).method).toBe('chi-square');
		expect(predictionDrift(canary, stable, {outputType: 'numeric'}).method).toBe('kolmogorov-smirnov');
	});
});

describe('predictionDrift on numeric outputs', () => {
	it('uses Kolmogorov-Smirnov, matching SciPy', () => {
		// SciPy 1.17.1: ks_2samp(canary, stable).statistic = 0.3433333333333333;
		// kstwobign.sf(sqrt(300*300/600) * D) = 8.768584011437163e-16.
		const result = predictionDrift(shiftedScores, stableScores);
		expect(result.method).toBe('kolmogorov-smirnov');
		expect(result.statistic).toBeCloseTo(0.343_333_333_333_333_3, 14);
		expectClose(result.pValue, 8.768_584_011_437_163e-16, 1e-9);
		expect(result.psi).toBeGreaterThan(0.25);
		expect(result).toMatchObject({level: 'significant', drifted: true});
		expect(result.explanation).toMatch(
			/^outputs drifted \(significant\): KS D=0\.343 p<0\.0001, PSI \d\.\d{3} over stable's 10 quantile bins — median 0\.6\d* canary vs 0\.49\d* stable, 300 canary vs 300 stable predictions$/,
		);
		expect(driftFlag(result, 1)?.severity).toBe('critical');
	});

	it('finds no drift between a sample and itself reordered', () => {
		const result = predictionDrift([...stableScores].reverse(), stableScores);
		expect(result).toMatchObject({statistic: 0, pValue: 1, psi: 0, drifted: false});
	});

	it('handles constant outputs', () => {
		expect(predictionDrift(Array<number>(60).fill(0.5), Array<number>(60).fill(0.5))).toMatchObject({
			method: 'kolmogorov-smirnov',
			statistic: 0,
			drifted: false,
		});
	});
});

describe('predictionDrift without enough data', () => {
	it('is insufficient data, never "no drift"', () => {
		const result = predictionDrift(classes({a: 10}), classes({a: 500}));
		expect(result).toMatchObject({method: 'none', level: 'insufficient-data', drifted: false, pValue: null, canaryCount: 10});
		expect(result.explanation).toBe('output drift not judged: 10 canary and 500 stable predictions with an output (need 50 each)');
		expect(driftFlag(result, 1)).toBeUndefined();
	});

	it('skips missing outputs before counting', () => {
		const canary = [...shiftedScores.slice(0, 40), ...Array<null>(30).fill(null), Number.NaN, undefined];
		expect(predictionDrift(canary, stableScores)).toMatchObject({level: 'insufficient-data', canaryCount: 40});
		expect(predictionDrift(canary, stableScores, {minimumSamples: 30}).method).toBe('kolmogorov-smirnov');
	});

	it('handles empty inputs', () => {
		expect(predictionDrift([], [])).toMatchObject({level: 'insufficient-data', canaryCount: 0, stableCount: 0});
	});
});

describe('predictionOutputs', () => {
	it('keeps the outputs of one version’s successful predictions', () => {
		const base = {requestId: 'r', namespace: 'shop', model: 'fraud', time: 0, latencyMs: 3, inputSummary: '', outputSummary: ''};
		const predictions: Prediction[] = [
			{...base, version: 'v2', status: 'ok', output: 'fraud'},
			{...base, version: 'v2', status: 'error', output: 'ok'},
			{...base, version: 'v2', status: 'ok'},
			{...base, version: 'v1', status: 'ok', output: 'ok'},
			{...base, version: 'v2', status: 'ok', output: 0.7},
			{...base, model: 'other', version: 'v2', status: 'ok', output: 'x'},
		];
		expect(predictionOutputs(predictions, {namespace: 'shop', name: 'fraud', version: 'v2'})).toEqual(['fraud', 0.7]);
	});
});
