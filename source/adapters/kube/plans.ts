/**
 * What each action writes, as JSON Patches planned from a fresh read. Pure, so the exact operations are unit-tested.
 *
 * Every write that changes a weight first `test`s the value it was planned from (and, for router entries, that the
 * entry at that index still names the same backend). A concurrent change makes the API server refuse the whole patch
 * (HTTP 422), which the caller reports as a ConflictError: nothing is overwritten silently.
 *
 * Weights in routers are written as whole percentages summing to 100; other canaries keep their share and the stable
 * takes the rest. Without a router (weights from ready replicas) a weight is set by scaling: the model's total desired
 * replicas is kept, the canary gets its share rounded (at least one pod for a non-zero share), other canaries keep
 * theirs and the stable gets the rest (at least one pod unless the canary gets 100%).
 */
import {PlanRefusal} from '../../domain/plan.ts';
import type {Version} from '../../domain/types.ts';
import {resourceTypes, type ResourceType} from './http.ts';
import {stableAnnotation, type ModelAnalysis, type TrafficControl} from './build-models.ts';
import type {Deployment, ReplicaSet} from './objects.ts';

export interface JsonPatchOperation {
	op: 'test' | 'replace' | 'add' | 'remove';
	path: string;
	value?: unknown;
}

export interface PlannedWrite {
	type: ResourceType;
	/** Written through a subresource: `status` (Argo Rollouts' commands patch the Rollout's status, as its plugin does). */
	subresource?: 'status';
	namespace: string;
	name: string;
	/** `HTTPRoute/fraud`, `Deployment/fraud-v12` — for messages. */
	object: string;
	patch: JsonPatchOperation[];
	/** What the write does, for messages: `v13 10% → 20%`. */
	change: string;
}

/** A refusal planned before anything is written: the message says what to do instead. */
export class PlanError extends PlanRefusal {
	override name = 'PlanError';
}

const canaryTrafficPath = '/spec/predictor/canaryTrafficPercent';
const revisionAnnotation = 'deployment.kubernetes.io/revision';
// Annotations `kubectl rollout undo` leaves as they are on the Deployment instead of copying from the ReplicaSet.
const annotationsToSkip = new Set([
	'kubectl.kubernetes.io/last-applied-configuration',
	revisionAnnotation,
	'deployment.kubernetes.io/revision-history',
	'deployment.kubernetes.io/desired-replicas',
	'deployment.kubernetes.io/max-replicas',
	'deprecated.deployment.rollback.to',
]);

function findVersion(analysis: ModelAnalysis, name: string): Version {
	const version = analysis.model.versions.find((candidate) => candidate.name === name);
	if (!version) {
		const known = analysis.model.versions.map((candidate) => candidate.name).join(', ') || 'none';
		throw new PlanError(`${analysis.model.name} has no version ${name} (versions: ${known})`);
	}

	return version;
}

function stableOf(analysis: ModelAnalysis): Version {
	const stable = analysis.model.versions.find((version) => version.track === 'stable');
	if (!stable) throw new PlanError(`${analysis.model.name} has no versions in ${analysis.model.namespace}`);
	return stable;
}

/** Target percentages: the canary at `weight`, other canaries unchanged, the stable takes the rest. */
function shiftTo(analysis: ModelAnalysis, canary: string, weight: number): Map<string, number> {
	const version = findVersion(analysis, canary);
	const stable = stableOf(analysis);
	if (version === stable) {
		throw new PlanError(`${canary} is the stable version of ${analysis.model.name}: set a canary's weight instead`);
	}

	const others = analysis.model.versions.filter((candidate) => candidate !== version && candidate !== stable);
	const othersWeight = others.reduce((sum, candidate) => sum + candidate.weight, 0);
	const stableWeight = 100 - weight - othersWeight;
	if (stableWeight < 0) {
		throw new PlanError(
			`cannot give ${canary} ${weight}%: other canaries hold ${othersWeight}% (${others.map((other) => `${other.name} ${other.weight}%`).join(', ')}); lower them first`,
		);
	}

	const targets = new Map<string, number>();
	for (const candidate of analysis.model.versions) targets.set(candidate.name, candidate.weight);
	targets.set(canary, weight);
	targets.set(stable.name, stableWeight);
	return targets;
}

function allTo(analysis: ModelAnalysis, to: string): Map<string, number> {
	findVersion(analysis, to);
	return new Map(analysis.model.versions.map((version) => [version.name, version.name === to ? 100 : 0]));
}

function describeChanges(analysis: ModelAnalysis, targets: Map<string, number>): string {
	return analysis.model.versions
		.filter((version) => targets.get(version.name) !== version.weight)
		.map((version) => `${version.name} ${version.weight}% → ${targets.get(version.name)}%`)
		.join(', ');
}

/** The writes that give each version its target percentage, through whatever splits the model's traffic. */
export function planWeights(analysis: ModelAnalysis, targets: Map<string, number>): PlannedWrite[] {
	const {traffic, model} = analysis;
	switch (traffic.kind) {
		case 'httproute':
		case 'virtualservice':
		case 'trafficsplit':
		case 'seldon': {
			return planRouterWeights(analysis, traffic, targets);
		}

		case 'replicas': {
			return planReplicaWeights(analysis, targets);
		}

		case 'kserve': {
			return planKserveWeights(analysis, traffic, targets);
		}

		default: {
			throw new PlanError(`${model.name}: unknown router`);
		}
	}
}

function planRouterWeights(analysis: ModelAnalysis, traffic: RouterControl, targets: Map<string, number>): PlannedWrite[] {
	const {model} = analysis;
	for (const backend of traffic.backends) {
		if (backend.versions.length !== 1) {
			const reaches = backend.versions.length === 0 ? 'reaches no version' : `reaches several versions (${backend.versions.join(', ')})`;
			throw new PlanError(
				`cannot change weights of ${model.name}: ${traffic.object} entry ${backend.target} ${reaches}; point each entry at one version's Service first`,
			);
		}
	}

	const newWeights = traffic.backends.map(() => 0);
	for (const [versionName, percent] of targets) {
		const first = traffic.backends.findIndex((backend) => backend.versions[0] === versionName);
		if (first === -1) {
			if (percent === 0) continue;
			const service = model.versions.find((version) => version.name === versionName)?.service;
			throw new PlanError(
				`${versionName} is not in ${traffic.object}: add an entry for ${service ? `its Service ${service}` : 'a Service selecting it'} first`,
			);
		}

		// A version reached by several entries gets its whole share on the first of them.
		newWeights[first] = percent;
	}

	const patch: JsonPatchOperation[] = [];
	traffic.backends.forEach((backend, position) => {
		const weight = newWeights[position]!;
		if (backend.writtenWeight === weight) return;
		patch.push({op: 'test', path: `${backend.pointer}/${backend.identityField}`, value: backend.identityValue});
		if (backend.writtenWeight === undefined) {
			patch.push({op: 'add', path: `${backend.pointer}/weight`, value: weight});
		} else {
			patch.push({op: 'test', path: `${backend.pointer}/weight`, value: backend.writtenWeight});
			patch.push({op: 'replace', path: `${backend.pointer}/weight`, value: weight});
		}
	});
	if (patch.length === 0) return [];
	return [
		{
			type: routerTypes[traffic.kind],
			namespace: model.namespace,
			name: traffic.name,
			object: traffic.object,
			patch,
			change: describeChanges(analysis, targets),
		},
	];
}

type RouterControl = Extract<TrafficControl, {kind: 'httproute' | 'virtualservice' | 'trafficsplit' | 'seldon'}>;

/** The API resource of each router kind whose entries carry weights. */
const routerTypes: Record<RouterControl['kind'], ResourceType> = {
	httproute: resourceTypes.httpRoutes,
	virtualservice: resourceTypes.virtualServices,
	trafficsplit: resourceTypes.trafficSplits,
	seldon: resourceTypes.seldonExperiments,
};

function planReplicaWeights(analysis: ModelAnalysis, targets: Map<string, number>): PlannedWrite[] {
	const {model} = analysis;
	const versions = model.versions;
	const scaled = versions.find((version) => version.autoscaler);
	if (scaled) {
		throw new PlanError(
			`${model.name} has no router and ${scaled.object} is scaled by a HorizontalPodAutoscaler: its share of traffic cannot be set by replicas; add an HTTPRoute or VirtualService annotated with the model`,
		);
	}

	const total = Math.max(
		1,
		versions.reduce((sum, version) => sum + version.replicasDesired, 0),
	);
	const stable = stableOf(analysis);
	const replicas = new Map<string, number>();
	let assigned = 0;
	for (const version of versions) {
		if (version === stable) continue;
		const percent = targets.get(version.name) ?? version.weight;
		const unchanged = percent === version.weight;
		const count = unchanged ? version.replicasDesired : percent === 0 ? 0 : Math.max(1, Math.round((total * percent) / 100));
		replicas.set(version.name, count);
		assigned += count;
	}

	const stablePercent = targets.get(stable.name) ?? stable.weight;
	replicas.set(stable.name, stablePercent === 0 ? 0 : Math.max(1, total - assigned));

	const writes: PlannedWrite[] = [];
	for (const version of versions) {
		const count = replicas.get(version.name)!;
		if (count === version.replicasDesired) continue;
		const deployment = analysis.deployments[version.name]!;
		writes.push({
			type: resourceTypes.deployments,
			namespace: model.namespace,
			name: deployment,
			object: `Deployment/${deployment}`,
			patch: [
				{op: 'test', path: '/spec/replicas', value: version.replicasDesired},
				{op: 'replace', path: '/spec/replicas', value: count},
			],
			change: `${version.name} ${version.replicasDesired} → ${count} replicas`,
		});
	}

	// Scale up before scaling down, so that capacity never dips in between.
	const after = (write: PlannedWrite) => {
		const replace = write.patch.find((operation) => operation.op === 'replace')!;
		const test = write.patch.find((operation) => operation.op === 'test')!;
		return (replace.value as number) - (test.value as number);
	};

	return writes.sort((a, b) => after(b) - after(a));
}

function planKserveWeights(
	analysis: ModelAnalysis,
	traffic: Extract<TrafficControl, {kind: 'kserve'}>,
	targets: Map<string, number>,
): PlannedWrite[] {
	const {model} = analysis;
	if (traffic.raw) {
		throw new PlanError(
			`InferenceService/${traffic.name} runs in RawDeployment mode, where KServe has no canary (canaryTrafficPercent is ignored): roll out a new predictor with kubectl apply, or run the new version as a second InferenceService behind an HTTPRoute`,
		);
	}

	if (!traffic.canary || !traffic.stable) {
		throw new PlanError(`InferenceService/${traffic.name} has no canary: set a new predictor spec with canaryTrafficPercent first`);
	}

	const canaryPercent = targets.get(traffic.canary) ?? 0;
	const current = traffic.canaryTrafficPercent;
	const patch: JsonPatchOperation[] = current === undefined ? [] : [{op: 'test', path: canaryTrafficPath, value: current}];
	if (canaryPercent === 100) {
		// KServe promotes by dropping canaryTrafficPercent: the latest revision then takes all traffic.
		if (current === undefined) return [];
		patch.push({op: 'remove', path: canaryTrafficPath});
	} else {
		if (current === canaryPercent) return [];
		patch.push({op: current === undefined ? 'add' : 'replace', path: canaryTrafficPath, value: canaryPercent});
	}

	return [
		{
			type: resourceTypes.inferenceServices,
			namespace: model.namespace,
			name: traffic.name,
			object: `InferenceService/${traffic.name}`,
			patch,
			change: describeChanges(analysis, targets),
		},
	];
}

export function planSetWeight(analysis: ModelAnalysis, canary: string, weight: number): PlannedWrite[] {
	if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
		throw new PlanError(`${weight} is not a weight: use a whole number from 0 to 100`);
	}

	return planWeights(analysis, shiftTo(analysis, canary, weight));
}

export interface PromotePlan {
	traffic: PlannedWrite[];
	/** Old stable versions scaled to zero after the traffic moved (empty when kept, and for KServe). */
	scaleDown: PlannedWrite[];
}

export function planPromote(analysis: ModelAnalysis, canary: string, keepOldStable: boolean): PromotePlan {
	const version = findVersion(analysis, canary);
	const stable = stableOf(analysis);
	if (version === stable) throw new PlanError(`${canary} is already the stable version of ${analysis.model.name}`);
	const targets = allTo(analysis, canary);
	if (analysis.traffic.kind === 'replicas') {
		// Without a router, replicas are the traffic: promoting scales the canary to the model's size and the others to zero.
		return {traffic: planReplicaPromotion(analysis, canary), scaleDown: []};
	}

	const traffic = markStable(analysis, planWeights(analysis, targets), canary);
	const scaleDown: PlannedWrite[] = [];
	if (!keepOldStable && analysis.traffic.kind !== 'kserve' && stable.replicasDesired > 0) {
		const deployment = analysis.deployments[stable.name];
		if (deployment) scaleDown.push(scaleWrite(analysis, deployment, stable, 0));
	}

	return {traffic, scaleDown};
}

function planReplicaPromotion(analysis: ModelAnalysis, to: string): PlannedWrite[] {
	const versions = analysis.model.versions;
	const scaled = versions.find((version) => version.autoscaler && version.name !== to);
	if (scaled) {
		throw new PlanError(
			`${analysis.model.name} has no router and ${scaled.object} is scaled by a HorizontalPodAutoscaler, which would scale it back up; remove the autoscaler or add a router first`,
		);
	}

	const total = Math.max(
		1,
		versions.reduce((sum, version) => sum + version.replicasDesired, 0),
	);
	const writes: PlannedWrite[] = [];
	for (const version of versions) {
		const count = version.name === to ? Math.max(total, version.replicasDesired) : 0;
		if (count === version.replicasDesired) continue;
		const deployment = analysis.deployments[version.name];
		if (deployment) writes.push(scaleWrite(analysis, deployment, version, count));
	}

	return writes.sort((a, b) => (a.name === analysis.deployments[to] ? -1 : b.name === analysis.deployments[to] ? 1 : 0));
}

function scaleWrite(analysis: ModelAnalysis, deployment: string, version: Version, count: number): PlannedWrite {
	return {
		type: resourceTypes.deployments,
		namespace: analysis.model.namespace,
		name: deployment,
		object: `Deployment/${deployment}`,
		patch: [
			{op: 'test', path: '/spec/replicas', value: version.replicasDesired},
			{op: 'replace', path: '/spec/replicas', value: count},
		],
		change: `${version.name} ${version.replicasDesired} → ${count} replicas`,
	};
}

/** The traffic half of a rollback: canary to 0%, the stable takes its share. */
export function planRollbackTraffic(analysis: ModelAnalysis, canary: string): PlannedWrite[] {
	findVersion(analysis, canary);
	if (analysis.model.versions.length === 1) return [];
	return planWeights(analysis, shiftTo(analysis, canary, 0));
}

export function planSwitch(analysis: ModelAnalysis, to: string): PlannedWrite[] {
	if (analysis.traffic.kind === 'replicas') return planReplicaPromotion(analysis, to);
	return markStable(analysis, planWeights(analysis, allTo(analysis, to)), to);
}

/**
 * The router's `modeldeck.dev/stable` annotation names the version that now has all traffic, in the same patch as
 * the weights: track is a fact written down, not read from weights afterwards. (Without a router the old versions are
 * scaled to zero, which says it; KServe's own status says it.)
 */
function markStable(analysis: ModelAnalysis, writes: PlannedWrite[], stable: string): PlannedWrite[] {
	const {traffic, model} = analysis;
	// Controllers keep their own record of which version is stable (and their models are refused before this).
	if (traffic.kind === 'kserve' || traffic.kind === 'replicas' || traffic.kind === 'flagger' || traffic.kind === 'argo-rollouts')
		return writes;
	if (model.annotations?.[stableAnnotation] === stable) return writes;
	const type = routerTypes[traffic.kind];
	// A router found without modeldeck's annotation may have no annotations at all: then the whole map is written,
	// guarded by the resourceVersion it was read at (JSON Patch cannot test that a member is absent).
	const operations: JsonPatchOperation[] =
		traffic.annotated === false
			? [
					...(traffic.resourceVersion ? [{op: 'test' as const, path: '/metadata/resourceVersion', value: traffic.resourceVersion}] : []),
					{op: 'add', path: '/metadata/annotations', value: {[stableAnnotation]: stable}},
				]
			: [{op: 'add', path: `/metadata/annotations/${stableAnnotation.replace('/', '~1')}`, value: stable}];
	const router = writes.find((write) => write.type === type && write.name === traffic.name);
	const marked = `${stable} marked stable (${stableAnnotation})`;
	if (router) {
		return writes.map((write) =>
			write === router ? {...write, patch: [...write.patch, ...operations], change: `${write.change}; ${marked}`} : write,
		);
	}

	return [...writes, {type, namespace: model.namespace, name: traffic.name, object: traffic.object, patch: operations, change: marked}];
}

function revisionOf(object: {metadata?: {annotations?: Record<string, string>}}): number {
	const value = Number(object.metadata?.annotations?.[revisionAnnotation]);
	return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * `kubectl rollout undo`: copy the previous ReplicaSet's pod template (without its pod-template-hash label) and
 * annotations back onto the Deployment, guarded by its resourceVersion. Undefined when there is nothing to restore.
 */
export function planTemplateUndo(deployment: Deployment, replicaSets: ReplicaSet[]): PlannedWrite | undefined {
	const name = deployment.metadata?.name ?? '';
	const namespace = deployment.metadata?.namespace ?? 'default';
	if (revisionOf(deployment) < 2) return undefined;
	if (deployment.spec?.paused) {
		throw new PlanError(`Deployment ${name} is paused: resume it (kubectl rollout resume deployment/${name}) before rolling back`);
	}

	const owned = replicaSets.filter((replicaSet) =>
		(replicaSet.metadata?.ownerReferences ?? []).some(
			(owner) => owner.kind === 'Deployment' && (owner.uid ? owner.uid === deployment.metadata?.uid : owner.name === name),
		),
	);
	// kubectl's "previous revision" is the second highest revision among the Deployment's ReplicaSets.
	const revisions = [...new Set(owned.map(revisionOf).filter((revision) => revision > 0))].sort((a, b) => b - a);
	const previousRevision = revisions[1];
	const previous = owned.find((replicaSet) => revisionOf(replicaSet) === previousRevision);
	if (!previous?.spec?.template) return undefined;

	const template = structuredClone(previous.spec.template);
	if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
	const annotations: Record<string, string> = {};
	for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {})) {
		if (annotationsToSkip.has(key)) annotations[key] = value;
	}

	for (const [key, value] of Object.entries(previous.metadata?.annotations ?? {})) {
		if (!annotationsToSkip.has(key)) annotations[key] = value;
	}

	return {
		type: resourceTypes.deployments,
		namespace,
		name,
		object: `Deployment/${name}`,
		patch: [
			// Guard the template, not the resourceVersion: the controller-manager updates status and annotations
			// all the time during a rollout, and those are not changes an operator made behind our back.
			{op: 'test', path: '/spec/template', value: deployment.spec?.template ?? {}},
			{op: 'replace', path: '/spec/template', value: template},
			{op: 'add', path: '/metadata/annotations', value: annotations},
		],
		change: `template of revision ${previousRevision} restored (was revision ${revisionOf(deployment)})`,
	};
}
