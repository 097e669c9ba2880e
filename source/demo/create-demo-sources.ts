/**
 * The simulated fleet behind the same ports as the real sources: nothing above the sources can tell it is the demo,
 * except `demo: true`, which puts the DEMO badge on screen.
 */
import type {DeliveryRunner} from '../delivery/runner.ts';
import type {AgentPort, ClusterPort, MetricsPort, Sources} from '../domain/ports.ts';
import {untilAligned} from '../domain/time.ts';
import {AuditLog} from './audit-log.ts';
import {DemoAgent} from './demo-agent.ts';
import {DemoCluster} from './demo-cluster.ts';
import {DemoMetrics} from './demo-metrics.ts';
import {createDemoDeliveries} from './demo-deliveries.ts';
import {DemoDeliveryPort} from './delivery-port.ts';
import {demoContexts} from './fleet.ts';
import {PredictionFeed} from './prediction-feed.ts';
import {deriveSeed, Random} from './random.ts';
import {defaultScenario, incidentsOf, isScenarioName, type ScenarioName, scenarioNames} from './scenarios.ts';
import {FleetSimulation} from './simulation.ts';

export interface DemoOptions {
	/** Which scripted incident to play. Default `tour`. Example: `{scenario: 'error-burst'}`. */
	scenario?: ScenarioName;
	/** Seed of every random draw: the same seed and clock give the same fleet. Default 1. */
	seed?: number;
	/** Epoch-ms clock the simulation follows. Default `Date.now`. Tests pass a clock they move by hand. */
	clock?: () => number;
	/** Predictions streamed per second across the fleet. Default 300. */
	predictionsPerSecond?: number;
	/** Generated models added to demo-prod (2–3 versions each), for benchmarks: 12 give 41 versions. Default 0. */
	extraModels?: number;
	/**
	 * Simulated time each action takes, in ms. Default: 300–800 ms, drawn per action. 0 (tests) also runs smoke and
	 * load tests without pausing.
	 */
	actionDelayMs?: number;
	/**
	 * How far into the scenario the fleet starts, in ms (`--at`): the simulation is launched this long before now and
	 * run on its own clock up to now at start-up, tick by tick, so the fleet is exactly what it would be after waiting
	 * that long (same seed, same figures). Default 0. At most an hour.
	 */
	atMs?: number;
	/** Events the demo agent keeps for resuming and `lookup`. Default 20,000 (a minute and more at the default rate). */
	historyLimit?: number;
}

export interface DemoSources extends Sources {
	cluster: ClusterPort;
	metrics: MetricsPort;
	agent: AgentPort;
	demo: true;
	/** The rollouts of new versions the demo runs (the same DeliveryRunner as the agent's). */
	deliveries: DeliveryRunner;
	/** Stop the timer that streams predictions and reports changes. Idempotent. */
	stop(): void;
}

/**
 * Predictions are made once a second, on the second (a batch, never a timer per prediction: each line keeps its own
 * time), as the console draws its frames; actions report their changes at once. Every wake-up of a process costs
 * CPU of its own, which at ten a second was a measurable share of the console's. While the history is back-filled
 * after start-up, the pump runs every BACKFILL_PUMP_MS so each chunk stays short.
 */
const PUMP_INTERVAL_MS = 1000;
const BACKFILL_PUMP_MS = 100;
const DEFAULT_PREDICTIONS_PER_SECOND = 300;
/** History older than a minute is back-filled after start-up in chunks this size (a few ms each). */
const BACKFILL_TICKS_PER_PUMP = 30;
const MAX_PREDICTIONS_PER_SECOND = 20_000;

function checkedNumber(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
		throw new RangeError(`Demo option ${name} is ${String(value)}: use a number from ${min} to ${max.toLocaleString('en-US')}.`);
	}

	return value;
}

export function createDemoSources(options: DemoOptions = {}): DemoSources {
	const scenario = options.scenario ?? defaultScenario;
	if (!isScenarioName(scenario)) {
		throw new RangeError(`There is no demo scenario "${String(scenario)}". Scenarios: ${scenarioNames.join(', ')}.`);
	}

	const seed = Math.floor(checkedNumber('seed', options.seed, 1, -(2 ** 53), 2 ** 53));
	const predictionsPerSecond = checkedNumber(
		'predictionsPerSecond',
		options.predictionsPerSecond,
		DEFAULT_PREDICTIONS_PER_SECOND,
		0,
		MAX_PREDICTIONS_PER_SECOND,
	);
	const extraModels = Math.floor(checkedNumber('extraModels', options.extraModels, 0, 0, 500));
	const historyLimit = Math.floor(checkedNumber('historyLimit', options.historyLimit, 20_000, 1, 1_000_000));
	const fixedDelay = options.actionDelayMs === undefined ? undefined : checkedNumber('actionDelayMs', options.actionDelayMs, 0, 0, 60_000);
	const atMs = checkedNumber('atMs', options.atMs, 0, 0, 3_600_000);
	const clock = options.clock ?? Date.now;
	const now = clock();
	const launchTime = now - atMs;
	let stopped = false;

	const simulation = new FleetSimulation({
		contexts: demoContexts(extraModels),
		incidents: incidentsOf(scenario),
		seed,
		launchTime,
	});
	// Fast-forward in steps shorter than the history the simulation keeps: a longer one reads as a clock that jumped
	// (a laptop that slept), which starts the rings over.
	for (let time = launchTime; time < now; time += 60_000) simulation.advanceTo(time);
	simulation.advanceTo(now);
	// The history before launch at once, not in chunks after start-up: the judge of a fast-forwarded fleet weighs it
	// from the first look (`status --at` looks once).
	if (atMs > 0) simulation.backfillHistory();

	// Pending pauses, so that stop() can end them: an action in flight finishes instead of waiting forever.
	const pauses = new Map<ReturnType<typeof setTimeout>, () => void>();
	const pause = async (ms: number): Promise<void> => {
		if (fixedDelay === 0 || !(ms > 0) || stopped) return;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(() => {
				pauses.delete(timer);
				resolve();
			}, ms);
			pauses.set(timer, resolve);
		});
	};

	const delayRandom = new Random(deriveSeed(seed, 'delays'));
	const audit = new AuditLog();
	const cluster = new DemoCluster(simulation, clock, audit, async () => pause(fixedDelay ?? delayRandom.between(300, 800)));
	const currentContext = () => cluster.currentContext();
	const metrics = new DemoMetrics(simulation, clock, currentContext);
	const feed = new PredictionFeed({
		simulation,
		currentContext,
		random: new Random(deriveSeed(seed, 'predictions')),
		ratePerSecond: predictionsPerSecond,
		historyLimit,
		// Predictions from now on: the fast-forwarded minutes are not streamed.
		startTime: now,
	});
	const stopAudit = audit.onEntry((entry) => {
		feed.publishAudit(entry);
	});
	// Rollouts of new versions: the agent's DeliveryRunner over the simulation, its judge the guard's verdict.
	const deliveryPort = new DemoDeliveryPort({simulation, clock, currentContext, notify: () => cluster.notifyIfChanged()});
	cluster.deliveryPlanner = deliveryPort;
	const deliveries = createDemoDeliveries({
		port: deliveryPort,
		metrics,
		agent: () => agent,
		model: (state) => simulation.findModel(currentContext(), state.spec.model)?.toModel(),
		audit,
		clock,
	});
	const agent: DemoAgent = new DemoAgent({
		simulation,
		cluster,
		feed,
		audit,
		random: new Random(deriveSeed(seed, 'agent')),
		clock,
		currentContext,
		pause,
		deliveries,
	});
	deliveries.run();

	let pump: ReturnType<typeof setTimeout> | undefined;
	const schedulePump = (backfilled: boolean): void => {
		const now = clock();
		const delay = backfilled ? untilAligned(now, PUMP_INTERVAL_MS) : BACKFILL_PUMP_MS;
		pump = setTimeout(() => {
			const now = clock();
			simulation.advanceTo(now);
			const done = simulation.backfillHistory(BACKFILL_TICKS_PER_PUMP);
			feed.pump(now);
			cluster.notifyIfChanged();
			if (!stopped) schedulePump(done);
		}, delay);
		// The demo must never be what keeps a process alive (a `--json` status run exits when it is done).
		pump.unref?.();
	};

	schedulePump(false);

	return {
		cluster,
		metrics,
		agent,
		demo: true,
		deliveries,
		stop() {
			if (stopped) return;
			stopped = true;
			clearTimeout(pump);
			deliveries.close();
			for (const [timer, resolve] of pauses) {
				clearTimeout(timer);
				resolve();
			}

			pauses.clear();
			stopAudit();
		},
	};
}
