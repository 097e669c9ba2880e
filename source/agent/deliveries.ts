/**
 * The agent's progressive deliveries: one DeliveryRunner over the cluster's DeliveryPort, judged as the canary guard
 * judges (domain/guard-verdict.ts: the console's analysis, the guard's thresholds from the model's annotations and the
 * settings file) over the metric history of the last pause, smoke-tested as the `smoke-test` action does, and
 * audited one record per transition. Active deliveries are resumed when the agent starts.
 *
 * `AgentCore.deliveries` is the DeliveryStarter others start deliveries through (the registry watcher): it plans,
 * refuses a second delivery on a model, and runs it here.
 */
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import {RobustZDetector} from '../domain/robust-z.ts';
import type {DeliveryCommand, DeliveryPort, DeliverySpec, DeliveryStarter, DeliveryState} from '../domain/delivery.ts';
import {MannWhitneyJudge} from '../domain/judge.ts';
import type {AuditEntry, MetricsPort} from '../domain/ports.ts';
import type {ActionProgress, Model, ModelRef, VersionRef} from '../domain/types.ts';
import {modelKey} from '../domain/types.ts';
import {DeliveryRunner, type DeliveryAuditRecord} from '../delivery/runner.ts';
import {smokeTest} from './actions/smoke-test.ts';
import {resolveGuardSettings, type GuardSettingsFile} from './guard/settings.ts';
import {guardVerdict} from '../domain/guard-verdict.ts';

export interface AgentDeliveriesOptions {
	port: DeliveryPort;
	/** The agent's view of the models (the watch), or a fresh read, for the judge's model and versions. */
	findModel: (ref: ModelRef) => Model | undefined | Promise<Model | undefined>;
	metrics?: MetricsPort;
	/** Default: the Mann–Whitney judge with its default settings, as the guard's. */
	judge?: CanaryJudge;
	detectors?: readonly FlagDetector[];
	/** The guard's settings file: its thresholds apply to deliveries too. */
	settingsFile?: () => GuardSettingsFile;
	resolveEndpoint: (target: VersionRef) => string | Promise<string>;
	/** Why the smoke test is skipped (the CLI in the foreground cannot reach the cluster's Services); default: run it. */
	skipSmoke?: string;
	fetch?: typeof fetch;
	audit: (entry: AuditEntry, namespace: string) => Promise<void>;
	log: (line: string) => void;
	now?: () => number;
	tickMs?: number;
}

/** The history judged at the end of a pause: the pause itself, at least this long. */
const minimumWindowSeconds = 10;

export class AgentDeliveries implements DeliveryStarter {
	readonly runner: DeliveryRunner;
	readonly #options: AgentDeliveriesOptions;

	constructor(options: AgentDeliveriesOptions) {
		this.#options = options;
		const judge = options.judge ?? new MannWhitneyJudge();
		const detectors = options.detectors ?? [new RobustZDetector()];
		this.runner = new DeliveryRunner({
			port: options.port,
			judge: async (state) => this.#judge(state, judge, detectors),
			smoke: async (state) => this.#smoke(state),
			audit: async (record: DeliveryAuditRecord) => {
				const lines = record.lines ? `: ${record.lines.join('; ')}` : '';
				await options.audit({...record.entry, message: `${record.entry.message}${lines}`}, record.state.spec.model.namespace);
			},
			onError: (message) => options.log(message),
			...(options.now ? {now: options.now} : {}),
			...(options.tickMs === undefined ? {} : {tickMs: options.tickMs}),
		});
	}

	/** Resumes the deliveries kept in the cluster and starts ticking. */
	async begin(): Promise<void> {
		this.runner.run();
		try {
			const resumed = await this.runner.resume();
			for (const state of resumed)
				this.#options.log(`rollout: resumed ${state.id} (${state.phase}, ${state.spec.version} at ${state.weight}%)`);
		} catch (error) {
			this.#options.log(`rollout: could not look for rollouts to resume: ${(error as Error).message}`);
		}
	}

	/** Stops the runner and waits (at most 10 s) for what it was doing to be kept and audited. */
	async close(): Promise<void> {
		this.runner.close();
		await Promise.race([this.runner.idle(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
	}

	async start(spec: DeliverySpec): Promise<{ok: true; state: DeliveryState} | {ok: false; message: string}> {
		if (!this.#options.metrics) {
			return {ok: false, message: 'the agent has no metrics to judge a rollout with: start it with --prometheus URL'};
		}

		return this.runner.start(spec);
	}

	/** The `deliver` and `delivery` actions, as progress for the act path. */
	async *act(
		action: {kind: 'deliver'; spec: DeliverySpec} | {kind: 'delivery'; model: ModelRef; command: DeliveryCommand},
		user: string,
	): AsyncGenerator<ActionProgress> {
		if (action.kind === 'deliver') {
			const asked = action.spec.requestedBy.trim();
			const requestedBy = asked === '' || asked === user ? user : `${user} (${asked})`;
			const started = await this.start({...action.spec, requestedBy});
			yield started.ok
				? {
						kind: 'done',
						message: `rollout ${started.state.id} started: ${started.state.spec.version} (${action.spec.image}), steps ${action.spec.steps.join(', ')}%`,
					}
				: {kind: 'failed', message: started.message};
			return;
		}

		const result = await this.runner.command(action.model, action.command, user);
		yield result.ok ? {kind: 'done', message: `rollout ${result.state.id}: ${action.command}`} : {kind: 'failed', message: result.message};
	}

	async #judge(state: DeliveryState, judge: CanaryJudge, detectors: readonly FlagDetector[]) {
		const {metrics} = this.#options;
		if (!metrics) return {result: 'insufficient-data' as const, summary: 'no metrics to judge with (--prometheus URL)'};
		const ref = state.spec.model;
		const model = await this.#options.findModel(ref);
		const canary = model?.versions.find((version) => version.name === state.spec.version);
		const stable = model?.versions.find((version) => version.name === state.stable);
		if (!model || !canary || !stable) {
			return {
				result: 'insufficient-data' as const,
				summary: `${modelKey(ref)}: ${state.spec.version} or ${state.stable} not seen in the cluster yet`,
			};
		}

		const {settings} = resolveGuardSettings(model, this.#options.settingsFile?.() ?? {});
		const now = (this.#options.now ?? Date.now)();
		const windowSeconds = Math.max(minimumWindowSeconds, state.spec.pauseSeconds);
		const target = (version: string) => ({
			namespace: ref.namespace,
			name: ref.name,
			version,
			...(model.runtime ? {runtime: model.runtime} : {}),
		});
		const history = await metrics.history([target(canary.name), target(stable.name)], {
			start: now - windowSeconds * 1000,
			end: now,
			stepSeconds: Math.max(1, Math.round(windowSeconds / 60)),
		});
		const finding = guardVerdict({
			model,
			canary,
			stable,
			history,
			judge,
			detectors,
			thresholds: settings.thresholds,
			windowSeconds,
			now,
		});
		return {result: finding.result, summary: finding.summary};
	}

	async #smoke(state: DeliveryState): Promise<{ok: boolean; message: string}> {
		if (this.#options.skipSmoke !== undefined) return {ok: true, message: `skipped: ${this.#options.skipSmoke}`};
		const target = {...state.spec.model, version: state.spec.version};
		let base: string | undefined;
		// The new version's Service was created a moment ago: the agent's watch may not have shown it yet.
		for (let attempt = 1; base === undefined; attempt++) {
			try {
				base = await this.#options.resolveEndpoint(target);
			} catch (error) {
				if (attempt >= 10) return {ok: false, message: (error as Error).message};
				await new Promise((resolve) => setTimeout(resolve, 1000));
			}
		}

		let last: ActionProgress | undefined;
		for await (const progress of smokeTest(target, base, this.#options.fetch ? {fetch: this.#options.fetch} : {})) last = progress;
		return last?.kind === 'done'
			? {ok: true, message: last.message}
			: {ok: false, message: last && 'message' in last ? last.message : 'no answer'};
	}
}

/** The cluster's own DeliveryPort, when it offers one (the Kubernetes source's `deliveryPort()`). */
export function deliveryPortOf(cluster: unknown): DeliveryPort | undefined {
	const candidate = cluster as {deliveryPort?: () => DeliveryPort} | undefined;
	return typeof candidate?.deliveryPort === 'function' ? candidate.deliveryPort() : undefined;
}
