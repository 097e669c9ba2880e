/**
 * The merge and the routing of several clusters shown at once, over in-memory ports: every model tagged with its
 * context, keys unique across contexts, each action sent to its model's own context (and to no other), each failure
 * named by its context, figures asked of each context's own Prometheus.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {planTraffic, PlanRefusal, type ChangePlan, type TrafficAction} from '../../../source/domain/plan.ts';
import {type ClusterPort, type MetricTarget, type MetricsPort, SourceAbsentError, type SourceError} from '../../../source/domain/ports.ts';
import {modelKey, versionKey, type Model, type ModelRef, type Sample, type Series} from '../../../source/domain/types.ts';
import {MergedClusterPort, mergeModels} from '../../../source/adapters/multi/merged-cluster.ts';
import {MergedMetricsPort} from '../../../source/adapters/multi/merged-metrics.ts';

const contextName = fc.stringMatching(/^[a-z][a-z0-9:/-]{0,12}$/);
const modelName = fc.constantFrom('fraud', 'ranker', 'churn');
const namespaceName = fc.constantFrom('ml', 'team-a');

function model(namespace: string, name: string, canaryWeight = 10): Model {
	return {
		namespace,
		name,
		router: 'httproute',
		versions: [
			{
				name: 'v1',
				track: 'stable',
				weight: 100 - canaryWeight,
				replicasReady: 1,
				replicasDesired: 1,
				restarts: 0,
				image: 'i:1',
				created: '2026-01-01T00:00:00Z',
			},
			{
				name: 'v2',
				track: 'canary',
				weight: canaryWeight,
				replicasReady: 1,
				replicasDesired: 1,
				restarts: 0,
				image: 'i:2',
				created: '2026-01-02T00:00:00Z',
			},
		],
	};
}

/** A context's port in memory: its models, the calls it got, and a way to fail its watch. */
class MemberPort implements ClusterPort {
	readonly calls: Array<{kind: string; model: ModelRef}> = [];
	onChange: ((models: Model[]) => void) | undefined;
	onError: ((error: SourceError) => void) | undefined;
	onAlive: (() => void) | undefined;
	readonly label: string;
	models: Model[];
	constructor(label: string, models: Model[]) {
		this.label = label;
		this.models = models;
	}

	contexts() {
		return [{name: this.label, cluster: this.label}];
	}

	currentContext() {
		return this.label;
	}

	async switchContext() {}
	async namespaces() {
		return [...new Set(this.models.map((entry) => entry.namespace))];
	}

	watchModels(
		_namespace: string | undefined,
		onChange: (models: Model[]) => void,
		onError: (error: SourceError) => void,
		onAlive?: () => void,
	) {
		this.onChange = onChange;
		this.onError = onError;
		this.onAlive = onAlive;
		onChange(this.models);
		return () => {
			this.onChange = undefined;
		};
	}

	#record(kind: string, ref: ModelRef) {
		this.calls.push({kind, model: ref});
	}

	async setCanaryWeight(ref: ModelRef) {
		this.#record('weight', ref);
	}

	async promote(ref: ModelRef) {
		this.#record('promote', ref);
	}

	async rollback(ref: ModelRef) {
		this.#record('rollback', ref);
	}

	async switchTraffic(ref: ModelRef) {
		this.#record('switch', ref);
	}

	async plan(action: TrafficAction): Promise<ChangePlan> {
		this.#record('plan', action.model);
		const found = this.models.find((candidate) => candidate.namespace === action.model.namespace && candidate.name === action.model.name);
		if (!found) throw new PlanRefusal(`no model ${action.model.name}`);
		return planTraffic(found, action);
	}

	async act(action: TrafficAction) {
		this.#record('act', action.model);
	}
}

/** Distinct contexts, each with a list of models (names may repeat across contexts, never within one). */
const fleets = fc.uniqueArray(contextName, {minLength: 2, maxLength: 4}).chain((contexts) =>
	fc.tuple(
		fc.constant(contexts),
		fc.tuple(
			...contexts.map(() =>
				fc.uniqueArray(fc.tuple(namespaceName, modelName), {
					minLength: 1,
					maxLength: 4,
					selector: ([namespace, name]) => `${namespace}/${name}`,
				}),
			),
		),
	),
);

function merged(contexts: string[], lists: Array<Array<[string, string]>>, readOnly?: (context: string) => string | undefined) {
	const members = contexts.map((context, index) => ({
		context,
		port: new MemberPort(
			context,
			lists[index]!.map(([namespace, name]) => model(namespace, name)),
		),
	}));
	return {members, port: new MergedClusterPort({members, ...(readOnly ? {readOnly} : {})})};
}

describe('the merged fleet', () => {
	it("holds every context's models, each tagged with its context, with keys unique across contexts", () => {
		fc.assert(
			fc.property(fleets, ([contexts, lists]) => {
				const {port} = merged(contexts, lists);
				let shown: Model[] = [];
				port.watchModels(
					undefined,
					(models) => (shown = models),
					() => undefined,
				);
				expect(shown).toHaveLength(lists.reduce((sum, list) => sum + list.length, 0));
				contexts.forEach((context, index) => {
					const own = shown.filter((entry) => entry.cluster === context).map((entry) => `${entry.namespace}/${entry.name}`);
					expect(own.sort()).toEqual(lists[index]!.map(([namespace, name]) => `${namespace}/${name}`).sort());
				});
				expect(new Set(shown.map((entry) => modelKey(entry))).size).toBe(shown.length);
				expect(port.shownContexts()).toEqual(contexts);
			}),
		);
	});

	it('keys without a cluster stay as they were (single-cluster keys unchanged)', () => {
		expect(modelKey({namespace: 'ml', name: 'fraud'})).toBe('ml/fraud');
		expect(modelKey(mergeModels([['prod-eu', [model('ml', 'fraud')]]])[0]!)).toBe('prod-eu:ml/fraud');
	});

	it("sends each action to its model's own context, without the tag, and to no other; the plan comes back naming it", async () => {
		await fc.assert(
			fc.asyncProperty(
				fleets,
				fc.nat(),
				fc.integer({min: 0, max: 100}),
				fc.constantFrom('plan', 'act', 'weight', 'promote', 'rollback', 'switch'),
				async ([contexts, lists], pick, to, kind) => {
					const {members, port} = merged(contexts, lists);
					let shown: Model[] = [];
					port.watchModels(
						undefined,
						(models) => (shown = models),
						() => undefined,
					);
					const target = shown[pick % shown.length]!;
					const ref = {namespace: target.namespace, name: target.name, cluster: target.cluster!};
					const action: TrafficAction = {kind: 'set-weight', model: ref, canary: 'v2', from: 10, to};
					if (kind === 'plan') {
						const plan = await port.plan(action);
						expect(plan.model).toEqual(ref);
						expect(plan.action.model).toEqual(ref);
					} else if (kind === 'act') await port.act(action);
					else if (kind === 'weight') await port.setCanaryWeight(ref, 'v2', to);
					else if (kind === 'promote') await port.promote(ref, 'v2');
					else if (kind === 'rollback') await port.rollback(ref, 'v2');
					else await port.switchTraffic(ref, 'v2');
					for (const member of members) {
						const expected =
							member.context === target.cluster
								? [{kind: kind === 'weight' ? 'weight' : kind, model: {namespace: target.namespace, name: target.name}}]
								: [];
						expect(member.port.calls).toEqual(expected);
					}
				},
			),
		);
	});

	it('refuses an action naming no context or one not shown, and one in a read-only context, writing nothing', async () => {
		const {members, port} = merged(['prod-us', 'prod-eu'], [[['ml', 'fraud']], [['ml', 'fraud']]], (context) =>
			context === 'prod-us' ? 'settings for context prod-us' : undefined,
		);
		const action = (cluster?: string): TrafficAction => ({
			kind: 'set-weight',
			model: {namespace: 'ml', name: 'fraud', ...(cluster ? {cluster} : {})},
			canary: 'v2',
			from: 10,
			to: 50,
		});
		await expect(port.plan(action())).rejects.toThrow(/names no context/);
		await expect(port.act(action('staging'))).rejects.toThrow('context staging is not among those shown (prod-us,prod-eu)');
		await expect(port.plan(action('prod-us'))).rejects.toThrow('context prod-us is read-only (settings for context prod-us)');
		await expect(port.act(action('prod-us'))).rejects.toThrow(/read-only/);
		expect(members.flatMap((member) => member.port.calls)).toEqual([]);
		await port.act(action('prod-eu'));
		expect(members[1]!.port.calls).toHaveLength(1);
	});

	it('names the failing context in its error and its healthy moments, and keeps its last models', () => {
		fc.assert(
			fc.property(fleets, fc.nat(), ([contexts, lists], pick) => {
				const {members, port} = merged(contexts, lists);
				let shown: Model[] = [];
				const errors: SourceError[] = [];
				const alive: Array<string | undefined> = [];
				port.watchModels(
					undefined,
					(models) => (shown = models),
					(error) => errors.push(error),
					(cluster) => alive.push(cluster),
				);
				// Each context's first models were an answer from it.
				expect(alive).toEqual(contexts);
				alive.length = 0;
				const failing = members[pick % members.length]!;
				failing.port.onError!({source: 'cluster', message: 'connection refused — retrying'});
				for (const member of members) member.port.onAlive!();
				expect(errors).toEqual([{source: 'cluster', cluster: failing.context, message: 'connection refused — retrying'}]);
				expect(alive).toEqual(contexts);
				expect(shown.filter((entry) => entry.cluster === failing.context)).toHaveLength(failing.port.models.length);
			}),
		);
	});

	it('refuses to switch context, saying how to work in one', async () => {
		const {port} = merged(['a', 'b'], [[['ml', 'fraud']], [['ml', 'fraud']]]);
		await expect(port.switchContext('b')).rejects.toThrow('start modeldeck with --context b');
	});
});

/** A context's Prometheus in memory: figures for the versions it is asked about, keyed as a real one keys them. */
class MemberMetrics implements MetricsPort {
	asked: MetricTarget[][] = [];
	failWith: string | undefined;
	/** None configured and none found in that cluster. */
	absent: string | undefined;
	readonly label: string;
	readonly rps: number;
	constructor(label: string, rps: number) {
		this.label = label;
		this.rps = rps;
	}

	async sample(targets: MetricTarget[]) {
		this.asked.push(targets);
		if (this.absent) throw new SourceAbsentError(this.absent);
		if (this.failWith) throw new Error(this.failWith);
		return new Map<string, Sample>(
			targets.map((target) => [
				versionKey(target),
				{rps: this.rps, errorRatio: 0, p50Ms: 1, p95Ms: 2, p99Ms: 3, cpuCores: null, memoryBytes: null, time: 0},
			]),
		);
	}

	async history(targets: MetricTarget[]) {
		this.asked.push(targets);
		return new Map<string, Series>(targets.map((target) => [versionKey(target), {rps: [{time: 0, value: this.rps}]}]));
	}

	explain(target: MetricTarget) {
		return `rate(x{model="${target.name}",cluster_tag="${target.cluster ?? ''}"}[1m]) # ${this.label}`;
	}
}

describe('the merged figures', () => {
	it("asks each context's Prometheus about its own versions only, untagged, and keys the answers by the tagged versions", async () => {
		await fc.assert(
			fc.asyncProperty(fleets, fc.nat(), async ([contexts, lists], withoutPrometheus) => {
				const skipped = contexts[withoutPrometheus % contexts.length]!;
				const members = contexts
					.filter((context) => context !== skipped)
					.map((context, index) => ({context, port: new MemberMetrics(context, index + 1)}));
				const port = new MergedMetricsPort(members);
				const targets = mergeModels(
					contexts.map((context, index) => [context, lists[index]!.map(([namespace, name]) => model(namespace, name))] as const),
				).flatMap((entry) =>
					entry.versions.map((version) => ({namespace: entry.namespace, name: entry.name, cluster: entry.cluster!, version: version.name})),
				);
				const samples = await port.sample(targets, 60);
				for (const member of members) {
					for (const asked of member.port.asked.flat()) expect(asked.cluster).toBeUndefined();
					expect(member.port.asked.flat()).toHaveLength(targets.filter((target) => target.cluster === member.context).length);
				}

				for (const target of targets) {
					const member = members.find((candidate) => candidate.context === target.cluster);
					expect(samples.get(versionKey(target))?.rps).toBe(member?.port.rps);
				}
			}),
		);
	});

	it("keeps one Prometheus's figures when another fails, and fails only when all do, naming each", async () => {
		const us = new MemberMetrics('us', 1);
		const eu = new MemberMetrics('eu', 2);
		const port = new MergedMetricsPort([
			{context: 'prod-us', port: us},
			{context: 'prod-eu', port: eu},
		]);
		const targets = [
			{namespace: 'ml', name: 'fraud', version: 'v1', cluster: 'prod-us'},
			{namespace: 'ml', name: 'fraud', version: 'v1', cluster: 'prod-eu'},
		];
		expect(port.problems()).toEqual([]);
		eu.failWith = 'connect ECONNREFUSED';
		const partial = await port.sample(targets, 60);
		expect([...partial.keys()]).toEqual(['prod-us:ml/fraud/v1']);
		expect(port.problems()).toEqual([{source: 'metrics', cluster: 'prod-eu', message: 'connect ECONNREFUSED'}]);
		us.failWith = 'timeout';
		await expect(port.sample(targets, 60)).rejects.toThrow('prod-us: timeout; prod-eu: connect ECONNREFUSED');
		// A Prometheus that answers again is no longer a problem.
		us.failWith = undefined;
		eu.failWith = undefined;
		await port.sample(targets, 60);
		expect(port.problems()).toEqual([]);
		expect(port.explain(targets[1]!, 'rps')).toContain('# eu');
		expect(port.explain({...targets[1]!, cluster: 'staging'}, 'rps')).toContain('no Prometheus for context staging');
	});

	it('a context with no Prometheus (none set, none found) has no figures and is no problem; all absent is absent, not failed', async () => {
		const us = new MemberMetrics('us', 1);
		const eu = new MemberMetrics('eu', 2);
		eu.absent = 'no Prometheus found in context prod-eu';
		const port = new MergedMetricsPort([
			{context: 'prod-us', port: us},
			{context: 'prod-eu', port: eu},
		]);
		const targets = [
			{namespace: 'ml', name: 'fraud', version: 'v1', cluster: 'prod-us'},
			{namespace: 'ml', name: 'fraud', version: 'v1', cluster: 'prod-eu'},
		];
		expect([...(await port.sample(targets, 60)).keys()]).toEqual(['prod-us:ml/fraud/v1']);
		expect(port.problems()).toEqual([]);
		us.failWith = 'timeout';
		await expect(port.sample(targets, 60)).rejects.toThrow('prod-us: timeout');
		expect(port.problems()).toEqual([{source: 'metrics', cluster: 'prod-us', message: 'timeout'}]);
		us.failWith = undefined;
		us.absent = 'no Prometheus found in context prod-us';
		await expect(port.sample(targets, 60)).rejects.toBeInstanceOf(SourceAbsentError);
		expect(port.problems()).toEqual([]);
	});
});
