/**
 * Turn samples and history into flags and verdicts with the domain's detectors. Pure.
 *
 * Two speeds: threshold flags come from every sample (cheap); detectors, the canary judge and prediction drift run
 * over whole series (`slowAnalysis`) and only need to run when a new history point exists.
 */
import {formatDuration, type CanaryJudge, type FlagDetector, type Verdict} from './analysis.ts';
import {terminalDeliveryPhases} from './delivery.ts';
import {driftFlag, predictionDrift} from './drift.ts';
import {judgeSummaryFlag, verdictAgreeingWith} from './judge.ts';
import {canaryMarginFlags, marginEvidence, thresholdFlags, thresholdsFor, type ThresholdSettings} from './thresholds.ts';
import {modelKey, refOf, versionKey, type Flag, type Model, type Sample, type Series} from './types.ts';

export interface SlowAnalysisInput {
	models: Model[];
	history: Record<string, Series>;
	detectors: readonly FlagDetector[];
	judge?: CanaryJudge;
	judgeWindowSeconds: number;
	/** Verdicts judged earlier, by model key: used (with their flags) when no judge is given this time. */
	earlierVerdicts?: Record<string, Verdict>;
	/** Recent prediction outputs per version key (from the agent's stream), for prediction drift. */
	outputs?: Record<string, ReadonlyArray<number | string>>;
	/** Drift flags found earlier, by canary version key: used when no outputs are given this time. */
	earlierDrift?: Record<string, Flag>;
	now: number;
}

export interface SlowAnalysis {
	/** Detector, verdict and drift flags per version key. */
	flags: Record<string, Flag[]>;
	verdicts: Record<string, Verdict>;
	/** The drift flags among them, by canary version key (to reuse until the next drift test). */
	drift: Record<string, Flag>;
}

export interface AnalysisInput extends SlowAnalysisInput {
	samples: Record<string, Sample>;
	thresholds: ThresholdSettings;
	previous: Record<string, Flag[]>;
	/** Seconds each sample covers (the refresh's rate window): how much evidence one sample is. Default 30. */
	sampleWindowSeconds?: number;
	/** The slow part computed earlier (when no new history point arrived since); computed now when absent. */
	slow?: SlowAnalysis;
}

/** Keep a flag's `since` while the same condition holds, so the screen says how long it has been going on. */
function keepSince(flags: Flag[], previous: Flag[] | undefined): Flag[] {
	if (!previous) return flags;
	return flags.map((flag) => {
		if (flag.rule !== undefined) return flag;
		const before = previous.find((old) => old.kind === flag.kind && old.metric === flag.metric && old.rule === undefined);
		return before ? {...flag, since: before.since} : flag;
	});
}

const HELD_NOTE = ' — last seen ';

function clockTime(epochMs: number): string {
	return new Date(epochMs).toISOString().slice(11, 19);
}

/**
 * A pod problem (OOMKilled, CrashLoopBackOff, …) is evidence for the whole judged window, not only for the seconds a
 * pod shows it: a leaking canary is OOMKilled, restarts, looks fine for a while and is killed again. Its flag stands
 * until the judged window holds no sighting of it, so the verdict it fails does not flip back between kills.
 */
function withPodProblemsHeld(flags: Flag[], previous: Flag[] | undefined, now: number, windowSeconds: number): Flag[] {
	const live = flags.map((flag) => (flag.kind === 'restarts' ? {...flag, lastSeen: now} : flag));
	for (const old of previous ?? []) {
		if (old.kind !== 'restarts') continue;
		const base = old.message.split(HELD_NOTE)[0]!;
		if (live.some((flag) => flag.kind === 'restarts' && flag.message === base)) continue;
		const lastSeen = old.lastSeen ?? old.since;
		if (now - lastSeen > windowSeconds * 1000) continue;
		live.push({
			...old,
			message: `${base}${HELD_NOTE}${clockTime(lastSeen)}, within the judged ${formatDuration(windowSeconds)} window`,
			lastSeen,
		});
	}

	return live;
}

/**
 * The canary the console judges: the version a rollout of ours is delivering while it runs (so that the verdict shown
 * and the rollout's judgement are about the same pair), else the first canary.
 */
export function judgedCanary(model: Model): Model['versions'][number] | undefined {
	const delivering = model.delivery && !terminalDeliveryPhases.has(model.delivery.phase) ? model.delivery.spec.version : undefined;
	return (
		(delivering === undefined ? undefined : model.versions.find((version) => version.track === 'canary' && version.name === delivering)) ??
		model.versions.find((version) => version.track === 'canary')
	);
}

export function slowAnalysis(input: SlowAnalysisInput): SlowAnalysis {
	const flags: Record<string, Flag[]> = {};
	const verdicts: Record<string, Verdict> = {};
	const drift: Record<string, Flag> = {};
	const add = (key: string, found: Flag | Flag[] | undefined) => {
		if (!found || (Array.isArray(found) && found.length === 0)) return;
		flags[key] = [...(flags[key] ?? []), ...(Array.isArray(found) ? found : [found])];
	};

	for (const model of input.models) {
		const keyOf = (version: string) => versionKey({...refOf(model), version});
		const stable = model.versions.find((version) => version.track === 'stable');
		const canary = judgedCanary(model);
		for (const version of model.versions) {
			const key = keyOf(version.name);
			for (const detector of input.detectors) {
				add(key, detector.detect({model, version, sample: undefined, history: input.history[key], now: input.now}));
			}
		}

		if (!canary || !stable) continue;
		const canaryKey = keyOf(canary.name);
		let drifted: Flag | undefined;
		if (input.outputs) {
			const canaryOutputs = input.outputs[canaryKey];
			const stableOutputs = input.outputs[keyOf(stable.name)];
			if (canaryOutputs && stableOutputs) drifted = driftFlag(predictionDrift(canaryOutputs, stableOutputs), input.now);
		} else {
			drifted = input.earlierDrift?.[canaryKey];
		}

		if (drifted) {
			drift[canaryKey] = drifted;
			add(canaryKey, drifted);
		}

		const verdict = input.judge
			? input.judge.judge(input.history[keyOf(canary.name)], input.history[keyOf(stable.name)], input.judgeWindowSeconds)
			: input.earlierVerdicts?.[modelKey(model)];
		if (verdict) {
			verdicts[modelKey(model)] = verdict;
			add(keyOf(canary.name), judgeSummaryFlag(verdict, input.now));
		}
	}

	return {flags, verdicts, drift};
}

export function analyse(input: AnalysisInput): {flags: Record<string, Flag[]>; verdicts: Record<string, Verdict>} {
	const slow = input.slow ?? slowAnalysis(input);
	const flags: Record<string, Flag[]> = {};
	const verdicts: Record<string, Verdict> = {...slow.verdicts};
	const evidence = marginEvidence(input.sampleWindowSeconds);
	for (const model of input.models) {
		const limits = thresholdsFor(model, input.thresholds);
		const keyOf = (version: string) => versionKey({...refOf(model), version});
		const stable = model.versions.find((version) => version.track === 'stable');
		const canary = judgedCanary(model);
		for (const version of model.versions) {
			const key = keyOf(version.name);
			const sample = input.samples[key];
			const found = withPodProblemsHeld(
				thresholdFlags(version, sample, limits, input.now),
				input.previous[key],
				input.now,
				input.judgeWindowSeconds,
			);
			if (version === canary && stable) {
				found.push(...canaryMarginFlags(sample, input.samples[keyOf(stable.name)], limits, input.now, input.previous[key], evidence));
			}

			found.push(...(slow.flags[key] ?? []));
			flags[key] = keepSince(found, input.previous[key]);
		}

		// The verdict is weighed every half minute over the history, the flags on every sample: the verdict shown with
		// the flags must not say pass over a critical canary flag they show.
		const verdict = verdicts[modelKey(model)];
		if (verdict && canary) {
			verdicts[modelKey(model)] = verdictAgreeingWith(verdict, flags[keyOf(canary.name)], stable ? flags[keyOf(stable.name)] : []);
		}
	}

	return {flags, verdicts};
}
