/** The console's analysis for commands: flags and the canary judge for status, and the danger gate for changes. */
import {planDangers, type ChangePlan, type PlanDanger} from '../domain/plan.ts';
import type {MetricsPort, MetricTarget} from '../domain/ports.ts';
import type {ThresholdSettings} from '../domain/thresholds.ts';
import type {Flag, Model, Sample, VersionKey} from '../domain/types.ts';
import {modelKey, versionKey, type Series} from '../domain/types.ts';
import type {Verdict} from '../domain/analysis.ts';
import {MannWhitneyJudge} from '../domain/judge.ts';
import {analyse} from '../domain/pipeline.ts';
import type {CommandOptions} from './command-options.ts';

/** The canary judge compares the last ten minutes, as the console does. */
export const judgeWindowSeconds = 600;

/** The same canary judge as the console, over the same history window: a verdict per model with a stable and a canary. */
/** The console's analysis (thresholds, flags, the judge, and the rule that a verdict agrees with the flags). */
export function analyseForCommand(
	models: Model[],
	samples: Map<VersionKey, Sample>,
	history: Map<VersionKey, Series>,
	thresholds: ThresholdSettings | undefined,
	now: number,
): {verdicts: Map<string, Verdict>; flags: Map<string, Flag[]>} {
	const analysis = analyse({
		models,
		samples: Object.fromEntries(samples),
		history: Object.fromEntries(history),
		thresholds: thresholds ?? {},
		detectors: [],
		judge: new MannWhitneyJudge(),
		judgeWindowSeconds,
		previous: {},
		now,
	});
	return {verdicts: new Map(Object.entries(analysis.verdicts)), flags: new Map(Object.entries(analysis.flags))};
}

/**
 * The danger gate, as in the console: the versions the plan gives more traffic to that status flags critical or the
 * judge fails, from the metrics source. Undefined when there is no metrics source to tell.
 */
export async function planDangersFromMetrics(
	plan: ChangePlan,
	model: Model,
	metrics: MetricsPort | undefined,
	options: CommandOptions,
): Promise<PlanDanger[] | undefined> {
	if (!metrics) return undefined;
	const targets: MetricTarget[] = model.versions.map((version) => ({
		namespace: model.namespace,
		name: model.name,
		version: version.name,
		...(model.runtime ? {runtime: model.runtime} : {}),
	}));
	const now = (options.now ?? Date.now)();
	const [samples, history] = await Promise.all([
		metrics.sample(targets, options.metricsWindowSeconds ?? 60),
		metrics.history(targets, {start: now - judgeWindowSeconds * 1000, end: now, stepSeconds: 15}),
	]);
	const {flags, verdicts} = analyseForCommand([model], samples, history, options.thresholds, now);
	const verdict = verdicts.get(modelKey(model));
	return planDangers(plan, (version) => flags.get(versionKey({namespace: model.namespace, name: model.name, version})) ?? [], verdict);
}
