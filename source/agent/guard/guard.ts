/**
 * The canary guard: automated canary analysis inside the agent. Every interval, for each guarded model with a
 * canary taking traffic, it runs the console's analysis (thresholds, detectors and the canary judge; see verdict.ts)
 * over the recent metric history and, after N failing verdicts in a row, rolls the canary back (or, in dry-run,
 * says it would): planned, carried out and audited as people's changes are (see rollback.ts).
 */
import type {CanaryJudge, FlagDetector, Verdict} from '../../domain/analysis.ts';
import {RobustZDetector} from '../../domain/robust-z.ts';
import type {ChangePlan} from '../../domain/plan.ts';
import type {MetricsPort} from '../../domain/ports.ts';
import type {Flag, Model, ModelRef, Version} from '../../domain/types.ts';
import {modelKey} from '../../domain/types.ts';
import {guardDecision, initialGuardState} from './decision.ts';
import type {GuardAction, GuardState} from './decision.ts';
import {resolveGuardSettings} from './settings.ts';
import type {GuardModelSettings, GuardSettingsFile} from './settings.ts';
import {guardVerdict} from '../../domain/guard-verdict.ts';
import {guardRollback, type GuardChangeDependencies} from './rollback.ts';

export const guardUser = 'modeldeck-guard';

export interface GuardReport {
	model: ModelRef;
	canary: string;
	stable: string;
	/** The guard's verdict: the judge's, failed by any breached threshold or detector (see verdict.ts). */
	verdict: Verdict;
	/** Every flag the analysis raised on the canary, and those that failed it. */
	flags: Flag[];
	breaches: Flag[];
	state: GuardState;
	settings: GuardModelSettings;
	action: GuardAction;
	/** Set when acting failed or was refused. */
	error?: string;
	/** The rollback's plan: what it changed (or, in a dry run, would change). */
	plan?: ChangePlan;
	/** The result before this judgement. */
	previousResult?: Verdict['result'];
}

export interface GuardDependencies extends GuardChangeDependencies {
	models: () => Model[];
	metrics: MetricsPort;
	judge: CanaryJudge;
	/** The console's detectors. Default: the robust z-score detector with its default settings. */
	detectors?: readonly FlagDetector[];
	/** Called at every pass: a reloading source returns the newest good settings. */
	settingsFile?: () => GuardSettingsFile;
	dryRun: boolean;
	onReport: (report: GuardReport) => void;
	onError?: (message: string) => void;
	now?: () => number;
}

export function guardedPair(model: Model): {canary: Version; stable: Version} | undefined {
	const canary = model.versions.find((version) => version.track === 'canary' && version.weight > 0);
	const stable = model.versions.find((version) => version.track === 'stable');
	return canary && stable ? {canary, stable} : undefined;
}

export class CanaryGuard {
	readonly #dependencies: GuardDependencies;
	/** Keyed by model and canary version: a new canary starts with a clean slate. */
	readonly #states = new Map<string, GuardState>();
	#timer: NodeJS.Timeout | undefined;
	#running: Promise<GuardReport[]> | undefined;
	readonly #detectors: readonly FlagDetector[];
	/** Annotation errors already reported, by model: each is told once, and again only after it changed. */
	readonly #reportedErrors = new Map<string, string>();

	constructor(dependencies: GuardDependencies) {
		this.#dependencies = dependencies;
		this.#detectors = dependencies.detectors ?? [new RobustZDetector()];
	}

	state(model: ModelRef, canary: string): GuardState {
		return this.#states.get(`${modelKey(model)}@${canary}`) ?? initialGuardState;
	}

	/** Judges every guarded model whose interval has passed. Returns what it judged. */
	async evaluate(): Promise<GuardReport[]> {
		const now = (this.#dependencies.now ?? Date.now)();
		const file = this.#dependencies.settingsFile?.() ?? {};
		const reports: GuardReport[] = [];
		for (const model of this.#dependencies.models()) {
			const {settings, errors} = resolveGuardSettings(model, file);
			this.#reportSettingsErrors(modelKey(model), errors);
			if (!settings.enabled) continue;
			const pair = guardedPair(model);
			if (!pair) continue;
			const key = `${modelKey(model)}@${pair.canary.name}`;
			const state = this.#states.get(key) ?? initialGuardState;
			if (state.lastJudged !== undefined && now - state.lastJudged < settings.intervalSeconds * 1000 - 500) continue;
			try {
				reports.push(await this.#judge(model, pair, settings, state, key, now));
			} catch (error) {
				this.#dependencies.onError?.(`guard: judging ${modelKey(model)} failed: ${(error as Error).message}`);
				this.#states.set(key, {...state, lastJudged: now});
			}
		}

		return reports;
	}

	#reportSettingsErrors(key: string, errors: string[]): void {
		const text = errors.join('; ');
		if (text === (this.#reportedErrors.get(key) ?? '')) return;
		if (text === '') {
			this.#reportedErrors.delete(key);
			return;
		}

		this.#reportedErrors.set(key, text);
		for (const error of errors)
			this.#dependencies.onError?.(`guard: ${error} (ignored: that setting keeps its value from the settings file or the default)`);
	}

	async #judge(
		model: Model,
		pair: {canary: Version; stable: Version},
		settings: GuardModelSettings,
		state: GuardState,
		key: string,
		now: number,
	): Promise<GuardReport> {
		const target = (version: Version) => ({
			namespace: model.namespace,
			name: model.name,
			version: version.name,
			...(model.runtime ? {runtime: model.runtime} : {}),
		});
		const canaryTarget = target(pair.canary);
		const stableTarget = target(pair.stable);
		// About 60 points per window: enough for the judge's rank test, few enough to stay cheap.
		const stepSeconds = Math.max(1, Math.round(settings.windowSeconds / 60));
		const history = await this.#dependencies.metrics.history([canaryTarget, stableTarget], {
			start: now - settings.windowSeconds * 1000,
			end: now,
			stepSeconds,
		});
		const finding = guardVerdict({
			model,
			canary: pair.canary,
			stable: pair.stable,
			history,
			judge: this.#dependencies.judge,
			detectors: this.#detectors,
			thresholds: settings.thresholds,
			windowSeconds: settings.windowSeconds,
			now,
		});
		const verdict: Verdict = {...finding.judged, result: finding.result, summary: finding.summary};
		const decision = guardDecision(
			state,
			verdict,
			{consecutiveFailures: settings.consecutiveFailures, dryRun: this.#dependencies.dryRun},
			now,
		);
		this.#states.set(key, decision.state);
		const report: GuardReport = {
			model: {namespace: model.namespace, name: model.name},
			canary: pair.canary.name,
			stable: pair.stable.name,
			verdict,
			flags: finding.flags,
			breaches: finding.breaches,
			state: decision.state,
			settings,
			action: decision.action,
		};
		if (state.lastResult) report.previousResult = state.lastResult;
		if (decision.action.kind === 'rollback' || decision.action.kind === 'would-rollback') {
			// An audit that cannot be written is told, but does not make a rollback that was made a failed one.
			const audit: GuardChangeDependencies['audit'] = async (record) =>
				this.#dependencies.audit(record).catch((error: unknown) => {
					this.#dependencies.onError?.(
						`guard: could not audit ${record.entry.action} on ${record.entry.target}: ${(error as Error).message}`,
					);
				});
			try {
				const outcome = await guardRollback(
					{...this.#dependencies, audit},
					model,
					pair.canary.name,
					decision.action.reason,
					decision.action.kind === 'would-rollback',
				);
				if (outcome.plan) report.plan = outcome.plan;
				if (outcome.error !== undefined) report.error = outcome.error;
			} catch (error) {
				report.error = (error as Error).message;
			}
		}

		this.#dependencies.onReport(report);
		return report;
	}

	/** Checks every `tickMs` which models are due (each model keeps its own interval). */
	start(tickMs = 5000): void {
		if (this.#timer) return;
		this.#timer = setInterval(() => {
			if (this.#running) return;
			this.#running = this.evaluate().finally(() => {
				this.#running = undefined;
			});
		}, tickMs);
		this.#timer.unref();
	}

	async stop(): Promise<void> {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = undefined;
		await this.#running?.catch(() => undefined);
	}
}
