import {afterEach, describe, expect, it} from 'vitest';
import type {ActionProgress, LoadTestResult} from '../../../source/domain/types.ts';
import {fraudCanary, fraudModel, fraudStable, type Harness, startDemo, stopDemo} from './demo-harness.ts';

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

function checksOf(progress: ActionProgress[]) {
	return progress.flatMap((item) => (item.kind === 'check' ? [item.check] : []));
}

describe('demo agent: prediction stream', () => {
	it('streams hundreds of predictions per second, numbered in order, from every model', async () => {
		harness = startDemo({scenario: 'calm'});
		const stream = await harness.collect();
		harness.run(5000);
		stream.stop();
		expect(stream.events[0]).toEqual({type: 'connection', connected: true});
		expect(stream.predictions.length).toBeGreaterThan(1400);
		expect(stream.predictions.length).toBeLessThan(1600);
		const seqs = stream.events.flatMap((event) => (event.type === 'prediction' ? [event.seq] : []));
		for (let index = 1; index < seqs.length; index++) expect(seqs[index]).toBe(seqs[index - 1]! + 1);
		expect(new Set(stream.predictions.map((prediction) => prediction.model)).size).toBeGreaterThanOrEqual(5);
		const fraud = stream.predictions.find((prediction) => prediction.model === 'fraud-detector' && prediction.status === 'ok')!;
		expect(fraud.requestId).toMatch(/^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
		expect(JSON.parse(fraud.inputSummary)).toHaveProperty('amount');
		expect(fraud.outputSummary).toMatch(/^fraud=0\.\d+$/);
		expect(typeof fraud.output).toBe('number');
		expect(fraud.latencyMs).toBeGreaterThan(0);
		const times = stream.predictions.map((prediction) => prediction.time);
		expect(times.every((time, index) => index === 0 || time >= times[index - 1]!)).toBe(true);
		// Spread by traffic: the recommender (860 rps) appears about 7 times as often as churn (120 rps)
		const count = (model: string) => stream.predictions.filter((prediction) => prediction.model === model).length;
		// (each model's demand swings ±12 % on its own, and 5 s of a 300/s sample is small).
		expect(count('recommender') / count('churn-predictor')).toBeGreaterThan(3.5);
		expect(count('recommender') / count('churn-predictor')).toBeLessThan(14);
	});

	it('honours the filter', async () => {
		harness = startDemo({scenario: 'error-burst', predictionsPerSecond: 2000});
		harness.run(20_000);
		const canary = await harness.collect({namespace: 'ml-serving', model: 'recommender', version: '2.5.0'});
		const errors = await harness.collect({status: 'error'});
		const slow = await harness.collect({minLatencyMs: 100});
		const all = await harness.collect();
		harness.run(6000);
		for (const stream of [canary, errors, slow, all]) stream.stop();
		expect(canary.predictions.length).toBeGreaterThan(100);
		expect(canary.predictions.every((prediction) => prediction.model === 'recommender' && prediction.version === '2.5.0')).toBe(true);
		expect(errors.predictions.length).toBeGreaterThan(10);
		expect(errors.predictions.every((prediction) => prediction.status === 'error' && prediction.outputSummary.startsWith('error'))).toBe(
			true,
		);
		expect(slow.predictions.length).toBeGreaterThan(10);
		expect(slow.predictions.every((prediction) => prediction.latencyMs! >= 100)).toBe(true);
		expect(errors.predictions).toEqual(all.predictions.filter((prediction) => prediction.status === 'error'));
		// The error burst shows in the log: the failing canary's requests fail far more often than the rest.
		const errorShare = (predictions: typeof all.predictions) =>
			predictions.filter((prediction) => prediction.status === 'error').length / predictions.length;
		expect(errorShare(canary.predictions)).toBeGreaterThan(0.04);
		expect(errorShare(all.predictions.filter((prediction) => prediction.version !== '2.5.0'))).toBeLessThan(0.01);
	});

	it('stops sending after unsubscribe', async () => {
		harness = startDemo({scenario: 'calm'});
		const stream = await harness.collect();
		harness.run(1000);
		stream.stop();
		const count = stream.events.length;
		harness.run(2000);
		expect(stream.events.length).toBe(count);
	});

	it('finds a streamed request id with lookup, and nothing for an unknown one', async () => {
		harness = startDemo({scenario: 'calm'});
		const stream = await harness.collect({model: 'sentiment'});
		harness.run(3000);
		stream.stop();
		const wanted = stream.predictions[7]!;
		expect(await harness.demo.agent.lookup(wanted.requestId)).toEqual([wanted]);
		expect(await harness.demo.agent.lookup(` ${wanted.requestId.toUpperCase()} `)).toEqual([wanted]);
		expect(await harness.demo.agent.lookup('00000000-0000-4000-8000-000000000000')).toEqual([]);
		expect(await harness.demo.agent.lookup('')).toEqual([]);
	});

	it('finds request ids by their first characters (4 or more), the exact one first, at most 20', async () => {
		harness = startDemo({scenario: 'calm'});
		const stream = await harness.collect();
		harness.run(3000);
		stream.stop();
		const wanted = stream.predictions[7]!;
		const found = await harness.demo.agent.lookup(wanted.requestId.slice(0, 6));
		expect(found).toContainEqual(wanted);
		expect(found.every((prediction) => prediction.requestId.startsWith(wanted.requestId.slice(0, 6)))).toBe(true);
		// Four hex characters match many ids out of thousands; the answer stays short.
		const many = await harness.demo.agent.lookup(wanted.requestId.slice(0, 4));
		expect(many.length).toBeLessThanOrEqual(20);
		expect(many.every((prediction) => prediction.requestId.startsWith(wanted.requestId.slice(0, 4)))).toBe(true);
		// Three characters are too few for a prefix: only an id that is exactly them.
		expect(await harness.demo.agent.lookup(wanted.requestId.slice(0, 3))).toEqual([]);
	});

	it('resumes from a sequence number, and says how many events are gone when they left the history', async () => {
		harness = startDemo({scenario: 'calm', historyLimit: 1000});
		const first = await harness.collect();
		harness.run(1000);
		first.stop();
		const lastSeen = first.events.flatMap((event) => ('seq' in event ? [event.seq] : [])).at(-1)!;
		harness.run(1000);
		const resumed = await harness.collect({}, lastSeen);
		const replayed = resumed.events.filter((event) => event.type === 'prediction');
		expect(replayed[0]).toMatchObject({seq: lastSeen + 1});
		expect(replayed.length).toBeGreaterThan(250);
		resumed.stop();

		// Bounded: after 20 s only the last 1,000 events are kept.
		harness.run(20_000);
		const late = await harness.collect({}, 0);
		late.stop();
		expect(late.events[1]).toMatchObject({type: 'gap'});
		const gap = late.events[1] as {dropped: number; seq: number};
		expect(gap.dropped).toBeGreaterThan(5000);
		const kept = late.events.filter((event) => event.type === 'prediction');
		expect(kept).toHaveLength(1000);
		expect(kept[0]).toMatchObject({seq: gap.seq + 1});
		expect(await harness.demo.agent.lookup(first.predictions[0]!.requestId)).toEqual([]);
	});
});

describe('demo agent: actions', () => {
	it('sets a weight through the cluster, audits it, and streams the audit entry', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		const stream = await harness.collect({model: 'nothing-matches'});
		const progress = await harness.act({kind: 'set-weight', model: fraudModel, canary: 'v13', from: 10, to: 20});
		expect(progress.at(-1)).toEqual({kind: 'done', message: 'fraud-detector: v12 90% → 80%, v13 10% → 20%'});
		const stale = await harness.act({kind: 'set-weight', model: fraudModel, canary: 'v13', from: 10, to: 30});
		expect(stale.at(-1)).toMatchObject({kind: 'failed', message: expect.stringMatching(/^conflict: .*at 20% now, not 10%/)});
		const audit = await harness.demo.agent.audit(10);
		expect(audit.map((entry) => [entry.action, entry.result, entry.before, entry.after])).toEqual([
			['set-weight', 'refused', '', ''],
			['set-weight', 'ok', 'v12 90%, v13 10%', 'v12 80%, v13 20%'],
		]);
		expect(audit.every((entry) => entry.user === 'demo-operator' && entry.target === 'payments/fraud-detector v13')).toBe(true);
		stream.stop();
		expect(stream.events.filter((event) => event.type === 'audit')).toHaveLength(2);
	});

	it('promotes, rolls back and switches through act', async () => {
		harness = startDemo({scenario: 'tour', predictionsPerSecond: 0});
		const ranker = {namespace: 'ml-serving', name: 'search-ranker'};
		expect((await harness.act({kind: 'promote', model: ranker, canary: 'v8', stable: 'v7'})).at(-1)).toMatchObject({
			kind: 'done',
			// Every version the promotion moves, v8-distilled included (it used to go 5% → 0% unsaid).
			message: 'search-ranker: v7 80% → 0%, v8 15% → 100%, v8-distilled 5% → 0%',
		});
		expect((await harness.act({kind: 'rollback', model: fraudModel, canary: 'v13'})).at(-1)).toMatchObject({kind: 'done'});
		expect((await harness.act({kind: 'rollback', model: fraudModel, canary: 'v12'})).at(-1)).toMatchObject({kind: 'failed'});
		expect((await harness.act({kind: 'switch', model: fraudModel, from: 'v12', to: 'v13'})).at(-1)).toMatchObject({kind: 'done'});
		expect((await harness.act({kind: 'switch', model: fraudModel, from: 'v12', to: 'v12'})).at(-1)).toMatchObject({
			kind: 'failed',
			message: expect.stringMatching(/^conflict: .*serves v13 now/),
		});
	});

	it('smoke test passes on a healthy canary with the four checks', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		const progress = await harness.act({kind: 'smoke-test', target: fraudCanary});
		expect(checksOf(progress).map((check) => [check.name, check.ok])).toEqual([
			['metadata readable', true],
			['request accepted', true],
			['output shape', true],
			['output range', true],
		]);
		expect(checksOf(progress)[2]!.detail).toContain('[1,1] FP32');
		expect(checksOf(progress)[3]!.detail).toMatch(/in \[0, 1\]/);
		expect(progress.at(-1)).toMatchObject({kind: 'done', message: expect.stringContaining('4/4 checks passed')});
	});

	it('smoke test fails on the error-burst canary and on a version without ready pods', async () => {
		harness = startDemo({scenario: 'error-burst', predictionsPerSecond: 0});
		harness.run(20_000);
		const burst = await harness.act({kind: 'smoke-test', target: {namespace: 'ml-serving', name: 'recommender', version: '2.5.0'}});
		const failed = checksOf(burst).filter((check) => !check.ok);
		expect(failed.map((check) => check.name)).toEqual(['request accepted']);
		expect(failed[0]!.detail).toMatch(/failed with 503/);
		expect(burst.at(-1)).toMatchObject({kind: 'failed', message: expect.stringContaining('1 of 4 checks failed')});

		await harness.demo.cluster.switchContext('demo-staging');
		const crashing = await harness.act({kind: 'smoke-test', target: {namespace: 'ml-sandbox', name: 'llm-summarizer', version: 'v2'}});
		expect(checksOf(crashing).every((check) => !check.ok)).toBe(true);
		expect(checksOf(crashing)[0]!.detail).toContain('CrashLoopBackOff');
		const unknown = await harness.act({kind: 'smoke-test', target: {namespace: 'ml-sandbox', name: 'llm-summarizer', version: 'v9'}});
		expect(unknown).toEqual([{kind: 'failed', message: expect.stringContaining('has no version v9')}]);
	});

	it('load test reports progress and percentiles from simulated requests, compressing long tests', async () => {
		harness = startDemo({scenario: 'latency-regression', predictionsPerSecond: 0});
		harness.run(60_000);
		const progress = await harness.act({kind: 'load-test', targets: [fraudStable, fraudCanary], rps: 50, durationSeconds: 30});
		const steps = progress.filter((item) => item.kind === 'progress');
		expect(steps.length).toBeGreaterThanOrEqual(5);
		expect(steps[0]!.message).toContain('compressed');
		expect(steps.at(-1)).toMatchObject({fraction: 1});
		const result = progress.find((item) => item.kind === 'load-result') as {results: LoadTestResult[]};
		expect(result.results.map((item) => item.target.version)).toEqual(['v12', 'v13']);
		for (const item of result.results) {
			expect(item.requests).toBe(1500);
			expect(item.p50Ms).toBeLessThanOrEqual(item.p95Ms);
			expect(item.p95Ms).toBeLessThanOrEqual(item.p99Ms);
			expect(item.p99Ms).toBeLessThanOrEqual(item.maxMs);
			expect(item.achievedRps).toBeGreaterThan(45);
		}

		// The regressed canary shows it under load too.
		expect(result.results[1]!.p99Ms).toBeGreaterThan(2 * result.results[0]!.p99Ms);
		expect(progress.at(-1)).toMatchObject({kind: 'done'});
		expect((await harness.demo.agent.audit(1))[0]).toMatchObject({action: 'load-test', result: 'ok'});
	});

	it('load test overloads a version sent far more than it can serve', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		const progress = await harness.act({kind: 'load-test', targets: [fraudCanary], rps: 2000, durationSeconds: 10});
		const [result] = (progress.find((item) => item.kind === 'load-result') as {results: LoadTestResult[]}).results;
		expect(result!.errors / result!.requests).toBeGreaterThan(0.2);
		expect(result!.p50Ms).toBeGreaterThan(50);
	});

	it('refuses a load test with bad parameters, saying what is allowed', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		expect(await harness.act({kind: 'load-test', targets: [fraudCanary], rps: 0, durationSeconds: 10})).toEqual([
			{kind: 'failed', message: expect.stringContaining('above 0 and at most 20,000')},
		]);
		expect(await harness.act({kind: 'load-test', targets: [], rps: 10, durationSeconds: 10})).toEqual([
			{kind: 'failed', message: expect.stringContaining('at least one version')},
		]);
	});
});
