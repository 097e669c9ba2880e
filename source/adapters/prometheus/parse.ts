/**
 * From query results to samples and series per version. Pure.
 *
 * Missing is missing: a version without a series for a metric gets null (in a Sample) or no points (in a Series),
 * never 0. NaN (0/0, histogram_quantile over no requests) and ±Inf are missing too. A version with no figure at
 * all is absent from the map.
 */
import type {MetricTarget} from '../../domain/ports.ts';
import type {MetricName, Point, Sample, Series, VersionKey} from '../../domain/types.ts';
import {versionKey} from '../../domain/types.ts';

export interface VectorSample {
	labels: Readonly<Record<string, string>>;
	value: number;
}

export interface MatrixSeries {
	labels: Readonly<Record<string, string>>;
	/** [epoch ms, value]. */
	values: ReadonlyArray<readonly [number, number]>;
}

/** The shapes prometheus-query returns (QueryResult.result items), typed loosely since they come from outside. */
interface LooseInstantVector {
	metric?: {labels?: Record<string, unknown>} | null;
	value?: {time?: Date; value?: unknown};
}

interface LooseRangeVector {
	metric?: {labels?: Record<string, unknown>} | null;
	values?: Array<{time?: Date; value?: unknown}>;
}

function stringLabels(labels: Record<string, unknown> | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [name, value] of Object.entries(labels ?? {})) if (typeof value === 'string') out[name] = value;
	return out;
}

function numberOrNaN(value: unknown): number {
	return typeof value === 'number' ? value : typeof value === 'string' ? Number.parseFloat(value) : Number.NaN;
}

/** A vector result as plain data; anything else (scalar, string) has no per-version series and gives none. */
export function toVector(resultType: string, result: readonly unknown[]): VectorSample[] {
	if (resultType !== 'vector') return [];
	return (result as LooseInstantVector[]).map((item) => ({
		labels: stringLabels(item.metric?.labels),
		value: numberOrNaN(item.value?.value),
	}));
}

export function toMatrix(resultType: string, result: readonly unknown[]): MatrixSeries[] {
	if (resultType !== 'matrix') return [];
	return (result as LooseRangeVector[]).map((item) => ({
		labels: stringLabels(item.metric?.labels),
		values: (item.values ?? []).map((point) => [point.time?.getTime() ?? Number.NaN, numberOrNaN(point.value)] as const),
	}));
}

/**
 * Finds which requested version a result series belongs to, by its `namespace`, `model` and `version` labels. A
 * series without `namespace` (a custom query that doesn't keep it) is accepted when model and version name exactly
 * one requested version. Series for versions not requested are ignored.
 */
export function createTargetResolver(
	targets: readonly MetricTarget[],
): (labels: Readonly<Record<string, string>>) => VersionKey | undefined {
	const byKey = new Set(targets.map((target) => versionKey(target)));
	const byModelVersion = new Map<string, VersionKey[]>();
	for (const target of targets) {
		const short = `${target.name}/${target.version}`;
		const keys = byModelVersion.get(short) ?? [];
		keys.push(versionKey(target));
		byModelVersion.set(short, keys);
	}
	return (labels) => {
		const {namespace, model, version} = labels;
		if (model === undefined || version === undefined) return undefined;
		if (namespace !== undefined) {
			const key = versionKey({namespace, name: model, version});
			return byKey.has(key) ? key : undefined;
		}
		const keys = byModelVersion.get(`${model}/${version}`);
		return keys?.length === 1 ? keys[0] : undefined;
	};
}

export interface InstantAnswer {
	metric: MetricName;
	targets: readonly MetricTarget[];
	vector: readonly VectorSample[];
}

export interface RangeAnswer {
	metric: MetricName;
	targets: readonly MetricTarget[];
	matrix: readonly MatrixSeries[];
}

function emptySample(time: number): Sample {
	return {rps: null, errorRatio: null, p50Ms: null, p95Ms: null, p99Ms: null, cpuCores: null, memoryBytes: null, time};
}

/** Samples per version from one instant answer per metric, evaluated at `time` (epoch ms). */
export function assembleSamples(answers: readonly InstantAnswer[], time: number): Map<VersionKey, Sample> {
	const samples = new Map<VersionKey, Sample>();
	for (const answer of answers) {
		const resolve = createTargetResolver(answer.targets);
		// Two series for one version in one answer means the query did not aggregate as it should: the figure is
		// ambiguous, so it is left out rather than picked.
		const seen = new Map<VersionKey, number>();
		for (const {labels, value} of answer.vector) {
			const key = resolve(labels);
			if (key === undefined) continue;
			seen.set(key, (seen.get(key) ?? 0) + 1);
			const sample = samples.get(key) ?? emptySample(time);
			sample[answer.metric] = seen.get(key)! > 1 || !Number.isFinite(value) ? null : value;
			samples.set(key, sample);
		}
	}
	for (const [key, sample] of samples) {
		const hasFigure = (['rps', 'errorRatio', 'p50Ms', 'p95Ms', 'p99Ms', 'cpuCores', 'memoryBytes'] as const).some(
			(metric) => sample[metric] !== null,
		);
		if (!hasFigure) samples.delete(key);
	}
	return samples;
}

/** Series per version from one range answer per metric; points that are NaN or infinite are left out. */
export function assembleSeries(answers: readonly RangeAnswer[]): Map<VersionKey, Series> {
	const series = new Map<VersionKey, Series>();
	for (const answer of answers) {
		const resolve = createTargetResolver(answer.targets);
		const seen = new Set<VersionKey>();
		for (const {labels, values} of answer.matrix) {
			const key = resolve(labels);
			if (key === undefined) continue;
			const versionSeries = series.get(key) ?? {};
			if (seen.has(key)) {
				// Ambiguous (see assembleSamples): drop the metric for this version.
				delete versionSeries[answer.metric];
				series.set(key, versionSeries);
				continue;
			}
			seen.add(key);
			const points: Point[] = [];
			for (const [time, value] of values) if (Number.isFinite(time) && Number.isFinite(value)) points.push({time, value});
			if (points.length > 0) versionSeries[answer.metric] = points;
			series.set(key, versionSeries);
		}
	}
	for (const [key, versionSeries] of series) if (Object.keys(versionSeries).length === 0) series.delete(key);
	return series;
}
