/**
 * A delivery's state as kept in the model's `modeldeck.dev/delivery` annotation: written as JSON, and read back from
 * whatever the annotation holds (hand-edited or truncated annotations are refused with a reason, never thrown).
 */
import {deliveryAnnotation, type DeliveryPhase, type DeliveryState} from './delivery.ts';

/** The state as kept in the annotation. */
export function encodeDeliveryState(state: DeliveryState): string {
	return JSON.stringify(state);
}

/**
 * The state from an annotation written by anyone: undefined with the reason when it is not one (a hand-edited or
 * truncated annotation must never crash the console or the agent).
 */
export function decodeDeliveryState(text: string): {state: DeliveryState} | {error: string} {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		return {error: `${deliveryAnnotation} is not JSON (${(error as Error).message}): remove the annotation or start the rollout again`};
	}

	if (!isDeliveryState(value))
		return {error: `${deliveryAnnotation} does not hold a delivery state: remove the annotation or start the rollout again`};
	return {state: value};
}

const phases: ReadonlySet<string> = new Set<DeliveryPhase>([
	'starting',
	'waiting-ready',
	'smoke-testing',
	'stepping',
	'following',
	'promoting',
	'rolling-back',
	'promoted',
	'rolled-back',
	'aborted',
	'failed',
]);

function optional(value: unknown, type: 'number' | 'string'): boolean {
	return value === undefined || typeof value === type;
}

function isEvent(value: unknown): boolean {
	const event = value as Record<string, unknown> | null;
	return typeof event === 'object' && event !== null && typeof event.at === 'number' && typeof event.message === 'string';
}

const verdictResults: ReadonlySet<unknown> = new Set(['pass', 'marginal', 'fail', 'insufficient-data']);

function isJudgement(value: unknown): boolean {
	const judgement = value as Record<string, unknown> | null;
	return (
		typeof judgement === 'object' &&
		judgement !== null &&
		verdictResults.has(judgement.result) &&
		typeof judgement.summary === 'string' &&
		typeof judgement.at === 'number'
	);
}

function isDeliveryState(value: unknown): value is DeliveryState {
	if (typeof value !== 'object' || value === null) return false;
	const state = value as Record<string, unknown>;
	const spec = state.spec as Record<string, unknown> | undefined;
	const model = spec?.model as Record<string, unknown> | undefined;
	return (
		typeof state.id === 'string' &&
		typeof state.phase === 'string' &&
		phases.has(state.phase) &&
		(state.mode === 'weights' || state.mode === 'owner') &&
		typeof state.stable === 'string' &&
		typeof state.stepIndex === 'number' &&
		typeof state.weight === 'number' &&
		typeof state.paused === 'boolean' &&
		typeof state.holds === 'number' &&
		typeof state.startedAt === 'number' &&
		typeof state.updatedAt === 'number' &&
		Array.isArray(state.events) &&
		state.events.every(isEvent) &&
		optional(state.nextAt, 'number') &&
		optional(state.remainingMs, 'number') &&
		optional(state.reason, 'string') &&
		optional(state.ownerProgress, 'string') &&
		(state.judgement === undefined || isJudgement(state.judgement)) &&
		typeof spec === 'object' &&
		typeof model?.namespace === 'string' &&
		typeof model.name === 'string' &&
		typeof spec.image === 'string' &&
		typeof spec.version === 'string' &&
		Array.isArray(spec.steps) &&
		spec.steps.every((step) => typeof step === 'number') &&
		typeof spec.pauseSeconds === 'number' &&
		typeof spec.readyTimeoutSeconds === 'number' &&
		typeof spec.maxHolds === 'number' &&
		typeof spec.requestedBy === 'string' &&
		optional(spec.versionLabel, 'string')
	);
}
