/**
 * MetricsPort over the simulation: samples and history computed from simulated requests, never made-up figures.
 * The PromQL shown by `explain` is what a real cluster would run, marked as the demo's.
 */
import type {MetricTarget, MetricsPort, TimeRange} from '../domain/ports.ts';
import {type MetricName, METRIC_NAMES, type Point, type Sample, type Series, type VersionKey, versionKey} from '../domain/types.ts';
import {type FleetSimulation, HISTOGRAM_TICKS, TICK_MS, type VersionState} from './simulation.ts';

/** Points per series in one answer, as Prometheus caps a range query (11,000 there). */
const MAX_POINTS = 11_000;

function selector(target: MetricTarget): string {
	return `namespace="${target.namespace}", model="${target.name}", version="${target.version}"`;
}

function realQuery(target: MetricTarget, metric: MetricName, windowSeconds: number): string {
	const labels = selector(target);
	const window = `${windowSeconds}s`;
	const pods = `namespace="${target.namespace}", pod=~"${target.name}-${target.version}-.*", container!=""`;
	switch (metric) {
		case 'rps': {
			return `sum by (version) (rate(request_duration_seconds_count{${labels}}[${window}]))`;
		}

		case 'errorRatio': {
			return `sum by (version) (rate(request_duration_seconds_count{${labels}, code=~"5.."}[${window}])) / sum by (version) (rate(request_duration_seconds_count{${labels}}[${window}]))`;
		}

		case 'p50Ms':
		case 'p95Ms':
		case 'p99Ms': {
			const quantile = metric === 'p50Ms' ? '0.5' : metric === 'p95Ms' ? '0.95' : '0.99';
			return `1000 * histogram_quantile(${quantile}, sum by (version, le) (rate(request_duration_seconds_bucket{${labels}}[${window}])))`;
		}

		case 'cpuCores': {
			return `avg(sum by (pod) (rate(container_cpu_usage_seconds_total{${pods}}[${window}])))`;
		}

		case 'memoryBytes': {
			return `avg(sum by (pod) (container_memory_working_set_bytes{${pods}}))`;
		}
	}
}

export class DemoMetrics implements MetricsPort {
	readonly label = 'demo';
	private readonly simulation: FleetSimulation;
	private readonly clock: () => number;
	private readonly currentContext: () => string;
	/** The last answer per version: points at the same instant with the same value are handed out again, not rebuilt. */
	private previousHistory = new Map<VersionKey, Series>();

	constructor(simulation: FleetSimulation, clock: () => number, currentContext: () => string) {
		this.simulation = simulation;
		this.clock = clock;
		this.currentContext = currentContext;
	}

	private resolve(target: MetricTarget): VersionState | undefined {
		return this.simulation.findModel(this.currentContext(), target)?.version(target.version);
	}

	async sample(targets: MetricTarget[], windowSeconds: number): Promise<Map<VersionKey, Sample>> {
		this.simulation.advanceTo(this.clock());
		const windowTicks = Math.min(
			HISTOGRAM_TICKS,
			Math.max(1, Math.round((Number.isFinite(windowSeconds) ? windowSeconds : 60) * (1000 / TICK_MS))),
		);
		const samples = new Map<VersionKey, Sample>();
		const lastTick = this.simulation.lastTick;
		const time = this.simulation.lastTickTime;
		for (const target of targets) {
			const version = this.resolve(target);
			if (version) samples.set(versionKey(target), version.sample(lastTick, windowTicks, time));
		}

		return samples;
	}

	async history(targets: MetricTarget[], range: TimeRange): Promise<Map<VersionKey, Series>> {
		this.simulation.advanceTo(this.clock());
		this.simulation.backfillHistory();
		const result = new Map<VersionKey, Series>();
		if (!Number.isFinite(range.start) || !Number.isFinite(range.end) || range.end < range.start) return result;
		const stepMs = Math.max(TICK_MS, (Number.isFinite(range.stepSeconds) ? range.stepSeconds : 0) * 1000);
		const oldest = this.simulation.oldestHistoryTick;
		const newest = this.simulation.lastTick;
		const wanted = Math.floor((range.end - range.start) / stepMs) + 1;
		const count = Math.min(MAX_POINTS, wanted);
		// Evaluated at start, start + step, … like a Prometheus range query; too many points keep the newest.
		const firstTime = wanted > MAX_POINTS ? range.start + (wanted - MAX_POINTS) * stepMs : range.start;
		const latestTime = this.simulation.lastTickTime;
		for (const target of targets) {
			const version = this.resolve(target);
			if (!version) continue;
			const key = versionKey(target);
			const previous = this.previousHistory.get(key);
			const series: Series = {};
			for (const metric of METRIC_NAMES) {
				const points: Point[] = [];
				// Ranges aligned to the step share all but their newest points with the last answer (a Prometheus range
				// query would parse them again; the demo hands out the same objects and allocates only the new ones).
				const earlier = previous?.[metric] ?? [];
				let cursor = 0;
				for (let index = 0; index < count; index++) {
					const time = firstTime + index * stepMs;
					if (time > latestTime + TICK_MS) break;
					const tick = Math.min(newest, this.simulation.tickAt(time));
					if (tick < oldest || tick < version.historyFirstTick) continue;
					const value = version.historyValue(tick, metric);
					// A missing point is missing, never zero.
					if (Number.isNaN(value)) continue;
					while (cursor < earlier.length && earlier[cursor]!.time < time) cursor++;
					const reused = earlier[cursor];
					points.push(reused !== undefined && reused.time === time && reused.value === value ? reused : {time, value});
				}

				series[metric] = points;
			}

			result.set(key, series);
		}

		this.previousHistory = result;
		return result;
	}

	explain(target: MetricTarget, metric: MetricName): string {
		return `# demo: simulated — in a real cluster: ${realQuery(target, metric, 60)}`;
	}
}
