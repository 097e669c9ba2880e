/**
 * A progressive delivery of a new version (`modeldeck rollout MODEL --image …`, the console's `d`): the new version is
 * created from the stable one's template with the new image, checked ready, smoke-tested, then given more traffic
 * step by step, judged canary vs stable before each step; a failing judgement rolls it back and says why, and the last
 * step promotes it. (Argo Rollouts' and Flagger's canaries are `Model.rollout`, driven through their controllers; a
 * delivery to a model a controller owns changes the owner's image and follows the controller instead: mode `owner`.)
 *
 * Pure: `advanceDelivery` takes the state and what just happened and returns the next state and what to do next
 * (effects). The runner (the agent, or the CLI in the foreground) carries the effects out through a `DeliveryPort` and
 * feeds their outcome back. The state is small and JSON, kept with the model (an annotation, `deliveryAnnotation`)
 * after every transition, so a runner that restarts picks the delivery up where it was.
 */
import type {VerdictResult} from './analysis.ts';
import type {ModelRef} from './types.ts';

/** The annotation on the object that defines the model (its router) that carries the delivery's state as JSON. */
export const deliveryAnnotation = 'modeldeck.dev/delivery';

export type DeliveryPhase =
	| 'starting'
	| 'waiting-ready'
	| 'smoke-testing'
	| 'stepping'
	| 'following'
	| 'promoting'
	| 'rolling-back'
	| 'promoted'
	| 'rolled-back'
	| 'aborted'
	| 'failed';

export const terminalDeliveryPhases: ReadonlySet<DeliveryPhase> = new Set(['promoted', 'rolled-back', 'aborted', 'failed']);

export type DeliveryCommand = 'pause' | 'resume' | 'abort';

export const deliveryCommands: readonly DeliveryCommand[] = ['pause', 'resume', 'abort'];

/** What the operator (or a pipeline, or the registry watcher) asked for. */
export interface DeliverySpec {
	model: ModelRef;
	/** The new version's container image. */
	image: string;
	/** The new version's name (its `app.kubernetes.io/version`). */
	version: string;
	/**
	 * Weights of the new version, strictly increasing whole numbers 1–100; after the last one judged good, promote. A
	 * last step of 100 is the promotion itself (at 100% the stable has no traffic to judge the new version against).
	 */
	steps: number[];
	/** Time at each step before the judgement that decides the next, seconds. */
	pauseSeconds: number;
	/** How long the new version may take to become ready before the delivery rolls back, seconds. */
	readyTimeoutSeconds: number;
	/**
	 * A judgement that is neither pass nor fail (marginal, insufficient data): hold at the step for another pause, at
	 * most this many times in a row, then roll back (never promote blind).
	 */
	maxHolds: number;
	/** Who asked: `alice@prod`, `pipeline`, `registry champion → 14`. */
	requestedBy: string;
	/**
	 * Set by the plan where the model's controller names versions itself (KServe names them after the revision it
	 * creates, so `version` is that revision): the name the operator asked for, kept as the new pods' version label.
	 */
	versionLabel?: string;
}

export const defaultDeliverySteps: readonly number[] = [5, 25, 50, 100];

/** Defaults of the fields a caller may leave out (`modeldeck rollout`, the agent's `deliver` body). */
export const deliveryDefaults = {pauseSeconds: 120, readyTimeoutSeconds: 300, maxHolds: 2} as const;

export interface DeliveryEvent {
	/** Epoch ms. */
	at: number;
	message: string;
}

export interface DeliveryState {
	/** Unique id of this delivery (the model's key and the start time), for the audit trail and commands. */
	id: string;
	spec: DeliverySpec;
	/** `weights`: modeldeck steps the router's weights. `owner`: the model's controller does, modeldeck follows it. */
	mode: 'weights' | 'owner';
	phase: DeliveryPhase;
	/** The stable version when the delivery started (the one traffic returns to on rollback). */
	stable: string;
	/** Index into `spec.steps` of the weight the new version has now; -1 before the first step. */
	stepIndex: number;
	/** The new version's weight now, %. */
	weight: number;
	paused: boolean;
	/** Epoch ms of the next thing that happens by itself (a judgement, the ready deadline); absent when none. */
	nextAt?: number;
	/** While paused: how long was left until `nextAt`, ms. */
	remainingMs?: number;
	/** Judgements in a row that were neither pass nor fail, at this step. */
	holds: number;
	/** The last judgement. */
	judgement?: {result: VerdictResult; summary: string; at: number};
	/** Why it ended (rolled back, aborted, failed), or why it is holding. */
	reason?: string;
	/** The controller's own progress, in mode `owner`: `step 2/4`, `Progressing`. */
	ownerProgress?: string;
	startedAt: number;
	updatedAt: number;
	/** The newest events, oldest first (at most `maxDeliveryEvents`). */
	events: DeliveryEvent[];
}

export const maxDeliveryEvents = 20;

/** What the runner does next, through the DeliveryPort; its outcome comes back as a DeliveryInput. */
export type DeliveryEffect =
	/** Create the new version (workload from the stable's template with the new image, its Service, router backend at 0%). */
	| {kind: 'create'}
	/** Mode owner: change the image on the owning object (Rollout, Canary target, InferenceService). */
	| {kind: 'set-owner-image'}
	| {kind: 'check-ready'}
	| {kind: 'smoke'}
	| {kind: 'set-weight'; weight: number}
	/** Judge canary vs stable (the Mann–Whitney judge and the thresholds) over the last pause. */
	| {kind: 'judge'}
	/** Mode owner: read the controller's progress. */
	| {kind: 'observe-owner'}
	/** Mode owner: abort through the owner's API. */
	| {kind: 'owner-abort'}
	| {kind: 'promote'}
	| {kind: 'rollback'};

export type DeliveryInput =
	/** Time passed (the runner ticks every second or so). */
	| {kind: 'tick'}
	/** The effect was carried out. */
	| {kind: 'done'; effect: DeliveryEffect['kind']}
	/** The effect failed (after the runner's own retries); the message says why. */
	| {kind: 'error'; effect: DeliveryEffect['kind']; message: string}
	/** `fatal`: it will never be ready (the controller made something else): roll back now, not at the deadline. */
	| {kind: 'ready'; ready: boolean; detail: string; fatal?: boolean}
	| {kind: 'smoked'; ok: boolean; message: string}
	| {kind: 'judged'; result: VerdictResult; summary: string}
	/** Mode owner: the controller's progress; `outcome` once it finished. */
	| {kind: 'owner'; progress: string; weight: number; outcome?: 'promoted' | 'rolled-back'; message?: string}
	| {kind: 'command'; command: DeliveryCommand; by: string};

export interface DeliveryStep {
	state: DeliveryState;
	effects: DeliveryEffect[];
}

/** Checks a spec from outside (flags, dialog, HTTP); returns the problems, each saying how to fix it. */
export function deliverySpecProblems(spec: DeliverySpec): string[] {
	const problems: string[] = [];
	if (spec.image.trim() === '') problems.push("the image is empty: give the new version's image, e.g. --image registry/fraud:v13");
	if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.version) || spec.version.length > 63) {
		problems.push(`"${spec.version}" is not a version name: use lower-case letters, digits, "-" and ".", at most 63 characters (e.g. v13)`);
	}

	if (spec.steps.length === 0) problems.push('no steps: give weights such as 5,25,50,100');
	for (const [index, step] of spec.steps.entries()) {
		if (!Number.isInteger(step) || step < 1 || step > 100) {
			problems.push(`step ${index + 1} (${step}) is not a weight: use whole numbers from 1 to 100`);
		} else if (index > 0 && step <= spec.steps[index - 1]!) {
			problems.push(`steps must go up: ${spec.steps[index - 1]} then ${step}`);
		}
	}

	if (!Number.isFinite(spec.pauseSeconds) || spec.pauseSeconds < 0) problems.push('the pause must be 0 or more seconds (e.g. 2m)');
	if (!Number.isFinite(spec.readyTimeoutSeconds) || spec.readyTimeoutSeconds <= 0)
		problems.push('the ready timeout must be more than 0 seconds');
	if (!Number.isInteger(spec.maxHolds) || spec.maxHolds < 0) problems.push('max holds must be a whole number, 0 or more');
	return problems;
}

/** Parses `5,25,50,100`; throws an Error that says how to fix it. */
export function parseSteps(text: string): number[] {
	const parts = text.split(',').map((part) => part.trim());
	const steps = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN));
	const bad = parts.filter((_, index) => Number.isNaN(steps[index]));
	if (parts.length === 0 || bad.length > 0) {
		throw new Error(`"${text}" is not a list of weights: give whole numbers from 1 to 100, comma-separated, e.g. 5,25,50,100`);
	}

	return steps;
}

export function isDeliveryActive(state: DeliveryState | undefined): state is DeliveryState {
	return state !== undefined && !terminalDeliveryPhases.has(state.phase);
}

/** A new delivery's first state and effect. `stable` is the version serving now. */
export function startDelivery(spec: DeliverySpec, stable: string, mode: DeliveryState['mode'], now: number): DeliveryStep {
	const state: DeliveryState = {
		id: `${spec.model.namespace}/${spec.model.name}@${now}`,
		spec,
		mode,
		phase: 'starting',
		stable,
		stepIndex: -1,
		weight: 0,
		paused: false,
		holds: 0,
		startedAt: now,
		updatedAt: now,
		events: [],
	};
	const started = log(state, now, `started by ${spec.requestedBy}: ${spec.version} (${spec.image}), steps ${spec.steps.join(', ')}%`);
	return {state: started, effects: [mode === 'weights' ? {kind: 'create'} : {kind: 'set-owner-image'}]};
}

function log(state: DeliveryState, now: number, message: string): DeliveryState {
	const events = [...state.events, {at: now, message}].slice(-maxDeliveryEvents);
	return {...state, events, updatedAt: now};
}

function to(state: DeliveryState, phase: DeliveryPhase, now: number, message: string, patch: Partial<DeliveryState> = {}): DeliveryState {
	return log({...state, ...patch, phase}, now, message);
}

function rollBack(state: DeliveryState, now: number, reason: string): DeliveryStep {
	return {state: to(state, 'rolling-back', now, `rolling back: ${reason}`, {reason, nextAt: undefined}), effects: [{kind: 'rollback'}]};
}

const same = (state: DeliveryState): DeliveryStep => ({state, effects: []});

/** The next state and effects after INPUT at NOW. Inputs that do not fit the phase change nothing. */
export function advanceDelivery(state: DeliveryState, input: DeliveryInput, now: number): DeliveryStep {
	if (terminalDeliveryPhases.has(state.phase)) return same(state);
	if (input.kind === 'command') return command(state, input.command, input.by, now);
	if (input.kind === 'error') return failed(state, input.effect, input.message, now);
	const {spec} = state;
	switch (state.phase) {
		case 'starting': {
			if (input.kind !== 'done') return same(state);
			// Only the effect this mode starts with: a stray one must not put a weights delivery in owner's phases.
			if (input.effect === 'create' && state.mode === 'weights') {
				const deadline = now + spec.readyTimeoutSeconds * 1000;
				return {
					state: to(state, 'waiting-ready', now, `created ${spec.version}; waiting until it is ready`, {nextAt: deadline}),
					effects: [{kind: 'check-ready'}],
				};
			}

			if (input.effect === 'set-owner-image' && state.mode === 'owner') {
				return {state: to(state, 'following', now, `image set on the owner; following the controller`), effects: [{kind: 'observe-owner'}]};
			}

			return same(state);
		}

		case 'waiting-ready': {
			if (input.kind === 'ready' && input.ready)
				return {state: to(state, 'smoke-testing', now, `${spec.version} is ready`, {nextAt: undefined}), effects: [{kind: 'smoke'}]};
			if (input.kind === 'ready' && input.fatal === true)
				return rollBack(state, now, `${spec.version} will not become ready: ${input.detail}`);
			if (input.kind === 'ready' && state.nextAt !== undefined && now >= state.nextAt) {
				return rollBack(state, now, `${spec.version} not ready after ${spec.readyTimeoutSeconds}s: ${input.detail}`);
			}

			return input.kind === 'tick' && !state.paused ? {state, effects: [{kind: 'check-ready'}]} : same(state);
		}

		case 'smoke-testing': {
			if (input.kind !== 'smoked') return same(state);
			if (!input.ok) return rollBack(state, now, `smoke test failed: ${input.message}`);
			const weight = spec.steps[0]!;
			// All at once (steps 100): nothing to judge against, the smoke test was the check.
			if (weight === 100) {
				return {
					state: to(state, 'promoting', now, `smoke test passed: ${input.message}; promoting (one step of 100%)`),
					effects: [{kind: 'promote'}],
				};
			}

			return {
				state: to(state, 'stepping', now, `smoke test passed: ${input.message}`, {stepIndex: 0}),
				effects: [{kind: 'set-weight', weight}],
			};
		}

		case 'stepping': {
			return stepping(state, input, now);
		}

		case 'following': {
			if (input.kind === 'tick') return state.paused ? same(state) : {state, effects: [{kind: 'observe-owner'}]};
			if (input.kind !== 'owner') return same(state);
			const progressed = {...state, ownerProgress: input.progress, weight: input.weight, updatedAt: now};
			if (input.outcome === 'promoted')
				return {state: to(progressed, 'promoted', now, `the controller promoted ${spec.version}`), effects: []};
			if (input.outcome === 'rolled-back') {
				const reason = input.message ?? 'the controller rolled it back';
				return {state: to(progressed, 'rolled-back', now, `the controller rolled back: ${reason}`, {reason}), effects: []};
			}

			return same(progressed);
		}

		case 'promoting': {
			if (input.kind === 'done' && input.effect === 'promote') {
				return {
					state: to(state, 'promoted', now, `promoted ${spec.version}: it takes all traffic`, {weight: 100, nextAt: undefined}),
					effects: [],
				};
			}

			return same(state);
		}

		case 'rolling-back': {
			if (input.kind === 'done' && (input.effect === 'rollback' || input.effect === 'owner-abort')) {
				const aborted = state.reason?.startsWith('aborted') === true;
				return {
					state: to(state, aborted ? 'aborted' : 'rolled-back', now, `rolled back: ${state.stable} takes all traffic`, {
						weight: 0,
						nextAt: undefined,
					}),
					effects: [],
				};
			}

			return same(state);
		}

		default: {
			return same(state);
		}
	}
}

function stepping(state: DeliveryState, input: DeliveryInput, now: number): DeliveryStep {
	const {spec} = state;
	if (input.kind === 'done' && input.effect === 'set-weight') {
		const weight = spec.steps[state.stepIndex]!;
		return {
			state: to(state, 'stepping', now, `${spec.version} at ${weight}%; judging in ${spec.pauseSeconds}s`, {
				weight,
				holds: 0,
				nextAt: now + spec.pauseSeconds * 1000,
			}),
			effects: [],
		};
	}

	if (input.kind === 'tick') {
		return !state.paused && state.nextAt !== undefined && now >= state.nextAt
			? {state: {...state, nextAt: undefined}, effects: [{kind: 'judge'}]}
			: same(state);
	}

	if (input.kind !== 'judged') return same(state);
	const judgement = {result: input.result, summary: input.summary, at: now};
	const judged = {...state, judgement};
	if (input.result === 'fail') return rollBack(judged, now, `judged fail at ${state.weight}%: ${input.summary}`);
	if (input.result !== 'pass') {
		if (state.holds >= spec.maxHolds) {
			return rollBack(
				judged,
				now,
				`no clear judgement at ${state.weight}% after ${state.holds + 1} tries (${input.result}: ${input.summary})`,
			);
		}

		const reason = `holding at ${state.weight}%: ${input.result} (${input.summary})`;
		return {
			state: to(judged, 'stepping', now, reason, {holds: state.holds + 1, reason, nextAt: now + spec.pauseSeconds * 1000}),
			effects: [],
		};
	}

	const next = state.stepIndex + 1;
	// A step of 100% is the promotion itself: at 100% the stable has no traffic left to be judged against, so the
	// judgement before it is the last one.
	if (next >= spec.steps.length || spec.steps[next] === 100) {
		return {
			state: to(judged, 'promoting', now, `judged pass at ${state.weight}%: promoting`, {reason: undefined}),
			effects: [{kind: 'promote'}],
		};
	}

	const weight = spec.steps[next]!;
	return {
		state: to(judged, 'stepping', now, `judged pass at ${state.weight}%: next step ${weight}%`, {stepIndex: next, reason: undefined}),
		effects: [{kind: 'set-weight', weight}],
	};
}

function command(state: DeliveryState, which: DeliveryCommand, by: string, now: number): DeliveryStep {
	switch (which) {
		case 'pause': {
			if (state.paused || state.phase === 'promoting' || state.phase === 'rolling-back') return same(state);
			const remainingMs = state.nextAt === undefined ? undefined : Math.max(0, state.nextAt - now);
			return {state: log({...state, paused: true, remainingMs, nextAt: undefined}, now, `paused by ${by}`), effects: []};
		}

		case 'resume': {
			if (!state.paused) return same(state);
			const nextAt = state.remainingMs === undefined ? undefined : now + state.remainingMs;
			return {state: log({...state, paused: false, remainingMs: undefined, nextAt}, now, `resumed by ${by}`), effects: []};
		}

		case 'abort': {
			if (state.phase === 'rolling-back' || state.phase === 'promoting') return same(state);
			const reason = `aborted by ${by}`;
			const aborting = to(state, 'rolling-back', now, reason, {reason, paused: false, nextAt: undefined, remainingMs: undefined});
			return {state: aborting, effects: [state.mode === 'owner' ? {kind: 'owner-abort'} : {kind: 'rollback'}]};
		}
	}
}

function failed(state: DeliveryState, effect: DeliveryEffect['kind'], message: string, now: number): DeliveryStep {
	// While rolling back or promoting, only the failure of that effect counts: an effect still in flight from before
	// (a judgement, a weight) must not turn an abort into a plain rollback, nor start a second rollback.
	if (state.phase === 'rolling-back' && effect !== 'rollback' && effect !== 'owner-abort') return same(state);
	if (state.phase === 'promoting' && effect !== 'promote') return same(state);
	// A rollback (or a promotion) that fails needs a person: stop, say so, and leave the weights as they are.
	if (effect === 'rollback' || effect === 'owner-abort' || effect === 'promote') {
		const reason = `${effect} failed: ${message} — traffic is as it was; fix it by hand (modeldeck weight / promote / rollback)`;
		return {state: to(state, 'failed', now, reason, {reason, nextAt: undefined}), effects: []};
	}

	return rollBack(state, now, `${effect} failed: ${message}`);
}

/**
 * What a runner that picks STATE up (after a restart, from the annotation) carries out at once: the effect the phase
 * waits on, which may have been in flight when the previous runner stopped (every effect is idempotent). Phases that
 * move on ticks (waiting-ready, following, a step waiting for its judgement) need none.
 */
export function resumeDeliveryEffects(state: DeliveryState): DeliveryEffect[] {
	if (state.paused) return [];
	switch (state.phase) {
		case 'starting': {
			return [state.mode === 'weights' ? {kind: 'create'} : {kind: 'set-owner-image'}];
		}

		case 'smoke-testing': {
			return [{kind: 'smoke'}];
		}

		case 'stepping': {
			const weight = state.spec.steps[state.stepIndex];
			if (weight !== undefined && weight !== state.weight) return [{kind: 'set-weight', weight}];
			// A step whose judgement was due (nextAt cleared when it was asked for) and never came back.
			return state.nextAt === undefined ? [{kind: 'judge'}] : [];
		}

		case 'promoting': {
			return [{kind: 'promote'}];
		}

		case 'rolling-back': {
			return [state.mode === 'owner' && state.reason?.startsWith('aborted') === true ? {kind: 'owner-abort'} : {kind: 'rollback'}];
		}

		default: {
			return [];
		}
	}
}

/** For the screen and the CLI: `step 2/4 · 25% · judging in 1m40s`, `promoted`, `rolled back: judged fail …`. */
export function deliverySummary(state: DeliveryState, now: number): string {
	const {spec} = state;
	const steps = `step ${Math.max(0, state.stepIndex + 1)}/${spec.steps.length}`;
	switch (state.phase) {
		case 'stepping': {
			const when = state.paused ? 'paused' : state.nextAt === undefined ? 'judging' : `judging in ${seconds(state.nextAt - now)}`;
			return `${steps} · ${state.weight}% · ${when}`;
		}

		case 'following': {
			return `followed: ${state.ownerProgress ?? 'waiting for the controller'}${state.paused ? ' · paused' : ''}`;
		}

		case 'rolled-back':
		case 'aborted':
		case 'failed': {
			return `${state.phase.replace('-', ' ')}: ${state.reason ?? ''}`;
		}

		default: {
			return `${state.phase.replace('-', ' ')}${state.paused ? ' · paused' : ''}`;
		}
	}
}

function seconds(ms: number): string {
	const total = Math.max(0, Math.ceil(ms / 1000));
	const minutes = Math.floor(total / 60);
	return minutes > 0 ? `${minutes}m${String(total % 60).padStart(2, '0')}s` : `${total}s`;
}

export {decodeDeliveryState, encodeDeliveryState} from './delivery-codec.ts';
export {deliveryPlanLines, type DeliveryPlan, type DeliveryPort, type DeliveryStarter} from './delivery-port.ts';
