/**
 * The guard's own change, made as people's are (see ../actions/traffic.ts): planned first from a fresh read
 * (`ClusterPort.plan`), refused when it cannot be done or would change nothing, carried out with `act` carrying the
 * plan's weights (so a model changed meanwhile is a conflict, not a blind write), and audited from the plan: its
 * before and after, and what it changed. A dry run plans too, so that its audit says what the rollback would change.
 */
import {planBefore, planResult, plannedAction, type ChangePlan, type TrafficAction} from '../../domain/plan.ts';
import type {AuditEntry, ClusterPort} from '../../domain/ports.ts';
import {modelKey, type Model, type ModelRef} from '../../domain/types.ts';
import {planTrafficAction, runTrafficAction, trafficAuditTexts, weightsText} from '../actions/traffic.ts';

/** An audit record of the guard's, with the Event reason to record it under. */
export interface GuardAuditRecord {
	model: Model;
	entry: Omit<AuditEntry, 'time' | 'user'>;
	reason: 'ModeldeckGuardRollback' | 'ModeldeckGuardDryRun' | 'ModeldeckActionRefused';
	/** How long the write took, for a change that was carried out. */
	seconds?: number;
}

export interface GuardChangeDependencies {
	cluster: Pick<ClusterPort, 'plan' | 'act'>;
	audit: (record: GuardAuditRecord) => Promise<void>;
	/** The model's weights as the cluster has them now, for the `after` of a change that failed part way. */
	readBack?: (model: ModelRef) => Promise<string>;
}

export interface GuardChangeOutcome {
	result: AuditEntry['result'];
	/** The plan carried out (or, in a dry run, the one that would be). */
	plan?: ChangePlan;
	/** Why it was refused or failed. */
	error?: string;
}

export async function guardRollback(
	dependencies: GuardChangeDependencies,
	model: Model,
	canary: string,
	reason: string,
	dryRun: boolean,
): Promise<GuardChangeOutcome> {
	const ref = {namespace: model.namespace, name: model.name};
	const action: TrafficAction = {kind: 'rollback', model: ref, canary};
	const what = `${dryRun ? 'dry-run ' : ''}rollback ${canary}`;
	const target = modelKey(model);
	const planning = await planTrafficAction(dependencies.cluster, action);
	if ('refused' in planning) {
		const weights = weightsText(model);
		await dependencies.audit({
			model,
			entry: {
				action: what,
				target,
				before: weights,
				after: weights,
				result: 'refused',
				message: `guard: refused: ${planning.refused}; reason: ${reason}`,
			},
			reason: 'ModeldeckActionRefused',
		});
		return {result: 'refused', error: `refused: ${planning.refused}`};
	}

	const {plan} = planning;
	if (dryRun) {
		const weights = planBefore(plan);
		await dependencies.audit({
			model,
			entry: {
				action: what,
				target,
				before: weights,
				after: weights,
				result: 'ok',
				message: `DRY RUN (nothing changed): guard would roll back ${canary} (${planResult(plan)}): ${reason}`,
			},
			reason: 'ModeldeckGuardDryRun',
		});
		return {result: 'ok', plan};
	}

	const started = performance.now();
	let error: string | undefined;
	for await (const progress of runTrafficAction(plan, () => dependencies.cluster.act(plannedAction(plan)))) {
		if (progress.kind === 'failed') error = progress.message;
	}

	const seconds = (performance.now() - started) / 1000;
	const readBack = error === undefined ? undefined : await (dependencies.readBack?.(ref) ?? Promise.resolve('unknown'));
	const {before, after} = trafficAuditTexts(plan, error === undefined, () => readBack ?? 'unknown');
	await dependencies.audit({
		model,
		entry: {
			action: what,
			target,
			before,
			after,
			result: error === undefined ? 'ok' : 'failed',
			message:
				error === undefined ? `guard: ${planResult(plan)}; reason: ${reason}` : `guard could not roll back: ${error}; reason: ${reason}`,
		},
		reason: 'ModeldeckGuardRollback',
		seconds,
	});
	return error === undefined ? {result: 'ok', plan} : {result: 'failed', plan, error};
}
