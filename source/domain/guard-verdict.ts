/**
 * The guard's verdict on a canary, pure: the console's own analysis (domain/pipeline.ts: the thresholds of
 * domain/thresholds.ts, the detectors and the canary judge) over the same metric history, reduced to pass, marginal,
 * fail or insufficient data.
 *
 * A canary fails when, on the canary, the analysis raises
 * - the judge's failing verdict (canary significantly worse than stable, Mann-Whitney);
 * - a threshold: p99 latency above `p99LatencyMs`, error ratio above `errorRatio`;
 * - the canary margin: p99 or error ratio worse than stable's by more than `canaryMargin`;
 * - a detector's anomaly on latency or errors that stable does not show at the same time (a change in the traffic
 *   both see is not the canary's fault).
 * Other flags (CPU, memory, readiness, restarts, request rate) are reported but never roll back by themselves.
 * Without any of these, the judge's result stands (pass, marginal or insufficient data).
 */
import type {CanaryJudge, FlagDetector, Verdict, VerdictResult} from './analysis.ts';
import {isMarginAwaitingTime, marginFinding, type Thresholds} from './thresholds.ts';
import {METRIC_NAMES, modelKey, versionKey} from './types.ts';
import type {Flag, MetricName, Model, Sample, Series, Version} from './types.ts';
import {analyse} from './pipeline.ts';

export interface GuardVerdictInput {
	model: Model;
	canary: Version;
	stable: Version;
	/** Metric history by version key, over the judged window. */
	history: ReadonlyMap<string, Series> | Record<string, Series>;
	judge: CanaryJudge;
	detectors: readonly FlagDetector[];
	thresholds: Thresholds;
	windowSeconds: number;
	now: number;
}

export interface GuardVerdict {
	result: VerdictResult;
	/** Why, for people: the breaches when failing, else the judge's summary. */
	summary: string;
	/** The judge's own verdict (its metrics, score and window). */
	judged: Verdict;
	/** Every flag the analysis raised on the canary. */
	flags: Flag[];
	/** The flags among them that fail the canary. */
	breaches: Flag[];
	/** The newest value of each metric of the canary and stable (what the thresholds were checked against). */
	samples: {canary: Sample | undefined; stable: Sample | undefined};
}

const anomalyMetrics: ReadonlySet<MetricName> = new Set(['errorRatio', 'p50Ms', 'p95Ms', 'p99Ms']);

/** The newest point of each metric, as one sample; undefined when the series has no points. */
export function latestSample(series: Series | undefined): Sample | undefined {
	if (!series) return undefined;
	const sample: Sample = {rps: null, errorRatio: null, p50Ms: null, p95Ms: null, p99Ms: null, cpuCores: null, memoryBytes: null, time: 0};
	let any = false;
	for (const metric of METRIC_NAMES) {
		const points = series[metric];
		let newest: {time: number; value: number} | undefined;
		for (const point of points ?? []) {
			if (Number.isFinite(point.value) && (!newest || point.time >= newest.time)) newest = point;
		}

		if (!newest) continue;
		any = true;
		sample[metric] = newest.value;
		sample.time = Math.max(sample.time, newest.time);
	}

	return any ? sample : undefined;
}

function isBreach(flag: Flag, stableFlags: readonly Flag[]): boolean {
	switch (flag.kind) {
		case 'errors':
		case 'latency':
			return true;
		case 'canary':
			// The judge's marginal verdict is a warning: it neither fails nor clears. A margin crossed on enough requests
			// is a breach at once: the guard is one look per interval and rolls back only after N failing looks in a row,
			// which is the margin's "held for a while" here (too small a sample is no evidence either way).
			return flag.severity === 'critical' || isMarginAwaitingTime(flag);
		case 'anomaly':
			return (
				flag.metric !== undefined &&
				anomalyMetrics.has(flag.metric) &&
				!stableFlags.some((other) => other.kind === 'anomaly' && other.metric === flag.metric)
			);
		default:
			return false;
	}
}

export function guardVerdict(input: GuardVerdictInput): GuardVerdict {
	const {model, canary, stable} = input;
	const keyOf = (version: Version) => versionKey({namespace: model.namespace, name: model.name, version: version.name});
	const canaryKey = keyOf(canary);
	const stableKey = keyOf(stable);
	const history: Record<string, Series> = {};
	const lookup = (key: string) => (input.history instanceof Map ? input.history.get(key) : (input.history as Record<string, Series>)[key]);
	for (const key of [canaryKey, stableKey]) {
		const series = lookup(key);
		if (series) history[key] = series;
	}

	const samples: Record<string, Sample> = {};
	const canarySample = latestSample(history[canaryKey]);
	const stableSample = latestSample(history[stableKey]);
	if (canarySample) samples[canaryKey] = canarySample;
	if (stableSample) samples[stableKey] = stableSample;
	// Only the judged pair, with the canary on the canary track whatever else the model runs.
	const pair: Model = {
		...model,
		versions: [
			{...stable, track: 'stable'},
			{...canary, track: 'canary'},
		],
	};
	const analysis = analyse({
		models: [pair],
		history,
		samples,
		detectors: input.detectors,
		judge: input.judge,
		judgeWindowSeconds: input.windowSeconds,
		thresholds: {models: {[modelKey(model)]: input.thresholds}},
		previous: {},
		now: input.now,
	});
	const judged = analysis.verdicts[modelKey(model)] ?? input.judge.judge(history[canaryKey], history[stableKey], input.windowSeconds);
	const flags = analysis.flags[canaryKey] ?? [];
	const stableFlags = analysis.flags[stableKey] ?? [];
	const breaches = flags.filter((flag) => isBreach(flag, stableFlags));
	const result: VerdictResult = breaches.length > 0 ? 'fail' : judged.result;
	const summary = breaches.length > 0 ? `fail: ${breaches.map(marginFinding).join('; ')}` : judged.summary;
	return {result, summary, judged, flags, breaches, samples: {canary: canarySample, stable: stableSample}};
}
