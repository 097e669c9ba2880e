import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {
	advanceDelivery,
	decodeDeliveryState,
	deliveryPlanLines,
	deliverySpecProblems,
	deliverySummary,
	encodeDeliveryState,
	isDeliveryActive,
	parseSteps,
	resumeDeliveryEffects,
	startDelivery,
	terminalDeliveryPhases,
	type DeliveryEffect,
	type DeliveryInput,
	type DeliverySpec,
	type DeliveryState,
} from '../../../source/domain/delivery.ts';

const spec: DeliverySpec = {
	model: {namespace: 'ml', name: 'fraud'},
	image: 'registry/fraud:v13',
	version: 'v13',
	steps: [5, 25, 50, 100],
	pauseSeconds: 60,
	readyTimeoutSeconds: 300,
	maxHolds: 1,
	requestedBy: 'alice',
};

/** Feeds inputs one after the other, collecting the effects. */
function run(state: DeliveryState, inputs: DeliveryInput[], start = 1000): {state: DeliveryState; effects: DeliveryEffect[]} {
	let now = start;
	const effects: DeliveryEffect[] = [];
	for (const input of inputs) {
		now += 1000;
		const step = advanceDelivery(state, input, now);
		state = step.state;
		effects.push(...step.effects);
	}

	return {state, effects};
}

const started = startDelivery(spec, 'v12', 'weights', 0);

/** Inputs that take a fresh weights delivery to its first step. */
const toFirstStep: DeliveryInput[] = [
	{kind: 'done', effect: 'create'},
	{kind: 'ready', ready: true, detail: '1/1'},
	{kind: 'smoked', ok: true, message: '4/4 checks'},
	{kind: 'done', effect: 'set-weight'},
];

describe('advanceDelivery, the happy path', () => {
	it('creates, waits until ready, smoke-tests, steps through every weight judged pass and promotes', () => {
		expect(started.effects).toEqual([{kind: 'create'}]);
		let {state, effects} = run(started.state, toFirstStep);
		expect(effects.map((effect) => effect.kind)).toEqual(['check-ready', 'smoke', 'set-weight']);
		expect(state).toMatchObject({phase: 'stepping', weight: 5, stepIndex: 0});
		const weights: number[] = [state.weight];
		let now = 1_000_000;
		for (;;) {
			now += 61_000;
			const tick = advanceDelivery(state, {kind: 'tick'}, now);
			expect(tick.effects).toEqual([{kind: 'judge'}]);
			const judged = advanceDelivery(tick.state, {kind: 'judged', result: 'pass', summary: 'no difference'}, now);
			state = judged.state;
			if (state.phase === 'promoting') {
				expect(judged.effects).toEqual([{kind: 'promote'}]);
				break;
			}

			expect(judged.effects).toEqual([{kind: 'set-weight', weight: spec.steps[state.stepIndex]}]);
			state = advanceDelivery(state, {kind: 'done', effect: 'set-weight'}, now).state;
			weights.push(state.weight);
		}

		// The step of 100% is the promotion itself: judged at 50%, then promoted (no judgement with no stable traffic).
		expect(weights).toEqual([5, 25, 50]);
		({state, effects} = run(state, [{kind: 'done', effect: 'promote'}]));
		expect(state.phase).toBe('promoted');
		expect(state.weight).toBe(100);
		expect(isDeliveryActive(state)).toBe(false);
	});

	it('promotes after the step before 100% when the last step is 100, and after the last step otherwise', () => {
		for (const [steps, judgedAt] of [
			[[10, 100], [10]],
			[
				[10, 60],
				[10, 60],
			],
			[[30], [30]],
		] as const) {
			let {state} = startDelivery({...spec, steps: [...steps]}, 'v12', 'weights', 0);
			state = run(state, toFirstStep).state;
			const judged: number[] = [];
			let now = 1_000_000;
			while (state.phase === 'stepping') {
				now += 61_000;
				judged.push(state.weight);
				const tick = advanceDelivery(state, {kind: 'tick'}, now);
				const next = advanceDelivery(tick.state, {kind: 'judged', result: 'pass', summary: 'ok'}, now);
				state = next.state;
				if (state.phase === 'stepping') state = advanceDelivery(state, {kind: 'done', effect: 'set-weight'}, now).state;
			}

			expect(state.phase).toBe('promoting');
			expect(judged).toEqual([...judgedAt]);
		}
	});

	it('a single step of 100% promotes once the smoke test passes', () => {
		const {state: started100} = startDelivery({...spec, steps: [100]}, 'v12', 'weights', 0);
		const {state, effects} = run(started100, toFirstStep);
		expect(state.phase).toBe('promoting');
		expect(effects.at(-1)).toEqual({kind: 'promote'});
	});

	it('does not judge before the pause is over', () => {
		const {state} = run(started.state, toFirstStep);
		expect(advanceDelivery(state, {kind: 'tick'}, state.nextAt! - 1).effects).toEqual([]);
		expect(advanceDelivery(state, {kind: 'tick'}, state.nextAt!).effects).toEqual([{kind: 'judge'}]);
	});
});

describe('advanceDelivery, rolling back', () => {
	it('rolls back on a failing judgement and says why', () => {
		const {state} = run(started.state, [
			...toFirstStep,
			{kind: 'judged', result: 'fail', summary: 'p99 620 ms above 300 ms'},
			{kind: 'done', effect: 'rollback'},
		]);
		expect(state.phase).toBe('rolled-back');
		expect(state.weight).toBe(0);
		expect(state.reason).toContain('p99 620 ms above 300 ms');
	});

	it('holds on an unclear judgement, at most maxHolds times, then rolls back', () => {
		const unclear: DeliveryInput = {kind: 'judged', result: 'insufficient-data', summary: 'too few requests'};
		const held = run(started.state, [...toFirstStep, unclear]);
		expect(held.state.phase).toBe('stepping');
		expect(held.state.holds).toBe(1);
		expect(held.effects.at(-1)).toEqual({kind: 'set-weight', weight: 5});
		const after = run(held.state, [unclear]);
		expect(after.state.phase).toBe('rolling-back');
		expect(after.effects).toEqual([{kind: 'rollback'}]);
		expect(after.state.reason).toContain('no clear judgement');
	});

	it('rolls back when the new version is not ready by the deadline', () => {
		const created = run(started.state, [{kind: 'done', effect: 'create'}]).state;
		const late = advanceDelivery(created, {kind: 'ready', ready: false, detail: '0/1 available'}, created.nextAt!);
		expect(late.state.phase).toBe('rolling-back');
		expect(late.state.reason).toContain('not ready after 300s: 0/1 available');
	});

	it('rolls back at once, not at the deadline, when the port says the new version never will be ready', () => {
		const created = run(started.state, [{kind: 'done', effect: 'create'}]).state;
		const waiting = advanceDelivery(
			created,
			{kind: 'ready', ready: false, detail: 'revision 00003 not created yet'},
			created.updatedAt + 1,
		);
		expect(waiting.state.phase).toBe('waiting-ready');
		const fatal = advanceDelivery(
			created,
			{kind: 'ready', ready: false, fatal: true, detail: 'KServe created 00004'},
			created.updatedAt + 1,
		);
		expect(fatal.state.phase).toBe('rolling-back');
		expect(fatal.effects).toEqual([{kind: 'rollback'}]);
		expect(fatal.state.reason).toBe(`${created.spec.version} will not become ready: KServe created 00004`);
	});

	it('rolls back when the smoke test fails', () => {
		const {state} = run(started.state, [
			{kind: 'done', effect: 'create'},
			{kind: 'ready', ready: true, detail: ''},
			{kind: 'smoked', ok: false, message: 'model not ready'},
		]);
		expect(state.phase).toBe('rolling-back');
		expect(state.reason).toBe('smoke test failed: model not ready');
	});

	it('stops as failed, for a person, when the rollback itself fails', () => {
		const {state} = run(started.state, [
			...toFirstStep,
			{kind: 'judged', result: 'fail', summary: 'errors'},
			{kind: 'error', effect: 'rollback', message: 'forbidden'},
		]);
		expect(state.phase).toBe('failed');
		expect(state.reason).toContain('fix it by hand');
	});
});

describe('advanceDelivery, commands', () => {
	it('pauses with the time left and resumes with it', () => {
		const stepping = run(started.state, toFirstStep).state;
		const pausedAt = stepping.nextAt! - 20_000;
		const paused = advanceDelivery(stepping, {kind: 'command', command: 'pause', by: 'bob'}, pausedAt).state;
		expect(paused.paused).toBe(true);
		expect(advanceDelivery(paused, {kind: 'tick'}, pausedAt + 1_000_000).effects).toEqual([]);
		const resumed = advanceDelivery(paused, {kind: 'command', command: 'resume', by: 'bob'}, pausedAt + 1_000_000).state;
		expect(resumed.nextAt).toBe(pausedAt + 1_000_000 + 20_000);
		expect(deliverySummary(paused, pausedAt)).toContain('paused');
	});

	it('aborts through a rollback, ending aborted', () => {
		const stepping = run(started.state, toFirstStep).state;
		const {state, effects} = run(stepping, [
			{kind: 'command', command: 'abort', by: 'bob'},
			// A judgement that was in flight fails after the abort: it must not turn the abort into a plain rollback.
			{kind: 'error', effect: 'judge', message: 'prometheus down'},
			{kind: 'done', effect: 'rollback'},
		]);
		expect(effects).toEqual([{kind: 'rollback'}]);
		expect(state.phase).toBe('aborted');
		expect(state.reason).toBe('aborted by bob');
	});

	it('aborts an owner delivery through the owner', () => {
		const owner = startDelivery(spec, 'v12', 'owner', 0);
		expect(owner.effects).toEqual([{kind: 'set-owner-image'}]);
		const {state, effects} = run(owner.state, [
			{kind: 'done', effect: 'set-owner-image'},
			{kind: 'command', command: 'abort', by: 'bob'},
			{kind: 'done', effect: 'owner-abort'},
		]);
		expect(effects).toEqual([{kind: 'observe-owner'}, {kind: 'owner-abort'}]);
		expect(state.phase).toBe('aborted');
	});
});

describe('owner mode', () => {
	it('follows the controller to its outcome', () => {
		const following = run(startDelivery(spec, 'v12', 'owner', 0).state, [{kind: 'done', effect: 'set-owner-image'}]).state;
		const progressed = run(following, [{kind: 'owner', progress: 'step 2/4', weight: 25}]).state;
		expect(progressed).toMatchObject({phase: 'following', ownerProgress: 'step 2/4', weight: 25});
		const done = run(progressed, [{kind: 'owner', progress: 'Healthy', weight: 100, outcome: 'promoted'}]).state;
		expect(done.phase).toBe('promoted');
		const failed = run(progressed, [
			{kind: 'owner', progress: 'Degraded', weight: 0, outcome: 'rolled-back', message: 'analysis failed'},
		]).state;
		expect(failed).toMatchObject({phase: 'rolled-back', reason: 'analysis failed'});
	});
});

describe('resumeDeliveryEffects', () => {
	it('repeats the effect each phase waits on', () => {
		expect(resumeDeliveryEffects(started.state)).toEqual([{kind: 'create'}]);
		const stepping = run(started.state, toFirstStep.slice(0, 3)).state;
		expect(resumeDeliveryEffects(stepping)).toEqual([{kind: 'set-weight', weight: 5}]);
		const waiting = run(started.state, toFirstStep).state;
		expect(resumeDeliveryEffects(waiting)).toEqual([]);
		const judging = advanceDelivery(waiting, {kind: 'tick'}, waiting.nextAt!).state;
		expect(resumeDeliveryEffects(judging)).toEqual([{kind: 'judge'}]);
		const rolling = run(waiting, [{kind: 'judged', result: 'fail', summary: 'x'}]).state;
		expect(resumeDeliveryEffects(rolling)).toEqual([{kind: 'rollback'}]);
	});
});

describe('deliverySpecProblems and parseSteps', () => {
	it('accepts a good spec and says how to fix each bad field', () => {
		expect(deliverySpecProblems(spec)).toEqual([]);
		const problems = deliverySpecProblems({...spec, image: ' ', version: 'V 13', steps: [50, 25, 101], pauseSeconds: -1, maxHolds: 0.5});
		expect(problems.join('\n')).toMatch(/--image/);
		expect(problems.join('\n')).toMatch(/lower-case/);
		expect(problems.join('\n')).toMatch(/must go up/);
		expect(problems.join('\n')).toMatch(/1 to 100/);
		expect(problems.join('\n')).toMatch(/pause/);
		expect(problems.join('\n')).toMatch(/max holds/);
	});

	it('parses comma-separated weights and refuses anything else with an example', () => {
		expect(parseSteps('5, 25,50,100')).toEqual([5, 25, 50, 100]);
		expect(() => parseSteps('5,x')).toThrow(/e\.g\. 5,25,50,100/);
		fc.assert(
			fc.property(fc.string(), (text) => {
				try {
					const steps = parseSteps(text);
					expect(steps.every((step) => Number.isInteger(step) && step >= 0 && step <= 999)).toBe(true);
				} catch (error) {
					expect((error as Error).message).toMatch(/comma-separated/);
				}
			}),
		);
	});

	it('shows a plan as lines naming every write', () => {
		const lines = deliveryPlanLines({
			spec,
			mode: 'weights',
			stable: 'v12',
			writes: [{object: 'Deployment/fraud-v13', change: 'created'}],
		});
		expect(lines[0]).toBe('new version v13 (registry/fraud:v13) beside stable v12');
		expect(lines).toContain('writes Deployment/fraud-v13: created');
	});
});

const specArbitrary: fc.Arbitrary<DeliverySpec> = fc
	.record({
		steps: fc.uniqueArray(fc.integer({min: 1, max: 100}), {minLength: 1, maxLength: 5}).map((steps) => steps.sort((a, b) => a - b)),
		pauseSeconds: fc.integer({min: 0, max: 120}),
		readyTimeoutSeconds: fc.integer({min: 1, max: 120}),
		maxHolds: fc.integer({min: 0, max: 3}),
	})
	.map((fields) => ({...spec, ...fields}));

const effectKinds: Array<DeliveryEffect['kind']> = [
	'create',
	'set-owner-image',
	'check-ready',
	'smoke',
	'set-weight',
	'judge',
	'observe-owner',
	'owner-abort',
	'promote',
	'rollback',
];

const inputArbitrary: fc.Arbitrary<DeliveryInput> = fc.oneof(
	fc.constant<DeliveryInput>({kind: 'tick'}),
	fc.constantFrom(...effectKinds).map((effect): DeliveryInput => ({kind: 'done', effect})),
	fc.constantFrom(...effectKinds).map((effect): DeliveryInput => ({kind: 'error', effect, message: 'boom'})),
	fc.boolean().map((ready): DeliveryInput => ({kind: 'ready', ready, detail: 'd'})),
	fc.boolean().map((ok): DeliveryInput => ({kind: 'smoked', ok, message: 'm'})),
	fc
		.constantFrom('pass', 'marginal', 'fail', 'insufficient-data' as const)
		.map((result): DeliveryInput => ({kind: 'judged', result, summary: 's'})),
	fc
		.record({weight: fc.integer({min: 0, max: 100}), outcome: fc.constantFrom(undefined, 'promoted', 'rolled-back' as const)})
		.map(({weight, outcome}): DeliveryInput => ({kind: 'owner', progress: 'p', weight, ...(outcome ? {outcome} : {})})),
	fc.constantFrom('pause', 'resume', 'abort' as const).map((command): DeliveryInput => ({kind: 'command', command, by: 'someone'})),
);

const runArbitrary = fc.record({
	spec: specArbitrary,
	mode: fc.constantFrom('weights', 'owner' as const),
	inputs: fc.array(fc.tuple(inputArbitrary, fc.integer({min: 0, max: 200_000})), {maxLength: 60}),
});

describe('advanceDelivery, for any sequence of inputs', () => {
	it('keeps its invariants', () => {
		fc.assert(
			fc.property(runArbitrary, ({spec: deliverySpec, mode, inputs}) => {
				let {state} = startDelivery(deliverySpec, 'v12', mode, 0);
				let now = 0;
				let aborted = false;
				let failedJudgement = false;
				for (const [input, elapsed] of inputs) {
					now += elapsed;
					const before = state;
					const step = advanceDelivery(state, input, now);
					state = step.state;
					// Terminal phases stay terminal, unchanged.
					if (terminalDeliveryPhases.has(before.phase)) expect(state).toBe(before);
					// In weights mode the new version's weight is only ever 0, a step, or 100.
					if (mode === 'weights') expect([0, 100, ...deliverySpec.steps]).toContain(state.weight);
					for (const effect of step.effects) {
						if (effect.kind === 'set-weight') expect(deliverySpec.steps).toContain(effect.weight);
						if (failedJudgement || aborted) expect(effect.kind).not.toBe('promote');
					}

					if (before.phase !== 'rolling-back' && state.phase === 'rolling-back' && state.reason?.startsWith('aborted')) aborted = true;
					if (input.kind === 'judged' && input.result === 'fail' && before.phase === 'stepping' && state !== before) failedJudgement = true;
					if (failedJudgement) expect(state.phase).not.toBe('promoted');
					if (aborted) expect(['rolling-back', 'aborted', 'failed']).toContain(state.phase);
					expect(state.events.length).toBeLessThanOrEqual(20);
					expect(decodeDeliveryState(encodeDeliveryState(state))).toEqual({state});
				}
			}),
			{numRuns: 500},
		);
	});

	it('an abort always ends in aborted (or failed) once its rollback is done or fails', () => {
		fc.assert(
			fc.property(runArbitrary, fc.boolean(), ({spec: deliverySpec, mode, inputs}, rollbackWorks) => {
				let {state} = startDelivery(deliverySpec, 'v12', mode, 0);
				let now = 0;
				for (const [input] of inputs) state = advanceDelivery(state, input, (now += 1000)).state;
				if (!isDeliveryActive(state) || state.phase === 'promoting' || state.phase === 'rolling-back') return;
				const aborting = advanceDelivery(state, {kind: 'command', command: 'abort', by: 'bob'}, (now += 1000));
				expect(aborting.effects).toHaveLength(1);
				const effect = aborting.effects[0]!.kind;
				const end = advanceDelivery(
					aborting.state,
					rollbackWorks ? {kind: 'done', effect} : {kind: 'error', effect, message: 'forbidden'},
					(now += 1000),
				).state;
				expect(end.phase).toBe(rollbackWorks ? 'aborted' : 'failed');
			}),
			{numRuns: 300},
		);
	});
});

describe('decodeDeliveryState', () => {
	it('never throws, whatever the annotation holds, and says how to fix a bad one', () => {
		fc.assert(
			fc.property(
				fc.oneof(
					fc.string(),
					fc.json(),
					fc.jsonValue().map((value) => JSON.stringify(value)),
				),
				(text) => {
					const decoded = decodeDeliveryState(text);
					if ('error' in decoded) expect(decoded.error).toMatch(/remove the annotation or start the rollout again/);
				},
			),
			{numRuns: 1000},
		);
	});

	it('refuses a state whose fields are mangled', () => {
		const good = JSON.parse(encodeDeliveryState(started.state)) as Record<string, unknown>;
		fc.assert(
			fc.property(
				fc.constantFrom('id', 'phase', 'mode', 'stable', 'weight', 'events', 'spec', 'paused'),
				fc.constantFrom(null, {}, [{}]),
				(field, value) => {
					expect('error' in decodeDeliveryState(JSON.stringify({...good, [field]: value}))).toBe(true);
				},
			),
		);
		expect(decodeDeliveryState('{"id":1')).toMatchObject({error: expect.stringMatching(/not JSON/)});
	});
});
