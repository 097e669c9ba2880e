/**
 * The rollout's commands (our own progressive delivery of a new version, domain/delivery.ts): `d` starts one, `P`
 * pauses or resumes it, `X` aborts it. `d` asks image, version, steps and pause; the plan is confirmed like every
 * change, and the rollout runs in the agent, so that it goes on when the console closes.
 */
import {isDeliveryActive, terminalDeliveryPhases} from '../domain/delivery.ts';
import {refOf} from '../domain/types.ts';
import {rolloutCommandLine} from '../state/delivery-lines.ts';
import {currentModel, runningTask} from '../state/selectors.ts';
import type {AppState} from '../state/state.ts';
import {Command, type CommandDefinition, type CommandHost} from './spec.ts';

function needsModel(state: AppState): string | undefined {
	if (state.view.screen !== 'fleet' && state.view.screen !== 'model') return 'open the fleet or a model first';
	if (!currentModel(state)) return 'no model selected';
	return undefined;
}

/** A rollout runs in the agent: without one, the console says so and gives the command line to run instead. */
function needsAgentToRun(state: AppState): string | undefined {
	const agent = state.health.agent;
	if (agent.status === 'ok') return undefined;
	const model = currentModel(state)!;
	const why = agent.status === 'connecting' ? 'the agent is not connected yet' : `no agent: ${agent.message ?? agent.status}`;
	return `run ${rolloutCommandLine(refOf(model))} instead — a rollout runs in the agent so that it survives the console closing (${why})`;
}

export function deliverDisabledReason(state: AppState): string | undefined {
	const reason = needsModel(state);
	if (reason) return reason;
	if (state.health.cluster.status === 'down') return `cluster unreachable: ${state.health.cluster.message ?? 'no connection'}`;
	const model = currentModel(state)!;
	if (isDeliveryActive(model.delivery)) {
		return `${model.name} has a rollout running (${model.delivery.spec.version}, ${model.delivery.phase}): pause (P) or abort (X) it first`;
	}

	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return needsAgentToRun(state);
}

function needsActiveDelivery(state: AppState, verb: string): string | undefined {
	const reason = needsModel(state);
	if (reason) return reason;
	const model = currentModel(state)!;
	const {delivery} = model;
	if (!delivery) return `${model.name} has no rollout to ${verb}: start one with d`;
	if (terminalDeliveryPhases.has(delivery.phase))
		return `the rollout of ${model.name} ${delivery.spec.version} has ended (${delivery.phase}): nothing to ${verb}`;
	if (delivery.phase === 'promoting' || delivery.phase === 'rolling-back')
		return `the rollout of ${model.name} is ${delivery.phase.replace('-', ' ')}: it cannot be ${verb === 'abort' ? 'aborted' : 'paused'} now`;
	const agent = state.health.agent;
	if (agent.status !== 'ok') {
		return `the agent runs the rollout and is not connected (${agent.message ?? agent.status}): use modeldeck rollout ${verb} from a shell once it is back`;
	}

	return undefined;
}

/** While the model has a rollout going, its keys lead the footer. */
function hasActiveDelivery(state: AppState): boolean {
	return (state.view.screen === 'fleet' || state.view.screen === 'model') && isDeliveryActive(currentModel(state)?.delivery);
}

export const deliveryDefinitions = {
	[Command.DELIVER]: {
		keys: ['d'],
		description: 'Roll out a new version: image, steps and pause; the agent steps the weight, judging each step, and rolls back on a fail',
		hint: 'roll out',
		scope: 'target',
		dangerous: true,
		footer: false,
		disabledReason: deliverDisabledReason,
		run(host: CommandHost) {
			host.openDelivery(currentModel(host.state)!);
		},
	},
	[Command.DELIVERY_PAUSE]: {
		keys: ['P'],
		description: "Pause or resume the model's rollout (paused, it holds its weight: no judgement, no step)",
		hint: 'pause/resume',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: hasActiveDelivery,
		disabledReason: (state) => needsActiveDelivery(state, 'pause'),
		run(host: CommandHost) {
			const model = currentModel(host.state)!;
			host.deliveryCommand(model, model.delivery?.paused ? 'resume' : 'pause');
		},
	},
	[Command.DELIVERY_ABORT]: {
		keys: ['X'],
		description: "Abort the model's rollout: all traffic back to the stable version, the new one removed",
		hint: 'abort rollout',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: hasActiveDelivery,
		disabledReason: (state) => needsActiveDelivery(state, 'abort'),
		run(host: CommandHost) {
			host.deliveryCommand(currentModel(host.state)!, 'abort');
		},
	},
} satisfies Record<typeof Command.DELIVER | typeof Command.DELIVERY_PAUSE | typeof Command.DELIVERY_ABORT, CommandDefinition>;
