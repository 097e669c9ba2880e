/**
 * The demo fleet through the console's analysis pipeline (domain/pipeline.ts with the console's detectors and judge),
 * at the console's cadence, on a fake clock: what an operator would read on screen after so many minutes.
 */
import {afterEach, describe, expect, it} from 'vitest';
import type {Verdict} from '../../../source/domain/analysis.ts';
import {defaultDetectors} from '../../../source/domain/detectors.ts';
import {MannWhitneyJudge} from '../../../source/domain/judge.ts';
import type {Flag, Model, Series} from '../../../source/domain/types.ts';
import type {ScenarioName} from '../../../source/demo/scenarios.ts';
import {INCIDENT_START_MS} from '../../../source/demo/scenarios.ts';
import {analyse, slowAnalysis, type SlowAnalysis} from '../../../source/domain/pipeline.ts';
import {LAUNCH, startDemo, stopDemo, type Harness} from './demo-harness.ts';

/** The console's defaults: a refresh every 2 s over a 30 s sample window, 10 minutes of history at a 5 s step. */
const REFRESH_MS = 2000;
const SAMPLE_SECONDS = 30;
const HISTORY_MINUTES = 10;
const STEP_MS = 5000;
const JUDGE_EVERY_MS = 30_000;

interface Frame {
	at: number;
	models: Model[];
	flags: Record<string, Flag[]>;
	verdicts: Record<string, Verdict>;
}

/** Refresh as the console's controller does, calling `look` with each frame; stops when `look` returns true. */
async function watch(harness: Harness, untilMs: number, look: (frame: Frame) => boolean | void): Promise<Frame | undefined> {
	const detectors = defaultDetectors();
	const judge = new MannWhitneyJudge();
	let slow: SlowAnalysis | undefined;
	let historyEnd = 0;
	let judgedAt = 0;
	let history: Record<string, Series> = {};
	let previous: Record<string, Flag[]> = {};
	while (Date.now() - LAUNCH < untilMs) {
		harness.run(REFRESH_MS);
		const now = Date.now();
		const models = await harness.models();
		const targets = models.flatMap((model) =>
			model.versions.map((version) => ({namespace: model.namespace, name: model.name, version: version.name})),
		);
		const samples = Object.fromEntries(await harness.demo.metrics.sample(targets, SAMPLE_SECONDS));
		const end = Math.floor(now / STEP_MS) * STEP_MS;
		if (slow === undefined || end > historyEnd) {
			historyEnd = end;
			history = Object.fromEntries(
				await harness.demo.metrics.history(targets, {start: end - HISTORY_MINUTES * 60_000, end, stepSeconds: STEP_MS / 1000}),
			);
			const judgeDue = slow === undefined || now - judgedAt >= JUDGE_EVERY_MS;
			if (judgeDue) judgedAt = now;
			slow = slowAnalysis({
				models,
				history,
				detectors,
				...(judgeDue ? {judge} : {}),
				...(slow ? {earlierVerdicts: slow.verdicts, earlierDrift: slow.drift} : {}),
				judgeWindowSeconds: HISTORY_MINUTES * 60,
				now,
			});
		}

		const result = analyse({
			models,
			samples,
			history,
			thresholds: {},
			detectors: [],
			judgeWindowSeconds: HISTORY_MINUTES * 60,
			previous,
			slow,
			now,
		});
		previous = result.flags;
		const frame = {at: now - LAUNCH, models, ...result};
		if (look(frame) === true) return frame;
	}

	return undefined;
}

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

const MINUTE = 60_000;

describe('demo verdicts through the console pipeline', () => {
	const failing: Array<[ScenarioName, string, string]> = [
		['latency-regression', 'payments/fraud-detector', 'payments/fraud-detector/v13'],
		['error-burst', 'ml-serving/recommender', 'ml-serving/recommender/2.5.0'],
		['memory-leak', 'vision/image-classifier', 'vision/image-classifier/effnet-v4'],
	];
	for (const [scenario, model, canary] of failing) {
		it(`${scenario}: the verdict on ${model} fails, and never passes under a critical canary flag`, async () => {
			harness = startDemo({scenario});
			const contradictions: string[] = [];
			const failed = await watch(harness, 5 * MINUTE, (frame) => {
				const verdict = frame.verdicts[model];
				const critical = (frame.flags[canary] ?? []).filter((flag) => flag.kind === 'canary' && flag.severity === 'critical');
				if (verdict?.result === 'pass' && critical.length > 0)
					contradictions.push(`${frame.at} ms: ${verdict.summary} under ${critical[0]!.message}`);
				return verdict?.result === 'fail';
			});
			expect(contradictions).toEqual([]);
			expect(failed, `${model} never failed in 5 minutes`).toBeDefined();
			expect(failed!.verdicts[model]!.summary).toMatch(/^fail: /);
		}, 120_000);
	}

	it('memory-leak: once failed, the verdict on image-classifier stays fail while the canary keeps being OOMKilled', async () => {
		harness = startDemo({scenario: 'memory-leak'});
		const model = 'vision/image-classifier';
		const after: string[] = [];
		let failedAt: number | undefined;
		await watch(harness, 12 * MINUTE, (frame) => {
			const verdict = frame.verdicts[model];
			if (failedAt === undefined) {
				if (verdict?.result === 'fail') failedAt = frame.at;
				return;
			}

			if (verdict?.result !== 'fail') after.push(`${frame.at} ms: ${verdict?.summary ?? 'no verdict'}`);
		});
		expect(failedAt, `${model} never failed in 12 minutes`).toBeDefined();
		expect(after).toEqual([]);
	}, 240_000);

	it('calm: over 15 minutes no verdict fails and no flag is critical', async () => {
		harness = startDemo({scenario: 'calm'});
		const failed: string[] = [];
		const critical: string[] = [];
		let frames = 0;
		await watch(harness, 15 * MINUTE, (frame) => {
			frames++;
			for (const [model, verdict] of Object.entries(frame.verdicts)) {
				if (verdict.result === 'fail') failed.push(`${frame.at} ms ${model}: ${verdict.summary}`);
			}

			for (const [key, flags] of Object.entries(frame.flags)) {
				for (const flag of flags) if (flag.severity === 'critical') critical.push(`${frame.at} ms ${key}: ${flag.message}`);
			}
		});
		expect(frames).toBeGreaterThanOrEqual(400);
		expect(failed).toEqual([]);
		expect(critical).toEqual([]);
	}, 300_000);

	it('latency-regression: the judge itself fails the canary 3.5 minutes in (not only the flag)', async () => {
		harness = startDemo({scenario: 'latency-regression'});
		const frame = await watch(harness, 3.5 * MINUTE, () => false);
		expect(frame).toBeUndefined();
		// One more refresh, then the judge's own finding: the flags must not be needed to make it fail.
		const last = await watch(harness, 3.5 * MINUTE + REFRESH_MS, () => true);
		const verdict = last!.verdicts['payments/fraud-detector']!;
		expect(verdict.result).toBe('fail');
		expect(verdict.flaggedBy).toBeUndefined();
		expect(verdict.metrics.find((metric) => metric.metric === 'p99Ms')?.result).toBe('high');
	}, 120_000);

	it('healthy-canary: search-ranker v8 passes its window and says it is ready to promote', async () => {
		harness = startDemo({scenario: 'healthy-canary'});
		const verdicts: Verdict[] = [];
		await watch(harness, 3 * MINUTE, (frame) => {
			const verdict = frame.verdicts['ml-serving/search-ranker'];
			if (verdict) verdicts.push(verdict);
		});
		expect(verdicts.length).toBeGreaterThan(0);
		const last = verdicts.at(-1)!;
		expect(last.result).toBe('pass');
		expect(last.readyToPromote).toBe(true);
		expect(last.summary).toMatch(/^pass: score 100 .* — ready to promote$/);
		expect(verdicts.filter((verdict) => verdict.result !== 'pass').map((verdict) => verdict.summary)).toEqual([]);
	}, 120_000);

	it('memory-leak: a memory trend warning within 30 s of the leak, before the memory threshold fires', async () => {
		harness = startDemo({scenario: 'memory-leak'});
		const key = 'vision/image-classifier/effnet-v4';
		const frame = await watch(harness, INCIDENT_START_MS + 30_000, (candidate) =>
			(candidate.flags[key] ?? []).some((flag) => flag.kind === 'memory' && /to the 4 GiB limit at this rate/.test(flag.message)),
		);
		expect(frame, 'no memory trend flag within 30 s of the leak').toBeDefined();
		const flags = frame!.flags[key]!;
		expect(flags.some((flag) => flag.kind === 'memory' && /of limit/.test(flag.message))).toBe(false);
		expect(flags.find((flag) => flag.kind === 'memory')!.message).toMatch(
			/^memory growing steadily \(\+[\d.]+ [GM]iB\/min\): (<1|~\d+) min to the 4 GiB limit/,
		);
	}, 120_000);

	it('calm: no memory trend warning anywhere over 10 minutes', async () => {
		harness = startDemo({scenario: 'calm'});
		const warned: string[] = [];
		await watch(harness, 10 * MINUTE, (frame) => {
			for (const [key, flags] of Object.entries(frame.flags)) {
				for (const flag of flags) if (flag.kind === 'memory') warned.push(`${frame.at} ${key}: ${flag.message}`);
			}
		});
		expect(warned).toEqual([]);
	}, 180_000);
});
