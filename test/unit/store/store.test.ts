import {describe, expect, it} from 'vitest';
import {stepWeight, parseWeight, weightsFromReplicas, clampWeight} from '../../../source/domain/weights.ts';
import {canaryMarginFlags, thresholdFlags, thresholdsFor, defaultThresholds} from '../../../source/domain/thresholds.ts';
import {untilAligned} from '../../../source/domain/time.ts';
import {backoffDelay, Poller} from '../../../source/console/poller.ts';
import {reducer} from '../../../source/console/reducer.ts';
import {fleetRows} from '../../../source/state/selectors.ts';
import {initialState, LOG_CAPACITY} from '../../../source/state/state.ts';
import {analyse} from '../../../source/domain/pipeline.ts';
import {fixtureModels, fixtureSamples, prediction} from '../../support/fake-sources.ts';

const base = initialState({demo: false, readOnly: false, context: 'c', namespace: undefined, weightStep: 10, refreshSeconds: 2, now: 1000});

describe('weights', () => {
	it.each([
		[10, 10, 1, 20],
		[13, 10, 1, 20],
		[13, 10, -1, 10],
		[10, 10, -1, 0],
		[95, 10, 1, 100],
		[0, 10, -1, 0],
		[50, 25, 1, 75],
	] as const)('step %i by %i dir %i → %i', (current, step, direction, expected) => {
		expect(stepWeight(current, step, direction)).toBe(expected);
	});

	it.each([
		['25', {weight: 25}],
		[' 25 % ', {weight: 25}],
		['100', {weight: 100}],
		['0', {weight: 0}],
	])('parses %j', (input, expected) => {
		expect(parseWeight(input)).toEqual(expected);
	});

	it.each(['', 'abc', '-5', '2.5', '101', '1000'])('refuses %j with a message saying how to fix it', (input) => {
		const result = parseWeight(input);
		expect('error' in result && result.error).toMatch(/0 to 100/);
	});

	it('splits by ready replicas so the weights sum to 100', () => {
		expect(weightsFromReplicas([3, 1])).toEqual([75, 25]);
		expect(weightsFromReplicas([1, 1, 1])).toEqual([34, 33, 33]);
		expect(weightsFromReplicas([0, 0])).toEqual([0, 0]);
		expect(clampWeight(Number.NaN)).toBe(0);
	});
});

describe('threshold flags', () => {
	const [fraud] = fixtureModels();
	const samples = fixtureSamples();
	const canary = fraud!.versions[1]!;
	const canarySample = samples.get('prod/fraud-detector/v13')!;
	const stableSample = samples.get('prod/fraud-detector/v12')!;

	it('flags p99 above the threshold, with per-model overrides', () => {
		expect(thresholdFlags(canary, canarySample, defaultThresholds, 5).map((flag) => flag.kind)).toContain('latency');
		const relaxed = thresholdsFor(fraud!, {models: {'fraud-detector': {p99LatencyMs: 2000}}});
		expect(thresholdFlags(canary, canarySample, relaxed, 5).map((flag) => flag.kind)).not.toContain('latency');
		const byNamespace = thresholdsFor(fraud!, {
			models: {'fraud-detector': {p99LatencyMs: 2000}, 'prod/fraud-detector': {p99LatencyMs: 100}},
		});
		expect(byNamespace.p99LatencyMs).toBe(100);
	});

	it('no data raises nothing (no data is not zero)', () => {
		const empty = {rps: null, errorRatio: null, p50Ms: null, p95Ms: null, p99Ms: null, cpuCores: null, memoryBytes: null, time: 0};
		expect(thresholdFlags(canary, empty, defaultThresholds, 0)).toEqual([]);
	});

	it('flags errors, memory near its limit and readiness', () => {
		const flags = thresholdFlags(
			{...canary, replicasReady: 0},
			{...canarySample, errorRatio: 0.05, memoryBytes: 0.95 * 1024 ** 3},
			defaultThresholds,
			0,
		);
		expect(flags.map((flag) => flag.kind).sort()).toEqual(['errors', 'latency', 'memory', 'readiness']);
		expect(flags.find((flag) => flag.kind === 'errors')!.message).toBe('errors 5.0% > 2.0%');
	});

	it('flags a canary worse than stable by more than the margin', () => {
		const flags = canaryMarginFlags(canarySample, stableSample, defaultThresholds, 0);
		expect(flags).toHaveLength(1);
		expect(flags[0]!.message).toMatch(/canary p99 900 ms is 1025% worse than stable 80 ms/);
		expect(canaryMarginFlags(stableSample, stableSample, defaultThresholds, 0)).toEqual([]);
	});
});

describe('reducer', () => {
	it('marks a source stale (keeping data) after it had data, down before', () => {
		let state = reducer(base, {type: 'source/error', source: 'metrics', message: 'boom', now: 2000});
		expect(state.health.metrics).toMatchObject({status: 'down', message: 'boom'});
		state = reducer(state, {
			type: 'metrics/refreshed',
			samples: {a: fixtureSamples().get('prod/fraud-detector/v12')!},
			flags: {},
			verdicts: {},
			now: 3000,
		});
		expect(state.health.metrics).toMatchObject({status: 'ok', lastOk: 3000});
		state = reducer(state, {type: 'source/error', source: 'metrics', message: 'timeout', now: 4000});
		expect(state.health.metrics).toMatchObject({status: 'stale', lastOk: 3000, since: 4000, message: 'timeout'});
		expect(Object.keys(state.samples)).toEqual(['a']);
	});

	it('keeps the selection inside the rows', () => {
		let state = reducer(base, {type: 'cluster/models', models: fixtureModels(), now: 0});
		state = reducer(state, {type: 'nav/move', delta: 10});
		expect(state.selection).toBe(fleetRows(state).length - 1);
		state = reducer(state, {type: 'nav/move', delta: -10});
		expect(state.selection).toBe(0);
	});

	it('bounds the prediction log and holds it while paused', () => {
		const many = Array.from({length: LOG_CAPACITY + 50}, (_, index) => prediction({requestId: `r${index}`}));
		let state = reducer(base, {type: 'log/set', entries: many, received: LOG_CAPACITY + 50, ratePerSecond: 0});
		expect(state.log.entries).toHaveLength(LOG_CAPACITY);
		expect(state.log.entries.at(-1)!.requestId).toBe(`r${LOG_CAPACITY + 49}`);
		state = reducer(state, {type: 'log/toggle-pause'});
		const before = state.log.entries;
		state = reducer(state, {
			type: 'log/set',
			entries: [...many, prediction({requestId: 'late'})],
			received: LOG_CAPACITY + 51,
			ratePerSecond: 0,
		});
		expect(state.log.entries).toBe(before);
		expect(state.log.received).toBe(LOG_CAPACITY + 51);
	});

	it('follows a task through progress to done', () => {
		let state = reducer(base, {
			type: 'task/start',
			id: 't',
			action: {kind: 'smoke-test', target: {namespace: 'n', name: 'm', version: 'v'}},
			title: 'Smoke',
			now: 0,
		});
		state = reducer(state, {
			type: 'task/progress',
			id: 't',
			progress: {kind: 'check', check: {name: 'metadata', ok: true, detail: ''}},
			now: 1,
		});
		state = reducer(state, {type: 'task/progress', id: 't', progress: {kind: 'done', message: 'all good'}, now: 2});
		expect(state.tasks[0]).toMatchObject({state: 'done', fraction: 1, message: 'all good', finished: 2});
		expect(state.tasks[0]!.checks).toHaveLength(1);
	});

	it('goes back one screen at a time, to the fleet when nothing is left, and forgets the way on a context switch', () => {
		let state = reducer(base, {type: 'view/open', view: {screen: 'model', model: 'prod/fraud-detector'}});
		state = reducer(state, {type: 'view/open', view: {screen: 'log', model: 'prod/fraud-detector'}});
		state = reducer(state, {type: 'view/open', view: {screen: 'audit'}});
		state = reducer(state, {type: 'view/back'});
		expect(state.view).toEqual({screen: 'log', model: 'prod/fraud-detector'});
		state = reducer(state, {type: 'view/back'});
		expect(state.view).toEqual({screen: 'model', model: 'prod/fraud-detector'});
		state = reducer(state, {type: 'view/back'});
		state = reducer(state, {type: 'view/back'});
		expect(state.view).toEqual({screen: 'fleet'});
		expect(state.back).toEqual([]);
		state = reducer(state, {type: 'view/open', view: {screen: 'log'}});
		state = reducer(state, {type: 'context/set', context: 'other'});
		expect(state.back).toEqual([]);
		// Opening the screen already shown does not stack it twice.
		state = reducer(state, {type: 'view/open', view: {screen: 'fleet'}});
		expect(state.back).toEqual([]);
	});

	it('keeps the cursor on its row through a filter that hides rows above it, and on its model when its row goes', () => {
		let state = reducer(base, {type: 'cluster/models', models: fixtureModels(), now: 0});
		state = reducer(state, {type: 'nav/move', delta: 1}); // fraud-detector v13
		state = reducer(state, {type: 'filter/set', text: 'v13'});
		expect(fleetRows(state)[state.selection]!.key).toBe('prod/fraud-detector/v13');
		state = reducer(state, {type: 'filter/set', text: ''});
		expect(fleetRows(state)[state.selection]!.key).toBe('prod/fraud-detector/v13');
		state = reducer(state, {type: 'filter/set', text: 'v12'});
		expect(fleetRows(state)[state.selection]!.key).toBe('prod/fraud-detector/v12');
	});

	it('groups rows by model, stable before canary, and filters', () => {
		let state = reducer(base, {type: 'cluster/models', models: fixtureModels(), now: 0});
		expect(fleetRows(state).map((row) => `${row.model.name}/${row.version.name}`)).toEqual([
			'fraud-detector/v12',
			'fraud-detector/v13',
			'recommender/v2',
		]);
		state = reducer(state, {type: 'filter/set', text: 'v13'});
		expect(fleetRows(state).map((row) => row.version.name)).toEqual(['v13']);
	});
});

describe('analysis', () => {
	it('keeps the since of a flag that persists', () => {
		const input = {
			models: fixtureModels(),
			samples: Object.fromEntries(fixtureSamples()),
			history: {},
			thresholds: {},
			detectors: [],
			judgeWindowSeconds: 600,
			previous: {},
			now: 100,
		};
		const first = analyse(input);
		const second = analyse({...input, previous: first.flags, now: 200});
		const flag = second.flags['prod/fraud-detector/v13']!.find((candidate) => candidate.kind === 'latency')!;
		expect(flag.since).toBe(100);
	});
});

describe('poller', () => {
	it('backs off exponentially with a cap and resets after success', () => {
		expect(backoffDelay(0, 2000, 30_000)).toBe(2000);
		expect(backoffDelay(1, 2000, 30_000)).toBe(4000);
		expect(backoffDelay(3, 2000, 30_000)).toBe(16_000);
		expect(backoffDelay(10, 2000, 30_000)).toBe(30_000);
	});

	it('schedules the next run by the failure count and reports each error', async () => {
		const delays: number[] = [];
		const errors: unknown[] = [];
		let calls = 0;
		const poller = new Poller({
			intervalMs: 100,
			maxBackoffMs: 30_000,
			run: async () => {
				calls++;
				if (calls <= 2) throw new Error(`fail ${calls}`);
			},
			onError: (error) => errors.push(error),
			setTimer: (_callback, ms) => {
				delays.push(ms);
				return 0;
			},
			clearTimer: () => undefined,
		});
		await poller.tick();
		await poller.tick();
		await poller.tick();
		expect(delays).toEqual([200, 400, 100]);
		expect(errors.map(String)).toEqual(['Error: fail 1', 'Error: fail 2']);
	});

	it('retries a failing source within two intervals by default, so a source back up shows so within two', async () => {
		const delays: number[] = [];
		let calls = 0;
		const poller = new Poller({
			intervalMs: 100,
			run: async () => {
				calls++;
				if (calls <= 5) throw new Error(`fail ${calls}`);
			},
			onError: () => undefined,
			setTimer: (_callback, ms) => {
				delays.push(ms);
				return 0;
			},
			clearTimer: () => undefined,
		});
		for (let run = 0; run < 6; run++) await poller.tick();
		expect(delays).toEqual([200, 200, 200, 200, 200, 100]);
	});

	it('gives up on a run that never settles: a failure, said as such, and the next run is scheduled', async () => {
		const errors: unknown[] = [];
		const delays: number[] = [];
		let oks = 0;
		let calls = 0;
		const poller = new Poller({
			intervalMs: 100,
			timeoutMs: 200,
			// The first run hangs like a request to a frozen server; the second answers.
			run: () => (++calls === 1 ? new Promise<void>(() => undefined) : Promise.resolve()),
			onError: (error) => errors.push(error),
			onOk: () => oks++,
			setTimer: (_callback, ms) => {
				delays.push(ms);
				return 0;
			},
			clearTimer: () => undefined,
		});
		await poller.tick();
		expect(errors.map(String)).toEqual(['PollTimeoutError: no answer within 0.2 s']);
		await poller.tick();
		expect(oks).toBe(1);
		expect(delays).toEqual([200, 100]);
	});

	it.each([
		[0, 2000, 2000],
		[1, 2000, 1999],
		[1999, 2000, 1],
		[2000, 2000, 2000],
		[1_764_000_000_500, 2000, 1500],
		[1_764_000_001_000, 1000, 1000],
	])('from %i the next multiple of %i is %i ms away', (now, interval, expected) => {
		expect(untilAligned(now, interval)).toBe(expected);
	});

	it('runs on multiples of the interval when aligned, and backs off unaligned after a failure', async () => {
		const delays: number[] = [];
		let now = 10_700;
		let calls = 0;
		const poller = new Poller({
			intervalMs: 2000,
			alignTo: () => now,
			run: async () => {
				calls++;
				now += 150; // The run itself takes time.
				if (calls === 2) throw new Error('down');
			},
			onError: () => undefined,
			setTimer: (_callback, ms) => {
				delays.push(ms);
				return 0;
			},
			clearTimer: () => undefined,
		});
		await poller.tick(); // Ends at 10,850: the next run at 12,000.
		now = 12_000;
		await poller.tick(); // Fails: backs off 4 s.
		now = 16_150;
		await poller.tick(); // Ends at 16,300: aligned again, at 18,000.
		expect(delays).toEqual([1150, 4000, 1700]);
	});
});

describe('prediction drift', () => {
	it('flags the canary when its outputs drift from stable’s, and not when they match', () => {
		const models = fixtureModels();
		const base = {models, samples: {}, history: {}, thresholds: {}, detectors: [], judgeWindowSeconds: 600, previous: {}, now: 1};
		const stable = Array.from({length: 400}, (_, index) => (index % 10 < 8 ? 'legit' : 'fraud'));
		const same = Array.from({length: 400}, (_, index) => (index % 10 < 8 ? 'legit' : 'fraud'));
		const drifted = Array.from({length: 400}, (_, index) => (index % 10 < 4 ? 'legit' : 'fraud'));
		const calm = analyse({...base, outputs: {'prod/fraud-detector/v12': stable, 'prod/fraud-detector/v13': same}});
		expect(calm.flags['prod/fraud-detector/v13']!.some((flag) => flag.kind === 'drift')).toBe(false);
		const result = analyse({...base, outputs: {'prod/fraud-detector/v12': stable, 'prod/fraud-detector/v13': drifted}});
		const drift = result.flags['prod/fraud-detector/v13']!.find((flag) => flag.kind === 'drift');
		expect(drift?.severity).toBe('critical');
		expect(drift?.message).toMatch(/PSI/);
	});
});
