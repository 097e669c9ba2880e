/**
 * An Argo Rollouts canary as a model. The Rollout is the model; its versions are its stable and canary ReplicaSets
 * (`status.stableRS` and `status.currentPodHash` name them by their `rollouts-pod-template-hash` label); the weights are
 * the controller's own (`status.canary.weights` when it routes traffic, else the ready replicas, as the controller
 * itself splits without a router); the step is `status.currentStepIndex` of `spec.strategy.canary.steps`; paused,
 * aborted and degraded come from `spec.paused`, `status.pauseConditions`, `status.abort`, `status.phase` and
 * `status.message`; the analysis is the newest AnalysisRun the Rollout owns, with its first failing metric.
 *
 * The controller owns the split: modeldeck never writes the router, it acts through the Rollout as the
 * `kubectl argo rollouts` plugin does (rollout-plans.ts).
 */
import type {ControllerRollout, Model, ModelOwner, Version} from '../../../domain/types.ts';
import {weightsFromReplicas} from '../../../domain/weights.ts';
import type {Pod, ReplicaSet} from '../objects.ts';
import type {AnalysisMetricResult, AnalysisRun, Rollout} from '../objects/argo-rollouts.ts';
import {type ClusterSnapshot, isRecord, listOf, namespaceOf} from './snapshot.ts';
import {modeldeckAnnotations} from './tracks.ts';
import type {ModelAnalysis} from './traffic.ts';
import {countRestarts, mainContainer, podProblems, resourcesOf} from './workloads.ts';

/** The label Argo Rollouts puts on its ReplicaSets and pods (and adds to the canary and stable Services' selectors). */
export const rolloutHashLabel = 'rollouts-pod-template-hash';

/** What planning a controller action needs to know of the Rollout, read at the same moment as the model. */
export interface RolloutControl {
	name: string;
	namespace: string;
	canaryStrategy: boolean;
	/** `setWeight` of each canary step, undefined for steps of other kinds (pause, analysis, …). */
	stepWeights: Array<number | undefined>;
	/** True for the `pause` steps: where the controller stops until promoted (or the pause's duration ends). */
	pauseSteps: boolean[];
	/** As the controller has it (0-based; equal to the number of steps once every step is done). */
	currentStepIndex: number | undefined;
	specPaused: boolean;
	pauseConditions: number;
	controllerPause: boolean;
	/** The current step's analysis ended Inconclusive (the plugin then skips the step instead of only unpausing). */
	inconclusive: boolean;
	currentPodHash: string | undefined;
	stableRS: string | undefined;
	abort: boolean;
	promoteFull: boolean;
	/** Version names, when there is a canary. */
	canary?: string;
	stable?: string;
	/** The object splitting traffic for the controller, `VirtualService/fraud`; undefined without traffic routing. */
	router?: string;
}

/** `kubectl argo rollouts <verb> <name> -n <namespace>`: the owner's own command, shown where modeldeck refuses. */
export function argoRolloutsCommand(
	verb: 'promote' | 'promote --full' | 'abort' | 'retry rollout',
	name: string,
	namespace: string,
): string {
	const [command, flag] = verb.split(' --');
	return `kubectl argo rollouts ${command} ${name} -n ${namespace}${flag ? ` --${flag}` : ''}`;
}

export function rolloutOwner(rollout: Rollout): ModelOwner {
	const name = rollout.metadata?.name ?? '';
	return {
		controller: 'Argo Rollouts',
		object: `Rollout/${name}`,
		evidence: `Rollout/${name} runs this canary`,
		command: argoRolloutsCommand('promote', name, namespaceOf(rollout)),
	};
}

/** The objects of one Rollout found in a snapshot, grouped once per snapshot. */
export class RolloutObjects {
	private readonly replicaSetsByRollout = new Map<string, ReplicaSet[]>();
	private readonly podsByReplicaSet = new Map<string, Pod[]>();
	private readonly runsByRollout = new Map<string, AnalysisRun[]>();

	constructor(snapshot: ClusterSnapshot) {
		const seen = new Set<string>();
		const once = (kind: string, object: ReplicaSet | Pod | AnalysisRun) => {
			const key = `${kind}/${namespaceOf(object)}/${object.metadata?.name}`;
			if (seen.has(key)) return false;
			seen.add(key);
			return true;
		};

		for (const replicaSet of snapshot.replicaSets ?? []) {
			const owner = rolloutOwnerName(replicaSet);
			if (!owner || !once('ReplicaSet', replicaSet)) continue;
			push(this.replicaSetsByRollout, `${namespaceOf(replicaSet)}/${owner}`, replicaSet);
		}

		for (const pod of snapshot.pods ?? []) {
			const owner = listOf(pod.metadata?.ownerReferences).find((reference) => reference.kind === 'ReplicaSet');
			if (!owner?.name || !pod.metadata?.labels?.[rolloutHashLabel] || !once('Pod', pod)) continue;
			push(this.podsByReplicaSet, `${namespaceOf(pod)}/${owner.name}`, pod);
		}

		for (const run of snapshot.analysisRuns ?? []) {
			const owner = rolloutOwnerName(run);
			if (!owner || !once('AnalysisRun', run)) continue;
			push(this.runsByRollout, `${namespaceOf(run)}/${owner}`, run);
		}
	}

	replicaSets(rollout: Rollout): ReplicaSet[] {
		return this.replicaSetsByRollout.get(`${namespaceOf(rollout)}/${rollout.metadata?.name}`) ?? [];
	}

	pods(replicaSet: ReplicaSet): Pod[] {
		return this.podsByReplicaSet.get(`${namespaceOf(replicaSet)}/${replicaSet.metadata?.name}`) ?? [];
	}

	analysisRuns(rollout: Rollout): AnalysisRun[] {
		return this.runsByRollout.get(`${namespaceOf(rollout)}/${rollout.metadata?.name}`) ?? [];
	}
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
	const list = map.get(key);
	if (list) list.push(value);
	else map.set(key, [value]);
}

function rolloutOwnerName(object: ReplicaSet | AnalysisRun): string | undefined {
	return listOf(object.metadata?.ownerReferences).find(
		(reference) => reference.kind === 'Rollout' && (reference.apiVersion ?? 'argoproj.io/').startsWith('argoproj.io/'),
	)?.name;
}

function hashOf(replicaSet: ReplicaSet): string | undefined {
	return replicaSet.metadata?.labels?.[rolloutHashLabel] ?? replicaSet.spec?.template?.metadata?.labels?.[rolloutHashLabel];
}

/** The version label of the ReplicaSet's pods, else its pod-template hash (what `kubectl argo rollouts get` shows). */
function versionLabelOf(replicaSet: ReplicaSet): string | undefined {
	const labels = replicaSet.spec?.template?.metadata?.labels ?? {};
	return labels['app.kubernetes.io/version'] ?? labels['version'];
}

function number(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function virtualServiceNames(rollout: Rollout): string[] {
	const istio = rollout.spec?.strategy?.canary?.trafficRouting?.istio;
	const names = [istio?.virtualService?.name, ...listOf(istio?.virtualServices).map((entry) => entry?.name)];
	return names.filter((name): name is string => typeof name === 'string' && name !== '');
}

/** The object the controller splits traffic with, `VirtualService/fraud`, or undefined without traffic routing. */
export function rolloutRouter(rollout: Rollout): string | undefined {
	const routing = rollout.spec?.strategy?.canary?.trafficRouting;
	if (!routing || typeof routing !== 'object') return undefined;
	const virtualService = virtualServiceNames(rollout)[0];
	if (virtualService) return `VirtualService/${virtualService}`;
	const gatewayApi = routing.plugins?.['argoproj-labs/gatewayAPI'] as
		| {httpRoute?: unknown; httpRoutes?: Array<{name?: unknown}>}
		| undefined;
	const route = typeof gatewayApi?.httpRoute === 'string' ? gatewayApi.httpRoute : gatewayApi?.httpRoutes?.[0]?.name;
	if (typeof route === 'string' && route) return `HTTPRoute/${route}`;
	if (typeof routing.smi?.trafficSplitName === 'string') return `TrafficSplit/${routing.smi.trafficSplitName}`;
	if (typeof routing.nginx?.stableIngress === 'string') return `Ingress/${routing.nginx.stableIngress}`;
	return undefined;
}

/** Every object a Rollout names as its own: its routers and Services, which no other discovery step may take. */
export function rolloutReferences(rollout: Rollout): Array<{kind: string; name: string}> {
	const canary = rollout.spec?.strategy?.canary;
	const references: Array<{kind: string; name: string}> = virtualServiceNames(rollout).map((name) => ({kind: 'VirtualService', name}));
	const router = rolloutRouter(rollout);
	if (router && !router.startsWith('VirtualService/')) {
		const [kind, name] = router.split('/');
		references.push({kind: kind!, name: name!});
	}

	const destinationRule = canary?.trafficRouting?.istio?.destinationRule?.name;
	if (typeof destinationRule === 'string' && destinationRule) references.push({kind: 'DestinationRule', name: destinationRule});
	for (const service of [
		canary?.canaryService,
		canary?.stableService,
		rollout.spec?.strategy?.blueGreen?.activeService,
		rollout.spec?.strategy?.blueGreen?.previewService,
	]) {
		if (typeof service === 'string' && service) references.push({kind: 'Service', name: service});
	}

	return references;
}

export function analyseRollout(rollout: Rollout, objects: RolloutObjects): ModelAnalysis {
	const name = rollout.metadata?.name ?? '';
	const namespace = namespaceOf(rollout);
	const label = `Rollout/${name}`;
	const warnings: string[] = [];
	const spec = rollout.spec;
	const status = rollout.status ?? {};
	const canaryStrategy = spec?.strategy?.canary;
	const steps = listOf(canaryStrategy?.steps);
	const replicaSets = objects.replicaSets(rollout);
	const byHash = (hash: string | undefined) => (hash ? replicaSets.find((replicaSet) => hashOf(replicaSet) === hash) : undefined);
	const stableSet = byHash(status.stableRS);
	const currentSet = byHash(status.currentPodHash);
	const canarySet = currentSet && currentSet !== stableSet ? currentSet : undefined;
	const router = rolloutRouter(rollout);
	// With traffic routing, weights (the steps' and the controller's) are out of `maxTrafficWeight`, 100 unless set.
	const maxWeight = router ? positive(canaryStrategy?.trafficRouting?.maxTrafficWeight) : undefined;
	const percent = (value: unknown): number | undefined => {
		const weight = number(value);
		return weight === undefined ? undefined : clampPercent((weight * 100) / (maxWeight ?? 100));
	};

	const control: RolloutControl = {
		name,
		namespace,
		canaryStrategy: Boolean(canaryStrategy),
		stepWeights: steps.map((step) => percent(step?.setWeight)),
		pauseSteps: steps.map((step) => isRecord(step) && step.pause !== undefined),
		currentStepIndex: number(status.currentStepIndex),
		specPaused: spec?.paused === true,
		pauseConditions: listOf(status.pauseConditions ?? undefined).length,
		controllerPause: status.controllerPause === true,
		inconclusive: status.canary?.currentStepAnalysisRunStatus?.status === 'Inconclusive',
		currentPodHash: status.currentPodHash,
		stableRS: status.stableRS,
		abort: status.abort === true,
		promoteFull: status.promoteFull === true,
		...(router ? {router} : {}),
	};

	const versions: Version[] = [];
	const names = versionNames(stableSet, canarySet);
	if (stableSet) versions.push(replicaSetVersion(stableSet, names.stable!, 'stable', canaryStrategy?.stableService, objects));
	if (canarySet) versions.push(replicaSetVersion(canarySet, names.canary!, 'canary', canaryStrategy?.canaryService, objects));
	if (!stableSet && !canarySet && currentSet)
		versions.push(
			replicaSetVersion(
				currentSet,
				versionLabelOf(currentSet) ?? hashOf(currentSet) ?? '?',
				'stable',
				canaryStrategy?.stableService,
				objects,
			),
		);
	if (versions.length === 0)
		warnings.push(`${label} has no ReplicaSets yet: Argo Rollouts has not reconciled it (is its controller running?)`);
	else if (status.stableRS && !stableSet)
		warnings.push(`${label} names stable ReplicaSet hash ${status.stableRS}, which is not among its ReplicaSets`);
	if (canarySet) control.canary = names.canary;
	if (stableSet) control.stable = names.stable;

	const weights = status.canary?.weights;
	const stableVersion = versions.find((version) => version.track === 'stable');
	const canaryVersion = versions.find((version) => version.track === 'canary');
	if (router && weights && canaryVersion && stableVersion) {
		// The controller's own record of what it wrote to the router. The stable weight is what the canary leaves, or less
		// when the controller names less (an experiment's destinations take the rest); never more, even rounded.
		const canary = percent(weights.canary?.weight);
		const stable = percent(weights.stable?.weight);
		if (canary === undefined)
			warnings.push(
				`${label}'s status.canary.weights.canary.weight is not a number (${String(weights.canary?.weight)}): the canary is shown at ${stable === undefined ? 0 : 100 - stable}%`,
			);
		canaryVersion.weight = canary ?? (stable === undefined ? 0 : 100 - stable);
		stableVersion.weight = Math.min(stable ?? 100, 100 - canaryVersion.weight);
	} else if (versions.length === 1) {
		versions[0]!.weight = 100;
	} else if (versions.length > 1) {
		// Without traffic routing the controller splits by replicas, and so does this.
		const shares = weightsFromReplicas(versions.map((version) => version.replicasReady));
		versions.forEach((version, position) => {
			version.weight = shares[position] ?? 0;
		});
	}

	const model: Model = {
		namespace,
		name,
		router: 'argo-rollouts',
		routerObject: router ?? label,
		versions,
		owner: rolloutOwner(rollout),
		rollout: controllerRollout(rollout, control, objects),
		discoveredBy: label,
	};
	if (rollout.metadata?.resourceVersion) model.resourceVersion = rollout.metadata.resourceVersion;
	const annotations = modeldeckAnnotations([rollout.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	if (spec?.strategy?.blueGreen)
		warnings.push(`${label} is blue-green: modeldeck shows it; promote and abort it with kubectl argo rollouts`);
	if (spec?.workloadRef && !spec.template)
		warnings.push(`${label} takes its pod template from ${spec.workloadRef.kind ?? 'a workload'}/${spec.workloadRef.name ?? '?'}`);
	if (warnings.length > 0) model.warnings = warnings;
	const owned: Record<string, ModelOwner> = {};
	for (const reference of rolloutReferences(rollout))
		owned[`${reference.kind}/${reference.name}`] = {...model.owner!, evidence: `named by ${label} spec.strategy`};
	return {model, traffic: {kind: 'argo-rollouts', name, control}, deployments: {}, owned};
}

function clampPercent(weight: number): number {
	return Math.min(100, Math.max(0, Math.round(weight)));
}

function positive(value: unknown): number | undefined {
	const found = number(value);
	return found !== undefined && found > 0 ? found : undefined;
}

/** Version labels when they tell the two apart, else the pod-template hashes. */
function versionNames(stable: ReplicaSet | undefined, canary: ReplicaSet | undefined): {stable?: string; canary?: string} {
	const stableLabel = stable ? versionLabelOf(stable) : undefined;
	const canaryLabel = canary ? versionLabelOf(canary) : undefined;
	const labelsWork = (!stable || stableLabel) && (!canary || canaryLabel) && stableLabel !== canaryLabel;
	const names: {stable?: string; canary?: string} = {};
	if (stable) names.stable = (labelsWork ? stableLabel : undefined) ?? hashOf(stable) ?? stable.metadata?.name ?? 'stable';
	if (canary) names.canary = (labelsWork ? canaryLabel : undefined) ?? hashOf(canary) ?? canary.metadata?.name ?? 'canary';
	if (names.stable === names.canary) names.canary = `${names.canary}-canary`;
	return names;
}

function replicaSetVersion(
	replicaSet: ReplicaSet,
	name: string,
	track: Version['track'],
	service: string | undefined,
	objects: RolloutObjects,
): Version {
	const template = replicaSet.spec?.template;
	const containers = listOf(template?.spec?.containers);
	const pods = objects.pods(replicaSet);
	const version: Version = {
		name,
		track,
		weight: 0,
		replicasReady: number(replicaSet.status?.readyReplicas) ?? 0,
		replicasDesired: number(replicaSet.spec?.replicas) ?? 0,
		restarts: countRestarts(pods),
		image: mainContainer(containers, template?.metadata?.annotations)?.image ?? '',
		created: replicaSet.metadata?.creationTimestamp ?? '',
		object: `ReplicaSet/${replicaSet.metadata?.name}`,
	};
	if (typeof service === 'string' && service) version.service = service;
	const resources = resourcesOf(containers);
	if (resources) version.resources = resources;
	const problems = podProblems(pods);
	if (problems.length > 0) version.problems = problems;
	return version;
}

function controllerRollout(rollout: Rollout, control: RolloutControl, objects: RolloutObjects): ControllerRollout {
	const status = rollout.status ?? {};
	const aborted = control.abort;
	const result: ControllerRollout = {
		controller: 'argo-rollouts',
		phase: typeof status.phase === 'string' && status.phase ? status.phase : 'Unknown',
		paused: control.specPaused || control.pauseConditions > 0 || control.controllerPause,
	};
	const total = control.stepWeights.length;
	if (control.canaryStrategy && total > 0) {
		result.totalSteps = total;
		result.step = Math.min(total, Math.max(1, Math.floor(control.currentStepIndex ?? 0) + 1));
	}

	const message = typeof status.message === 'string' && status.message ? status.message : undefined;
	if (message) result.message = message;
	else if (aborted) result.message = 'aborted: traffic back on the stable version';
	const analysis = currentAnalysis(rollout, objects.analysisRuns(rollout));
	if (analysis) result.analysis = analysis;
	return result;
}

function currentAnalysis(rollout: Rollout, runs: AnalysisRun[]): ControllerRollout['analysis'] {
	if (runs.length === 0) return undefined;
	const named = [
		rollout.status?.canary?.currentStepAnalysisRunStatus?.name,
		rollout.status?.canary?.currentBackgroundAnalysisRunStatus?.name,
	];
	const newestFirst = [...runs].sort(
		(a, b) =>
			(b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? '') ||
			(b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? ''),
	);
	const run = newestFirst.find((candidate) => named.includes(candidate.metadata?.name)) ?? newestFirst[0]!;
	const status = run.status ?? {};
	const analysis: NonNullable<ControllerRollout['analysis']> = {
		name: run.metadata?.name ?? '',
		phase: typeof status.phase === 'string' && status.phase ? status.phase : 'Pending',
	};
	const failing = listOf(status.metricResults).find((metric) => metric?.phase === 'Failed' || metric?.phase === 'Error');
	if (failing?.name) {
		analysis.failingMetric = failing.name;
		analysis.detail = metricDetail(failing);
	} else if (typeof status.message === 'string' && status.message) {
		analysis.detail = status.message;
	}

	return analysis;
}

/** `2 of 3 measurements failed; last 0.31 (Failed)` — what the plugin's `get` shows of a metric. */
function metricDetail(metric: AnalysisMetricResult): string {
	const measurements = listOf(metric.measurements);
	const last = measurements.at(-1);
	const parts: string[] = [];
	const failed = number(metric.failed) ?? 0;
	const errors = number(metric.error) ?? 0;
	const count = number(metric.count) ?? measurements.length;
	if (failed > 0) parts.push(`${failed} of ${count} measurements failed`);
	if (errors > 0) parts.push(`${errors} errors`);
	if (last) {
		const value = typeof last.value === 'string' && last.value ? `last ${last.value}` : 'last measurement';
		parts.push(`${value} (${last.phase ?? '?'}${typeof last.message === 'string' && last.message ? `: ${last.message}` : ''})`);
	}

	if (typeof metric.message === 'string' && metric.message) parts.push(metric.message);
	return parts.join('; ') || metric.phase || 'failed';
}
