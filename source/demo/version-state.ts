/**
 * One simulated version: its latency histogram ring, request and error counts, CPU and memory, replicas, incidents
 * in effect, all in fixed-size rings advanced one tick at a time (see simulation.ts for the whole picture).
 */
import type {Sample, Version} from '../domain/types.ts';
import type {AutoscalerSpec, VersionSpec} from './fleet.ts';
import {BUCKET_COUNT, bucketIndexOfLog, drawLogLatency, type LatencyProfile, LOG_TIMEOUT, percentilesInto} from './latency.ts';
import type {Random} from './random.ts';
import type {Incident} from './scenarios.ts';
/** One tick of simulated time; a scrape interval in Prometheus terms. */
export const TICK_MS = 2000;
/** The longest window a sample can cover (5 minutes). */
export const HISTOGRAM_TICKS = 300_000 / TICK_MS;
/** History kept for charts: 15 minutes, a point per tick. */
export const HISTORY_TICKS = 900_000 / TICK_MS;
/** Each history point is computed over this trailing window, as `rate(…[30s])` would be. */
export const HISTORY_WINDOW_TICKS = 30_000 / TICK_MS;
/** How long an OOM kill stays shown: longer than the leak takes to kill again. */
const OOM_SHOWN_MS = 300_000;
/** A crash-looping pod restarts every 5 minutes once its back-off is at the maximum. */
const CRASH_LOOP_PERIOD_TICKS = 300_000 / TICK_MS;

/** Order of the metrics in a history row. */
const METRIC_ROW = ['rps', 'errorRatio', 'p50Ms', 'p95Ms', 'p99Ms', 'cpuCores', 'memoryBytes'] as const;
export type HistoryMetric = (typeof METRIC_ROW)[number];
const METRIC_COUNT = METRIC_ROW.length;
const historyMetricIndex: Readonly<Record<HistoryMetric, number>> = Object.fromEntries(
	METRIC_ROW.map((metric, index) => [metric, index]),
) as Record<HistoryMetric, number>;

/** What a version is like right now: used by the prediction stream, smoke and load tests. */
export interface Conditions {
	profile: LatencyProfile;
	errorProbability: number;
	/** No pod can answer. */
	unavailable: boolean;
	/** 0–1: how far the version's predictions have drifted (prediction-drift scenario). */
	driftIntensity: number;
	/** Requests/s routed to the version at the last tick. */
	rps: number;
}

interface Effects {
	medianFactor: number;
	tailAdd: number;
	tailScaleFactor: number;
	errorFactor: number;
	errorAdd: number;
	cpuFactor: number;
	leaking: boolean;
	driftIntensity: number;
}

interface ActiveIncident extends Incident {
	healed: boolean;
}

export class VersionState {
	readonly spec: VersionSpec;
	readonly created: string;
	track: VersionSpec['track'];
	weight: number;
	replicasDesired: number;
	replicasReady: number;
	/** Times at which pods that are starting become ready. */
	pendingReadyAt: number[] = [];
	restarts: number;
	/** Problem → until when it is shown. */
	readonly problems = new Map<string, number>();
	autoscaler: AutoscalerSpec | undefined;
	incidents: ActiveIncident[] = [];

	/** Weighted request counts per latency bucket, one row of BUCKET_COUNT per tick, ring of HISTOGRAM_TICKS. */
	readonly histogram = new Float32Array(HISTOGRAM_TICKS * BUCKET_COUNT);
	readonly requests = new Float64Array(HISTOGRAM_TICKS);
	readonly errors = new Float64Array(HISTOGRAM_TICKS);
	/** Sum of the last HISTORY_WINDOW_TICKS histogram rows, kept incrementally. */
	private readonly windowBuckets = new Float64Array(BUCKET_COUNT);
	private windowRequests = 0;
	private windowErrors = 0;
	private readonly percentiles = {p50: Number.NaN, p95: Number.NaN, p99: Number.NaN};
	/** One row of METRIC_COUNT per tick, ring of HISTORY_TICKS; NaN is a missing point. */
	readonly history = new Float32Array(HISTORY_TICKS * METRIC_COUNT).fill(Number.NaN);
	/** First tick this version has samples for (histogram, requests, errors). */
	firstTick: number;
	/** First tick this version has history points for: earlier than `firstTick` once back-filled. */
	historyFirstTick: number;

	cpuCores: number;
	memoryBytes: number;
	private cpuNoise = 0;
	private memoryNoise = 0;
	leakedBytes = 0;
	conditions: Conditions;
	private readonly currentEffects: Effects = {
		medianFactor: 1,
		tailAdd: 0,
		tailScaleFactor: 1,
		errorFactor: 1,
		errorAdd: 0,
		cpuFactor: 1,
		leaking: false,
		driftIntensity: 0,
	};

	constructor(spec: VersionSpec, launchTime: number, firstTick: number) {
		this.spec = spec;
		this.created = new Date(launchTime - spec.ageMs).toISOString();
		this.track = spec.track;
		this.weight = spec.weight;
		this.replicasDesired = spec.replicas;
		this.replicasReady = spec.stuck ? spec.stuck.readyReplicas : spec.replicas;
		this.restarts = spec.stuck?.restarts ?? 0;
		if (spec.stuck) this.problems.set(spec.stuck.problem, Number.POSITIVE_INFINITY);
		this.autoscaler = spec.autoscaler ? {...spec.autoscaler} : undefined;
		this.firstTick = firstTick;
		this.historyFirstTick = firstTick;
		this.cpuCores = spec.cpuIdleCores;
		this.memoryBytes = spec.memoryBaseBytes;
		this.conditions = {
			profile: {...spec.latency},
			errorProbability: spec.errorRatio,
			unavailable: false,
			driftIntensity: 0,
			rps: 0,
		};
	}

	get name(): string {
		return this.spec.name;
	}

	/** Forget all data, e.g. after the clock jumped further than the rings reach. */
	reset(firstTick: number): void {
		this.histogram.fill(0);
		this.requests.fill(0);
		this.errors.fill(0);
		this.windowBuckets.fill(0);
		this.windowRequests = 0;
		this.windowErrors = 0;
		this.history.fill(Number.NaN);
		this.firstTick = firstTick;
		this.historyFirstTick = firstTick;
	}

	simulateTick(tick: number, time: number, rps: number, effects: Effects, random: Random, draws: number): boolean {
		const spec = this.spec;
		const slot = tick % HISTOGRAM_TICKS;
		const row = slot * BUCKET_COUNT;
		const ready = this.replicasReady;
		const utilization = ready > 0 ? rps / (ready * spec.capacityRpsPerPod) : Number.POSITIVE_INFINITY;
		// Queueing: latency grows once pods are busy, and an overloaded version sheds load as errors.
		const loadFactor = utilization <= 0.8 ? 1 : Math.min(6, 1 + (utilization - 0.8) * 4);
		const overloadErrors = utilization > 1.2 ? Math.min(0.5, (utilization - 1.2) * 0.5) : 0;
		// Updated in place: this runs for every version every second, and during start-up 900 times in a row.
		const conditions = this.conditions;
		const profile = conditions.profile;
		profile.medianMs = spec.latency.medianMs * effects.medianFactor * loadFactor;
		profile.sigma = spec.latency.sigma;
		profile.tailProbability = Math.min(0.5, Math.max(0, spec.latency.tailProbability + effects.tailAdd));
		profile.tailScale = spec.latency.tailScale * effects.tailScaleFactor;
		profile.tailAlpha = spec.latency.tailAlpha;
		const unavailable = ready === 0;
		conditions.unavailable = unavailable;
		conditions.errorProbability = unavailable ? 1 : Math.min(1, spec.errorRatio * effects.errorFactor + effects.errorAdd + overloadErrors);
		conditions.driftIntensity = effects.driftIntensity;
		conditions.rps = rps;

		const requestCount = random.poisson(rps * (TICK_MS / 1000));
		const drawCount = Math.min(requestCount, draws);
		const drawWeight = drawCount > 0 ? requestCount / drawCount : 0;
		const histogram = this.histogram;
		histogram.fill(0, row, row + BUCKET_COUNT);
		let timeouts = 0;
		for (let index = 0; index < drawCount; index++) {
			// With no ready pod the router answers at once: "no healthy upstream".
			let logLatency = unavailable ? Math.log(1.5) + 0.3 * random.normal() : drawLogLatency(random, profile);
			if (logLatency >= LOG_TIMEOUT) {
				logLatency = LOG_TIMEOUT;
				timeouts += drawWeight;
			}

			histogram[row + bucketIndexOfLog(logLatency)]! += drawWeight;
		}

		this.requests[slot] = requestCount;
		this.errors[slot] = Math.min(requestCount, random.binomial(requestCount, conditions.errorProbability) + Math.round(timeouts));

		this.updateResources(rps, effects, random);
		const oomKilled = this.leakedBytes > 0 && this.memoryBytes >= (spec.resources.memoryLimitBytes ?? Number.POSITIVE_INFINITY);
		if (oomKilled) this.oomKill(time, random);
		this.recordHistory(tick);
		return oomKilled;
	}

	private updateResources(rps: number, effects: Effects, random: Random): void {
		const spec = this.spec;
		const ready = this.replicasReady;
		this.cpuNoise = 0.8 * this.cpuNoise + 0.05 * random.normal();
		this.memoryNoise = 0.95 * this.memoryNoise + 0.004 * random.normal();
		const perPodRps = ready > 0 ? rps / ready : 0;
		const busyCores = perPodRps * spec.cpuSecondsPerRequest * effects.cpuFactor;
		const cpuLimit = spec.resources.cpuLimitCores ?? Number.POSITIVE_INFINITY;
		this.cpuCores = Math.min(cpuLimit, Math.max(0.002, (spec.cpuIdleCores + busyCores) * (1 + this.cpuNoise)));
		if (effects.leaking) {
			const limit = spec.resources.memoryLimitBytes ?? spec.memoryBaseBytes * 2;
			// Fills the room between baseline and limit in about 75 s: the alarm comes quickly in a demo.
			this.leakedBytes += ((limit - spec.memoryBaseBytes) / 75) * (TICK_MS / 1000);
		}

		const trafficShare = Math.min(1, perPodRps / spec.capacityRpsPerPod);
		this.memoryBytes = spec.memoryBaseBytes * (1 + 0.04 * trafficShare + this.memoryNoise) + this.leakedBytes;
	}

	private oomKill(time: number, random: Random): void {
		this.restarts += Math.max(1, this.replicasReady);
		this.leakedBytes = 0;
		this.memoryBytes = this.spec.memoryBaseBytes;
		// As a real pod's lastState: it reads OOMKilled until the container ends otherwise, so a leak that kills its
		// pods every ~80 s is never shown healthy between the kills (it was for 50 s of every 80 with 30 s here).
		this.problems.set('OOMKilled', time + OOM_SHOWN_MS);
		if (this.replicasReady > 0) {
			this.replicasReady--;
			this.pendingReadyAt.push(time + random.between(6000, 10_000));
		}
	}

	private recordHistory(tick: number): void {
		const slot = tick % HISTOGRAM_TICKS;
		const row = slot * BUCKET_COUNT;
		const histogram = this.histogram;
		const window = this.windowBuckets;
		for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) window[bucket]! += histogram[row + bucket]!;
		this.windowRequests += this.requests[slot]!;
		this.windowErrors += this.errors[slot]!;
		const leaving = tick - HISTORY_WINDOW_TICKS;
		if (leaving >= this.firstTick) {
			const leavingSlot = leaving % HISTOGRAM_TICKS;
			const leavingRow = leavingSlot * BUCKET_COUNT;
			for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
				// Clamp: float subtraction can leave -1e-13 behind.
				window[bucket] = Math.max(0, window[bucket]! - histogram[leavingRow + bucket]!);
			}

			this.windowRequests = Math.max(0, this.windowRequests - this.requests[leavingSlot]!);
			this.windowErrors = Math.max(0, this.windowErrors - this.errors[leavingSlot]!);
		}

		const windowTicks = Math.min(HISTORY_WINDOW_TICKS, tick - this.firstTick + 1);
		const requests = this.windowRequests;
		const hasPods = this.replicasDesired > 0 || this.replicasReady > 0;
		percentilesInto(window, this.percentiles);
		const base = (tick % HISTORY_TICKS) * METRIC_COUNT;
		const history = this.history;
		history[base] = requests / (windowTicks * (TICK_MS / 1000));
		history[base + 1] = requests > 0 ? this.windowErrors / requests : Number.NaN;
		history[base + 2] = this.percentiles.p50;
		history[base + 3] = this.percentiles.p95;
		history[base + 4] = this.percentiles.p99;
		history[base + 5] = hasPods ? this.cpuCores : Number.NaN;
		history[base + 6] = hasPods ? this.memoryBytes : Number.NaN;
	}

	/** A sample over the `windowTicks` ticks ending with `lastTick`. */
	sample(lastTick: number, windowTicks: number, time: number): Sample {
		const ticks = Math.max(1, Math.min(windowTicks, HISTOGRAM_TICKS, lastTick - this.firstTick + 1));
		const buckets = new Float64Array(BUCKET_COUNT);
		let requests = 0;
		let errors = 0;
		for (let offset = 0; offset < ticks; offset++) {
			const slot = (lastTick - offset) % HISTOGRAM_TICKS;
			if (slot < 0) break;
			requests += this.requests[slot]!;
			errors += this.errors[slot]!;
			const row = slot * BUCKET_COUNT;
			for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) buckets[bucket]! += this.histogram[row + bucket]!;
		}

		const hasPods = this.replicasDesired > 0 || this.replicasReady > 0;
		const percentiles = {p50: Number.NaN, p95: Number.NaN, p99: Number.NaN};
		percentilesInto(buckets, percentiles);
		const orNull = (value: number) => (Number.isNaN(value) ? null : value);
		return {
			rps: requests / (ticks * (TICK_MS / 1000)),
			errorRatio: requests > 0 ? errors / requests : null,
			p50Ms: orNull(percentiles.p50),
			p95Ms: orNull(percentiles.p95),
			p99Ms: orNull(percentiles.p99),
			cpuCores: hasPods ? this.cpuCores : null,
			memoryBytes: hasPods ? this.memoryBytes : null,
			time,
		};
	}

	historyValue(tick: number, metric: HistoryMetric): number {
		return this.history[(tick % HISTORY_TICKS) * METRIC_COUNT + historyMetricIndex[metric]]!;
	}

	/** Take another simulation's history rows for ticks [from, to) (back-fill). */
	copyHistory(source: VersionState, from: number, to: number): void {
		for (let tick = from; tick < to; tick++) {
			const row = (tick % HISTORY_TICKS) * METRIC_COUNT;
			this.history.set(source.history.subarray(row, row + METRIC_COUNT), row);
		}

		if (from < this.historyFirstTick) this.historyFirstTick = from;
	}

	/** What the version's incidents do at `time`. The same object each call (hot path); read it before the next. */
	effects(time: number, launchTime: number): Effects {
		const effects = this.currentEffects;
		effects.medianFactor = 1;
		effects.tailAdd = 0;
		effects.tailScaleFactor = 1;
		effects.errorFactor = 1;
		effects.errorAdd = 0;
		effects.cpuFactor = 1;
		effects.leaking = false;
		effects.driftIntensity = 0;
		for (const incident of this.incidents) {
			if (incident.healed) continue;
			const elapsed = time - launchTime - incident.startAfterMs;
			if (elapsed < 0) continue;
			const intensity = incident.rampMs > 0 ? Math.min(1, elapsed / incident.rampMs) : 1;
			switch (incident.kind) {
				case 'latency-regression': {
					effects.medianFactor *= 1 + 0.5 * intensity;
					effects.tailAdd += 0.06 * intensity;
					effects.tailScaleFactor *= 1 + 4 * intensity;
					effects.cpuFactor *= 1 + 0.4 * intensity;
					break;
				}

				case 'error-burst': {
					effects.errorAdd += 0.08 * intensity;
					break;
				}

				case 'memory-leak': {
					effects.leaking = true;
					break;
				}

				case 'prediction-drift': {
					effects.driftIntensity = Math.max(effects.driftIntensity, intensity);
					break;
				}

				case 'better-canary': {
					effects.medianFactor *= 0.85;
					effects.tailAdd -= 0.002;
					effects.errorFactor *= 0.5;
					effects.cpuFactor *= 0.9;
					break;
				}
			}
		}

		return effects;
	}

	/** Start pods that became ready and expire old problems. True when anything shown changed. */
	updatePods(time: number, tick: number): boolean {
		let changed = false;
		if (this.spec.stuck) {
			// A crash-looping pod keeps restarting with back-off.
			if (tick % CRASH_LOOP_PERIOD_TICKS === 0) {
				this.restarts++;
				changed = true;
			}

			return changed;
		}

		if (this.pendingReadyAt.length > 0) {
			const stillPending = this.pendingReadyAt.filter((readyAt) => readyAt > time);
			if (stillPending.length !== this.pendingReadyAt.length) {
				this.replicasReady = Math.min(this.replicasDesired, this.replicasReady + this.pendingReadyAt.length - stillPending.length);
				this.pendingReadyAt = stillPending;
				changed = true;
			}
		}

		for (const [problem, until] of this.problems) {
			if (until <= time) {
				this.problems.delete(problem);
				changed = true;
			}
		}

		return changed;
	}

	/** Scale to `desired` pods: new ones become ready after `startMs`, removed ones go at once. */
	scaleTo(desired: number, time: number, startMs: number): void {
		const target = Math.max(0, Math.round(desired));
		if (target > this.replicasDesired) {
			for (let count = this.replicasDesired; count < target; count++) this.pendingReadyAt.push(time + startMs);
		} else if (target < this.replicasDesired) {
			this.replicasReady = Math.min(this.replicasReady, target);
			this.pendingReadyAt = this.pendingReadyAt.slice(0, Math.max(0, target - this.replicasReady));
		}

		this.replicasDesired = target;
	}

	/** Scale to `desired` pods, all ready now (the action's simulated time stands for the rollout). */
	scaleReadyNow(desired: number): void {
		this.replicasDesired = Math.max(0, Math.round(desired));
		this.replicasReady = this.replicasDesired;
		this.pendingReadyAt = [];
	}

	heal(): void {
		for (const incident of this.incidents) incident.healed = true;
		// Healed pods are new pods, with no last state.
		this.problems.delete('OOMKilled');
		this.leakedBytes = 0;
		this.memoryBytes = this.spec.memoryBaseBytes;
	}

	toVersion(): Version {
		const version: Version = {
			name: this.spec.name,
			track: this.track,
			weight: this.weight,
			replicasReady: this.replicasReady,
			replicasDesired: this.replicasDesired,
			restarts: this.restarts,
			image: this.spec.image,
			created: this.created,
			resources: {...this.spec.resources},
			object: this.spec.object,
		};
		if (this.spec.service) version.service = this.spec.service;
		if (this.autoscaler) version.autoscaler = {min: this.autoscaler.min, max: this.autoscaler.max, current: this.replicasDesired};
		if (this.problems.size > 0) version.problems = [...this.problems.keys()];
		return version;
	}
}
