/**
 * When a command cannot run, said for people (a command's `disabledReason`), and the little every group shares.
 */
import {refOf, type Model, type ModelRef} from '../../domain/types.ts';
import {canaryOf, currentModel, runningTask} from '../../state/selectors.ts';
import type {AppState} from '../../state/state.ts';

export function needsModel(state: AppState): string | undefined {
	if (state.view.screen !== 'fleet' && state.view.screen !== 'model') return 'open the fleet or a model first';
	if (!currentModel(state)) return 'no model selected';
	return undefined;
}

export function needsCluster(state: AppState): string | undefined {
	const health = state.health.cluster;
	if (health.status === 'down') return `cluster unreachable: ${health.message ?? 'no connection'}`;
	return undefined;
}

export function needsCanary(state: AppState): string | undefined {
	const reason = needsModel(state) ?? needsCluster(state);
	if (reason) return reason;
	const model = currentModel(state)!;
	if (!canaryOf(model)) return `${model.name} has no canary`;
	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return undefined;
}

export function needsAgent(state: AppState): string | undefined {
	const reason = needsModel(state);
	if (reason) return reason;
	const agent = state.health.agent;
	if (agent.status === 'absent' || agent.status === 'down') {
		return `needs the modeldeck agent (${agent.message ?? 'not connected'})`;
	}

	const model = currentModel(state)!;
	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return undefined;
}

export function ref(model: Model): ModelRef {
	return refOf(model);
}
