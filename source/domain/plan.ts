/**
 * A change is a plan computed before anything is written: every version of the model with its weight before and
 * after, and every object the change writes. The confirmation dialog, the audit record and the result message are
 * all rendered from the same plan (`planLines`, `planBefore`, `planAfter`, `planResult`), so what the operator
 * confirmed is what is written down and what is reported.
 *
 * `planTraffic` is pure: it works on the model as the caller last saw it. An adapter (`ClusterPort.plan`) plans from
 * a fresh read of the cluster and adds the objects it will write.
 */
import type {Action, Model, ModelRef, Track} from './types.ts';

/** The actions that change a model's traffic (smoke and load tests change nothing). */
export type TrafficAction = Extract<Action, {kind: 'set-weight' | 'promote' | 'rollback' | 'switch'}>;

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
			const stable = stableOf(model);
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
	}
}

/** Plans a traffic action on the model as given (no objects: an adapter adds those). Throws a PlanRefusal. */
export function planTraffic(model: Model, action: TrafficAction): ChangePlan {
	const targets = targetWeights(model, action);
	return {
		action,
		model: {namespace: model.namespace, name: model.name},
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
	return `${plan.model.name}: ${what}`;
}
