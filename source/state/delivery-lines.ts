/**
 * The words of a rollout (our own progressive delivery, domain/delivery.ts) in the console: the confirmation's lines
 * from the plan, what pause, resume and abort will do, the result said from the same plan, and the command line to
 * run instead where the console cannot start one.
 */
import {deliveryPlanLines, deliverySummary, type DeliveryCommand, type DeliveryPlan, type DeliveryState} from '../domain/delivery.ts';
import type {ModelRef} from '../domain/types.ts';

export const deliveryRouteLine = 'runs in the agent, which checks your permission and audits every step: it goes on if this console closes';

/** The confirmation of a new rollout: the plan (every object written), where, and who runs it. */
export function deliveryConfirmationLines(plan: DeliveryPlan, context: string): string[] {
	return [
		...deliveryPlanLines(plan),
		`context ${plan.spec.model.cluster ?? context}, namespace ${plan.spec.model.namespace}`,
		deliveryRouteLine,
	];
}

/** The result of starting it, said from the plan the operator confirmed. */
export function deliveryStartedMessage(plan: DeliveryPlan): string {
	const {spec} = plan;
	return `rollout of ${spec.model.name} ${spec.version} started beside ${plan.stable}: first step ${spec.steps[0] ?? 0}%, ${plan.writes.length} object${plan.writes.length === 1 ? '' : 's'} written`;
}

function seconds(ms: number): string {
	const total = Math.max(0, Math.ceil(ms / 1000));
	const minutes = Math.floor(total / 60);
	return minutes > 0 ? `${minutes}m${String(total % 60).padStart(2, '0')}s` : `${total}s`;
}

/** What pause, resume or abort does to the rollout as it is now. */
export function deliveryCommandLines(command: DeliveryCommand, state: DeliveryState | undefined, now: number): string[] {
	if (!state) return [`${command} the rollout (none is shown for this model yet)`];
	const {spec} = state;
	const where = `${spec.version} at ${state.weight}% (step ${Math.max(0, state.stepIndex + 1)}/${spec.steps.length}), now: ${deliverySummary(state, now)}`;
	switch (command) {
		case 'pause': {
			return [where, `holds it where it is: no judgement and no step until resumed; traffic stays as it is`];
		}

		case 'resume': {
			const left = state.remainingMs === undefined ? 'the next check' : `the next judgement in ${seconds(state.remainingMs)}`;
			return [where, `the clock runs again: ${left}, then steps on as judged`];
		}

		case 'abort': {
			return [
				where,
				`rolls it back: all traffic to ${state.stable}, ${spec.version} given 0% (${state.mode === 'owner' ? "through its controller's abort" : 'its router backend and workload removed'})`,
			];
		}
	}
}

/** `ns/name`, or just `name` in the default namespace: how `modeldeck rollout` is told the model. */
function modelArgument(model: ModelRef): string {
	return `${model.namespace}/${model.name}`;
}

/** The command that starts the same rollout from a shell, where the console cannot (no agent). */
export function rolloutCommandLine(model: ModelRef, image = 'IMAGE'): string {
	return `modeldeck rollout ${modelArgument(model)} --image ${image}${model.cluster ? ` --context ${model.cluster}` : ''}`;
}
