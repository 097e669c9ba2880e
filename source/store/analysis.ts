/** Turn samples and history into flags and verdicts with the domain's detectors. Pure. */
import type {CanaryJudge, FlagDetector, Verdict} from '../domain/analysis.ts';
import {driftFlag, predictionDrift} from '../domain/drift.ts';
import {judgeSummaryFlag} from '../domain/judge.ts';
import {canaryMarginFlags, thresholdFlags, thresholdsFor, type ThresholdSettings} from '../domain/thresholds.ts';
import {modelKey, versionKey, type Flag, type Model, type Sample, type Series} from '../domain/types.ts';

export interface AnalysisInput {
	models: Model[];
	samples: Record<string, Sample>;
	history: Record<string, Series>;
	thresholds: ThresholdSettings;
	detectors: readonly FlagDetector[];
	judge?: CanaryJudge;
	judgeWindowSeconds: number;
	previous: Record<string, Flag[]>;
	/** Recent prediction outputs per version key (from the agent's stream), for prediction drift. */
	outputs?: Record<string, ReadonlyArray<number | string>>;
	now: number;
}

/** Keep a flag's `since` while the same condition holds, so the screen says how long it has been going on. */
function keepSince(flags: Flag[], previous: Flag[] | undefined): Flag[] {
	if (!previous) return flags;
	return flags.map((flag) => {
		const before = previous.find((old) => old.kind === flag.kind && old.metric === flag.metric);
		return before ? {...flag, since: before.since} : flag;
	});
}

export function analyse(input: AnalysisInput): {flags: Record<string, Flag[]>; verdicts: Record<string, Verdict>} {
	const flags: Record<string, Flag[]> = {};
	const verdicts: Record<string, Verdict> = {};
	for (const model of input.models) {
		const limits = thresholdsFor(model, input.thresholds);
		const keyOf = (version: string) => versionKey({namespace: model.namespace, name: model.name, version});
		const stable = model.versions.find((version) => version.track === 'stable');
		const canary = model.versions.find((version) => version.track === 'canary');
		for (const version of model.versions) {
			const key = keyOf(version.name);
			const sample = input.samples[key];
			const found = thresholdFlags(version, sample, limits, input.now);
			for (const detector of input.detectors) {
				found.push(...detector.detect({model, version, sample, history: input.history[key], now: input.now}));
			}

			if (version === canary && stable) {
				found.push(...canaryMarginFlags(sample, input.samples[keyOf(stable.name)], limits, input.now));
			}

			flags[key] = keepSince(found, input.previous[key]);
		}

		if (input.outputs && canary && stable) {
			const canaryOutputs = input.outputs[keyOf(canary.name)];
			const stableOutputs = input.outputs[keyOf(stable.name)];
			if (canaryOutputs && stableOutputs) {
				const drift = driftFlag(predictionDrift(canaryOutputs, stableOutputs), input.now);
				const key = keyOf(canary.name);
				if (drift) flags[key] = keepSince([...(flags[key] ?? []), drift], input.previous[key]);
			}
		}

		if (input.judge && canary && stable) {
			const verdict = input.judge.judge(
				input.history[keyOf(canary.name)],
				input.history[keyOf(stable.name)],
				input.judgeWindowSeconds,
			);
			verdicts[modelKey(model)] = verdict;
			const summary = judgeSummaryFlag(verdict, input.now);
			if (summary) {
				const key = keyOf(canary.name);
				flags[key] = keepSince([...(flags[key] ?? []), summary], input.previous[key]);
			}
		}
	}

	return {flags, verdicts};
}
