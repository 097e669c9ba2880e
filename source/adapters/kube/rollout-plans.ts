/**
 * The writes of an Argo Rollouts command, planned as the `kubectl argo rollouts` plugin (v1.10,
 * pkg/kubectl-argo-rollouts/cmd/{promote,abort,retry}) makes them, from the same fields and through the same
 * subresources. The plugin sends merge patches; these are the same changes as JSON Patches, each guarded by a `test` of
 * what the plan was made from, so that a Rollout that moved on meanwhile is a conflict, not a silent second step:
 *
 * | plugin (merge patch)                                                   | here (JSON Patch)                                   |
 * | ---------------------------------------------------------------------- | --------------------------------------------------- |
 * | promote, `spec.paused`: `{"spec":{"paused":false}}`                    | test+replace `/spec/paused` false                   |
 * | promote, pauseConditions: status `{"pauseConditions":null}`            | remove `/status/pauseConditions`                    |
 * | promote, inconclusive and controllerPause: status `{"pauseConditions":null,"controllerPause":false,"currentStepIndex":i+1}` | remove, add, test+add |
 * | promote, a canary not paused: status `{"pauseConditions":null,"currentStepIndex":i+1}` | test+add `/status/currentStepIndex` |
 * | promote --full: spec unpaused as above; status `{"promoteFull":true}` unless the stable is current | add `/status/promoteFull` true |
 * | abort: status `{"status":{"abort":true}}`                              | add `/status/abort` true                            |
 * | retry rollout: status `{"status":{"abort":false}}`                     | add `/status/abort` false                           |
 *
 * The status patch goes first, then the spec patch, as the plugin does. (The plugin falls back to one unified patch on
 * the main resource when the status subresource is missing, for CRDs older than v0.10; those are not supported here.)
 */
import type {RolloutCommand} from '../../domain/types.ts';
import type {RolloutControl} from './discovery/argo-rollouts.ts';
import {argoRolloutsCommand} from './discovery/argo-rollouts.ts';
import type {ModelAnalysis} from './discovery/traffic.ts';
import {resourceTypes} from './http.ts';
import {type JsonPatchOperation, type PlannedWrite, PlanError} from './plans.ts';

export interface RolloutCommandPlan {
	writes: PlannedWrite[];
	/** Every version's weight once the controller has carried the command out, as far as its steps tell. */
	after: Map<string, number>;
}

const plugin: Record<RolloutCommand, Parameters<typeof argoRolloutsCommand>[0]> = {
	promote: 'promote',
	'promote-full': 'promote --full',
	abort: 'abort',
	retry: 'retry rollout',
};

export function rolloutPluginCommand(command: RolloutCommand, control: Pick<RolloutControl, 'name' | 'namespace'>): string {
	return argoRolloutsCommand(plugin[command], control.name, control.namespace);
}

export function planRolloutCommand(analysis: ModelAnalysis, command: RolloutCommand): RolloutCommandPlan {
	const {model, traffic} = analysis;
	if (traffic.kind !== 'argo-rollouts') {
		throw new PlanError(
			`${model.name} is not an Argo Rollouts Rollout: ${command} acts through a Rollout's controller; use the weight, promote and rollback keys`,
		);
	}

	const control = traffic.control;
	const label = `Rollout/${control.name}`;
	const status: JsonPatchOperation[] = [];
	const spec: JsonPatchOperation[] = [];
	const changes: string[] = [];
	const unpause = () => {
		if (!control.specPaused) return;
		spec.push({op: 'test', path: '/spec/paused', value: true}, {op: 'replace', path: '/spec/paused', value: false});
		changes.push('spec.paused false');
	};

	const stepCount = control.stepWeights.length;
	const index = control.currentStepIndex ?? 0;
	const next = Math.min(stepCount, index + 1);
	const testIndex = (): JsonPatchOperation[] =>
		control.currentStepIndex === undefined ? [] : [{op: 'test', path: '/status/currentStepIndex', value: control.currentStepIndex}];

	switch (command) {
		case 'promote': {
			if (!control.canary && !control.specPaused && control.pauseConditions === 0) {
				throw new PlanError(`nothing to promote: ${label} runs one version, no canary is rolling out`);
			}

			if (control.canaryStrategy && control.inconclusive && control.pauseConditions > 0 && control.controllerPause && stepCount > 0) {
				status.push(
					...testIndex(),
					{op: 'remove', path: '/status/pauseConditions'},
					{op: 'add', path: '/status/controllerPause', value: false},
					{op: 'add', path: '/status/currentStepIndex', value: next},
				);
				changes.push(`inconclusive analysis skipped: step ${index + 1} → ${next + 1} of ${stepCount}`);
			} else if (control.pauseConditions > 0) {
				status.push({op: 'remove', path: '/status/pauseConditions'});
				changes.push('pause conditions cleared');
			} else if (control.canaryStrategy && stepCount > 0) {
				status.push(...testIndex(), {op: 'add', path: '/status/currentStepIndex', value: next});
				changes.push(
					`step ${Math.min(stepCount, index + 1)} → ${Math.min(stepCount, next + 1)} of ${stepCount} (currentStepIndex ${index} → ${next})`,
				);
			}

			unpause();
			break;
		}

		case 'promote-full': {
			if (control.currentPodHash !== control.stableRS) {
				status.push({op: 'add', path: '/status/promoteFull', value: true});
				changes.push('promoteFull true');
			}

			unpause();
			break;
		}

		case 'abort': {
			if (control.abort)
				throw new PlanError(`${label} is already aborted: retry it (${rolloutPluginCommand('retry', control)}) or change its template`);
			if (!control.canary) throw new PlanError(`nothing to abort: ${label} runs one version, no canary is rolling out`);
			status.push({op: 'add', path: '/status/abort', value: true});
			changes.push('abort true');
			break;
		}

		case 'retry': {
			if (!control.abort)
				throw new PlanError(
					`${label} is not aborted: retry restarts an aborted rollout (promote it with ${rolloutPluginCommand('promote', control)})`,
				);
			status.push({op: 'add', path: '/status/abort', value: false});
			changes.push('abort false');
			break;
		}
	}

	const how = rolloutPluginCommand(command, control);
	const writes: PlannedWrite[] = [];
	const object = (part: string) => `${label}${part}`;
	if (status.length > 0) {
		writes.push({
			type: resourceTypes.rollouts,
			subresource: 'status',
			namespace: control.namespace,
			name: control.name,
			object: object(' status'),
			patch: status,
			change: `${changes.filter((change) => !change.startsWith('spec.')).join(', ')} (as ${how})`,
		});
	}

	if (spec.length > 0) {
		writes.push({
			type: resourceTypes.rollouts,
			namespace: control.namespace,
			name: control.name,
			object: label,
			patch: spec,
			change: `spec.paused false (as ${how})`,
		});
	}

	return {writes, after: weightsAfter(analysis, control, command)};
}

/**
 * Where the controller takes the weights: a step forward runs until the next pause (the last `setWeight` before it),
 * or to the end, where the canary has everything; a retry starts over from the first step; abort goes back to the
 * stable; a full promotion goes to the canary.
 */
function weightsAfter(analysis: ModelAnalysis, control: RolloutControl, command: RolloutCommand): Map<string, number> {
	const versions = analysis.model.versions;
	const after = new Map(versions.map((version) => [version.name, version.weight]));
	if (!control.canary || !control.stable) return after;
	let canaryWeight: number | undefined;
	switch (command) {
		case 'abort':
			canaryWeight = 0;
			break;
		case 'promote-full':
			canaryWeight = 100;
			break;
		case 'promote':
			canaryWeight = weightAtNextPause(control, Math.min(control.stepWeights.length, (control.currentStepIndex ?? 0) + 1));
			break;
		case 'retry':
			canaryWeight = weightAtNextPause(control, 0);
			break;
	}

	if (canaryWeight === undefined) return after;
	after.set(control.canary, canaryWeight);
	after.set(control.stable, 100 - canaryWeight);
	return after;
}

/** The canary's weight when the controller next stops (at a pause step, or at the end: 100) running from step `from`. */
export function weightAtNextPause(control: Pick<RolloutControl, 'stepWeights' | 'pauseSteps'>, from: number): number {
	let weight = 0;
	for (let position = 0; position < control.stepWeights.length; position++) {
		if (position >= from && control.pauseSteps[position]) return weight;
		weight = control.stepWeights[position] ?? weight;
	}

	return 100;
}
