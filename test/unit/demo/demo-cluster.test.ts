import {afterEach, describe, expect, it} from 'vitest';
import {plannedAction, planLines} from '../../../source/domain/plan.ts';
import {ConflictError} from '../../../source/domain/ports.ts';
import type {Model} from '../../../source/domain/types.ts';
import {fraudCanary, fraudModel, fraudStable, type Harness, startDemo, stopDemo} from './demo-harness.ts';

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

function find(models: Model[], name: string): Model {
	const model = models.find((candidate) => candidate.name === name);
	if (!model) throw new Error(`model ${name} not in the list`);
	return model;
}

describe('demo fleet', () => {
	it('has at least 5 models across 2+ namespaces, with stable and canary versions and all router kinds', async () => {
		harness = startDemo({scenario: 'calm'});
		const models = await harness.models();
		expect(models.length).toBeGreaterThanOrEqual(5);
		expect(new Set(models.map((model) => model.namespace)).size).toBeGreaterThanOrEqual(2);
		expect(new Set(models.map((model) => model.router))).toEqual(new Set(['kserve', 'httproute', 'virtualservice', 'replicas']));
		for (const model of models) {
			expect(model.versions.length).toBeGreaterThanOrEqual(2);
			expect(model.versions.filter((version) => version.track === 'stable')).toHaveLength(1);
			expect(model.versions[0]!.track).toBe('stable');
			expect(model.versions.reduce((sum, version) => sum + version.weight, 0)).toBe(100);
			for (const version of model.versions) {
				expect(version.image).toMatch(/^(gs|hf|s3):\/\/|^registry\.local\//);
				expect(Date.parse(version.created)).toBeLessThan(Date.now());
				expect(version.resources?.memoryLimitBytes).toBeGreaterThan(version.resources?.memoryRequestBytes ?? 0);
			}
		}

		expect(models.some((model) => model.versions.length === 3)).toBe(true);
		expect(models.some((model) => model.versions.some((version) => version.autoscaler))).toBe(true);
		expect(harness.demo.demo).toBe(true);
		expect(harness.demo.cluster.label).toBe('demo');
	});

	it('lists contexts, and switching context changes the namespaces and the fleet', async () => {
		harness = startDemo({scenario: 'calm'});
		expect(harness.demo.cluster.contexts().map((context) => context.name)).toEqual(['demo-prod', 'demo-staging']);
		expect(harness.demo.cluster.currentContext()).toBe('demo-prod');
		const production = await harness.demo.cluster.namespaces();
		const seen: Model[][] = [];
		const stop = harness.demo.cluster.watchModels(
			undefined,
			(models) => seen.push(models),
			() => {},
		);
		await Promise.resolve();
		await harness.demo.cluster.switchContext('demo-staging');
		stop();
		const staging = await harness.demo.cluster.namespaces();
		expect(staging).not.toEqual(production);
		expect(seen.at(-1)!.every((model) => staging.includes(model.namespace))).toBe(true);
		await expect(harness.demo.cluster.switchContext('nope')).rejects.toThrow(/Contexts: demo-prod, demo-staging/);
		expect(harness.demo.cluster.currentContext()).toBe('demo-staging');
	});

	it('watchModels reports on subscribe and after a change, filtered by namespace', async () => {
		harness = startDemo({scenario: 'calm'});
		const seen: Model[][] = [];
		const stop = harness.demo.cluster.watchModels(
			'payments',
			(models) => seen.push(models),
			() => {},
		);
		await Promise.resolve();
		expect(seen).toHaveLength(1);
		expect(seen[0]!.every((model) => model.namespace === 'payments')).toBe(true);
		await harness.demo.cluster.setCanaryWeight(fraudModel, 'v13', 30, 10);
		const fraud = find(seen.at(-1)!, 'fraud-detector');
		expect(fraud.versions.map((version) => [version.name, version.weight])).toEqual([
			['v12', 70],
			['v13', 30],
		]);
		stop();
	});

	it('traffic follows the weights: shifting the canary moves its share of requests', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		harness.run(60_000);
		const before = await harness.sample([fraudStable, fraudCanary], 60);
		const share = (samples: typeof before) => {
			const canary = samples.get('payments/fraud-detector/v13')!.rps!;
			const stable = samples.get('payments/fraud-detector/v12')!.rps!;
			return canary / (canary + stable);
		};

		expect(share(before)).toBeGreaterThan(0.08);
		expect(share(before)).toBeLessThan(0.12);
		await harness.demo.cluster.setCanaryWeight(fraudModel, 'v13', 50, 10);
		harness.run(62_000);
		const after = await harness.sample([fraudStable, fraudCanary], 60);
		expect(share(after)).toBeGreaterThan(0.46);
		expect(share(after)).toBeLessThan(0.54);
		// The total follows demand, not the split.
		const total = (samples: typeof before) => [...samples.values()].reduce((sum, sample) => sum + sample.rps!, 0);
		expect(total(after) / total(before)).toBeGreaterThan(0.8);
		expect(total(after) / total(before)).toBeLessThan(1.25);
	});

	it('refuses a write based on a stale weight with a ConflictError and changes nothing', async () => {
		harness = startDemo({scenario: 'calm'});
		const attempt = harness.demo.cluster.setCanaryWeight(fraudModel, 'v13', 40, 20);
		await expect(attempt).rejects.toBeInstanceOf(ConflictError);
		await expect(harness.demo.cluster.setCanaryWeight(fraudModel, 'v13', 40, 20)).rejects.toThrow(/at 10% now, not 20%/);
		const fraud = find(await harness.models('payments'), 'fraud-detector');
		expect(fraud.versions.find((version) => version.name === 'v13')!.weight).toBe(10);
		const [latest] = await harness.demo.agent.audit(1);
		expect(latest).toMatchObject({user: 'demo-operator', action: 'set-weight', result: 'refused'});
	});

	it('refuses impossible actions with messages that say what exists', async () => {
		harness = startDemo({scenario: 'calm'});
		const cluster = harness.demo.cluster;
		await expect(cluster.promote({namespace: 'payments', name: 'nope'}, 'v1')).rejects.toThrow(/no model payments\/nope.*fraud-detector/);
		await expect(cluster.rollback(fraudModel, 'v12')).rejects.toThrow(/v12 is the stable version.*canaries: v13/);
		await expect(cluster.rollback(fraudModel, 'v99')).rejects.toThrow(/no version v99.*v12 \(stable, 90%\)/);
		await expect(cluster.setCanaryWeight(fraudModel, 'v13', 101)).rejects.toThrow(/whole number from 0 to 100/);
		await expect(cluster.setCanaryWeight(fraudModel, 'v13', 12.5)).rejects.toThrow(/whole number/);
		await expect(cluster.switchTraffic(fraudModel, 'v99')).rejects.toThrow(/no version v99/);
		await cluster.switchTraffic(fraudModel, 'v13');
		await expect(cluster.switchTraffic(fraudModel, 'v13')).rejects.toThrow(/already receives all/);
		const ranker = {namespace: 'ml-serving', name: 'search-ranker'};
		await expect(cluster.setCanaryWeight(ranker, 'v8', 96)).rejects.toThrow(/would get 101% together/);
		await cluster.switchContext('demo-staging');
		await expect(cluster.promote({namespace: 'ml-sandbox', name: 'llm-summarizer'}, 'v2')).rejects.toThrow(/no ready pods/);
	});

	it('promote swaps tracks: the canary becomes the single stable version with all traffic', async () => {
		harness = startDemo({scenario: 'healthy-canary', predictionsPerSecond: 0});
		harness.run(30_000);
		const ranker = {namespace: 'ml-serving', name: 'search-ranker'};
		const stablePods = find(await harness.models('ml-serving'), 'search-ranker').versions[0]!.replicasDesired;
		await harness.demo.cluster.promote(ranker, 'v8');
		const model = find(await harness.models('ml-serving'), 'search-ranker');
		expect(model.versions.map((version) => [version.name, version.track, version.weight])).toEqual([
			['v8', 'stable', 100],
			['v8-distilled', 'canary', 0],
		]);
		const promoted = model.versions[0]!;
		expect(promoted.replicasReady).toBe(promoted.replicasDesired);
		// Sized like the stable version it replaces, so that taking all traffic does not overload it.
		expect(promoted.replicasDesired).toBeGreaterThanOrEqual(stablePods);
		harness.run(60_000);
		const samples = await harness.sample(
			[
				{...ranker, version: 'v7'},
				{...ranker, version: 'v8'},
				{...ranker, version: 'v8-distilled'},
			],
			30,
		);
		expect(samples.has('ml-serving/search-ranker/v7')).toBe(false);
		expect(samples.get('ml-serving/search-ranker/v8')!.rps).toBeGreaterThan(450);
		expect(samples.get('ml-serving/search-ranker/v8-distilled')!.rps).toBe(0);
		expect(samples.get('ml-serving/search-ranker/v8-distilled')!.p99Ms).toBeNull();
	});

	it('rolling back heals the latency-regression canary', async () => {
		harness = startDemo({scenario: 'latency-regression', predictionsPerSecond: 0});
		harness.run(75_000);
		const stable = await harness.sampleOf(fraudStable);
		const slow = await harness.sampleOf(fraudCanary);
		expect(slow.p99Ms!).toBeGreaterThan(2 * stable.p99Ms!);

		await harness.demo.cluster.rollback(fraudModel, 'v13');
		const fraud = find(await harness.models('payments'), 'fraud-detector');
		expect(fraud.versions.map((version) => version.weight)).toEqual([100, 0]);
		harness.run(40_000);
		const idle = await harness.sampleOf(fraudCanary);
		expect(idle.rps).toBe(0);
		expect(idle.p99Ms).toBeNull();

		// The rolled-back pods run the previous template: given traffic again, the canary is healthy.
		await harness.demo.cluster.setCanaryWeight(fraudModel, 'v13', 20, 0);
		harness.run(60_000);
		const healed = await harness.sampleOf(fraudCanary, 60);
		const stableNow = await harness.sampleOf(fraudStable, 60);
		expect(healed.p99Ms!).toBeLessThan(1.6 * stableNow.p99Ms!);
	});

	it('switchTraffic sends all traffic to one version and keeps the other at 0% to switch back', async () => {
		harness = startDemo({scenario: 'calm'});
		await harness.demo.cluster.switchTraffic(fraudModel, 'v13');
		let fraud = find(await harness.models('payments'), 'fraud-detector');
		expect(fraud.versions.map((version) => [version.name, version.track, version.weight])).toEqual([
			['v13', 'stable', 100],
			['v12', 'canary', 0],
		]);
		await harness.demo.cluster.switchTraffic(fraudModel, 'v12');
		fraud = find(await harness.models('payments'), 'fraud-detector');
		expect(fraud.versions[0]).toMatchObject({name: 'v12', track: 'stable', weight: 100});
	});

	it('moves pods for a model without a router: the weight follows ready replicas', async () => {
		harness = startDemo({scenario: 'calm', predictionsPerSecond: 0});
		const classifier = {namespace: 'vision', name: 'image-classifier'};
		await harness.demo.cluster.setCanaryWeight(classifier, 'effnet-v4', 50, 20);
		let model = find(await harness.models('vision'), 'image-classifier');
		expect(model.versions.map((version) => version.replicasDesired)).toEqual([5, 5]);
		harness.run(10_000);
		model = find(await harness.models('vision'), 'image-classifier');
		expect(model.versions.map((version) => version.weight)).toEqual([50, 50]);
		expect(model.versions.every((version) => version.replicasReady === version.replicasDesired)).toBe(true);
	});
});

describe('demo plans', () => {
	const ranker = {namespace: 'ml-serving', name: 'search-ranker'};

	it('a promote on search-ranker plans every version, and the change carried out is the one planned', async () => {
		harness = startDemo({scenario: 'tour'});
		const cluster = harness.demo.cluster;
		const plan = await cluster.plan({kind: 'promote', model: ranker, canary: 'v8', stable: 'v7'});
		expect(planLines(plan).slice(0, 3)).toEqual(['stable v7: 80% → 0%', 'canary v8: 15% → 100%', 'canary v8-distilled: 5% → 0%']);
		await cluster.act(plannedAction(plan));
		const after = find(await harness.models(), 'search-ranker');
		expect(after.versions.map((version) => `${version.name} ${version.weight}`)).toEqual(['v8 100', 'v8-distilled 0']);
	});

	it('a change whose plan no longer holds is a ConflictError and changes nothing', async () => {
		harness = startDemo({scenario: 'calm'});
		const cluster = harness.demo.cluster;
		const plan = await cluster.plan({kind: 'set-weight', model: fraudModel, canary: 'v13', from: 10, to: 30});
		await cluster.setCanaryWeight(fraudModel, 'v13', 20);
		await expect(cluster.act(plannedAction(plan))).rejects.toThrow(ConflictError);
		expect(find(await harness.models(), 'fraud-detector').versions.find((version) => version.name === 'v13')?.weight).toBe(20);
	});
});
