/**
 * The agent's executor of traffic changes. Each is planned first from a fresh read (`ClusterPort.plan`): a plan that
 * changes nothing is refused, and the progress, the result message and the audit record's before and after are the
 * plan's, so the audit says exactly what the operator confirmed (every version, not just the one named). The action
 * carries the weights of the plan the operator confirmed (`expected`); the cluster refuses it (ConflictError) when
 * the model no longer has them.
 */
import {isNoop, noopMessage, planAfter, planBefore, planResult, type ChangePlan, type TrafficAction} from '../../domain/plan.ts';
import {ConflictError, ForbiddenError, type ClusterPort} from '../../domain/ports.ts';
import type {ActionProgress, Model} from '../../domain/types.ts';

export type TrafficPlanning = {plan: ChangePlan} | {refused: string};

/** The plan of a traffic action, or why it is refused (cannot be done, or would change nothing). */
export async function planTrafficAction(cluster: Pick<ClusterPort, 'plan'>, action: TrafficAction): Promise<TrafficPlanning> {
	let plan: ChangePlan;
	try {
		plan = await cluster.plan(action);
	} catch (error) {
		return {refused: (error as Error).message ?? String(error)};
	}

	return isNoop(plan) ? {refused: noopMessage(plan)} : {plan};
}

function failure(error: unknown): Extract<ActionProgress, {kind: 'failed'}> {
	const message = (error as Error).message ?? String(error);
	if (error instanceof ConflictError)
		return {kind: 'failed', message: `conflict: ${message} (someone changed it meanwhile; look again and retry)`};
	if (error instanceof ForbiddenError) return {kind: 'failed', message: `the agent's service account may not do this: ${message}`};
	return {kind: 'failed', message};
}

/** Carries out a planned traffic action with `write` (the cluster's act, or act within authorised writes). */
export async function* runTrafficAction(plan: ChangePlan, write: () => Promise<void>): AsyncGenerator<ActionProgress> {
	yield {kind: 'progress', fraction: 0, message: `changing ${planResult(plan)}`};
	try {
		await write();
		yield {kind: 'done', message: planResult(plan)};
	} catch (error) {
		yield failure(error);
	}
}

/** A model's weights as a plan writes them (`v1 90%, v2 10%`), for the `after` of a change that failed. */
export function weightsText(model: Model | undefined): string {
	return model ? model.versions.map((version) => `${version.name} ${version.weight}%`).join(', ') : 'unknown';
}

/** The audit record's before and after: the plan's weights; a change that failed is recorded with what the cluster has. */
export function trafficAuditTexts(plan: ChangePlan, ok: boolean, readBack: () => string): {before: string; after: string} {
	return {before: planBefore(plan), after: ok ? planAfter(plan) : readBack()};
}
