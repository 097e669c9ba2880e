/**
 * Static threshold flags with per-model overrides, and the canary-versus-stable margin flag.
 * Statistical detectors and the canary judge plug in through `FlagDetector` (see analysis.ts).
 */
import type {Flag, Model, Sample, Severity, Version} from './types.ts';

export interface Thresholds {
	/** p99 latency above this is a warning. Default 500 ms. */
	p99LatencyMs: number;
	/** Error ratio (0–1) above this is critical. Default 0.02 (2 %). */
	errorRatio: number;
	/** CPU use as a fraction of the CPU limit above this is a warning. Default 0.9. */
	cpuOfLimit: number;
	/** Memory working set as a fraction of the memory limit above this is a warning. Default 0.9. */
	memoryOfLimit: number;
	/** Canary flagged when its p99 or error ratio is this much worse than stable's, relative (0.2 = 20 % worse). */
	canaryMargin: number;
}

export const defaultThresholds: Thresholds = {
	p99LatencyMs: 500,
	errorRatio: 0.02,
	cpuOfLimit: 0.9,
	memoryOfLimit: 0.9,
	canaryMargin: 0.2,
};

/** Global thresholds, overridden per model by `namespace/name` or by bare model name. */
export interface ThresholdSettings {
	defaults?: Partial<Thresholds>;
	models?: Record<string, Partial<Thresholds>>;
}

export function thresholdsFor(model: Pick<Model, 'namespace' | 'name'>, settings: ThresholdSettings = {}): Thresholds {
	return {
		...defaultThresholds,
		...settings.defaults,
		...settings.models?.[model.name],
		...settings.models?.[`${model.namespace}/${model.name}`],
	};
}

function formatPercent(ratio: number): string {
	return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

function flag(kind: Flag['kind'], severity: Severity, message: string, now: number, metric?: Flag['metric']): Flag {
	return metric ? {kind, severity, message, since: now, metric} : {kind, severity, message, since: now};
}

/** Flags for one version from its latest sample. A metric with no data raises nothing (no data is not zero). */
export function thresholdFlags(version: Version, sample: Sample | undefined, limits: Thresholds, now: number): Flag[] {
	const flags: Flag[] = [];
	if (version.replicasDesired > 0 && version.replicasReady < version.replicasDesired) {
		flags.push(
			flag(
				'readiness',
				version.replicasReady === 0 ? 'critical' : 'warning',
				`${version.replicasReady}/${version.replicasDesired} pods ready`,
				now,
			),
		);
	}

	for (const problem of version.problems ?? []) {
		flags.push(flag('restarts', 'critical', `pod ${problem}`, now));
	}

	if (!sample) return flags;
	if (sample.p99Ms !== null && sample.p99Ms > limits.p99LatencyMs) {
		flags.push(flag('latency', 'warning', `p99 ${Math.round(sample.p99Ms)} ms > ${limits.p99LatencyMs} ms`, now, 'p99Ms'));
	}

	if (sample.errorRatio !== null && sample.errorRatio > limits.errorRatio) {
		flags.push(
			flag('errors', 'critical', `errors ${formatPercent(sample.errorRatio)} > ${formatPercent(limits.errorRatio)}`, now, 'errorRatio'),
		);
	}

	const cpuLimit = version.resources?.cpuLimitCores;
	if (sample.cpuCores !== null && cpuLimit && sample.cpuCores > cpuLimit * limits.cpuOfLimit) {
		flags.push(
			flag(
				'cpu',
				'warning',
				`CPU ${sample.cpuCores.toFixed(2)} of ${cpuLimit} cores limit (> ${formatPercent(limits.cpuOfLimit)})`,
				now,
				'cpuCores',
			),
		);
	}

	const memoryLimit = version.resources?.memoryLimitBytes;
	if (sample.memoryBytes !== null && memoryLimit && sample.memoryBytes > memoryLimit * limits.memoryOfLimit) {
		flags.push(
			flag(
				'memory',
				'warning',
				`memory ${formatPercent(sample.memoryBytes / memoryLimit)} of limit (> ${formatPercent(limits.memoryOfLimit)})`,
				now,
				'memoryBytes',
			),
		);
	}

	return flags;
}

/**
 * How much evidence a canary-against-stable margin needs before it is critical. A sample is a short window (30 s) of
 * a canary that often gets a tenth of the traffic: its p99 is noisy, and an equal canary crosses a 20 % margin now and
 * then for a few refreshes. A critical flag turns the verdict to fail and gates promotion, so it needs the condition
 * to hold longer than a sample window (consecutive windows, not one noisy one seen on many refreshes) on enough
 * requests; until then the flag is a warning that says what it is waiting for.
 */
export interface MarginEvidence {
	/** Seconds each sample covers (the rate window of the refresh). */
	windowSeconds: number;
	/** The margin must be exceeded on every refresh for this long before the flag is critical. */
	sustainSeconds: number;
	/** Fewest canary requests in a sample window (rps × window) for the sample to count as evidence. */
	minimumRequests: number;
	/**
	 * Hysteresis: once critical, the flag stands until the canary is within this fraction of the margin (0.5: a 20 %
	 * margin clears below 10 % worse), so a regression hovering at the margin does not flap.
	 */
	clearFraction: number;
	/**
	 * A difference this many times the margin is evidence on its own, on a sample of enough requests: a 30 s p99 twice
	 * stable's (5 × a 20 % margin) is no noise, and waiting a minute to say so would hide a real regression.
	 */
	overwhelmingFactor: number;
}

export function marginEvidence(windowSeconds = 30): MarginEvidence {
	return {windowSeconds, sustainSeconds: Math.max(60, 2 * windowSeconds), minimumRequests: 200, clearFraction: 0.5, overwhelmingFactor: 5};
}

const SMALL_SAMPLE = ' — small sample: ';
const WAITING = ' — for ';
/** On a small sample, an overwhelming difference waits for the hold time (and says so). */
const OVERWHELMING_SMALL = '; overwhelmingly worse for ';

/** A margin flag's finding without what it is waiting for (`canary p99 150 ms is 50% worse than stable 100 ms (margin 20%)`). */
export function marginFinding(flag: Flag): string {
	return isMarginAwaitingTime(flag) ? flag.message.split(WAITING)[0]! : flag.message;
}

/**
 * A margin flag that only waits for the condition to hold (not one on too small a sample): callers with a persistence
 * rule of their own (the agent's guard fails only after N failing passes in a row) count it as evidence.
 */
export function isMarginAwaitingTime(flag: Flag): boolean {
	return flag.rule === 'canary-margin' && flag.severity === 'warning' && !flag.message.includes(SMALL_SAMPLE);
}

function formatSeconds(seconds: number): string {
	const whole = Math.max(0, Math.round(seconds));
	if (whole < 60) return `${whole}s`;
	const rest = whole % 60;
	return rest === 0 ? `${Math.floor(whole / 60)}m` : `${Math.floor(whole / 60)}m${rest}s`;
}

interface MarginCheck {
	metric: 'p99Ms' | 'errorRatio';
	/** Worse than stable by more than the margin. */
	over: boolean;
	/** Still worse by more than the clearing fraction of the margin. */
	holding: boolean;
	/** Worse by more than `overwhelmingFactor` times the margin. */
	overwhelming: boolean;
	message: string;
}

function marginChecks(canary: Sample, stable: Sample, limits: Thresholds, evidence: MarginEvidence): MarginCheck[] {
	const checks: MarginCheck[] = [];
	const margin = limits.canaryMargin;
	if (canary.p99Ms !== null && stable.p99Ms !== null && stable.p99Ms > 0) {
		const worse = canary.p99Ms / stable.p99Ms - 1;
		checks.push({
			metric: 'p99Ms',
			over: worse > margin,
			holding: worse > margin * evidence.clearFraction,
			overwhelming: worse > margin * evidence.overwhelmingFactor,
			message: `canary p99 ${Math.round(canary.p99Ms)} ms is ${formatPercent(worse)} worse than stable ${Math.round(stable.p99Ms)} ms (margin ${formatPercent(margin)})`,
		});
	}

	if (canary.errorRatio !== null && stable.errorRatio !== null) {
		// Relative margin with a floor so that 0.01% vs 0.02% does not flag.
		const allowed = (fraction: number) => Math.max(stable.errorRatio! * (1 + margin * fraction), stable.errorRatio! + 0.005 * fraction);
		checks.push({
			metric: 'errorRatio',
			over: canary.errorRatio > allowed(1),
			holding: canary.errorRatio > allowed(evidence.clearFraction),
			overwhelming: canary.errorRatio > allowed(evidence.overwhelmingFactor),
			message: `canary errors ${formatPercent(canary.errorRatio)} vs stable ${formatPercent(stable.errorRatio)} (margin ${formatPercent(margin)})`,
		});
	}

	return checks;
}

/**
 * Canary worse than stable by more than the margin on p99 latency or error ratio: a warning at first, critical once it
 * has held for `sustainSeconds` (or at once when it is overwhelming) on samples of at least `minimumRequests` canary
 * requests, and critical from then on
 * until the canary is back within `clearFraction` of the margin. `previous` are the version's flags of the last
 * refresh (the margin flags among them carry how long the condition has held).
 */
export function canaryMarginFlags(
	canary: Sample | undefined,
	stable: Sample | undefined,
	limits: Thresholds,
	now: number,
	previous: readonly Flag[] = [],
	evidence: MarginEvidence = marginEvidence(),
): Flag[] {
	if (!canary || !stable) return [];
	const flags: Flag[] = [];
	const requests = canary.rps === null ? null : canary.rps * evidence.windowSeconds;
	const small = requests !== null && requests < evidence.minimumRequests;
	for (const check of marginChecks(canary, stable, limits, evidence)) {
		const before = previous.find((old) => old.rule === 'canary-margin' && old.metric === check.metric);
		const raise = (severity: Severity, since: number, note: string): void => {
			flags.push({kind: 'canary', severity, message: `${check.message}${note}`, since, metric: check.metric, rule: 'canary-margin'});
		};

		if (before?.severity === 'critical' && check.holding) {
			raise('critical', before.since, ` for ${formatSeconds((now - before.since) / 1000)}`);
			continue;
		}

		if (!check.over) continue;
		if (small) {
			// Too few requests to tell a regression from noise: a sample this small counts only when the canary is
			// overwhelmingly worse, and then only once that has held for the hold time (evidence gathered over refreshes:
			// a low-traffic canary whose p99 is ten times stable's for a minute is no noise).
			const sampleNote = `${SMALL_SAMPLE}${Math.round(requests)} canary requests in ${formatSeconds(evidence.windowSeconds)} (${evidence.minimumRequests} needed to count)`;
			if (!check.overwhelming) {
				raise('warning', now, sampleNote);
				continue;
			}

			const since = before?.severity === 'warning' && before.message.includes(OVERWHELMING_SMALL) ? before.since : now;
			const held = (now - since) / 1000;
			if (held >= evidence.sustainSeconds) raise('critical', since, ` for ${formatSeconds(held)}, on small samples`);
			else
				raise(
					'warning',
					since,
					`${sampleNote}${OVERWHELMING_SMALL}${formatSeconds(held)}; critical if it holds for ${formatSeconds(evidence.sustainSeconds)}`,
				);
			continue;
		}

		const since = before && isMarginAwaitingTime(before) ? before.since : now;
		const held = (now - since) / 1000;
		if (check.overwhelming) raise('critical', since, held > 0 ? ` for ${formatSeconds(held)}` : '');
		else if (held >= evidence.sustainSeconds) raise('critical', since, ` for ${formatSeconds(held)}`);
		else raise('warning', since, `${WAITING}${formatSeconds(held)}; critical if it holds for ${formatSeconds(evidence.sustainSeconds)}`);
	}

	return flags;
}
