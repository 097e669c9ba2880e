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
		if (routerOwner && (traffic.kind === 'httproute' || traffic.kind === 'virtualservice'))
			refuseOwnedWrites(analysis, [{object: model.routerObject!}]);
		return;
	}

	const control = traffic.control;
	const router = control.router ?? `Rollout/${control.name}`;
	// The owner's command first: a refusal is read on one line, and the rest may be cut off.
	const owns = `Argo Rollouts owns ${router}: use`;
	const why = `a direct write would be reverted (the controller sets the weights from the Rollout's steps; ${model.owner?.evidence ?? `Rollout/${control.name}`})`;
	switch (action.kind) {
		case 'set-weight':
			throw new PlanError(
				`${owns} ${rolloutPluginCommand('promote', control)} (key >) or ${rolloutPluginCommand('abort', control)} (key A); ${why}`,
			);
		case 'promote':
		case 'switch':
			throw new PlanError(
				`${owns} ${rolloutPluginCommand('promote', control)} (key >, one step) or ${rolloutPluginCommand('promote-full', control)} (key F); ${why}`,
			);
		case 'rollback':
			throw new PlanError(`${owns} ${rolloutPluginCommand('abort', control)} (key A); ${why}`);
	}
}

/** Throws a PlanError naming the first planned write to an object a controller owns, with the owner's command. */
export function refuseOwnedWrites(analysis: ModelAnalysis, writes: ReadonlyArray<Pick<PlannedWrite, 'object'>>): void {
	for (const write of writes) {
		const owner = analysis.owned?.[write.object];
		if (!owner) continue;
		throw new PlanError(
			`${owner.controller} owns ${write.object}: ${owner.command ? `use ${owner.command}; ` : ''}modeldeck does not write behind a controller, which would revert it (${owner.object}, ${owner.evidence})`,
		);
	}
}
