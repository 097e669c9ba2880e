/**
 * The simulated fleet. Time advances in fixed two-second ticks (a scrape interval), lazily: every port call first
 * catches the simulation up to the clock (`advanceTo`), so results depend on the clock and the seed, not on how often
 * anybody asked.
 *
 * Per version and tick: requests arrive (Poisson around the model's demand times the version's weight), each
 * simulated request draws a latency from the version's distribution into a log-bucket histogram (at most
 * `DRAWS_PER_TICK` draws, weighted to stand for all requests), errors are drawn from the version's error rate,
 * and CPU and memory follow traffic with a little noise. Everything lives in fixed-size rings: the memory per
 * version is constant however long the demo runs.
 */
import {ConflictError} from '../domain/ports.ts';
import type {Model, ModelRef, Sample, Version} from '../domain/types.ts';
import {weightsFromReplicas} from '../domain/weights.ts';
import type {AutoscalerSpec, ContextSpec, ModelSpec, VersionSpec} from './fleet.ts';
import {
	BUCKET_COUNT,
	bucketIndexOfLog,
	drawLogLatency,
	type LatencyProfile,
	LOG_TIMEOUT,
	percentilesInto,
} from './latency.ts';
import {deriveSeed, Random} from './random.ts';
import type {Incident} from './scenarios.ts';

/** One tick of simulated time; a scrape interval in Prometheus terms. */
export const TICK_MS = 2000;
/** The longest window a sample can cover (5 minutes). */
export const HISTOGRAM_TICKS = 300_000 / TICK_MS;
/** History kept for charts: 15 minutes, a point per tick. */
export const HISTORY_TICKS = 900_000 / TICK_MS;
/** Each history point is computed over this trailing window, as `rate(…[30s])` would be. */
export const HISTORY_WINDOW_TICKS = 30_000 / TICK_MS;
/** Latency draws per version and tick; above this the draws are weighted to stand for every request. */
const DRAWS_PER_TICK = 120;
/** Fewer draws for the history back-filled after start-up: it only feeds charts, and is made in a burst. */
const BACKFILL_DRAWS_PER_TICK = 40;
/**
 * Ticks simulated before launch, synchronously at start-up: enough for the first samples (windows up to 60 s).
 * The rest of the 15 minutes of history is back-filled afterwards in small chunks (see `backfillHistory`), so that
 * start-up stays quick.
 */
const STARTUP_TICKS = 60_000 / TICK_MS;
/** The autoscaler looks every 16 s (Kubernetes: 15 s). */
const AUTOSCALER_PERIOD_TICKS = 16_000 / TICK_MS;
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
		conditions.errorProbability = unavailable
			? 1
			: Math.min(1, spec.errorRatio * effects.errorFactor + effects.errorAdd + overloadErrors);
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

export class ModelState {
	readonly spec: ModelSpec;
	readonly context: string;
	versions: VersionState[];
	revision = 1;
	private demandNoise = 0;
	private readonly demandPhase: number;

	constructor(spec: ModelSpec, context: string, versions: VersionState[], phase: number) {
		this.spec = spec;
		this.context = context;
		this.versions = versions;
		this.demandPhase = phase;
		if (spec.router === 'replicas') this.deriveWeightsFromReplicas();
	}

	get namespace(): string {
		return this.spec.namespace;
	}

	get name(): string {
		return this.spec.name;
	}

	get label(): string {
		return `${this.spec.namespace}/${this.spec.name}`;
	}

	/** Requests/s reaching the model: a slow 30-minute swing and a little autocorrelated noise. */
	demand(time: number, random: Random): number {
		this.demandNoise = 0.95 * this.demandNoise + 0.01 * random.normal();
		const swing = 0.12 * Math.sin((2 * Math.PI * time) / (30 * 60_000) + this.demandPhase);
		return Math.max(0, this.spec.baseRps * (1 + swing) * (1 + this.demandNoise));
	}

	version(name: string): VersionState | undefined {
		return this.versions.find((version) => version.name === name);
	}

	stable(): VersionState | undefined {
		return this.versions.find((version) => version.track === 'stable');
	}

	/** For the `replicas` router the weights are the shares of ready pods (as Argo Rollouts does). True on change. */
	deriveWeightsFromReplicas(): boolean {
		const weights = weightsFromReplicas(this.versions.map((version) => version.replicasReady));
		let changed = false;
		for (const [index, version] of this.versions.entries()) {
			const weight = weights[index]!;
			if (version.weight !== weight) {
				version.weight = weight;
				changed = true;
			}
		}

		return changed;
	}

	/** Keep the stable version first, then canaries in their original order. */
	sortVersions(): void {
		this.versions.sort((a, b) => (a.track === b.track ? 0 : a.track === 'stable' ? -1 : 1));
	}

	toModel(): Model {
		const model: Model = {
			namespace: this.spec.namespace,
			name: this.spec.name,
			router: this.spec.router,
			routerObject: this.spec.routerObject,
			runtime: this.spec.runtime,
			resourceVersion: String(this.revision),
			versions: this.versions.map((version) => version.toVersion()),
		};
		if (this.spec.warnings && this.spec.warnings.length > 0) model.warnings = [...this.spec.warnings];
		return model;
	}
}

export interface SimulationOptions {
	contexts: ContextSpec[];
	incidents: Incident[];
	seed: number;
	launchTime: number;
	/** Tick to start at (0 is 15 minutes before launch). Default: one minute before launch. */
	startTick?: number;
	/** Latency draws per version and tick. Default DRAWS_PER_TICK. */
	drawsPerTick?: number;
}

/** Where traffic goes at the moment: one entry per version with requests/s > 0. */
export interface TrafficEntry {
	model: ModelState;
	version: VersionState;
	rps: number;
}

function describeVersions(model: ModelState): string {
	return model.versions.map((version) => `${version.name} (${version.track}, ${version.weight}%)`).join(', ');
}

export class FleetSimulation {
	readonly launchTime: number;
	readonly contexts: ContextSpec[];
	private readonly models: ModelState[];
	private readonly random: Random;
	private readonly actionRandom: Random;
	/** Start of tick 0: the simulation starts HISTORY_TICKS before launch, so charts are full at once. */
	private readonly simulationStart: number;
	/** Ticks completed so far. */
	private completedTicks = 0;
	/** Bumped on every change a `watchModels` listener should see. */
	changeCount = 0;
	private readonly seed: number;
	private readonly startTick: number;
	private readonly drawsPerTick: number;
	/** The simulation of the time before `startTick` whose history is copied in; null once done. */
	private backfill: FleetSimulation | undefined | null;

	constructor(options: SimulationOptions) {
		this.launchTime = options.launchTime;
		this.contexts = options.contexts;
		this.random = new Random(deriveSeed(options.seed, 'fleet'));
		this.actionRandom = new Random(deriveSeed(options.seed, 'actions'));
		this.simulationStart = options.launchTime - HISTORY_TICKS * TICK_MS;
		this.seed = options.seed;
		this.drawsPerTick = options.drawsPerTick ?? DRAWS_PER_TICK;
		this.startTick = Math.max(0, Math.min(HISTORY_TICKS, options.startTick ?? HISTORY_TICKS - STARTUP_TICKS));
		this.completedTicks = this.startTick;
		if (this.startTick === 0) this.backfill = null;
		const setupRandom = new Random(deriveSeed(options.seed, 'setup'));
		this.models = options.contexts.flatMap(({context, models}) =>
			models.map((spec) => {
				const versions = spec.versions.map((versionSpec) => {
					const state = new VersionState(versionSpec, options.launchTime, this.startTick);
					state.incidents = options.incidents
						.filter(
							(incident) =>
								context.name === this.contexts[0]?.context.name &&
								incident.namespace === spec.namespace &&
								incident.model === spec.name &&
								incident.version === versionSpec.name,
						)
						.map((incident) => ({...incident, healed: false}));
					return state;
				});
				return new ModelState(spec, context.name, versions, setupRandom.between(0, 2 * Math.PI));
			}),
		);
	}

	/** The time at the end of the last completed tick: what a sample taken now describes. */
	get lastTickTime(): number {
		return this.simulationStart + this.completedTicks * TICK_MS;
	}

	get lastTick(): number {
		return this.completedTicks - 1;
	}

	/** The oldest tick whose history is still kept. */
	get oldestHistoryTick(): number {
		return Math.max(0, this.completedTicks - HISTORY_TICKS);
	}

	/** The last tick that had ended at `time`. */
	tickAt(time: number): number {
		return Math.floor((time - this.simulationStart) / TICK_MS) - 1;
	}

	/** Catch the simulation up with `now`, one tick at a time. A clock that goes backwards changes nothing. */
	advanceTo(now: number): void {
		const target = Math.floor((now - this.simulationStart) / TICK_MS);
		if (target <= this.completedTicks) return;
		if (target - this.completedTicks > HISTORY_TICKS) {
			// The clock jumped (a laptop slept): simulating the gap would take long and show nothing. Start over
			// with empty rings, the gap stays missing data, as Prometheus would show it.
			this.backfill = null;
			this.completedTicks = target - HISTORY_TICKS;
			for (const model of this.models) for (const version of model.versions) version.reset(this.completedTicks);
		}

		while (this.completedTicks < target) {
			this.step(this.completedTicks);
			this.completedTicks++;
		}
	}

	/**
	 * Fill the history from 15 minutes before launch up to where the simulation started, at most `maxTicks` ticks
	 * per call: an independent run of the same fleet (no incidents happen before launch) whose history rows are
	 * copied in when it is complete. True when there is nothing left to do.
	 */
	backfillHistory(maxTicks = Number.POSITIVE_INFINITY): boolean {
		if (this.backfill === null) return true;
		this.backfill ??= new FleetSimulation({
			contexts: this.contexts,
			incidents: [],
			seed: deriveSeed(this.seed, 'backfill'),
			launchTime: this.launchTime,
			startTick: 0,
			drawsPerTick: BACKFILL_DRAWS_PER_TICK,
		});
		const backfill = this.backfill;
		const target = Math.min(this.startTick, backfill.completedTicks + Math.max(1, maxTicks));
		while (backfill.completedTicks < target) {
			backfill.step(backfill.completedTicks);
			backfill.completedTicks++;
		}

		if (backfill.completedTicks < this.startTick) return false;
		// Ring slots the live simulation has reused since are not overwritten.
		const from = Math.max(0, this.completedTicks - HISTORY_TICKS);
		for (const [index, model] of this.models.entries()) {
			const source = backfill.models[index]!;
			for (const version of model.versions) {
				const original = source.version(version.name);
				if (original && version.historyFirstTick === this.startTick && from < this.startTick) {
					version.copyHistory(original, from, this.startTick);
				}
			}
		}

		this.backfill = null;
		return true;
	}

	private step(tick: number): void {
		const time = this.simulationStart + (tick + 1) * TICK_MS;
		const draws = this.drawsPerTick;
		for (const model of this.models) {
			let changed = false;
			for (const version of model.versions) if (version.updatePods(time, tick)) changed = true;
			if (model.spec.router === 'replicas' && model.deriveWeightsFromReplicas()) changed = true;
			const demand = model.demand(time, this.random);
			for (const version of model.versions) {
				const rps = (demand * version.weight) / 100;
				const effects = version.effects(time, this.launchTime);
				if (version.simulateTick(tick, time, rps, effects, this.random, draws)) changed = true;
			}

			if (tick % AUTOSCALER_PERIOD_TICKS === 0 && this.autoscale(model, time)) changed = true;
			if (changed) this.touch(model);
		}
	}

	/** A horizontal pod autoscaler on requests/s per pod: up at once, down one pod at a time with some slack. */
	private autoscale(model: ModelState, time: number): boolean {
		let changed = false;
		for (const version of model.versions) {
			const autoscaler = version.autoscaler;
			if (!autoscaler || version.spec.stuck) continue;
			const rps = version.conditions.rps;
			const wanted = Math.min(autoscaler.max, Math.max(autoscaler.min, Math.ceil(rps / autoscaler.targetRpsPerPod)));
			if (wanted > version.replicasDesired) {
				version.scaleTo(wanted, time, this.random.between(6000, 10_000));
				changed = true;
			} else if (
				wanted < version.replicasDesired &&
				rps < (version.replicasDesired - 1) * autoscaler.targetRpsPerPod * 0.9
			) {
				version.scaleTo(version.replicasDesired - 1, time, 0);
				changed = true;
			}
		}

		return changed;
	}

	private touch(model: ModelState): void {
		model.revision++;
		this.changeCount++;
	}

	modelsIn(context: string, namespace?: string): ModelState[] {
		return this.models.filter(
			(model) => model.context === context && (namespace === undefined || model.namespace === namespace),
		);
	}

	namespacesIn(context: string): string[] {
		return [...new Set(this.modelsIn(context).map((model) => model.namespace))].sort();
	}

	findModel(context: string, ref: ModelRef): ModelState | undefined {
		return this.models.find(
			(model) => model.context === context && model.namespace === ref.namespace && model.name === ref.name,
		);
	}

	/** The model, or an error that says which models exist. */
	requireModel(context: string, ref: ModelRef): ModelState {
		const model = this.findModel(context, ref);
		if (model) return model;
		const known = this.modelsIn(context).map((candidate) => candidate.label);
		throw new Error(
			`There is no model ${ref.namespace}/${ref.name} in context ${context}. Models here: ${known.join(', ')}.`,
		);
	}

	private requireCanary(model: ModelState, canary: string): VersionState {
		const version = model.version(canary);
		if (!version) {
			throw new Error(`${model.label} has no version ${canary}. Its versions: ${describeVersions(model)}.`);
		}

		if (version.track !== 'canary') {
			const canaries = model.versions.filter((candidate) => candidate.track === 'canary').map((candidate) => candidate.name);
			throw new Error(
				`${canary} is the stable version of ${model.label}, not a canary. ${
					canaries.length > 0 ? `Its canaries: ${canaries.join(', ')}.` : 'It has no canary.'
				}`,
			);
		}

		return version;
	}

	trafficIn(context: string): TrafficEntry[] {
		const entries: TrafficEntry[] = [];
		for (const model of this.modelsIn(context)) {
			for (const version of model.versions) {
				if (version.conditions.rps > 0) entries.push({model, version, rps: version.conditions.rps});
			}
		}

		return entries;
	}

	/**
	 * Set a canary's weight. With `apply` false only checks (to refuse at once), with it true checks again and
	 * writes: the state may have changed while the write was in flight.
	 */
	setCanaryWeight(
		context: string,
		ref: ModelRef,
		canary: string,
		weight: number,
		expectedWeight: number | undefined,
		apply: boolean,
	): {before: number; after: number} {
		const model = this.requireModel(context, ref);
		const version = this.requireCanary(model, canary);
		if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
			throw new Error(`Weight ${String(weight)} is not valid: use a whole number from 0 to 100.`);
		}

		if (expectedWeight !== undefined && expectedWeight !== version.weight) {
			throw new ConflictError(
				`Canary ${canary} of ${model.label} is at ${version.weight}% now, not ${expectedWeight}% as you saw it: someone else changed it. Look at the new value and try again.`,
			);
		}

		const otherCanaries = model.versions.filter((other) => other.track === 'canary' && other !== version);
		const otherWeight = otherCanaries.reduce((sum, other) => sum + other.weight, 0);
		if (otherWeight + weight > 100) {
			throw new Error(
				`${model.label}'s canaries would get ${otherWeight + weight}% together: lower ${otherCanaries.map((other) => other.name).join(', ')} first, or set ${canary} to at most ${100 - otherWeight}%.`,
			);
		}

		const before = version.weight;
		if (!apply) return {before, after: weight};
		const now = this.lastTickTime;
		const stable = model.stable();
		if (model.spec.router === 'replicas') {
			// Without a router, weight is the share of pods: move pods between stable and canary.
			const totalPods = model.versions.reduce((sum, other) => sum + other.replicasDesired, 0);
			const canaryPods = weight === 0 ? 0 : Math.max(1, Math.round((totalPods * weight) / 100));
			const otherPods = otherCanaries.reduce((sum, other) => sum + other.replicasDesired, 0);
			version.scaleTo(canaryPods, now, this.actionRandom.between(3000, 6000));
			stable?.scaleTo(Math.max(0, totalPods - canaryPods - otherPods), now, this.actionRandom.between(3000, 6000));
			model.deriveWeightsFromReplicas();
		} else {
			version.weight = weight;
			if (stable) stable.weight = 100 - otherWeight - weight;
		}

		this.touch(model);
		return {before, after: version.weight};
	}

	promote(context: string, ref: ModelRef, canary: string, apply: boolean): {previousStable: string | undefined} {
		const model = this.requireModel(context, ref);
		const version = this.requireCanary(model, canary);
		if (version.replicasReady === 0) {
			throw new Error(
				`Canary ${canary} of ${model.label} has no ready pods (0/${version.replicasDesired}): promoting it would send all traffic nowhere. Wait until its pods are ready, or roll it back.`,
			);
		}

		const stable = model.stable();
		if (!apply) return {previousStable: stable?.name};
		const pods = Math.max(version.replicasDesired, stable?.replicasDesired ?? 0);
		version.track = 'stable';
		version.weight = 100;
		version.scaleReadyNow(pods);
		if (stable?.autoscaler) {
			// The stable version's bounds, the promoted version's own per-pod target.
			const targetRpsPerPod = version.autoscaler?.targetRpsPerPod ?? stable.autoscaler.targetRpsPerPod;
			version.autoscaler = {...stable.autoscaler, targetRpsPerPod};
		}

		// The old stable leaves: the promoted canary is the single stable version now.
		model.versions = model.versions.filter((other) => other !== stable);
		for (const other of model.versions) {
			if (other === version) continue;
			other.weight = 0;
			if (model.spec.router === 'replicas') other.scaleTo(0, this.lastTickTime, 0);
		}

		if (model.spec.router === 'replicas') model.deriveWeightsFromReplicas();
		model.sortVersions();
		this.touch(model);
		return {previousStable: stable?.name};
	}

	rollback(context: string, ref: ModelRef, canary: string, apply: boolean): {before: number} {
		const model = this.requireModel(context, ref);
		const version = this.requireCanary(model, canary);
		const before = version.weight;
		if (!apply) return {before};
		const stable = model.stable();
		if (model.spec.router === 'replicas') {
			const freed = version.replicasDesired;
			version.scaleTo(0, this.lastTickTime, 0);
			stable?.scaleTo(stable.replicasDesired + freed, this.lastTickTime, this.actionRandom.between(3000, 6000));
			model.deriveWeightsFromReplicas();
		} else {
			version.weight = 0;
			const canaryWeight = model.versions
				.filter((other) => other.track === 'canary')
				.reduce((sum, other) => sum + other.weight, 0);
			if (stable) stable.weight = 100 - canaryWeight;
		}

		// The rolled-back pods run the previous template again: whatever was wrong with the canary is gone.
		version.heal();
		this.touch(model);
		return {before};
	}

	switchTraffic(context: string, ref: ModelRef, to: string, apply: boolean): {from: string | undefined} {
		const model = this.requireModel(context, ref);
		const target = model.version(to);
		if (!target) throw new Error(`${model.label} has no version ${to}. Its versions: ${describeVersions(model)}.`);
		if (target.track === 'stable' && target.weight === 100) {
			throw new Error(`${to} already receives all of ${model.label}'s traffic: nothing to switch.`);
		}

		if (target.replicasReady === 0) {
			throw new Error(
				`${to} of ${model.label} has no ready pods (0/${target.replicasDesired}): switching would send all traffic nowhere.`,
			);
		}

		const stable = model.stable();
		if (!apply) return {from: stable?.name};
		const pods = Math.max(target.replicasDesired, stable?.replicasDesired ?? 0);
		for (const other of model.versions) {
			if (other === target) continue;
			// Blue-green keeps the other side deployed at 0% so that switching back is one write.
			other.track = 'canary';
			other.weight = 0;
			if (model.spec.router === 'replicas') other.scaleTo(0, this.lastTickTime, 0);
		}

		target.track = 'stable';
		target.weight = 100;
		target.scaleReadyNow(pods);
		if (model.spec.router === 'replicas') model.deriveWeightsFromReplicas();
		model.sortVersions();
		this.touch(model);
		return {from: stable?.name};
	}
}
