/**
 * Turns the Kubernetes objects of a cluster into modeldeck's `Model[]`. Pure: the same snapshot gives the same models,
 * so every shape (and every odd one) is tested with JSON fixtures of real objects.
 *
 * How objects become models (names are the defaults of `Conventions`):
 * - A version is a Deployment labelled `modeldeck.dev/model: <model>` and `app.kubernetes.io/version: <version>`.
 *   A Deployment with the model label but no version label is left out with a warning on its model. A model name is
 *   unique per namespace only: the same name in two namespaces is two models.
 * - Traffic is split by the HTTPRoute (gateway.networking.k8s.io/v1) or Istio VirtualService annotated
 *   `modeldeck.dev/model: <model>` in the model's namespace. A backend reaches the versions whose pod template labels
 *   its Service selects (and, for an Istio subset, the subset's DestinationRule labels). A version's weight is its
 *   backends' share of the route's total weight, as a whole percentage. Versions the route does not name get 0.
 * - Without a router, weights are the ratio of ready replicas (as Argo Rollouts does without traffic routing).
 * - Track, for routers and replicas alike, is a fact about the model, never a consequence of today's weights (a canary
 *   given 68% is still the canary, and `weight` still changes it): the version named by the `modeldeck.dev/stable`
 *   annotation on the router (written by a promotion), else the one a Deployment declares of itself with that
 *   annotation, else the oldest version that still has traffic or replicas (what was stable before the canary
 *   started), else the oldest. Every other version is a canary.
 * - A KServe InferenceService is a model whose versions are its predictor revisions: the canary is the latest
 *   revision (the `latestRevision: true` traffic target, else latestReadyRevision/latestCreatedRevision); the stable is
 *   the revision that last had all traffic (the `prev` traffic target, else latestRolledoutRevision, else
 *   previousRolledoutRevision — KServe keeps latestRolledoutRevision on the old revision until the canary has 100%).
 *   The canary's weight is `spec.predictor.canaryTrafficPercent`; without it the latest revision has all traffic.
 * - An Argo Rollouts Rollout is a model whose versions are its stable and canary ReplicaSets (discovery/argo-rollouts.ts).
 * - Last, every model's router and Deployments are checked for a controller owning them (discovery/ownership.ts).
 * Odd shapes never throw: they become `warnings` on the model.
 */
import type {Model} from '../../domain/types.ts';
import {type Conventions, defaultConventions} from './conventions.ts';
import {analyseDeploymentModel, type DeploymentGroup} from './discovery/deployments.ts';
import {addUnlessNameTaken, Claims} from './discovery/claims.ts';
import {analyseInferenceService} from './discovery/kserve.ts';
import {analyseRollout, RolloutObjects, rolloutReferences} from './discovery/argo-rollouts.ts';
import {markOwners} from './discovery/ownership.ts';
import {type ClusterSnapshot, namespaceOf, SnapshotIndex, sanitize, sortByName} from './discovery/snapshot.ts';
import type {ModelAnalysis} from './discovery/traffic.ts';
import type {HttpRoute, VirtualService} from './objects.ts';

export type {ClusterSnapshot} from './discovery/snapshot.ts';
export type {ModelAnalysis, TrafficBackend, TrafficControl} from './discovery/traffic.ts';
export {modeldeckAnnotations, stableAnnotation} from './discovery/tracks.ts';

export function buildModels(snapshot: ClusterSnapshot, conventions: Conventions = defaultConventions): Model[] {
	return analyseModels(snapshot, conventions).map((analysis) => analysis.model);
}

export function analyseModels(input: ClusterSnapshot, conventions: Conventions = defaultConventions): ModelAnalysis[] {
	const snapshot = sanitize(input);
	const index = new SnapshotIndex(snapshot);
	const groups = new Map<string, DeploymentGroup>();
	const groupFor = (namespace: string, name: string): DeploymentGroup => {
		const key = `${namespace}/${name}`;
		let group = groups.get(key);
		if (!group) {
			group = {namespace, name, deployments: [], warnings: []};
			groups.set(key, group);
		}

		return group;
	};

	for (const deployment of snapshot.deployments ?? []) {
		const modelName = deployment.metadata?.labels?.[conventions.modelLabel];
		if (!modelName) continue;
		groupFor(namespaceOf(deployment), modelName).deployments.push(deployment);
	}

	const routersByModel = new Map<string, Array<HttpRoute | VirtualService>>();
	const addRouter = (router: HttpRoute | VirtualService) => {
		const modelName = router.metadata?.annotations?.[conventions.routerAnnotation];
		if (!modelName) return;
		const key = `${namespaceOf(router)}/${modelName}`;
		routersByModel.set(key, [...(routersByModel.get(key) ?? []), router]);
		groupFor(namespaceOf(router), modelName);
	};

	for (const route of sortByName(snapshot.httpRoutes ?? [])) addRouter({...route, kind: 'HTTPRoute'});
	for (const service of sortByName(snapshot.virtualServices ?? [])) addRouter({...service, kind: 'VirtualService'});

	// 1. Explicit: Deployments labelled with the model label, and routers annotated with it.
	const claims = new Claims();
	const analyses: ModelAnalysis[] = [];
	for (const [key, group] of groups) {
		for (const deployment of group.deployments) claims.claimObject('Deployment', deployment);
		for (const router of routersByModel.get(key) ?? []) claims.claimObject(router.kind ?? '', router);
		analyses.push(
			guarded(group.namespace, group.name, () => analyseDeploymentModel(group, routersByModel.get(key) ?? [], index, conventions)),
		);
	}

	// 2. Controllers that own their models' traffic: KServe.
	for (const inferenceService of snapshot.inferenceServices ?? []) {
		const name = inferenceService.metadata?.name;
		if (!name) continue;
		claims.claimObject('InferenceService', inferenceService);
		addUnlessNameTaken(analyses, guarded(namespaceOf(inferenceService), name, () => analyseInferenceService(inferenceService, index)), `InferenceService/${name}`);
	}

	// 3. Argo Rollouts: a Rollout is a model; its ReplicaSets, router and Services are its own.
	const rolloutObjects = new RolloutObjects(snapshot);
	for (const rollout of sortByName(snapshot.rollouts ?? [])) {
		const name = rollout.metadata?.name;
		if (!name) continue;
		claims.claimObject('Rollout', rollout);
		for (const reference of rolloutReferences(rollout)) claims.claim(reference.kind, namespaceOf(rollout), reference.name);
		for (const replicaSet of rolloutObjects.replicaSets(rollout)) claims.claimObject('ReplicaSet', replicaSet);
		addUnlessNameTaken(analyses, guarded(namespaceOf(rollout), name, () => analyseRollout(rollout, rolloutObjects)), `Rollout/${name}`);
	}

	// Last: whatever found a model, the objects it would write that a controller owns are never patched behind it.
	markOwners(analyses, snapshot);

	return analyses.sort(
		(a, b) => a.model.namespace.localeCompare(b.model.namespace) || a.model.name.localeCompare(b.model.name),
	);
}

/** Objects from a cluster are outside input: a model whose objects make no sense is shown with the reason. */
function guarded(namespace: string, name: string, analyse: () => ModelAnalysis): ModelAnalysis {
	try {
		return analyse();
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		return {
			model: {namespace, name, router: 'replicas', versions: [], warnings: [`its objects could not be read (${reason}); check them with kubectl`]},
			traffic: {kind: 'replicas'},
			deployments: {},
		};
	}
}
