/**
 * A change is a plan computed before anything is written: every version of the model with its weight before and
 * after, and every object the change writes. The confirmation dialog, the audit record and the result message are
 * all rendered from the same plan (`planLines`, `planBefore`, `planAfter`, `planResult`), so what the operator
 * confirmed is what is written down and what is reported.
 *
 * `planTraffic` is pure: it works on the model as the caller last saw it. An adapter (`ClusterPort.plan`) plans from
 * a fresh read of the cluster and adds the objects it will write.
 */
import {ConflictError} from './ports.ts';
import {refOf, type Action, type Flag, type Model, type ModelRef, type Track} from './types.ts';
import type {Verdict} from './analysis.ts';

/** The actions that change a model's traffic (smoke and load tests change nothing). */
export type TrafficAction = Extract<Action, {kind: 'set-weight' | 'promote' | 'rollback' | 'switch' | 'rollout'}>;

export interface VersionChange {
	name: string;
	track: Track;
	before: number;
	after: number;
}

export interface PlannedObjectWrite {
	/** `HTTPRoute/fraud`, `Deployment/fraud-v12`. */
	object: string;
	/** What the write does: `v13 10% → 20%`, `scaled 3 → 0`, `previous template restored`. */
	change: string;
}

export interface ChangePlan {
	action: TrafficAction;
	model: ModelRef;
	/** Every version of the model, changed or not, in the model's order. */
	versions: VersionChange[];
	/** Every object the change writes (filled by the adapter that plans from a fresh read; empty when unknown). */
	writes: PlannedObjectWrite[];
}

/** A change that cannot or need not be made; the message says why and what to do instead. */
export class PlanRefusal extends Error {
	override name = 'PlanRefusal';
}

function find(model: Model, name: string) {
	const version = model.versions.find((candidate) => candidate.name === name);
	if (!version) {
		const known = model.versions.map((candidate) => candidate.name).join(', ') || 'none';
		throw new PlanRefusal(`${model.name} has no version ${name} (versions: ${known})`);
	}

	return version;
}

function stableOf(model: Model) {
	const stable = model.versions.find((version) => version.track === 'stable');
	if (!stable) throw new PlanRefusal(`${model.name} has no stable version`);
	return stable;
}

/** The weight of every version after the action, from the model as it is now. Throws a PlanRefusal. */
export function targetWeights(model: Model, action: TrafficAction): Map<string, number> {
	const targets = new Map(model.versions.map((version) => [version.name, version.weight]));
	switch (action.kind) {
		case 'set-weight':
		case 'rollback': {
			const canary = find(model, action.canary);
			// A single version has no traffic to take away: its rollback only restores an earlier template (a write
			// the adapter adds), which is refused as a no-op when there is none.
			if (action.kind === 'rollback' && model.versions.length === 1) return targets;
			const stable = stableOf(model);
			if (action.kind === 'set-weight' && (!Number.isInteger(action.to) || action.to < 0 || action.to > 100)) {
				throw new PlanRefusal(`${action.to} is not a weight: use a whole number from 0 to 100`);
			}

			if (canary === stable) throw new PlanRefusal(`${action.canary} is the stable version of ${model.name}: name a canary`);
			const weight = action.kind === 'rollback' ? 0 : action.to;
			const others = model.versions.filter((version) => version !== canary && version !== stable);
			const othersWeight = others.reduce((sum, version) => sum + version.weight, 0);
			if (100 - weight - othersWeight < 0) {
				throw new PlanRefusal(
					`cannot give ${canary.name} ${weight}%: other canaries hold ${othersWeight}% (${others.map((other) => `${other.name} ${other.weight}%`).join(', ')}); lower them first`,
				);
			}

			targets.set(canary.name, weight);
			targets.set(stable.name, 100 - weight - othersWeight);
			return targets;
		}

		case 'promote':
		case 'switch': {
			const to = find(model, action.kind === 'promote' ? action.canary : action.to);
			for (const version of model.versions) targets.set(version.name, version === to ? 100 : 0);
			return targets;
		}

		case 'rollout': {
			return rolloutTargets(model, action.command, targets);
		}
	}
}

/**
 * What the controller is expected to do with the weights, from the model alone: abort sends everything back to the
 * stable, a full promotion everything to the canary; a step (or a retry) goes where the controller's steps say, which
 * only the adapter knows (it plans from the Rollout's steps), so here the weights stay as they are.
 */
function rolloutTargets(
	model: Model,
	command: Extract<TrafficAction, {kind: 'rollout'}>['command'],
	targets: Map<string, number>,
): Map<string, number> {
	if (!model.rollout) throw new PlanRefusal(`${model.name} is not run by a rollout controller: use the weight, promote and rollback keys`);
	const stable = model.versions.find((version) => version.track === 'stable');
	const canary = model.versions.find((version) => version.track === 'canary');
	if (command === 'abort' && stable) for (const version of model.versions) targets.set(version.name, version === stable ? 100 : 0);
	if (command === 'promote-full' && canary) for (const version of model.versions) targets.set(version.name, version === canary ? 100 : 0);
	return targets;
}

/** Plans a traffic action on the model as given (no objects: an adapter adds those). Throws a PlanRefusal. */
export function planTraffic(model: Model, action: TrafficAction): ChangePlan {
	const targets = targetWeights(model, action);
	return {
		action,
		model: refOf(model),
		versions: model.versions.map((version) => ({
			name: version.name,
			track: version.track,
			before: version.weight,
			after: targets.get(version.name) ?? version.weight,
		})),
		writes: [],
	};
}

export function changedVersions(plan: ChangePlan): VersionChange[] {
	return plan.versions.filter((version) => version.before !== version.after);
}

/** True when carrying out the plan would change nothing: no weight moves and no object is written. */
export function isNoop(plan: ChangePlan): boolean {
	return changedVersions(plan).length === 0 && plan.writes.length === 0;
}

/** Why a no-op plan is refused, for people. */
export function noopMessage(plan: ChangePlan): string {
	const weights = plan.versions.map((version) => `${version.name} ${version.before}%`).join(', ');
	return `nothing to change: ${plan.model.name} is already there (${weights})`;
}

/** One line per version (changed ones with before → after) and one per object written: the dialog's body. */
export function planLines(plan: ChangePlan): string[] {
	const lines = plan.versions.map((version) =>
		version.before === version.after
			? `${version.track} ${version.name}: ${version.before}% (unchanged)`
			: `${version.track} ${version.name}: ${version.before}% → ${version.after}%`,
	);
	for (const write of plan.writes) lines.push(`writes ${write.object}: ${write.change}`);
	return lines;
}

/** The weights before, for the audit record: `v7 80%, v8 15%, v8-distilled 5%`. */
export function planBefore(plan: ChangePlan): string {
	return plan.versions.map((version) => `${version.name} ${version.before}%`).join(', ');
}

/** The weights after, for the audit record. */
export function planAfter(plan: ChangePlan): string {
	return plan.versions.map((version) => `${version.name} ${version.after}%`).join(', ');
}

/** The result message once the plan was carried out: every version that changed. */
export function planResult(plan: ChangePlan): string {
	const changed = changedVersions(plan).map((version) => `${version.name} ${version.before}% → ${version.after}%`);
	const what = changed.length > 0 ? changed.join(', ') : plan.writes.map((write) => `${write.object} ${write.change}`).join(', ');
	return `${plan.model.name}${plan.model.cluster ? ` in ${plan.model.cluster}` : ''}: ${what}`;
}

/** The weight of every version the plan was made from, by name: what execution checks the model still has. */
export type ExpectedWeights = Record<string, number>;

export function expectedWeights(plan: ChangePlan): ExpectedWeights {
	return Object.fromEntries(plan.versions.map((version) => [version.name, version.before]));
}

/** The action to send for execution: the planned action carrying the weights it was planned from. */
export function plannedAction(plan: ChangePlan): TrafficAction {
	const action = {...plan.action, expected: expectedWeights(plan)};
	// A weight's `from` is the canary's weight in the plan, whatever the caller thought it was.
	if (action.kind === 'set-weight') action.from = plan.versions.find((version) => version.name === action.canary)?.before ?? action.from;
	return action;
}

/**
 * Why the model no longer matches the plan an action was confirmed on (a version's weight moved, a version came or
 * went), or undefined when it still does or the action carries no expectation.
 */
export function planConflict(model: Model, expected: ExpectedWeights | undefined): string | undefined {
	if (!expected) return undefined;
	const differences: string[] = [];
	for (const [name, weight] of Object.entries(expected)) {
		const now = model.versions.find((version) => version.name === name);
		if (!now) differences.push(`${name} is gone (was ${weight}%)`);
		else if (now.weight !== weight) differences.push(`${name} is at ${now.weight}% now, not ${weight}%`);
	}

	for (const version of model.versions) {
		if (!(version.name in expected)) differences.push(`${version.name} (${version.weight}%) appeared`);
	}

	if (differences.length === 0) return undefined;
	return `${model.name} changed since the plan was confirmed: ${differences.join(', ')}; nothing was written — look again and retry`;
}

/** Throws a ConflictError when the model no longer matches the confirmed plan. */
export function ensurePlanHolds(model: Model, expected: ExpectedWeights | undefined): void {
	const conflict = planConflict(model, expected);
	if (conflict) throw new ConflictError(conflict);
}

/**
 * Why the action no longer fits the model: its plan's weights (`expected`) moved, or, for a caller that sent no plan,
 * what the action itself says it saw (a weight's `from`, the `stable` it promotes over, the version a switch is `from`).
 */
export function actionConflict(model: Model, action: TrafficAction): string | undefined {
	if (action.expected) return planConflict(model, action.expected);
	switch (action.kind) {
		case 'set-weight': {
			const now = model.versions.find((version) => version.name === action.canary)?.weight;
			return now === undefined || now === action.from
				? undefined
				: `canary ${action.canary} is at ${now}% now, not ${action.from}% as shown — someone else changed it; look again and retry`;
		}

		case 'promote': {
			const stable = model.versions.find((version) => version.track === 'stable')?.name;
			return stable === undefined || action.stable === '-' || stable === action.stable
				? undefined
				: `the stable version of ${model.name} is ${stable} now, not ${action.stable} as shown; look again and retry`;
		}

		case 'switch': {
			const serving = [...model.versions].sort((a, b) => b.weight - a.weight)[0]?.name;
			return serving === undefined || serving === action.from || serving === action.to
				? undefined
				: `${model.name} serves ${serving} now, not ${action.from} as shown; look again and retry`;
		}

		case 'rollback':
		case 'rollout': {
			return undefined;
		}
	}
}

/** Throws a ConflictError when the action no longer fits the model (see actionConflict). */
export function ensureActionHolds(model: Model, action: TrafficAction): void {
	const conflict = actionConflict(model, action);
	if (conflict) throw new ConflictError(conflict);
}

/** A reason not to give a version more traffic: a critical flag or a failing verdict, said with its evidence. */
export interface PlanDanger {
	version: string;
	before: number;
	after: number;
	/** `critical: canary p99 1178 ms is 2607% worse than stable 44 ms`, `verdict fail: score 12 (…)`. */
	evidence: string[];
}

/**
 * The versions the plan gives more traffic to that are flagged critical or (for a canary) judged fail. `flagsOf`
 * gives a version's flags; `verdict` is the model's canary verdict.
 */
export function planDangers(plan: ChangePlan, flagsOf: (version: string) => readonly Flag[], verdict: Verdict | undefined): PlanDanger[] {
	const dangers: PlanDanger[] = [];
	for (const version of plan.versions) {
		if (version.after <= version.before) continue;
		const evidence = flagsOf(version.name)
			.filter((flag) => flag.severity === 'critical')
			.map((flag) => `critical: ${flag.message}`);
		if (version.track === 'canary' && verdict?.result === 'fail') evidence.push(`verdict fail: ${verdict.summary}`);
		if (evidence.length > 0) dangers.push({version: version.name, before: version.before, after: version.after, evidence});
	}

	return dangers;
}
