/** The texts of a change: the confirmation dialog's title and lines, and the audit record's before and after. */
import {modelKey, type Action} from '../domain/types.ts';
import {canaryOf, findModel, stableOf} from './selectors.ts';
import type {AppState} from './state.ts';

export function localUser(state: AppState): string {
	const user = state.contexts.find((context) => context.name === state.context)?.user;
	return user ? `${user}@${state.context}` : state.context;
}

export function actionTitle(action: Action): string {
	switch (action.kind) {
		case 'set-weight': {
			return `Shift ${action.model.name} canary weight`;
		}

		case 'promote': {
			return `Promote ${action.model.name} canary ${action.canary}`;
		}

		case 'rollback': {
			return `Roll back ${action.model.name} canary ${action.canary}`;
		}

		case 'switch': {
			return `Switch ${action.model.name} traffic to ${action.to}`;
		}

		case 'smoke-test': {
			return `Smoke test ${action.target.name} ${action.target.version}`;
		}

		case 'load-test': {
			return `Load test ${action.targets[0]?.name ?? ''} ${action.targets.map((target) => target.version).join(' vs ')}`;
		}
	}
}

export function actionBefore(action: Action): string {
	return action.kind === 'set-weight' ? `${action.canary} ${action.from}%` : '';
}

export function actionAfter(action: Action): string {
	switch (action.kind) {
		case 'set-weight': {
			return `${action.canary} ${action.to}%`;
		}

		case 'promote': {
			return `${action.canary} stable 100%`;
		}

		case 'rollback': {
			return `${action.canary} 0%`;
		}

		case 'switch': {
			return `${action.to} 100%`;
		}

		default: {
			return '';
		}
	}
}

/** How a change will be carried out, said before it is confirmed. */
function routeLine(state: AppState): string {
	const agent = state.health.agent;
	if (agent.status === 'ok') return 'through the agent, which checks your permission and audits it';
	const why = agent.status === 'absent' ? 'no agent' : `agent ${agent.status === 'connecting' ? 'not connected yet' : agent.status}`;
	return `${why}: straight to the cluster as ${localUser(state)}, audited in this console only`;
}

/** Exactly what an action changes, line by line, for the confirmation dialog. */
export function confirmationLines(action: Action, state: AppState): string[] {
	const lines = actionLines(action, state);
	return action.kind === 'smoke-test' || action.kind === 'load-test' ? lines : [...lines, routeLine(state)];
}

function actionLines(action: Action, state: AppState): string[] {
	const model = 'model' in action ? findModel(state, modelKey(action.model)) : undefined;
	const stable = model ? stableOf(model) : undefined;
	const context = `context ${state.context}${model ? `, namespace ${model.namespace}` : ''}`;
	switch (action.kind) {
		case 'set-weight': {
			const lines = [`canary ${action.canary}: ${action.from}% → ${action.to}%`];
			if (stable) lines.push(`stable ${stable.name}: ${stable.weight}% → ${Math.max(0, stable.weight + action.from - action.to)}%`);
			if (model?.routerObject) lines.push(`writes ${model.routerObject}`);
			lines.push(context);
			return lines;
		}

		case 'promote': {
			return [
				`canary ${action.canary} becomes stable with 100% of traffic`,
				`stable ${action.stable}: ${stable?.weight ?? 0}% → 0% (leaves traffic)`,
				context,
			];
		}

		case 'rollback': {
			const canary = model ? canaryOf(model) : undefined;
			return [
				`canary ${action.canary}: ${canary?.weight ?? '?'}% → 0%`,
				...(stable ? [`stable ${stable.name}: ${stable.weight}% → 100%`] : []),
				'a Deployment canary whose template changed gets its previous template back',
				context,
			];
		}

		case 'switch': {
			return [`all traffic: ${action.from} → ${action.to} in one write`, context];
		}

		case 'smoke-test': {
			return [`one request to ${action.target.name} ${action.target.version}`];
		}

		case 'load-test': {
			return [
				`${action.rps} requests/s to each of ${action.targets.map((target) => target.version).join(' and ')}`,
				`for ${action.durationSeconds} s after ${action.warmupSeconds ?? 0} s warm-up: real traffic to the model`,
				context,
			];
		}
	}
}
