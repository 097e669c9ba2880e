/**
 * AgentPort over the simulation: the prediction stream, lookups, the audit trail, and actions. Weight, promote,
 * rollback and switch go through the demo cluster (as the real agent writes to the API server); smoke and load tests
 * run against the simulated versions, drawing from the same latency and error distributions as the metrics.
 */
import {ConflictError, type AgentEvent, type AgentPort, type AuditEntry, type PredictionFilter} from '../domain/ports.ts';
import type {DeliveryCommand, DeliveryStarter, DeliveryState} from '../domain/delivery.ts';
import {deliverySummary} from '../domain/delivery.ts';
import type {Action, ActionProgress, LoadTestResult, ModelRef, Prediction, SmokeCheck, Unsubscribe, VersionRef} from '../domain/types.ts';
import {DEMO_USER} from './audit-log.ts';
import type {AuditLog} from './audit-log.ts';
import type {ActionOutcome, DemoCluster} from './demo-cluster.ts';
import {drawLatency, type LatencyProfile, percentileOfSorted} from './latency.ts';
import {generatePayload, modelInterface} from './payloads.ts';
import type {PredictionFeed} from './prediction-feed.ts';
import type {Random} from './random.ts';
import type {FleetSimulation, ModelState, VersionState} from './simulation.ts';

/** A load test longer than this runs compressed into it (demo time, said in the progress messages). */
const LOAD_TEST_REAL_MS = 5000;
/** Latency draws kept per load-test target; above this each draw stands for several requests. */
const LOAD_TEST_DRAWS = 50_000;
const SMOKE_REQUESTS = 20;

export interface DemoAgentOptions {
	simulation: FleetSimulation;
	cluster: DemoCluster;
	feed: PredictionFeed;
	audit: AuditLog;
	random: Random;
	clock: () => number;
	currentContext: () => string;
	/** Waits `ms` of demo time (a test passes a pause that returns at once). */
	pause: (ms: number) => Promise<void>;
	/** Rollouts of new versions (`deliver`, `delivery`): the demo's DeliveryRunner. */
	deliveries?: DemoDeliveryHost;
}

/** What the demo agent needs of the DeliveryRunner that runs the demo's rollouts. */
export interface DemoDeliveryHost {
	start: DeliveryStarter['start'];
	command(model: ModelRef, command: DeliveryCommand, by: string): Promise<{ok: true; state: DeliveryState} | {ok: false; message: string}>;
}

function messageOf(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function formatMs(ms: number): string {
	return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function shape(dimensions: number[]): string {
	return `[${dimensions.join(',')}]`;
}

function label(target: VersionRef): string {
	return `${target.namespace}/${target.name} ${target.version}`;
}

export class DemoAgent implements AgentPort {
	readonly label = 'demo';
	private readonly options: DemoAgentOptions;

	constructor(options: DemoAgentOptions) {
		this.options = options;
	}

	predictions(filter: PredictionFilter, fromSeq: number | undefined, onEvent: (event: AgentEvent) => void): Unsubscribe {
		return this.options.feed.subscribe(filter ?? {}, fromSeq, onEvent);
	}

	/** Predictions whose request id is the text or, from 4 characters on, starts with it (exact matches first). */
	async lookup(requestId: string): Promise<Prediction[]> {
		return this.options.feed.lookup(String(requestId ?? ''));
	}

	async audit(limit: number): Promise<AuditEntry[]> {
		return this.options.audit.latest(limit);
	}

	act(action: Action): AsyncIterable<ActionProgress> {
		return this.run(action);
	}

	private async *run(action: Action): AsyncGenerator<ActionProgress> {
		const {cluster} = this.options;
		switch (action.kind) {
			case 'set-weight': {
				yield {
					kind: 'progress',
					fraction: 0,
					message: `setting canary ${action.canary} of ${action.model.namespace}/${action.model.name}: ${action.from}% → ${action.to}%`,
				};
				yield* this.delegate(() => cluster.actPlanned(action));
				return;
			}

			case 'promote': {
				yield {
					kind: 'progress',
					fraction: 0,
					message: `promoting ${action.canary} of ${action.model.namespace}/${action.model.name} over ${action.stable}`,
				};
				yield* this.delegate(() => cluster.actPlanned(action));
				return;
			}

			case 'rollback': {
				yield {
					kind: 'progress',
					fraction: 0,
					message: `rolling back canary ${action.canary} of ${action.model.namespace}/${action.model.name}`,
				};
				yield* this.delegate(() => cluster.actPlanned(action));
				return;
			}

			case 'switch': {
				yield {
					kind: 'progress',
					fraction: 0,
					message: `switching ${action.model.namespace}/${action.model.name} from ${action.from} to ${action.to}`,
				};
				yield* this.delegate(() => cluster.actPlanned(action));
				return;
			}

			case 'deliver':
			case 'delivery': {
				yield* this.delivery(action);
				return;
			}

			case 'smoke-test': {
				yield* this.smokeTest(action.target);
				return;
			}

			case 'load-test': {
				yield* this.loadTest(action);
				return;
			}

			default: {
				const unknown = action as {kind?: unknown};
				yield {kind: 'failed', message: `The demo agent does not know the action "${String(unknown.kind)}".`};
			}
		}
	}

	/** A rollout started, paused, resumed or aborted: the runner says how it went. */
	private async *delivery(action: Extract<Action, {kind: 'deliver' | 'delivery'}>): AsyncGenerator<ActionProgress> {
		const runner = this.options.deliveries;
		if (!runner) {
			yield {kind: 'failed', message: 'this demo runs no rollouts'};
			return;
		}

		const label = `${action.model.namespace}/${action.model.name}`;
		yield {
			kind: 'progress',
			fraction: 0,
			message:
				action.kind === 'deliver' ? `planning the rollout of ${label} ${action.spec.version}` : `${action.command} the rollout of ${label}`,
		};
		const result =
			action.kind === 'deliver'
				? await runner.start({...action.spec, model: action.model})
				: await runner.command(action.model, action.command, DEMO_USER);
		if (!result.ok) {
			yield {kind: 'failed', message: result.message};
			return;
		}

		const done =
			action.kind === 'deliver' ? `rollout of ${label} ${action.spec.version} started` : `rollout of ${label}: ${action.command}`;
		yield {kind: 'done', message: `${done} (${deliverySummary(result.state, this.options.clock())})`};
	}

	private async *delegate(write: () => Promise<ActionOutcome>): AsyncGenerator<ActionProgress> {
		try {
			const outcome = await write();
			yield {kind: 'done', message: outcome.message};
		} catch (error) {
			const prefix = error instanceof ConflictError ? 'conflict: ' : '';
			yield {kind: 'failed', message: `${prefix}${messageOf(error)}`};
		}
	}

	private resolve(target: VersionRef): {model: ModelState; version: VersionState} | string {
		const {simulation, currentContext} = this.options;
		simulation.advanceTo(this.options.clock());
		const model = simulation.findModel(currentContext(), target);
		if (!model) {
			const known = simulation.modelsIn(currentContext()).map((candidate) => candidate.label);
			return `There is no model ${target.namespace}/${target.name} in context ${currentContext()}. Models here: ${known.join(', ')}.`;
		}

		const version = model.version(target.version);
		if (!version) {
			return `${model.label} has no version ${target.version}. Its versions: ${model.versions.map((candidate) => candidate.name).join(', ')}.`;
		}

		return {model, version};
	}

	private record(action: string, target: string, result: AuditEntry['result'], after: string, message: string): void {
		this.options.audit.record({time: this.options.clock(), action, target, before: '', after, result, message});
	}

	private async *smokeTest(target: VersionRef): AsyncGenerator<ActionProgress> {
		const resolved = this.resolve(target);
		if (typeof resolved === 'string') {
			this.record('smoke-test', label(target), 'refused', '', resolved);
			yield {kind: 'failed', message: resolved};
			return;
		}

		const {model, version} = resolved;
		const {random, pause} = this.options;
		const contract = modelInterface(model.spec.output);
		const path = `/v2/models/${model.name}/versions/${version.name}`;
		const checks: SmokeCheck[] = [];
		const check = (name: string, ok: boolean, detail: string): ActionProgress => {
			const item: SmokeCheck = {name, ok, detail};
			checks.push(item);
			return {kind: 'check', check: item};
		};

		yield {kind: 'progress', fraction: 0, message: `smoke test of ${label(target)}: GET ${path}`};
		await pause(random.between(120, 300));
		const conditions = version.conditions;
		const reachable = version.replicasReady > 0;
		yield check(
			'metadata readable',
			reachable,
			reachable
				? `GET ${path} → 200: platform ${contract.platform}, input "${contract.inputName}" ${shape(contract.inputShape)} ${contract.inputType}, output "${contract.outputName}" ${shape(contract.outputShape)} ${contract.outputType}`
				: `GET ${path} → 503 no healthy upstream: ${version.replicasReady}/${version.replicasDesired} pods ready${version.problems.size > 0 ? ` (${[...version.problems.keys()].join(', ')})` : ''}`,
		);

		await pause(random.between(120, 300));
		const latencies = Array.from({length: SMOKE_REQUESTS}, () => drawLatency(random, conditions.profile)).sort((a, b) => a - b);
		// The expected number of failures among the requests, so that a broken canary fails its smoke test every time.
		const failures = reachable ? Math.round(SMOKE_REQUESTS * conditions.errorProbability) : SMOKE_REQUESTS;
		const accepted = failures === 0;
		yield check(
			'request accepted',
			accepted,
			!reachable
				? `POST ${path}/infer → 503: no pod can answer`
				: accepted
					? `POST ${path}/infer × ${SMOKE_REQUESTS} → 200, p50 ${formatMs(percentileOfSorted(latencies, 0.5))}, max ${formatMs(latencies.at(-1)!)}`
					: `POST ${path}/infer × ${SMOKE_REQUESTS} → ${failures} failed with 503 upstream connect error (${SMOKE_REQUESTS - failures} answered 200)`,
		);

		await pause(random.between(80, 200));
		const answered = reachable && failures < SMOKE_REQUESTS;
		yield check(
			'output shape',
			answered,
			answered
				? `"${contract.outputName}" ${shape(contract.outputShape)} ${contract.outputType}, as the metadata says`
				: 'no answer to check',
		);

		const payload = generatePayload(model.spec.output, random, conditions.driftIntensity);
		yield check('output range', answered, answered ? this.rangeDetail(contract.outputRule, payload.value) : 'no answer to check');

		const failed = checks.filter((item) => !item.ok);
		const summary =
			failed.length === 0
				? `smoke test of ${label(target)}: ${checks.length}/${checks.length} checks passed`
				: `smoke test of ${label(target)} failed: ${failed.length} of ${checks.length} checks failed (${failed.map((item) => item.name).join(', ')})`;
		const passed = `${checks.length - failed.length}/${checks.length} passed`;
		this.record('smoke-test', label(target), failed.length === 0 ? 'ok' : 'failed', passed, summary);
		yield failed.length === 0 ? {kind: 'done', message: summary} : {kind: 'failed', message: summary};
	}

	private rangeDetail(rule: ReturnType<typeof modelInterface>['outputRule'], value: number | string): string {
		switch (rule) {
			case 'probability': {
				return `${String(value)} in [0, 1]`;
			}

			case 'distribution': {
				return `probabilities in [0, 1], sum 1.000 (top class "${String(value)}")`;
			}

			case 'finite': {
				return `all scores finite (top ${String(value)})`;
			}

			case 'text': {
				return `non-empty text (${String(value)} tokens)`;
			}
		}
	}

	private async *loadTest(action: Extract<Action, {kind: 'load-test'}>): AsyncGenerator<ActionProgress> {
		const {random, pause} = this.options;
		const targetsLabel = action.targets.map((target) => label(target)).join(' vs ');
		const invalid = this.loadTestProblem(action);
		if (invalid) {
			this.record('load-test', targetsLabel || '(none)', 'refused', '', invalid);
			yield {kind: 'failed', message: invalid};
			return;
		}

		const resolved: Array<{model: ModelState; version: VersionState}> = [];
		for (const target of action.targets) {
			const found = this.resolve(target);
			if (typeof found === 'string') {
				this.record('load-test', targetsLabel, 'refused', '', found);
				yield {kind: 'failed', message: found};
				return;
			}

			resolved.push(found);
		}

		const durationMs = action.durationSeconds * 1000;
		const realMs = Math.min(durationMs, LOAD_TEST_REAL_MS);
		const speedUp = durationMs / realMs;
		const steps = Math.max(1, Math.round(realMs / 1000));
		const totalRequests = Math.round(action.rps * action.durationSeconds);
		const drawsPerTarget = Math.min(totalRequests, LOAD_TEST_DRAWS);
		const drawWeight = drawsPerTarget > 0 ? totalRequests / drawsPerTarget : 0;
		const runs = resolved.map(() => ({latencies: new Float64Array(drawsPerTarget), drawn: 0, errors: 0}));
		const compressed =
			speedUp > 1
				? ` (demo: ${action.durationSeconds} s compressed ${speedUp.toFixed(speedUp < 10 ? 1 : 0)}× into ${realMs / 1000} s)`
				: '';
		yield {
			kind: 'progress',
			fraction: 0,
			message: `load test of ${targetsLabel}: ${action.rps} requests/s for ${action.durationSeconds} s${compressed}`,
		};

		for (let step = 1; step <= steps; step++) {
			await pause(realMs / steps);
			const drawsUntil = Math.round((drawsPerTarget * step) / steps);
			for (const [index, {version}] of resolved.entries()) {
				const run = runs[index]!;
				const {profile, errorProbability} = this.underLoad(version, action.rps);
				for (; run.drawn < drawsUntil; run.drawn++) {
					run.latencies[run.drawn] = drawLatency(random, profile);
					if (random.chance(errorProbability)) run.errors += drawWeight;
				}
			}

			const simulatedSeconds = Math.round((action.durationSeconds * step) / steps);
			const live = runs.map((run, index) => {
				const sorted = run.latencies.slice(0, run.drawn).sort();
				return `${resolved[index]!.version.name} p99 ${formatMs(percentileOfSorted(sorted, 0.99))}`;
			});
			yield {
				kind: 'progress',
				fraction: step / steps,
				message: `${simulatedSeconds} of ${action.durationSeconds} s${speedUp > 1 ? ' (demo time)' : ''} · ${Math.round((totalRequests * step) / steps).toLocaleString('en-US')} requests per target · ${live.join(' · ')}`,
			};
		}

		const results: LoadTestResult[] = resolved.map(({model, version}, index) => {
			const run = runs[index]!;
			const sorted = run.latencies.sort();
			const errors = Math.round(run.errors);
			return {
				target: {namespace: model.namespace, name: model.name, version: version.name},
				requests: totalRequests,
				errors,
				achievedRps: Math.round(((totalRequests - errors) / action.durationSeconds) * 10) / 10,
				p50Ms: percentileOfSorted(sorted, 0.5),
				p95Ms: percentileOfSorted(sorted, 0.95),
				p99Ms: percentileOfSorted(sorted, 0.99),
				maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : 0,
			};
		});
		yield {kind: 'load-result', results};
		const summary = `load test of ${targetsLabel} done: ${results
			.map(
				(result) =>
					`${result.target.version} p99 ${formatMs(result.p99Ms)}, ${result.errors} errors of ${result.requests.toLocaleString('en-US')}`,
			)
			.join('; ')}${speedUp > 1 ? ' (demo: time compressed)' : ''}`;
		this.record('load-test', targetsLabel, 'ok', `${action.rps} rps × ${action.durationSeconds} s`, summary);
		yield {kind: 'done', message: summary};
	}

	private loadTestProblem(action: Extract<Action, {kind: 'load-test'}>): string | undefined {
		if (!Array.isArray(action.targets) || action.targets.length === 0) return 'A load test needs at least one version to test.';
		if (action.targets.length > 4) return `A load test compares at most 4 versions; ${action.targets.length} were given.`;
		if (!Number.isFinite(action.rps) || action.rps <= 0 || action.rps > 20_000) {
			return `Load test rate ${String(action.rps)} requests/s is not valid: use a number above 0 and at most 20,000.`;
		}

		if (!Number.isFinite(action.durationSeconds) || action.durationSeconds < 1 || action.durationSeconds > 3600) {
			return `Load test duration ${String(action.durationSeconds)} s is not valid: use 1 to 3600 seconds.`;
		}

		return undefined;
	}

	/** The version's latency and errors with the test's extra traffic on top of the live traffic. */
	private underLoad(version: VersionState, testRps: number): {profile: LatencyProfile; errorProbability: number} {
		const conditions = version.conditions;
		const ready = version.replicasReady;
		if (ready === 0) return {profile: {...conditions.profile, medianMs: 1.5, tailProbability: 0}, errorProbability: 1};
		const capacity = ready * version.spec.capacityRpsPerPod;
		const factor = (utilization: number) => (utilization <= 0.8 ? 1 : Math.min(6, 1 + (utilization - 0.8) * 4));
		const withTest = (conditions.rps + testRps) / capacity;
		const extra = factor(withTest) / factor(conditions.rps / capacity);
		const overload = withTest > 1.2 ? Math.min(0.5, (withTest - 1.2) * 0.5) : 0;
		return {
			profile: {...conditions.profile, medianMs: conditions.profile.medianMs * extra},
			errorProbability: Math.min(1, conditions.errorProbability + overload),
		};
	}
}
