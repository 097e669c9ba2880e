/**
 * Rollouts of a new version from the console: `d` asks image, version, steps and pause and checks them as typed; the
 * plan from the cluster source is confirmed like every change and the `deliver` action goes to the agent; the model
 * view shows the rollout's progress and the fleet row its marker; P pauses and resumes, X aborts, with their
 * refusals.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {startDelivery, type DeliveryPlan, type DeliverySpec, type DeliveryState} from '../../source/domain/delivery.ts';
import type {Model} from '../../source/domain/types.ts';
import {fixtureModels, NOW} from '../support/fake-sources.ts';
import {renderConsole, settle} from '../support/render-console.tsx';

type Rendered = Awaited<ReturnType<typeof renderConsole>>;
let current: Rendered | undefined;
afterEach(() => {
	current?.cleanup();
	current = undefined;
});

async function open(options: Parameters<typeof renderConsole>[0] = {}): Promise<Rendered> {
	current = await renderConsole({agent: true, width: 120, height: 34, ...options});
	return current;
}

function plannedBy(ui: Rendered, asked: DeliverySpec[] = []): DeliverySpec[] {
	ui.sources.cluster.planDelivery = async (spec: DeliverySpec): Promise<DeliveryPlan> => {
		asked.push(spec);
		return {
			spec,
			mode: 'weights',
			stable: 'v12',
			writes: [
				{object: `Deployment/fraud-detector-${spec.version}`, change: `created from fraud-detector-v12 with image ${spec.image}`},
				{object: 'HTTPRoute/fraud-detector', change: `backend fraud-detector-${spec.version} added at 0%`},
			],
		};
	};
	return asked;
}

/** A rollout in the middle of its second step: v14 at 25%, judged pass at 5% a minute ago. */
function stepping(now: number, patch: Partial<DeliveryState> = {}): DeliveryState {
	const spec: DeliverySpec = {
		model: {namespace: 'prod', name: 'fraud-detector'},
		image: 'registry.local/fraud:v14',
		version: 'v14',
		steps: [5, 25, 50, 100],
		pauseSeconds: 120,
		readyTimeoutSeconds: 300,
		maxHolds: 2,
		requestedBy: 'alice@prod-cluster',
	};
	const {state} = startDelivery(spec, 'v12', 'weights', now - 200_000);
	return {
		...state,
		phase: 'stepping',
		stepIndex: 1,
		weight: 25,
		nextAt: now + 100_000,
		judgement: {result: 'pass', summary: 'p99 41 ms vs 40 ms, errors 0.1% vs 0.1%: no worse', at: now - 20_000},
		events: [
			...state.events,
			{at: now - 60_000, message: 'v14 at 5%; judging in 120s'},
			{at: now - 20_000, message: 'judged pass at 5%: next step 25%'},
		],
		...patch,
	};
}

/** The fixture fleet with fraud-detector's canary replaced by v14 under a rollout. */
function withDelivery(delivery: DeliveryState): Model[] {
	return fixtureModels().map((model) =>
		model.name === 'fraud-detector'
			? {
					...model,
					delivery,
					versions: model.versions.map((version) =>
						version.track === 'canary'
							? {...version, name: 'v14', weight: delivery.weight, image: delivery.spec.image}
							: {...version, weight: 100 - delivery.weight},
					),
				}
			: model,
	);
}

function show(ui: Rendered, models: Model[]): void {
	ui.sources.cluster.models = models;
	for (const listener of ui.sources.cluster.listeners) listener(models);
}

describe('d: roll out a new version', () => {
	it('asks image, version (the tag), steps and pause, confirms the plan and sends deliver to the agent', async () => {
		const ui = await open();
		const asked = plannedBy(ui);
		await ui.waitFor('fraud-detector');
		await ui.press('d');
		expect(ui.frame()).toContain('Roll out a new version of fraud-detector');
		expect(ui.frame()).toContain('5,25,50,100');
		expect(ui.frame()).toContain('2m');
		await ui.type('registry.local/fraud:v14');
		expect(ui.frame()).toMatch(/version\s+v14/);
		await ui.press('tab', 'tab');
		await ui.press('backspace', 'backspace', 'backspace');
		await ui.type('10,5');
		expect(ui.frame()).toContain('steps must go up: 10 then 5');
		await ui.press('enter');
		await settle(30);
		expect(asked).toEqual([]);
		expect(ui.controller.state.overlay?.kind).toBe('deliver');
		await ui.press('backspace', 'backspace', 'backspace', 'backspace');
		await ui.type('100');
		expect(ui.controller.state.overlay).toMatchObject({kind: 'deliver', problems: []});
		await ui.press('tab', 'backspace', 'backspace');
		await ui.type('30s');
		await ui.press('enter');
		await ui.waitFor('Roll out fraud-detector v14');
		expect(asked).toHaveLength(1);
		expect(asked[0]).toMatchObject({image: 'registry.local/fraud:v14', version: 'v14', steps: [5, 25, 50, 100], pauseSeconds: 30});
		expect(asked[0]!.requestedBy).toBe('alice@prod-cluster');
		const frame = ui.frame();
		expect(frame).toContain('new version v14 (registry.local/fraud:v14) beside stable v12');
		expect(frame).toContain('steps 5% → 25% → 50% → 100%, 30s each');
		expect(frame).toContain('writes Deployment/fraud-detector-v14: created from fraud-detector-v12');
		expect(frame).toContain('writes HTTPRoute/fraud-detector: backend fraud-detector-v14 added at 0%');
		expect(frame).toContain('runs in the agent');
		await ui.press('y');
		await settle(60);
		expect(ui.sources.agent!.actions).toEqual([{kind: 'deliver', model: {namespace: 'prod', name: 'fraud-detector'}, spec: asked[0]}]);
		await ui.waitFor('rollout of fraud-detector v14 started beside v12: first step 5%, 2 objects written');
	});

	it('keeps the dialog open with the refusal when the plan is refused, and with a typed version that exists', async () => {
		const ui = await open();
		ui.sources.cluster.planDelivery = async () => {
			throw new Error('fraud-detector has no stable Deployment to copy');
		};
		await ui.waitFor('fraud-detector');
		await ui.press('d');
		await ui.type('registry.local/fraud:v13');
		expect(ui.frame()).toContain('fraud-detector already has a version v13: give the new one another name');
		await ui.press('tab', 'backspace');
		await ui.type('5');
		expect(ui.frame()).not.toContain('already has a version');
		await ui.press('enter');
		await ui.waitFor('refused: fraud-detector has no stable Deployment to copy');
		expect(ui.controller.state.overlay?.kind).toBe('deliver');
		expect(ui.sources.agent!.actions).toEqual([]);
	});

	it('says the image is needed only once enter is pressed on an empty one', async () => {
		const ui = await open();
		plannedBy(ui);
		await ui.waitFor('fraud-detector');
		await ui.press('d');
		expect(ui.frame()).not.toContain('the image is empty');
		await ui.press('enter');
		await ui.waitFor("the image is empty: give the new version's image");
	});

	it('without an agent: says a rollout runs in the agent and gives the command line instead', async () => {
		const ui = await open({agent: false, width: 220});
		plannedBy(ui);
		await ui.waitFor('fraud-detector');
		await ui.press('d');
		await ui.waitFor('modeldeck rollout prod/fraud-detector --image IMAGE');
		expect(ui.frame()).toContain('survives the console closing');
		expect(ui.controller.state.overlay).toBeUndefined();
	});

	it('in read-only mode: says so', async () => {
		const ui = await open({readOnly: true});
		plannedBy(ui);
		await ui.waitFor('fraud-detector');
		await ui.press('d');
		await ui.waitFor(/read-only \([^)]*\): roll out a new version/i);
		expect(ui.controller.state.overlay).toBeUndefined();
	});

	it('on a source that cannot plan a rollout: says so and opens nothing', async () => {
		const ui = await open();
		await ui.waitFor('fraud-detector');
		await ui.press('d');
		await ui.waitFor('cannot plan a rollout');
		expect(ui.controller.state.overlay).toBeUndefined();
	});

	it('on a model with a rollout going on: says to pause or abort it first', async () => {
		const ui = await open();
		plannedBy(ui);
		await ui.waitFor('fraud-detector');
		show(ui, withDelivery(stepping(Date.now())));
		await settle();
		await ui.press('d');
		await ui.waitFor('fraud-detector has a rollout running (v14, stepping): pause (P) or abort (X) it first');
		expect(ui.controller.state.overlay).toBeUndefined();
	});
});

describe('a rollout going on', () => {
	it('shows its marker on the new version’s fleet row', async () => {
		const ui = await open();
		await ui.waitFor('fraud-detector');
		show(ui, withDelivery(stepping(Date.now())));
		const frame = await ui.waitFor('↗ 25% 2/4');
		const row = frame.split('\n').find((line) => line.includes('↗ 25% 2/4'))!;
		expect(row).toContain('v14');
		show(ui, withDelivery(stepping(Date.now(), {paused: true, nextAt: undefined, remainingMs: 30_000})));
		await ui.waitFor('‖ 25% 2/4');
	});

	it('shows phase, step, weight, countdown, the judgement with its time, who started it and the newest events', async () => {
		const ui = await open();
		await ui.waitFor('fraud-detector');
		const now = Date.now();
		const delivery = stepping(now);
		show(ui, withDelivery(delivery));
		await ui.press('enter');
		const frame = await ui.waitFor('rollout v14 over v12: step 2/4 · 25% · judging in 1m');
		const clock = (at: number) => new Date(at).toISOString().slice(11, 19);
		expect(frame).toContain('rollout judged v14 vs v12 pass at ');
		expect(frame).toContain('p99 41 ms vs 40 ms, errors 0.1% vs 0.1%: no worse');
		expect(frame).toContain('started by alice@prod-cluster');
		expect(frame).toContain('judged pass at 5%: next step 25%');
		expect(frame).toMatch(/P pause\/resume X abort rollout/);
		// The judgement's time is the one the rollout holds (read against the verdict's).
		const shown = /rollout judged v14 vs v12 pass at (\d\d:\d\d:\d\d)/.exec(frame)?.[1];
		expect(shown).toBeDefined();
		expect([clock(delivery.judgement!.at), new Date(delivery.judgement!.at).toTimeString().slice(0, 8)]).toContain(shown);
	});

	it('shows a rollout that ended, with why', async () => {
		const ui = await open();
		await ui.waitFor('fraud-detector');
		show(
			ui,
			withDelivery(
				stepping(Date.now(), {phase: 'rolled-back', weight: 0, reason: 'judged fail at 25%: p99 310 ms vs 40 ms', nextAt: undefined}),
			),
		);
		await ui.press('enter');
		await ui.waitFor('last rollout v14 over v12: rolled back: judged fail at 25%: p99 310 ms vs 40 ms');
		expect(ui.frame()).not.toContain('X abort rollout');
	});

	it('P pauses at once, P again asks to resume, X asks to abort with what it does; each goes to the agent', async () => {
		const ui = await open();
		await ui.waitFor('fraud-detector');
		show(ui, withDelivery(stepping(Date.now())));
		await settle();
		await ui.press('P');
		await settle(50);
		const ref = {namespace: 'prod', name: 'fraud-detector'};
		expect(ui.sources.agent!.actions).toEqual([{kind: 'delivery', model: ref, command: 'pause'}]);
		show(ui, withDelivery(stepping(Date.now(), {paused: true, nextAt: undefined, remainingMs: 95_000})));
		await settle();
		await ui.press('P');
		await ui.waitFor('Resume the rollout of fraud-detector');
		expect(ui.frame()).toContain('the next judgement in 1m35s');
		await ui.press('y');
		await settle(50);
		expect(ui.sources.agent!.actions.at(-1)).toEqual({kind: 'delivery', model: ref, command: 'resume'});
		await ui.press('X');
		await ui.waitFor('Abort the rollout of fraud-detector');
		expect(ui.frame()).toContain('rolls it back: all traffic to v12, v14 given 0%');
		await ui.press('n');
		await settle(30);
		expect(ui.sources.agent!.actions).toHaveLength(2);
		await ui.press('X', 'y');
		await settle(50);
		expect(ui.sources.agent!.actions.at(-1)).toEqual({kind: 'delivery', model: ref, command: 'abort'});
	});

	it('refuses X and P without a rollout, after it ended, and in read-only mode', async () => {
		const ui = await open();
		await ui.waitFor('fraud-detector');
		await ui.press('X');
		await ui.waitFor('fraud-detector has no rollout to abort: start one with d');
		show(ui, withDelivery(stepping(Date.now(), {phase: 'promoted', weight: 100, nextAt: undefined})));
		await settle();
		await ui.press('P');
		await ui.waitFor('has ended (promoted): nothing to pause');
		expect(ui.sources.agent!.actions).toEqual([]);
		current?.cleanup();
		const readOnly = await open({readOnly: true});
		await readOnly.waitFor('fraud-detector');
		show(readOnly, withDelivery(stepping(Date.now())));
		await settle();
		await readOnly.press('X');
		await readOnly.waitFor(/read-only \([^)]*\): abort the model's rollout/i);
		expect(readOnly.controller.state.overlay).toBeUndefined();
		expect(readOnly.sources.agent!.actions).toEqual([]);
	});
});

// The fixtures' clock, kept for a reader comparing frames with other tests.
void NOW;
