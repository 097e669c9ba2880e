/** Commands of the controller running the canary (Argo Rollouts), which owns its traffic. */
import type {RolloutCommand} from '../../domain/types.ts';
import {currentModel, runningTask} from '../../state/selectors.ts';
import type {AppState} from '../../state/state.ts';
import {needsModel, needsCluster, ref} from './conditions.ts';
import {Command, type CommandHost, type CommandDefinition, type CommandId} from '../spec.ts';

/** A command of the controller running the model's canary (Argo Rollouts), which owns its traffic. */
function needsRollout(state: AppState): string | undefined {
	const reason = needsModel(state) ?? needsCluster(state);
	if (reason) return reason;
	const model = currentModel(state)!;
	if (model.rollout?.controller !== 'argo-rollouts')
		return `${model.name} is not an Argo Rollouts Rollout: use the weight, promote and rollback keys`;
	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return undefined;
}

/** The model at hand is an Argo Rollout: its commands lead the footer. */
function isRollout(state: AppState): boolean {
	return (state.view.screen === 'fleet' || state.view.screen === 'model') && currentModel(state)?.rollout?.controller === 'argo-rollouts';
}

function rolloutCommand(command: RolloutCommand) {
	return (host: CommandHost) => host.askToConfirm({kind: 'rollout', model: ref(currentModel(host.state)!), command});
}

/** The Argo Rollouts commands. */
export const rolloutController = {
	[Command.ROLLOUT_STEP]: {
		keys: ['>'],
		description: 'Argo Rollouts: promote to the next step (kubectl argo rollouts promote)',
		hint: 'next step',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('promote'),
	},
	[Command.ROLLOUT_FULL]: {
		keys: ['F'],
		description: 'Argo Rollouts: promote fully, skipping the remaining steps and analysis (promote --full)',
		hint: 'promote fully',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('promote-full'),
	},
	[Command.ROLLOUT_ABORT]: {
		keys: ['A'],
		description: 'Argo Rollouts: abort, all traffic back to the stable (kubectl argo rollouts abort)',
		hint: 'abort',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('abort'),
	},
	[Command.ROLLOUT_RETRY]: {
		keys: ['R'],
		description: 'Argo Rollouts: retry an aborted rollout (kubectl argo rollouts retry rollout)',
		hint: 'retry',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('retry'),
	},
} satisfies Partial<Record<CommandId, CommandDefinition>>;
