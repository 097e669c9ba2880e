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
import type {ModelRef} from '../domain/types.ts';
import type {ContextSpec, VersionSpec} from './fleet.ts';
import {deriveSeed, Random} from './random.ts';
import type {Incident} from './scenarios.ts';
import {ModelState} from './model-state.ts';
import {HISTORY_TICKS, TICK_MS, VersionState} from './version-state.ts';

export {HISTOGRAM_TICKS, HISTORY_TICKS, HISTORY_WINDOW_TICKS, type HistoryMetric, TICK_MS, VersionState} from './version-state.ts';
export {ModelState} from './model-state.ts';

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

export interface SimulationOptions {
	contexts: ContextSpec[];
	incidents: Incident[];
	seed: number;
	launchTime: number;
	/** Tick to start at (0 is 15 minutes before launch). Default: one minute before launch. */
	startTick?: number;
	/** Latency draws per version and tick. Default DRAWS_PER_TICK. */
	drawsPerTick?: number;
	/** Seed of the fleet's set-up (each model's demand phase). Default `seed`. */
	setupSeed?: number;
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
		const setupRandom = new Random(deriveSeed(options.setupSeed ?? options.seed, 'setup'));
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
			// The same fleet: each model's demand on the same daily-like swing, so that the history joins the live
			// figures without a step (a step of up to a quarter of the traffic read as an anomaly at start-up).
			setupSeed: this.seed,
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
			} else if (wanted < version.replicasDesired && rps < (version.replicasDesired - 1) * autoscaler.targetRpsPerPod * 0.9) {
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

	/** Tell watchers the model changed (a rollout's state kept with it). */
	markChanged(model: ModelState): void {
		this.touch(model);
	}

	/**
	 * A new version of a model (a rollout's), at 0% with `spec.replicas` pods that become ready after `startMs`; the
	 * version of that name when it exists already (creating it again changes nothing).
	 */
	addVersion(context: string, ref: ModelRef, spec: VersionSpec, startMs: number): VersionState {
		const model = this.requireModel(context, ref);
		const existing = model.version(spec.name);
		if (existing) return existing;
		const version = new VersionState({...spec, track: 'canary', weight: 0, replicas: 0}, this.launchTime, this.completedTicks);
		version.scaleTo(spec.replicas, this.lastTickTime, startMs);
		model.versions.push(version);
		if (model.spec.router === 'replicas') model.deriveWeightsFromReplicas();
		this.touch(model);
		return version;
	}

	/** Remove a version that takes no traffic (a rolled-back rollout's); nothing when it is gone already. */
	removeVersion(context: string, ref: ModelRef, name: string): void {
		const model = this.requireModel(context, ref);
		const version = model.version(name);
		if (!version) return;
		if (version.track === 'stable') throw new Error(`${name} is the stable version of ${model.label}: it is not removed`);
		model.versions = model.versions.filter((other) => other !== version);
		if (model.spec.router === 'replicas') model.deriveWeightsFromReplicas();
		this.touch(model);
	}

	modelsIn(context: string, namespace?: string): ModelState[] {
		return this.models.filter((model) => model.context === context && (namespace === undefined || model.namespace === namespace));
	}

	namespacesIn(context: string): string[] {
		return [...new Set(this.modelsIn(context).map((model) => model.namespace))].sort();
	}

	findModel(context: string, ref: ModelRef): ModelState | undefined {
		return this.models.find((model) => model.context === context && model.namespace === ref.namespace && model.name === ref.name);
	}

	/** The model, or an error that says which models exist. */
	requireModel(context: string, ref: ModelRef): ModelState {
		const model = this.findModel(context, ref);
		if (model) return model;
		const known = this.modelsIn(context).map((candidate) => candidate.label);
		throw new Error(`There is no model ${ref.namespace}/${ref.name} in context ${context}. Models here: ${known.join(', ')}.`);
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
			const canaryWeight = model.versions.filter((other) => other.track === 'canary').reduce((sum, other) => sum + other.weight, 0);
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
			throw new Error(`${to} of ${model.label} has no ready pods (0/${target.replicasDesired}): switching would send all traffic nowhere.`);
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
