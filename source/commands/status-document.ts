/**
 * `modeldeck status`: the versioned JSON document scripts rely on (documented in docs/status-json.md) and the table
 * people read. Both are pure functions of the models, samples and flags, so their exact output is unit-tested.
 */
import type {DeliveryState} from '../domain/delivery.ts';
import {emptyFleetLines} from '../domain/empty-fleet.ts';
import type {Verdict} from '../domain/analysis.ts';
import {canaryMarginFlags, type ThresholdSettings, thresholdFlags, thresholdsFor} from '../domain/thresholds.ts';
import {
	type ControllerRollout,
	type Flag,
	METRIC_NAMES,
	type MetricName,
	type Model,
	modelKey,
	type RouterKind,
	type Sample,
	type Track,
	type VersionKey,
	versionKey,
} from '../domain/types.ts';

export const STATUS_SCHEMA = 'modeldeck.status/v1';

export interface StatusMetrics {
	rps: number | null;
	errorRatio: number | null;
	p50Ms: number | null;
	p95Ms: number | null;
	p99Ms: number | null;
	cpuCores: number | null;
	memoryBytes: number | null;
}

export interface StatusFlag {
	kind: Flag['kind'];
	severity: Flag['severity'];
	message: string;
}

export interface StatusVersion {
	name: string;
	track: Track;
	weight: number;
	ready: number;
	desired: number;
	restarts: number;
	image: string;
	metrics: StatusMetrics | null;
	/** The PromQL behind each figure (present when metrics come from Prometheus). */
	queries?: Partial<Record<MetricName, string>>;
	flags: StatusFlag[];
}

export interface StatusVerdict {
	result: Verdict['result'];
	score: number | null;
	windowSeconds: number;
	summary: string;
}

export interface StatusModel {
	name: string;
	namespace: string;
	router: RouterKind;
	/** How the model was found (`labels modeldeck.dev/model`, `HTTPRoute/fraud backends`, `Rollout/fraud`). */
	discoveredBy?: string;
	/** The controller that owns its traffic objects; modeldeck acts through it or refuses with its command. */
	owner?: {controller: string; object: string; evidence: string; command?: string};
	/** A canary run by a controller (Argo Rollouts, Flagger), as the controller reports it. */
	controllerRollout?: ControllerRollout;
	/** The progressive delivery modeldeck runs or last ran on it (`modeldeck rollout`, the console's `d`). */
	delivery?: StatusDelivery;
	versions: StatusVersion[];
	verdict: StatusVerdict | null;
}

export interface StatusDelivery {
	phase: DeliveryState['phase'];
	version: string;
	image: string;
	/** The new version's weight now, %. */
	weight: number;
	/** 1-based step and the number of steps. */
	step: number;
	steps: number;
	paused: boolean;
	/** Why it ended or is holding. */
	reason?: string;
	startedAt: string;
	requestedBy: string;
}

/** Where the figures came from. */
export interface StatusMetricsSource {
	/** The Prometheus asked (its URL, or the Service reached through the API server). */
	source: string;
	/** How it was found when no URL was given: `Service monitoring/prometheus-operated (Prometheus Operator)`. */
	found?: string;
	/** Why there are no figures, when it did not answer. */
	error?: string;
}

export interface StatusDocument {
	schema: typeof STATUS_SCHEMA;
	context: string;
	/** ISO 8601. */
	generatedAt: string;
	/** Where the metrics came from; null when there is no Prometheus (none given, none found). */
	metricsSource?: StatusMetricsSource | null;
	models: StatusModel[];
}

export interface StatusInput {
	context: string;
	models: Model[];
	/** Latest sample per version (`versionKey`), when a metrics source is configured. */
	samples?: Map<VersionKey, Sample>;
	/** Flags per version computed elsewhere (the console's detectors). Without them, threshold flags are computed here. */
	flags?: Map<VersionKey, Flag[]>;
	/** Canary verdict per model (`modelKey`). */
	verdicts?: Map<string, Verdict>;
	/** The PromQL behind each figure, when metrics came from Prometheus. */
	explain?: (target: {namespace: string; name: string; version: string; runtime?: string}, metric: MetricName) => string;
	thresholds?: ThresholdSettings;
	/** Epoch ms. */
	now: number;
	metricsSource?: StatusMetricsSource | null;
}

function deliveryOf(delivery: DeliveryState): StatusDelivery {
	return {
		phase: delivery.phase,
		version: delivery.spec.version,
		image: delivery.spec.image,
		weight: delivery.weight,
		step: Math.max(0, delivery.stepIndex + 1),
		steps: delivery.spec.steps.length,
		paused: delivery.paused,
		...(delivery.reason ? {reason: delivery.reason} : {}),
		startedAt: new Date(delivery.startedAt).toISOString(),
		requestedBy: delivery.spec.requestedBy,
	};
}

function metricsOf(sample: Sample | undefined): StatusMetrics | null {
	if (!sample) return null;
	return {
		rps: sample.rps,
		errorRatio: sample.errorRatio,
		p50Ms: sample.p50Ms,
		p95Ms: sample.p95Ms,
		p99Ms: sample.p99Ms,
		cpuCores: sample.cpuCores,
		memoryBytes: sample.memoryBytes,
	};
}

/** Threshold flags for every version, plus the canary-versus-stable margin for canaries. */
export function computeFlags(
	model: Model,
	samples: Map<VersionKey, Sample> | undefined,
	settings: ThresholdSettings | undefined,
	now: number,
): Map<VersionKey, Flag[]> {
	const limits = thresholdsFor(model, settings);
	const stable = model.versions.find((version) => version.track === 'stable');
	const stableSample = stable ? samples?.get(versionKey({namespace: model.namespace, name: model.name, version: stable.name})) : undefined;
	const flags = new Map<VersionKey, Flag[]>();
	for (const version of model.versions) {
		const key = versionKey({namespace: model.namespace, name: model.name, version: version.name});
		const sample = samples?.get(key);
		const own = thresholdFlags(version, sample, limits, now);
		if (version.track === 'canary' && version !== stable) own.push(...canaryMarginFlags(sample, stableSample, limits, now));
		flags.set(key, own);
	}

	return flags;
}

export function buildStatusDocument(input: StatusInput): StatusDocument {
	const models = [...input.models].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
	return {
		schema: STATUS_SCHEMA,
		context: input.context,
		generatedAt: new Date(input.now).toISOString(),
		...(input.metricsSource === undefined ? {} : {metricsSource: input.metricsSource}),
		models: models.map((model) => {
			const flags = input.flags ?? computeFlags(model, input.samples, input.thresholds, input.now);
			const verdict = input.verdicts?.get(modelKey(model));
			return {
				name: model.name,
				namespace: model.namespace,
				router: model.router,
				...(model.discoveredBy ? {discoveredBy: model.discoveredBy} : {}),
				...(model.owner ? {owner: {...model.owner}} : {}),
				...(model.rollout ? {controllerRollout: {...model.rollout}} : {}),
				...(model.delivery ? {delivery: deliveryOf(model.delivery)} : {}),
				versions: model.versions.map((version) => {
					const key = versionKey({namespace: model.namespace, name: model.name, version: version.name});
					return {
						name: version.name,
						track: version.track,
						weight: version.weight,
						ready: version.replicasReady,
						desired: version.replicasDesired,
						restarts: version.restarts,
						image: version.image,
						metrics: metricsOf(input.samples?.get(key)),
						...(input.explain
							? {
									queries: Object.fromEntries(
										METRIC_NAMES.map((metric) => [
											metric,
											input.explain!(
												{
													namespace: model.namespace,
													name: model.name,
													version: version.name,
													...(model.runtime ? {runtime: model.runtime} : {}),
												},
												metric,
											),
										]),
									),
								}
							: {}),
						flags: (flags.get(key) ?? []).map((flag) => ({kind: flag.kind, severity: flag.severity, message: flag.message})),
					};
				}),
				verdict: verdict
					? {result: verdict.result, score: verdict.score, windowSeconds: verdict.windowSeconds, summary: verdict.summary}
					: null,
			};
		}),
	};
}

function formatNumber(value: number | null, digits: number): string {
	return value === null ? '–' : value.toFixed(digits);
}

function formatRatio(value: number | null): string {
	return value === null ? '–' : `${(value * 100).toFixed(value < 0.1 ? 2 : 1)}%`;
}

/**
 * The table people read: one row per version. Metric columns appear only when some version has metrics; model
 * warnings (from discovery) follow the table.
 */
export function renderStatusTable(document: StatusDocument, warnings: Map<string, string[]> = new Map()): string {
	const withMetrics = document.models.some((model) => model.versions.some((version) => version.metrics));
	const header = ['NAMESPACE', 'MODEL', 'ROUTER', 'VERSION', 'TRACK', 'WEIGHT', 'READY', 'RESTARTS'];
	if (withMetrics) header.push('RPS', 'ERRORS', 'P99 MS');
	header.push('FLAGS');
	const rows: string[][] = [];
	for (const model of document.models) {
		if (model.versions.length === 0) {
			rows.push([
				model.namespace,
				model.name,
				model.router,
				'–',
				'–',
				'–',
				'–',
				'–',
				...(withMetrics ? ['–', '–', '–'] : []),
				'no versions',
			]);
		}

		for (const version of model.versions) {
			const row = [
				model.namespace,
				model.name,
				model.router,
				version.name,
				version.track,
				`${version.weight}%`,
				`${version.ready}/${version.desired}`,
				String(version.restarts),
			];
			if (withMetrics) {
				row.push(
					formatNumber(version.metrics?.rps ?? null, 1),
					formatRatio(version.metrics?.errorRatio ?? null),
					formatNumber(version.metrics?.p99Ms ?? null, 0),
				);
			}

			const worst = version.flags.map(
				(flag) => `${flag.severity === 'critical' ? '!! ' : flag.severity === 'warning' ? '! ' : ''}${flag.message}`,
			);
			row.push(worst.join('; ') || 'ok');
			rows.push(row);
		}
	}

	const lines = [`context ${document.context} · ${document.generatedAt}`];
	if (rows.length === 0) {
		// What was looked for and how to label things, as the console's empty fleet says it.
		lines.push('no models found; looked for:', ...emptyFleetLines(undefined).slice(1));
	} else {
		const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
		const format = (cells: string[]) =>
			cells
				.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
				.join('  ')
				.trimEnd();
		lines.push(format(header), ...rows.map(format));
	}

	for (const model of document.models) {
		for (const warning of warnings.get(modelKey(model)) ?? []) lines.push(`warning: ${model.namespace}/${model.name}: ${warning}`);
	}

	return `${lines.join('\n')}\n`;
}
