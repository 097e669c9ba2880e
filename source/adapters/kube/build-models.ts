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
 * - A Flagger Canary is a model whose versions are its primary (`<target>-primary`, stable) and, during an analysis,
 *   its target Deployment (canary), weighted by Flagger's `status.canaryWeight` (discovery/flagger.ts).
 * - An Argo Rollouts Rollout is a model whose versions are its stable and canary ReplicaSets (discovery/argo-rollouts.ts).
 * - Last, every model's router and Deployments are checked for a controller owning them (discovery/ownership.ts).
 * Odd shapes never throw: they become `warnings` on the model.
 */
import type {Model} from '../../domain/types.ts';
import {type Conventions, defaultConventions} from './conventions.ts';
import {analyseDeploymentModel, type DeploymentGroup} from './discovery/deployments.ts';
import {addUnlessNameTaken, Claims} from './discovery/claims.ts';
import {analyseFlaggerCanary, claimFlaggerObjects} from './discovery/flagger.ts';
import {analyseInferenceService, kserveDeployments} from './discovery/kserve.ts';
import {deploymentsReached, discoverRouterModels} from './discovery/routers.ts';
import {discoverSeldon} from './discovery/seldon.ts';
import {versionNames} from './discovery/unlabelled.ts';
import {discoverWorkloadGroups} from './discovery/workload-groups.ts';
import {guarded} from './discovery/guarded.ts';
import {analyseRollout, RolloutObjects, rolloutReferences} from './discovery/argo-rollouts.ts';
import {markOwners} from './discovery/ownership.ts';
import {type ClusterSnapshot, namespaceOf, SnapshotIndex, sanitize, sortByName} from './discovery/snapshot.ts';
import type {ModelAnalysis} from './discovery/traffic.ts';
import type {HttpRoute, VirtualService} from './objects.ts';
import {decodeDeliveryState, deliveryAnnotation} from '../../domain/delivery.ts';

export type {ClusterSnapshot} from './discovery/snapshot.ts';
export type {ModelAnalysis, TrafficBackend, TrafficControl} from './discovery/traffic.ts';
export {modeldeckAnnotations, stableAnnotation} from './discovery/tracks.ts';

/**
 * The progressive delivery kept in the model's annotation (a KServe model's: in its ConfigMap); a bad one is a warning,
 * never a crash.
 */
function withDelivery(analysis: ModelAnalysis, index: SnapshotIndex): void {
	const {model, traffic} = analysis;
	const text = traffic.kind === 'kserve' ? index.deliveryState(model.namespace, traffic.name) : model.annotations?.[deliveryAnnotation];
	if (text === undefined) return;
	const decoded = decodeDeliveryState(text);
	if ('state' in decoded) model.delivery = decoded.state;
	else model.warnings = [...(model.warnings ?? []), decoded.error];
}

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
	}

	for (const [key, group] of groups) {
		const routers = routersByModel.get(key) ?? [];
		group.discoveredBy = `labels ${conventions.modelLabel}`;
		if (group.deployments.length === 0 && routers[0]) {
			// An annotated router whose Deployments carry no model label: its versions are the Deployments it reaches.
			const reached = deploymentsReached(routers[0], snapshot, index, claims);
			for (const deployment of reached) claims.claimObject('Deployment', deployment);
			group.deployments = reached;
			group.versionOf = versionNames(reached);
			const named = routers.map((router) => `${router.kind}/${router.metadata?.name}`).join(', ');
			group.discoveredBy = `annotation ${conventions.routerAnnotation} on ${named}${reached.length > 0 ? ' backends' : ''}`;
		}

		analyses.push(
			guarded(group.namespace, group.name, () => analyseDeploymentModel(group, routersByModel.get(key) ?? [], index, conventions)),
		);
	}

	// 2. Controllers that own their models' traffic: KServe.
	for (const inferenceService of snapshot.inferenceServices ?? []) {
		const name = inferenceService.metadata?.name;
		if (!name) continue;
		claims.claimObject('InferenceService', inferenceService);
		// RawDeployment mode: KServe's Deployments are this model's, not models of their own (unless labelled as one).
		// KServe's Deployments (RawDeployment's predictor, or Knative revisions') are this model's, not models of their
		// own — unless labelled as one.
		const unclaimed = (snapshot.deployments ?? []).filter((deployment) => !claims.hasObject('Deployment', deployment));
		for (const deployment of kserveDeployments(inferenceService, unclaimed)) claims.claimObject('Deployment', deployment);

		addUnlessNameTaken(
			analyses,
			guarded(namespaceOf(inferenceService), name, () => analyseInferenceService(inferenceService, index, unclaimed)),
			`InferenceService/${name}`,
		);
	}

	// 3. Argo Rollouts: a Rollout is a model; its ReplicaSets, router and Services are its own.
	const rolloutObjects = new RolloutObjects(snapshot);
	for (const rollout of sortByName(snapshot.rollouts ?? [])) {
		const name = rollout.metadata?.name;
		if (!name) continue;
		claims.claimObject('Rollout', rollout);
		for (const reference of rolloutReferences(rollout)) claims.claim(reference.kind, namespaceOf(rollout), reference.name);
		for (const replicaSet of rolloutObjects.replicaSets(rollout)) claims.claimObject('ReplicaSet', replicaSet);
		addUnlessNameTaken(
			analyses,
			guarded(namespaceOf(rollout), name, () => analyseRollout(rollout, rolloutObjects)),
			`Rollout/${name}`,
		);
	}

	// 4. Flagger Canaries: the target, its primary and the Services and router Flagger generates are Flagger's.
	const deploymentsByName = new Map(
		(snapshot.deployments ?? []).map((deployment) => [`${namespaceOf(deployment)}/${deployment.metadata?.name}`, deployment]),
	);
	for (const canary of sortByName(snapshot.canaries ?? [])) {
		const name = canary.metadata?.name;
		if (!name || claims.hasObject('Canary', canary)) continue;
		claimFlaggerObjects(canary, claims);
		addUnlessNameTaken(
			analyses,
			guarded(namespaceOf(canary), name, () =>
				analyseFlaggerCanary(canary, deploymentsByName, snapshot.canaryEvents ?? [], index, snapshot),
			),
			`Canary/${name}`,
		);
	}

	// 5. Without modeldeck's labels, from what clusters already have: Seldon Core 2 Experiments and Models, routers
	// whose backends reach two or more Deployments, and Deployments sharing a name label with different versions.
	discoverSeldon(snapshot, claims, analyses);
	discoverRouterModels(snapshot, index, claims, analyses, conventions);
	discoverWorkloadGroups(snapshot, index, claims, analyses, conventions);

	// Last: whatever found a model, the objects it would write that a controller owns are never patched behind it.
	markOwners(analyses, snapshot);
	for (const analysis of analyses) withDelivery(analysis, index);
	// The pods are not listed yet (the first rows at start-up, early-lists.ts): restarts and pod problems are unknown.
	if (input.podsPending) for (const analysis of analyses) for (const version of analysis.model.versions) version.podsPending = true;

	return analyses.sort((a, b) => a.model.namespace.localeCompare(b.model.namespace) || a.model.name.localeCompare(b.model.name));
}
