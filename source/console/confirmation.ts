/**
 * The texts of an action: the confirmation dialog's title and lines and the danger gate's evidence. A change's texts
 * are all rendered from its plan (domain/plan.ts), so the dialog, the audit record and the result agree.
 */
import {planDangers, planLines, type ChangePlan, type PlanDanger} from '../domain/plan.ts';
import {deliveryCommandLines, deliveryRouteLine} from '../state/delivery-lines.ts';
import {modelKey, versionKey, type Action, type ModelRef} from '../domain/types.ts';
import {findModel} from '../state/selectors.ts';
import type {AppState} from '../state/state.ts';

const deliveryCommandTitles = {pause: 'Pause', resume: 'Resume', abort: 'Abort'} as const;

const rolloutCommandTitles = {promote: 'Promote one step:', 'promote-full': 'Promote fully:', abort: 'Abort', retry: 'Retry'} as const;

/** The kubeconfig user of CONTEXT (default: the one in force) as `user@context`. */
export function localUser(state: AppState, context: string = state.context): string {
	const user = state.contexts.find((candidate) => candidate.name === context)?.user;
	return user ? `${user}@${context}` : context;
}

/** ` in prod-eu` when several clusters are shown (the ref carries its context), else nothing. */
function inCluster(ref: ModelRef | undefined): string {
	return ref?.cluster ? ` in ${ref.cluster}` : '';
}

export function actionTitle(action: Action): string {
	return `${actionTitleInContext(action)}${inCluster('model' in action ? action.model : action.kind === 'smoke-test' ? action.target : action.targets[0])}`;
}

function actionTitleInContext(action: Action): string {
	switch (action.kind) {
		case 'set-weight': {
			return `Set ${action.model.name} ${action.canary} weight to ${action.to}%`;
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

		case 'rollout': {
			return `${rolloutCommandTitles[action.command]} ${action.model.name} through Argo Rollouts`;
		}

		case 'deliver': {
			return `Roll out ${action.model.name} ${action.spec.version} (${action.spec.image})`;
		}

		case 'delivery': {
			return `${deliveryCommandTitles[action.command]} the rollout of ${action.model.name}`;
		}

		case 'smoke-test': {
			return `Smoke test ${action.target.name} ${action.target.version}`;
		}

		case 'load-test': {
			return `Load test ${action.targets[0]?.name ?? ''} ${action.targets.map((target) => target.version).join(' vs ')}`;
		}
	}
}

/** How a change will be carried out, said before it is confirmed. */
function routeLine(state: AppState, cluster?: string): string {
	const agent = state.health.agent;
	if (agent.status === 'ok') return 'through the agent, which checks your permission and audits it';
	const why = agent.status === 'absent' ? 'no agent' : `agent ${agent.status === 'connecting' ? 'not connected yet' : agent.status}`;
	return `${why}: straight to the cluster as ${localUser(state, cluster)}, audited in this console only`;
}

/** Every version before → after and every object written (the plan), then where and how it is carried out. */
export function planConfirmationLines(plan: ChangePlan, state: AppState): string[] {
	return [
		...planLines(plan),
		`context ${plan.model.cluster ?? state.context}, namespace ${plan.model.namespace}`,
		routeLine(state, plan.model.cluster),
	];
}

/** The lines of an action that changes no traffic (smoke and load tests). */
export function confirmationLines(action: Exclude<Action, ChangePlan['action']>, state: AppState): string[] {
	switch (action.kind) {
		case 'deliver': {
			// Without its plan (a caller that skipped planning): what was asked for, and where.
			const {spec} = action;
			return [
				`new version ${spec.version} (${spec.image}), steps ${spec.steps.join('% → ')}%, ${spec.pauseSeconds}s each`,
				`context ${action.model.cluster ?? state.context}, namespace ${action.model.namespace}`,
				deliveryRouteLine,
			];
		}

		case 'delivery': {
			return [
				...deliveryCommandLines(action.command, findModel(state, modelKey(action.model))?.delivery, state.now),
				`context ${action.model.cluster ?? state.context}, namespace ${action.model.namespace}`,
				deliveryRouteLine,
			];
		}

		case 'smoke-test': {
			return [`one request to ${action.target.name} ${action.target.version}`];
		}

		case 'load-test': {
			const model = action.targets[0] ? findModel(state, modelKey(action.targets[0])) : undefined;
			return [
				`${action.rps} requests/s to each of ${action.targets.map((target) => target.version).join(' and ')}`,
				`for ${action.durationSeconds} s after ${action.warmupSeconds ?? 0} s warm-up: real traffic to the model`,
				`context ${action.targets[0]?.cluster ?? state.context}${model ? `, namespace ${model.namespace}` : ''}`,
			];
		}
	}
}

/** The plan's versions that would get more traffic though flagged critical or judged fail, from what the screen shows. */
export function dangersOf(plan: ChangePlan, state: AppState): PlanDanger[] {
	const flagsOf = (version: string) => state.flags[versionKey({...plan.model, version})] ?? [];
	return planDangers(plan, flagsOf, state.verdicts[modelKey(plan.model)]);
}

/** The danger gate's lines, said before anything else in the dialog. */
export function dangerLines(dangers: PlanDanger[]): string[] {
	return dangers.flatMap((danger) => [
		`DANGER: ${danger.version} would get more traffic (${danger.before}% → ${danger.after}%) though:`,
		...danger.evidence.map((evidence) => `  ${evidence}`),
	]);
}
