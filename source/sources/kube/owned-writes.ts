/**
 * Never fight a controller: before a traffic action is planned into writes, a model run by a controller (an Argo
 * Rollout) refuses the direct changes with the controller's own command, and no planned write may touch an object a
 * controller owns (`ModelAnalysis.owned`, found by discovery/ownership.ts). Both the console and the agent plan through
 * here, so both refuse the same way.
 */
import type {TrafficAction} from '../../domain/plan.ts';
import type {ModelAnalysis} from './discovery/traffic.ts';
import {type PlannedWrite, PlanError} from './plans.ts';
import {rolloutPluginCommand} from './rollout-plans.ts';

/** Throws a PlanError when the action would change a controller's split directly instead of through the controller. */
export function refuseDirectChange(analysis: ModelAnalysis, action: TrafficAction): void {
	const {traffic, model} = analysis;
	if (action.kind === 'rollout') return;
	const routerOwner = model.routerObject ? analysis.owned?.[model.routerObject] : undefined;
	if (traffic.kind !== 'argo-rollouts') {
		// Every traffic change of a routed model writes its router: refused before planning, whatever else is wrong.
		if (routerOwner && (traffic.kind === 'httproute' || traffic.kind === 'virtualservice')) refuseOwnedWrites(analysis, [{object: model.routerObject!}]);
		return;
	}

	const control = traffic.control;
	const router = control.router ?? `Rollout/${control.name}`;
	const why = `${router} is owned by Argo Rollouts (${model.owner?.evidence ?? `Rollout/${control.name}`}), which sets its weights from the Rollout's steps and would revert a direct write`;
	switch (action.kind) {
		case 'set-weight':
			throw new PlanError(
				`${why}. Move the canary through its steps instead: ${rolloutPluginCommand('promote', control)} (P), or back to stable: ${rolloutPluginCommand('abort', control)} (A)`,
			);
		case 'promote':
		case 'switch':
			throw new PlanError(`${why}. Promote through the controller: ${rolloutPluginCommand('promote', control)} (P, one step) or ${rolloutPluginCommand('promote-full', control)} (F)`);
		case 'rollback':
			throw new PlanError(`${why}. Roll back through the controller: ${rolloutPluginCommand('abort', control)} (A)`);
	}
}

/** Throws a PlanError naming the first planned write to an object a controller owns, with the owner's command. */
export function refuseOwnedWrites(analysis: ModelAnalysis, writes: ReadonlyArray<Pick<PlannedWrite, 'object'>>): void {
	for (const write of writes) {
		const owner = analysis.owned?.[write.object];
		if (!owner) continue;
		throw new PlanError(
			`${write.object} is owned by ${owner.controller} (${owner.object}, ${owner.evidence}): modeldeck does not write it behind its controller, which would revert it${owner.command ? `. Use the owner's command: ${owner.command}` : ''}`,
		);
	}
}
