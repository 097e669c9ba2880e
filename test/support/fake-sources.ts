/**
 * In-memory ports for UI and store tests: a fixed fleet whose actions are recorded. Adapters are tested against
 * the real services elsewhere; this only lets component tests drive the screens deterministically.
 */
import {
	ConflictError,
	type AgentEvent,
	type AgentPort,
	type AuditEntry,
	type ClusterPort,
	type MetricTarget,
	type MetricsPort,
	type SourceError,
	type Sources,
	type TimeRange,
} from '../../source/domain/ports.ts';
import {
	changedVersions,
	ensureActionHolds,
	planTraffic,
	targetWeights,
	type ChangePlan,
	type TrafficAction,
} from '../../source/domain/plan.ts';
import {
	versionKey,
	type Action,
	type ActionProgress,
	type Model,
	type ModelRef,
	type Prediction,
	type Sample,
	type Series,
} from '../../source/domain/types.ts';

export const NOW = Date.parse('2026-11-26T10:00:00Z');

export function fixtureModels(): Model[] {
	return [
		{
			namespace: 'prod',
			name: 'fraud-detector',
			router: 'httproute',
			routerObject: 'HTTPRoute/fraud-detector',
			runtime: 'generic',
			versions: [
				{
					name: 'v12',
					track: 'stable',
					weight: 90,
					replicasReady: 3,
					replicasDesired: 3,
					restarts: 0,
					image: 'registry.local/fraud:v12',
					created: '2026-11-20T10:00:00Z',
					resources: {memoryLimitBytes: 1024 ** 3, cpuLimitCores: 1},
				},
				{
					name: 'v13',
					track: 'canary',
					weight: 10,
					replicasReady: 1,
					replicasDesired: 1,
					restarts: 0,
					image: 'registry.local/fraud:v13',
					created: '2026-11-26T09:00:00Z',
					resources: {memoryLimitBytes: 1024 ** 3, cpuLimitCores: 1},
				},
			],
		},
		{
			namespace: 'prod',
			name: 'recommender',
			router: 'replicas',
			versions: [
				{
					name: 'v2',
					track: 'stable',
					weight: 100,
					replicasReady: 2,
					replicasDesired: 2,
					restarts: 1,
					image: 'registry.local/rec:2.0',
					created: '2026-11-01T10:00:00Z',
				},
			],
		},
	];
}

export function fixtureSamples(): Map<string, Sample> {
	const base = {cpuCores: 0.4, memoryBytes: 300 * 1024 ** 2, time: NOW};
	return new Map([
		[
			versionKey({namespace: 'prod', name: 'fraud-detector', version: 'v12'}),
			{...base, rps: 180, errorRatio: 0.001, p50Ms: 20, p95Ms: 45, p99Ms: 80},
		],
		[
			versionKey({namespace: 'prod', name: 'fraud-detector', version: 'v13'}),
			{...base, rps: 20, errorRatio: 0.002, p50Ms: 60, p95Ms: 400, p99Ms: 900},
		],
		[
			versionKey({namespace: 'prod', name: 'recommender', version: 'v2'}),
			{...base, rps: 50, errorRatio: 0, p50Ms: 12, p95Ms: 30, p99Ms: 44},
		],
	]);
}

export class FakeCluster implements ClusterPort {
	readonly label = 'fake';
	models = fixtureModels();
	calls: string[] = [];
	listeners = new Set<(models: Model[]) => void>();
	errorListeners = new Set<(error: SourceError) => void>();
	context = 'prod-cluster';

	contexts() {
		return [
			{name: 'prod-cluster', cluster: 'prod', user: 'alice'},
			{name: 'staging', cluster: 'staging'},
		];
	}

	currentContext() {
		return this.context;
	}

	async switchContext(name: string) {
		this.calls.push(`context ${name}`);
		this.context = name;
	}

	async namespaces() {
		return ['prod', 'staging'];
	}

	watchModels(_namespace: string | undefined, onChange: (models: Model[]) => void, onError: (error: SourceError) => void) {
		this.listeners.add(onChange);
		this.errorListeners.add(onError);
		onChange(this.models);
		return () => {
			this.listeners.delete(onChange);
			this.errorListeners.delete(onError);
		};
	}

	fail(message: string) {
		for (const listener of this.errorListeners) listener({source: 'cluster', message});
	}

	#emit() {
		for (const listener of this.listeners) listener(this.models);
	}

	#find(model: ModelRef) {
		const found = this.models.find((candidate) => candidate.name === model.name && candidate.namespace === model.namespace);
		if (!found) throw new Error(`no model ${model.name}`);
		return found;
	}

	async setCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number) {
		const found = this.#find(model);
		const version = found.versions.find((candidate) => candidate.name === canary)!;
		if (expectedWeight !== undefined && version.weight !== expectedWeight) {
			throw new ConflictError(`canary ${canary} weight is now ${version.weight}%, not ${expectedWeight}%`);
		}

		this.calls.push(`weight ${model.name} ${canary} ${weight}`);
		version.weight = weight;
		for (const other of found.versions) if (other !== version) other.weight = 100 - weight;
		this.models = structuredClone(this.models);
		this.#emit();
	}

	async promote(model: ModelRef, canary: string) {
		this.calls.push(`promote ${model.name} ${canary}`);
	}

	async rollback(model: ModelRef, canary: string) {
		this.calls.push(`rollback ${model.name} ${canary}`);
		await this.setCanaryWeight(model, canary, 0);
	}

	async switchTraffic(model: ModelRef, to: string) {
		this.calls.push(`switch ${model.name} ${to}`);
	}

	/** Planned from the model as it is now, as a real source plans from a fresh read; the router is the one write. */
	async plan(action: TrafficAction): Promise<ChangePlan> {
		const found = this.#find(action.model);
		const plan = planTraffic(found, action);
		const changes = changedVersions(plan).map((version) => `${version.name} ${version.before}% → ${version.after}%`);
		const writes = changes.length > 0 ? [{object: found.routerObject ?? `Deployment/${found.name}`, change: changes.join(', ')}] : [];
		return {...plan, writes};
	}

	/** Refuses a plan that no longer holds; otherwise gives every version its planned weight. */
	async act(action: TrafficAction) {
		const found = this.#find(action.model);
		ensureActionHolds(found, action);
		const target = action.kind === 'switch' ? action.to : action.kind === 'rollout' ? action.command : action.canary;
		this.calls.push(
			`${action.kind === 'set-weight' ? 'weight' : action.kind} ${action.model.name} ${target}${action.kind === 'set-weight' ? ` ${action.to}` : ''}`,
		);
		const targets = targetWeights(found, action);
		for (const version of found.versions) version.weight = targets.get(version.name) ?? version.weight;
		if (action.kind === 'promote' || action.kind === 'switch') {
			for (const version of found.versions) version.track = version.name === target ? 'stable' : 'canary';
		}

		this.models = structuredClone(this.models);
		this.#emit();
	}
}

export class FakeMetrics implements MetricsPort {
	readonly label = 'fake-prometheus';
	samples = fixtureSamples();
	failWith: string | undefined;
	queries = 0;
	/** The ranges history was asked for, in order. */
	ranges: TimeRange[] = [];

	async sample(targets: MetricTarget[]) {
		this.queries++;
		if (this.failWith) throw new Error(this.failWith);
		return new Map([...this.samples].filter(([key]) => targets.some((target) => versionKey(target) === key)));
	}

	async history(targets: MetricTarget[], range: TimeRange) {
		this.ranges.push(range);
		if (this.failWith) throw new Error(this.failWith);
		const result = new Map<string, Series>();
		for (const target of targets) {
			const sample = this.samples.get(versionKey(target));
			if (!sample) continue;
			const points = (value: number | null) =>
				Array.from({length: 30}, (_, index) => ({time: NOW - (30 - index) * 2000, value: (value ?? 0) * (0.9 + (index % 5) / 25)}));
			result.set(versionKey(target), {p99Ms: points(sample.p99Ms), rps: points(sample.rps), p50Ms: points(sample.p50Ms)});
		}

		return result;
	}

	explain(target: MetricTarget, metric: string) {
		return `histogram_quantile(0.99, sum by (version, le) (rate(request_seconds_bucket{model="${target.name}"}[1m]))) # ${metric}`;
	}
}

export class FakeAgent implements AgentPort {
	readonly label = 'fake-agent';
	actions: Action[] = [];
	listener: ((event: AgentEvent) => void) | undefined;
	audits: AuditEntry[] = [];

	predictions(_filter: unknown, _fromSeq: number | undefined, onEvent: (event: AgentEvent) => void) {
		this.listener = onEvent;
		onEvent({type: 'connection', connected: true});
		return () => {
			this.listener = undefined;
		};
	}

	emit(predictions: Prediction[]) {
		for (const [index, prediction] of predictions.entries()) this.listener?.({type: 'prediction', seq: index + 1, prediction});
	}

	async *act(action: Action): AsyncIterable<ActionProgress> {
		this.actions.push(action);
		if (action.kind === 'smoke-test') {
			// The stable version (v12) passes; any other fails its range check.
			yield {kind: 'check', check: {name: 'metadata', ok: true, detail: 'inputs 1'}};
			if (action.target.version === 'v12') {
				yield {kind: 'check', check: {name: 'output range', ok: true, detail: 'value 0.3 in [0,1]'}};
				yield {kind: 'done', message: 'smoke test passed'};
				return;
			}

			yield {kind: 'check', check: {name: 'output range', ok: false, detail: 'value 1.7 outside [0,1]'}};
			yield {kind: 'failed', message: 'smoke test failed: output range'};
			return;
		}

		yield {kind: 'progress', fraction: 0.5, message: 'halfway'};
		yield {kind: 'done', message: `${action.kind} done by agent`};
	}

	async lookup(requestId: string) {
		return requestId === 'req-42'
			? [
					{
						requestId,
						namespace: 'prod',
						model: 'fraud-detector',
						version: 'v13',
						time: NOW,
						latencyMs: 31,
						status: 'ok' as const,
						inputSummary: '{amount: 3}',
						outputSummary: 'fraud=0.1',
					},
				]
			: [];
	}

	async audit() {
		return this.audits;
	}
}

export function fakeSources(
	options: {agent?: boolean; metrics?: boolean} = {},
): Sources & {cluster: FakeCluster; metrics?: FakeMetrics; agent?: FakeAgent} {
	return {
		cluster: new FakeCluster(),
		...(options.metrics === false ? {} : {metrics: new FakeMetrics()}),
		...(options.agent ? {agent: new FakeAgent()} : {}),
		demo: false,
	};
}

export function prediction(overrides: Partial<Prediction> = {}): Prediction {
	return {
		requestId: 'req-1',
		namespace: 'prod',
		model: 'fraud-detector',
		version: 'v13',
		time: NOW,
		latencyMs: 25,
		status: 'ok',
		inputSummary: '{amount: 12.5}',
		outputSummary: 'fraud=0.02',
		...overrides,
	};
}
