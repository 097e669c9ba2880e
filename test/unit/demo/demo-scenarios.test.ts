import {afterEach, describe, expect, it} from 'vitest';
import type {Model, Prediction} from '../../../source/domain/types.ts';
import {createDemoSources, scenarioDescriptions, scenarioNames} from '../../../source/demo/index.ts';
import {fraudCanary, fraudStable, type Harness, startDemo, stopDemo} from './demo-harness.ts';

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

const recommender = {namespace: 'ml-serving', name: 'recommender'};
const ranker = {namespace: 'ml-serving', name: 'search-ranker'};
const classifier = {namespace: 'vision', name: 'image-classifier'};
const sentiment = {namespace: 'ml-serving', name: 'sentiment'};

function share(predictions: Prediction[], label: string): number {
	return predictions.filter((prediction) => prediction.output === label).length / predictions.length;
}

describe('demo scenarios', () => {
	it('describes every scenario in one line, and refuses an unknown one by listing them', () => {
		expect(scenarioNames).toContain('calm');
		for (const name of scenarioNames) {
			expect(scenarioDescriptions[name]).toMatch(/\S/);
			expect(scenarioDescriptions[name]).not.toContain('\n');
		}

		expect(() => createDemoSources({scenario: 'volcano' as never})).toThrow(/no demo scenario "volcano".*latency-regression/);
		expect(() => createDemoSources({predictionsPerSecond: -1})).toThrow(/predictionsPerSecond/);
	});

	it.each(['latency-regression', 'tour'] as const)(
		'%s: the canary p99 climbs past twice the stable p99 within a minute',
		async (scenario) => {
			harness = startDemo({scenario, predictionsPerSecond: 0});
			const atLaunch = await harness.sampleOf(fraudCanary);
			expect(atLaunch.p99Ms!).toBeLessThan(2 * (await harness.sampleOf(fraudStable)).p99Ms!);
			harness.run(60_000);
			const canary = await harness.sampleOf(fraudCanary);
			const stable = await harness.sampleOf(fraudStable);
			expect(canary.p99Ms!).toBeGreaterThan(2 * stable.p99Ms!);
			expect(canary.p99Ms!).toBeGreaterThan(500);
			expect(stable.p99Ms!).toBeLessThan(200);
		},
	);

	it('error-burst: the canary errors jump to about 8% while stable stays clean', async () => {
		harness = startDemo({scenario: 'error-burst', predictionsPerSecond: 0});
		harness.run(30_000);
		const canary = await harness.sampleOf({...recommender, version: '2.5.0'}, 20);
		const stable = await harness.sampleOf({...recommender, version: '2.4.1'}, 20);
		expect(canary.errorRatio!).toBeGreaterThan(0.05);
		expect(canary.errorRatio!).toBeLessThan(0.12);
		expect(stable.errorRatio!).toBeLessThan(0.01);
	});

	it('memory-leak: the canary memory climbs towards its limit, then its pods are OOMKilled', async () => {
		harness = startDemo({scenario: 'memory-leak', predictionsPerSecond: 0});
		const canary = {...classifier, version: 'effnet-v4'};
		const models = await harness.models('vision');
		const limit = models[0]!.versions.find((version) => version.name === 'effnet-v4')!.resources!.memoryLimitBytes!;
		const start = (await harness.sampleOf(canary)).memoryBytes!;
		expect(start / limit).toBeLessThan(0.75);
		harness.run(70_000);
		const high = (await harness.sampleOf(canary)).memoryBytes!;
		expect(high / limit).toBeGreaterThan(0.85);

		const seen: Model[][] = [];
		const stop = harness.demo.cluster.watchModels(
			'vision',
			(list) => seen.push(list),
			() => {},
		);
		harness.run(30_000);
		stop();
		const versions = seen.map((list) => list[0]!.versions.find((version) => version.name === 'effnet-v4')!);
		expect(versions.some((version) => version.problems?.includes('OOMKilled'))).toBe(true);
		expect(versions.at(-1)!.restarts).toBeGreaterThan(0);
		expect((await harness.sampleOf(canary)).memoryBytes! / limit).toBeLessThan(0.85);
	});

	it('prediction-drift: the canary predicts "negative" far more often than stable', async () => {
		harness = startDemo({scenario: 'prediction-drift', predictionsPerSecond: 3000});
		harness.run(40_000);
		const stream = await harness.collect({model: 'sentiment'});
		harness.run(20_000);
		stream.stop();
		const canary = stream.predictions.filter((prediction) => prediction.version === 'v4' && prediction.status === 'ok');
		const stable = stream.predictions.filter((prediction) => prediction.version === 'v3' && prediction.status === 'ok');
		expect(canary.length).toBeGreaterThan(300);
		expect(share(canary, 'negative')).toBeGreaterThan(0.4);
		expect(share(stable, 'negative')).toBeLessThan(0.25);
		// The drift hides from the usual metrics.
		const latency = await harness.sampleOf({...sentiment, version: 'v4'}, 60);
		expect(latency.errorRatio!).toBeLessThan(0.01);
	});

	it('healthy-canary: the canary is faster than stable with no more errors', async () => {
		harness = startDemo({scenario: 'healthy-canary', predictionsPerSecond: 0});
		harness.run(120_000);
		const canary = await harness.sampleOf({...ranker, version: 'v8'}, 120);
		const stable = await harness.sampleOf({...ranker, version: 'v7'}, 120);
		expect(canary.p50Ms!).toBeLessThan(stable.p50Ms!);
		expect(canary.p99Ms!).toBeLessThan(stable.p99Ms!);
		expect(canary.errorRatio!).toBeLessThanOrEqual(stable.errorRatio! + 0.001);
	});

	it('calm: every canary stays close to its stable version', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		harness.run(120_000);
		for (const model of await harness.models()) {
			const [stable, ...canaries] = model.versions;
			const refs = model.versions.map((version) => ({namespace: model.namespace, name: model.name, version: version.name}));
			const samples = await harness.sample(refs, 120);
			const stableSample = samples.get(`${model.namespace}/${model.name}/${stable!.name}`)!;
			for (const canary of canaries) {
				const sample = samples.get(`${model.namespace}/${model.name}/${canary.name}`)!;
				expect(sample.errorRatio!).toBeLessThan(0.01);
				if (canary.name.endsWith('distilled')) continue; // a smaller model, faster by design
				expect(sample.p99Ms! / stableSample.p99Ms!).toBeLessThan(1.5);
			}
		}
	});
});
