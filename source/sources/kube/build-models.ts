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
 * Odd shapes never throw: they become `warnings` on the model.
 */
import type {Autoscaler, Model, Resources, RouterKind, Version} from '../../domain/types.ts';
import {weightsFromReplicas} from '../../domain/weights.ts';
import {type Conventions, defaultConventions} from './conventions.ts';
import {labelSelectorMatches, mapSelects} from './labels.ts';
import type {
	Container,
	Deployment,
	DestinationRule,
	HorizontalPodAutoscaler,
	HttpRoute,
	InferenceService,
	InferenceServicePredictor,
	KubeObject,
	Pod,
	ReplicaSet,
	Service,
	VirtualService,
} from './objects.ts';
import {parseQuantity} from './quantity.ts';

/** Everything discovery watches. Missing lists are empty (a CRD that is not installed has no objects). */
export interface ClusterSnapshot {
	deployments?: Deployment[];
	replicaSets?: ReplicaSet[];
	pods?: Pod[];
	services?: Service[];
	autoscalers?: HorizontalPodAutoscaler[];
	httpRoutes?: HttpRoute[];
	virtualServices?: VirtualService[];
	destinationRules?: DestinationRule[];
	inferenceServices?: InferenceService[];
}

/** One entry of the split a router applies: an HTTPRoute backendRef or a VirtualService destination. */
export interface TrafficBackend {
	/** True when a warning already explains why this entry reaches no version. */
	explained?: boolean;
	/** JSON Pointer to the entry in the router object, e.g. `/spec/rules/0/backendRefs/1`. */
	pointer: string;
	/** The field that identifies the entry (tested before a write so an index still names the same backend). */
	identityField: string;
	identityValue: string;
	/** What the router names, for messages: a Service, or `host` / `host/subset`. */
	target: string;
	/** Weight as written in the object; undefined when the field is absent (the router applies a default). */
	writtenWeight: number | undefined;
	/** Weight the router applies. */
	effectiveWeight: number;
	/** Versions the entry reaches. */
	versions: string[];
}

export type TrafficControl =
	| {
			kind: 'httproute' | 'virtualservice';
			/** `HTTPRoute/name` or `VirtualService/name`. */
			object: string;
			name: string;
			resourceVersion?: string;
			backends: TrafficBackend[];
	  }
	| {
			kind: 'kserve';
			name: string;
			resourceVersion?: string;
			canary?: string;
			stable?: string;
			canaryTrafficPercent?: number;
	  }
	| {kind: 'replicas'};

/** A model together with what actions need to change it. */
export interface ModelAnalysis {
	model: Model;
	traffic: TrafficControl;
	/** Version name -> Deployment name (empty for KServe). */
	deployments: Record<string, string>;
}

const kserveRevisionLabel = 'serving.knative.dev/revision';
const kserveInferenceServiceLabel = 'serving.kserve.io/inferenceservice';
const kserveStorageUriAnnotations = [
	'internal.serving.kserve.io/storage-initializer-sourceuri',
	'serving.kserve.io/storage-initializer-sourceuri',
];

const podProblemReasons = new Set([
	'CrashLoopBackOff',
	'OOMKilled',
	'ImagePullBackOff',
	'ErrImagePull',
	'InvalidImageName',
	'CreateContainerConfigError',
	'CreateContainerError',
	'RunContainerError',
	'Evicted',
]);

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

	const analyses: ModelAnalysis[] = [];
	for (const [key, group] of groups) {
		analyses.push(
			guarded(group.namespace, group.name, () => analyseDeploymentModel(group, routersByModel.get(key) ?? [], index, conventions)),
		);
	}

	for (const inferenceService of snapshot.inferenceServices ?? []) {
		const name = inferenceService.metadata?.name;
		if (!name) continue;
		const clash = analyses.find((analysis) => analysis.model.namespace === namespaceOf(inferenceService) && analysis.model.name === name);
		if (clash) {
			clash.model.warnings = [
				...(clash.model.warnings ?? []),
				`InferenceService/${name} has the same name as this model and is not shown; rename one of them`,
			];
			continue;
		}

		analyses.push(guarded(namespaceOf(inferenceService), name, () => analyseInferenceService(inferenceService, index)));
	}

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

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listOf<T>(value: T[] | undefined): T[] {
	return Array.isArray(value) ? value : [];
}

/** Keeps objects with a name and well-formed labels and annotations; drops what no API server would send. */
function sanitize(snapshot: ClusterSnapshot): ClusterSnapshot {
	const clean = <T extends KubeObject>(list: T[] | undefined): T[] =>
		listOf(list).filter((item) => {
			if (!isRecord(item) || !isRecord(item.metadata)) return false;
			const {name, namespace, labels, annotations, creationTimestamp} = item.metadata;
			const stringMap = (value: unknown) => value === undefined || (isRecord(value) && Object.values(value).every((entry) => typeof entry === 'string'));
			return (
				typeof name === 'string' &&
				(namespace === undefined || typeof namespace === 'string') &&
				(creationTimestamp === undefined || typeof creationTimestamp === 'string') &&
				stringMap(labels) &&
				stringMap(annotations)
			);
		});
	return {
		deployments: clean(snapshot.deployments),
		replicaSets: clean(snapshot.replicaSets),
		pods: clean(snapshot.pods),
		services: clean(snapshot.services),
		autoscalers: clean(snapshot.autoscalers),
		httpRoutes: clean(snapshot.httpRoutes),
		virtualServices: clean(snapshot.virtualServices),
		destinationRules: clean(snapshot.destinationRules),
		inferenceServices: clean(snapshot.inferenceServices),
	};
}

interface DeploymentGroup {
	namespace: string;
	name: string;
	deployments: Deployment[];
	warnings: string[];
}

interface VersionDraft {
	version: Version;
	deployment: Deployment;
	templateLabels: Record<string, string>;
}

function analyseDeploymentModel(
	group: DeploymentGroup,
	routers: Array<HttpRoute | VirtualService>,
	index: SnapshotIndex,
	conventions: Conventions,
): ModelAnalysis {
	const warnings = [...group.warnings];
	const drafts: VersionDraft[] = [];
	for (const deployment of sortByName(group.deployments)) {
		const deploymentName = deployment.metadata?.name ?? '?';
		const versionName = deployment.metadata?.labels?.[conventions.versionLabel];
		if (!versionName) {
			warnings.push(
				`Deployment ${deploymentName} has ${conventions.modelLabel}=${group.name} but no ${conventions.versionLabel} label: not shown; add the label to show it as a version`,
			);
			continue;
		}

		const duplicate = drafts.find((draft) => draft.version.name === versionName);
		if (duplicate) {
			warnings.push(
				`Deployments ${duplicate.version.object?.replace('Deployment/', '')} and ${deploymentName} both claim version ${versionName}: only the first is shown; give each version its own label value`,
			);
			continue;
		}

		drafts.push({
			version: versionFromDeployment(deployment, versionName, index),
			deployment,
			templateLabels: deployment.spec?.template?.metadata?.labels ?? {},
		});
	}

	if (group.deployments.length === 0) {
		warnings.push(
			`no Deployment is labelled ${conventions.modelLabel}=${group.name} in ${group.namespace}: the router names no versions modeldeck can show`,
		);
	}

	// Which Service serves which version: the Service whose selector picks this version's pods and no other's.
	for (const draft of drafts) {
		const services = index
			.servicesIn(group.namespace)
			.filter((service) => mapSelects(service.spec?.selector, draft.templateLabels))
			.filter((service) => drafts.every((other) => other === draft || !mapSelects(service.spec?.selector, other.templateLabels)));
		const first = services[0]?.metadata?.name;
		if (first) draft.version.service = first;
	}

	let router: RouterKind = 'replicas';
	let routerObject: string | undefined;
	let resourceVersion: string | undefined;
	let traffic: TrafficControl = {kind: 'replicas'};
	if (routers.length > 0) {
		const chosen = routers[0]!;
		const chosenLabel = `${chosen.kind}/${chosen.metadata?.name}`;
		if (routers.length > 1) {
			warnings.push(
				`several routers are annotated ${conventions.routerAnnotation}=${group.name} (${routers.map((r) => `${r.kind}/${r.metadata?.name}`).join(', ')}): using ${chosenLabel}`,
			);
		}

		const split =
			chosen.kind === 'HTTPRoute'
				? httpRouteSplit(chosen as HttpRoute, drafts, index, warnings)
				: virtualServiceSplit(chosen as VirtualService, drafts, index, warnings);
		applySplit(split.backends, drafts, chosenLabel, warnings);
		router = chosen.kind === 'HTTPRoute' ? 'httproute' : 'virtualservice';
		routerObject = chosenLabel;
		resourceVersion = chosen.metadata?.resourceVersion;
		traffic = {
			kind: router,
			object: chosenLabel,
			name: chosen.metadata?.name ?? '',
			resourceVersion,
			backends: split.backends,
		};
	} else {
		const weights = weightsFromReplicas(drafts.map((draft) => draft.version.replicasReady));
		drafts.forEach((draft, position) => {
			draft.version.weight = weights[position] ?? 0;
		});
	}

	const declared = routers[0]?.metadata?.annotations?.[stableAnnotation] ?? selfDeclaredStable(drafts.map((draft) => ({version: draft.version, deployment: draft.deployment})));
	const versions = withoutRetired(assignTracks(drafts.map((draft) => draft.version), declared), warnings);
	const runtime = drafts.map((draft) => draft.deployment.metadata?.labels?.[conventions.runtimeLabel]).find(Boolean);
	const model: Model = {namespace: group.namespace, name: group.name, router, versions};
	if (routerObject) model.routerObject = routerObject;
	if (runtime) model.runtime = runtime;
	if (resourceVersion) model.resourceVersion = resourceVersion;
	if (warnings.length > 0) model.warnings = warnings;
	// modeldeck.dev/* annotations (e.g. modeldeck.dev/guard) from the router and the Deployments; the router wins.
	const annotations = modeldeckAnnotations([...drafts.map((draft) => draft.deployment.metadata?.annotations), routers[0]?.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	const deployments: Record<string, string> = {};
	for (const draft of drafts) deployments[draft.version.name] = draft.deployment.metadata?.name ?? '';
	return {model, traffic, deployments};
}

function httpRouteSplit(route: HttpRoute, drafts: VersionDraft[], index: SnapshotIndex, warnings: string[]): {backends: TrafficBackend[]} {
	const label = `HTTPRoute/${route.metadata?.name}`;
	const namespace = namespaceOf(route);
	const rules = listOf(route.spec?.rules);
	const withBackends = rules.map((rule, position) => ({rule, position})).filter(({rule}) => listOf(rule.backendRefs).length > 0);
	const chosen = withBackends.find(({rule}) => listOf(rule.backendRefs).length > 1) ?? withBackends[0];
	if (!chosen) {
		warnings.push(`${label} has no backendRefs: no version receives traffic through it`);
		return {backends: []};
	}

	if (withBackends.length > 1) {
		warnings.push(
			`${label} has ${withBackends.length} rules with backends: modeldeck shows and changes rule ${chosen.position + 1} only`,
		);
	}

	const backends: TrafficBackend[] = [];
	listOf(chosen.rule.backendRefs).forEach((reference, position) => {
		const pointer = `/spec/rules/${chosen.position}/backendRefs/${position}`;
		const name = reference.name ?? '';
		const writtenWeight = typeof reference.weight === 'number' ? reference.weight : undefined;
		const backend: TrafficBackend = {
			pointer,
			identityField: 'name',
			identityValue: name,
			target: name,
			writtenWeight,
			effectiveWeight: Math.max(0, writtenWeight ?? 1),
			versions: [],
		};
		backends.push(backend);
		const kind = reference.kind ?? 'Service';
		const group = reference.group ?? '';
		if (kind !== 'Service' || group !== '') {
			warnings.push(`${label} backend ${name} is a ${group ? `${group}/` : ''}${kind}, not a Service: its traffic is not attributed to a version`);
			backend.explained = true;
			return;
		}

		const serviceNamespace = reference.namespace ?? namespace;
		const service = index.service(serviceNamespace, name);
		if (!service) {
			warnings.push(
				`${label} sends traffic to Service ${serviceNamespace === namespace ? '' : `${serviceNamespace}/`}${name}, which does not exist`,
			);
			backend.explained = true;
			return;
		}

		if (serviceNamespace !== namespace) {
			warnings.push(`${label} backend ${serviceNamespace}/${name} is in another namespace: its traffic is not attributed to a version`);
			backend.explained = true;
			return;
		}

		backend.versions = drafts.filter((draft) => mapSelects(service.spec?.selector, draft.templateLabels)).map((draft) => draft.version.name);
	});
	return {backends};
}

function virtualServiceSplit(
	virtualService: VirtualService,
	drafts: VersionDraft[],
	index: SnapshotIndex,
	warnings: string[],
): {backends: TrafficBackend[]} {
	const label = `VirtualService/${virtualService.metadata?.name}`;
	const namespace = namespaceOf(virtualService);
	const routes = listOf(virtualService.spec?.http);
	const withDestinations = routes.map((route, position) => ({route, position})).filter(({route}) => listOf(route.route).length > 0);
	const chosen = withDestinations.find(({route}) => listOf(route.route).length > 1) ?? withDestinations[0];
	if (!chosen) {
		warnings.push(`${label} has no http routes with destinations: no version receives traffic through it`);
		return {backends: []};
	}

	if (withDestinations.length > 1) {
		warnings.push(
			`${label} has ${withDestinations.length} http routes with destinations: modeldeck shows and changes route ${chosen.position + 1} only`,
		);
	}

	const destinations = listOf(chosen.route.route);
	const backends: TrafficBackend[] = [];
	destinations.forEach((entry, position) => {
		const host = entry.destination?.host ?? '';
		const subset = entry.destination?.subset;
		const writtenWeight = typeof entry.weight === 'number' ? entry.weight : undefined;
		// Istio: a lone destination gets all traffic; among several, a missing weight is 0.
		const effectiveWeight = Math.max(0, writtenWeight ?? (destinations.length === 1 ? 100 : 0));
		const backend: TrafficBackend = {
			pointer: `/spec/http/${chosen.position}/route/${position}`,
			identityField: 'destination/host',
			identityValue: host,
			target: subset ? `${host}/${subset}` : host,
			writtenWeight,
			effectiveWeight,
			versions: [],
		};
		backends.push(backend);
		const resolved = resolveHost(host, namespace);
		const service = resolved ? index.service(resolved.namespace, resolved.name) : undefined;
		if (!resolved || !service) {
			warnings.push(`${label} sends traffic to host ${host}, which is not a Service in ${resolved?.namespace ?? namespace}`);
			backend.explained = true;
			return;
		}

		if (resolved.namespace !== namespace) {
			warnings.push(`${label} destination ${host} is in another namespace: its traffic is not attributed to a version`);
			backend.explained = true;
			return;
		}

		let subsetLabels: Record<string, string> = {};
		if (subset) {
			const found = index.subset(namespace, resolved.name, subset);
			if (!found) {
				warnings.push(`${label} routes to subset ${subset} of ${host}, but no DestinationRule in ${namespace} defines it`);
				backend.explained = true;
				return;
			}

			subsetLabels = found;
		}

		const selector = {...service.spec?.selector, ...subsetLabels};
		backend.versions = drafts.filter((draft) => mapSelects(selector, draft.templateLabels)).map((draft) => draft.version.name);
	});
	return {backends};
}

/** Give each version its share of the router's total weight, and say what does not add up. */
function applySplit(backends: TrafficBackend[], drafts: VersionDraft[], label: string, warnings: string[]): void {
	for (const draft of drafts) draft.version.weight = 0;
	if (backends.length === 0) return;
	const total = backends.reduce((sum, backend) => sum + backend.effectiveWeight, 0);
	if (total === 0) {
		warnings.push(`${label} sends no traffic: every backend weight is 0`);
		return;
	}

	const anyWritten = backends.some((backend) => backend.writtenWeight !== undefined);
	if (anyWritten && backends.length > 1 && total !== 100) {
		warnings.push(`${label} weights add up to ${total}, not 100: shown as shares of the total`);
	}

	const percents = weightsFromReplicas(backends.map((backend) => backend.effectiveWeight));
	backends.forEach((backend, position) => {
		const percent = percents[position] ?? 0;
		const reached = drafts.filter((draft) => backend.versions.includes(draft.version.name));
		if (reached.length === 0) {
			if (percent > 0 && !backend.explained) {
				warnings.push(`${label} sends ${percent}% to ${backend.target}, which selects no version of this model`);
			}

			return;
		}

		if (reached.length === 1) {
			reached[0]!.version.weight += percent;
			return;
		}

		warnings.push(
			`${backend.target} in ${label} selects several versions (${reached.map((draft) => draft.version.name).join(', ')}): its ${percent}% is split by ready pods`,
		);
		const shares = weightsFromReplicas(reached.map((draft) => draft.version.replicasReady));
		reached.forEach((draft, reachedPosition) => {
			draft.version.weight += Math.round(((shares[reachedPosition] ?? 0) * percent) / 100);
		});
	});
}

/** The annotation naming a model's stable version: on its router, or on a Deployment naming its own version. */
export const stableAnnotation = 'modeldeck.dev/stable';

/** The version a Deployment declares stable of itself (the newest such, when several do). */
function selfDeclaredStable(entries: Array<{version: Version; deployment: Deployment}>): string | undefined {
	return entries
		.filter((entry) => entry.deployment.metadata?.annotations?.[stableAnnotation] === entry.version.name)
		.map((entry) => entry.version)
		.sort((a, b) => b.created.localeCompare(a.created))[0]?.name;
}

/**
 * Stable = the declared version when there is one; else the oldest version with traffic or replicas (the one that was
 * stable before the canary started); else the oldest. Every other version is a canary. Stable first, then by age.
 */
function assignTracks(versions: Version[], declared: string | undefined): Version[] {
	if (versions.length === 0) return versions;
	const byAge = [...versions].sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
	const stable =
		versions.find((version) => version.name === declared) ??
		byAge.find((version) => version.weight > 0 || version.replicasDesired > 0) ??
		byAge[0]!;
	for (const version of versions) version.track = version === stable ? 'stable' : 'canary';
	return [stable, ...byAge.filter((version) => version !== stable)];
}

/**
 * A version no newer than stable with no traffic and no replicas is what a promote leaves behind (the old stable, scaled
 * to zero): listed as a canary it would be the target of `+`, `p` and `r`, and traffic shifted to it would find no
 * pods. It is left out of the versions, and a warning says it is there.
 */
function withoutRetired(versions: Version[], warnings: string[]): Version[] {
	const stable = versions[0];
	if (!stable) return versions;
	const retired = versions.filter(
		(version) => version !== stable && version.weight === 0 && version.replicasDesired === 0 && version.created <= stable.created,
	);
	for (const version of retired) {
		warnings.push(`${version.name} is retired (no traffic, scaled to zero; ${version.object ?? 'its workload'} is kept for you to delete) and not listed`);
	}

	return retired.length === 0 ? versions : versions.filter((version) => !retired.includes(version));
}

function versionFromDeployment(deployment: Deployment, versionName: string, index: SnapshotIndex): Version {
	const name = deployment.metadata?.name ?? '';
	const template = deployment.spec?.template;
	const containers = listOf(template?.spec?.containers);
	const main = mainContainer(containers, template?.metadata?.annotations);
	const pods = index.podsOfDeployment(deployment);
	const version: Version = {
		name: versionName,
		track: 'stable',
		weight: 0,
		replicasReady: deployment.status?.readyReplicas ?? 0,
		replicasDesired: deployment.spec?.replicas ?? 1,
		restarts: countRestarts(pods),
		image: main?.image ?? '',
		created: deployment.metadata?.creationTimestamp ?? '',
		object: `Deployment/${name}`,
	};
	const resources = resourcesOf(containers);
	if (resources) version.resources = resources;
	const autoscaler = index.autoscalerFor(namespaceOf(deployment), name);
	if (autoscaler) version.autoscaler = autoscaler;
	const problems = podProblems(pods);
	if (problems.length > 0) version.problems = problems;
	return version;
}

function analyseInferenceService(inferenceService: InferenceService, index: SnapshotIndex): ModelAnalysis {
	const name = inferenceService.metadata?.name ?? '';
	const namespace = namespaceOf(inferenceService);
	const label = `InferenceService/${name}`;
	const warnings: string[] = [];
	const predictor = inferenceService.spec?.predictor;
	const status = inferenceService.status?.components?.predictor;
	const traffic = listOf(status?.traffic);
	const latestTarget = traffic.find((target) => target.latestRevision === true);
	const previousTarget = traffic.find((target) => target.latestRevision === false && target.tag === 'prev') ?? traffic.find((target) => target.latestRevision === false);
	const canaryRevision = latestTarget?.revisionName ?? status?.latestReadyRevision ?? status?.latestCreatedRevision ?? status?.latestRolledoutRevision;
	const stableCandidates = [previousTarget?.revisionName, status?.latestRolledoutRevision, status?.previousRolledoutRevision];
	const stableRevision = stableCandidates.find((revision) => revision && revision !== canaryRevision);
	const canaryTrafficPercent = typeof predictor?.canaryTrafficPercent === 'number' ? predictor.canaryTrafficPercent : undefined;

	const versions: Version[] = [];
	const model: Model = {namespace, name, router: 'kserve', routerObject: label, runtime: 'kserve', versions};
	if (inferenceService.metadata?.resourceVersion) model.resourceVersion = inferenceService.metadata.resourceVersion;
	const annotations = modeldeckAnnotations([inferenceService.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	const control: TrafficControl = {kind: 'kserve', name, resourceVersion: inferenceService.metadata?.resourceVersion};
	if (canaryTrafficPercent !== undefined) control.canaryTrafficPercent = canaryTrafficPercent;

	if (!canaryRevision) {
		warnings.push(`${label} has no revisions in its status yet: KServe has not reconciled it`);
	} else if (canaryTrafficPercent === undefined || !stableRevision) {
		if (canaryTrafficPercent !== undefined && canaryTrafficPercent < 100) {
			warnings.push(
				`${label} has canaryTrafficPercent ${canaryTrafficPercent} but no earlier rolled-out revision: ${canaryRevision} gets all traffic`,
			);
		}

		versions.push(revisionVersion(inferenceService, canaryRevision, 'stable', 100, true, index));
		control.stable = canaryRevision;
	} else {
		const canaryWeight = Math.min(100, Math.max(0, Math.round(canaryTrafficPercent)));
		versions.push(
			revisionVersion(inferenceService, stableRevision, 'stable', 100 - canaryWeight, false, index),
			revisionVersion(inferenceService, canaryRevision, 'canary', canaryWeight, true, index),
		);
		control.canary = canaryRevision;
		control.stable = stableRevision;
		if (typeof latestTarget?.percent === 'number' && latestTarget.percent !== canaryWeight) {
			warnings.push(
				`KServe has not applied canaryTrafficPercent ${canaryWeight} yet: ${canaryRevision} gets ${latestTarget.percent}% for now`,
			);
		}
	}

	if (warnings.length > 0) model.warnings = warnings;
	return {model, traffic: control, deployments: {}};
}

function revisionVersion(
	inferenceService: InferenceService,
	revision: string,
	track: Version['track'],
	weight: number,
	latest: boolean,
	index: SnapshotIndex,
): Version {
	const predictor = inferenceService.spec?.predictor;
	const pods = index.podsOfRevision(namespaceOf(inferenceService), inferenceService.metadata?.name ?? '', revision);
	const podContainers = listOf(pods[0]?.spec?.containers);
	const main = mainContainer(podContainers, pods[0]?.metadata?.annotations);
	const podStorageUri = kserveStorageUriAnnotations.map((key) => pods[0]?.metadata?.annotations?.[key]).find(Boolean);
	// The spec describes the latest revision only; an older revision is known through its pods.
	const image = latest ? (predictorImage(predictor) ?? podStorageUri ?? main?.image ?? '') : (podStorageUri ?? main?.image ?? '');
	const created = pods.map((pod) => pod.metadata?.creationTimestamp ?? '').filter(Boolean).sort()[0] ?? inferenceService.metadata?.creationTimestamp ?? '';
	const version: Version = {
		name: revision,
		track,
		weight,
		replicasReady: pods.filter(podReady).length,
		replicasDesired: pods.length,
		restarts: countRestarts(pods),
		image,
		created,
		object: `InferenceService/${inferenceService.metadata?.name}`,
	};
	const resources = latest && predictor?.model?.resources ? resourcesOf([{resources: predictor.model.resources}]) : resourcesOf(podContainers);
	if (resources) version.resources = resources;
	if (typeof predictor?.maxReplicas === 'number') {
		version.autoscaler = {min: predictor.minReplicas ?? 1, max: predictor.maxReplicas, current: pods.length};
	}

	const problems = podProblems(pods);
	if (problems.length > 0) version.problems = problems;
	return version;
}

function predictorImage(predictor: InferenceServicePredictor | undefined): string | undefined {
	if (!predictor) return undefined;
	if (predictor.model?.storageUri) return predictor.model.storageUri;
	// Older specs name the framework: `spec.predictor.sklearn.storageUri`.
	for (const value of Object.values(predictor)) {
		if (value && typeof value === 'object' && 'storageUri' in value && typeof value.storageUri === 'string') return value.storageUri;
	}

	return predictor.containers?.[0]?.image;
}

function mainContainer(containers: Container[], annotations: Record<string, string> | undefined): Container | undefined {
	const preferred = annotations?.['kubectl.kubernetes.io/default-container'];
	return (
		containers.find((container) => preferred !== undefined && container.name === preferred) ??
		containers.find((container) => container.name === 'kserve-container') ??
		containers[0]
	);
}

/** Requests and limits of one pod: the sum over its containers. */
function resourcesOf(containers: Container[]): Resources | undefined {
	const resources: Resources = {};
	const add = (key: keyof Resources, value: string | number | undefined) => {
		const parsed = parseQuantity(value);
		if (parsed === undefined) return;
		resources[key] = (resources[key] ?? 0) + parsed;
	};

	for (const container of containers) {
		add('cpuRequestCores', container.resources?.requests?.cpu);
		add('cpuLimitCores', container.resources?.limits?.cpu);
		add('memoryRequestBytes', container.resources?.requests?.memory);
		add('memoryLimitBytes', container.resources?.limits?.memory);
	}

	return Object.keys(resources).length > 0 ? resources : undefined;
}

function countRestarts(pods: Pod[]): number {
	let restarts = 0;
	for (const pod of pods) {
		for (const status of listOf(pod.status?.containerStatuses)) restarts += status.restartCount ?? 0;
	}

	return restarts;
}

function podReady(pod: Pod): boolean {
	return listOf(pod.status?.conditions).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/**
 * `fraud-v13-7d9 CrashLoopBackOff, OOMKilled` per pod (current and last state), or
 * `fraud-v13-7d9 and 2 more: CrashLoopBackOff` when several pods share the same reasons.
 */
function podProblems(pods: Pod[]): string[] {
	const podsByReasons = new Map<string, string[]>();
	for (const pod of sortByName(pods)) {
		const reasons: string[] = [];
		const note = (reason: string | undefined) => {
			if (reason && podProblemReasons.has(reason) && !reasons.includes(reason)) reasons.push(reason);
		};

		note(pod.status?.reason);
		for (const status of [...listOf(pod.status?.initContainerStatuses), ...listOf(pod.status?.containerStatuses)]) {
			note(status.state?.waiting?.reason);
			note(status.state?.terminated?.reason);
			note(status.lastState?.terminated?.reason);
		}

		if (reasons.length === 0) continue;
		const key = reasons.join(', ');
		podsByReasons.set(key, [...(podsByReasons.get(key) ?? []), pod.metadata?.name ?? '?']);
	}

	return [...podsByReasons].map(([reasons, names]) =>
		names.length === 1 ? `${names[0]} ${reasons}` : `${names[0]} and ${names.length - 1} more: ${reasons}`,
	);
}

/** `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` -> the Service it names. */
function resolveHost(host: string, defaultNamespace: string): {name: string; namespace: string} | undefined {
	if (typeof host !== 'string' || !host || host.includes('*')) return undefined;
	const [name, namespace, third] = host.split('.');
	if (!name) return undefined;
	if (namespace !== undefined && third !== undefined && third !== 'svc') return undefined;
	return {name, namespace: namespace ?? defaultNamespace};
}

function namespaceOf(object: KubeObject): string {
	return object.metadata?.namespace ?? 'default';
}

function sortByName<T extends KubeObject>(objects: T[]): T[] {
	return [...objects].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** Lookups over a snapshot, built once per call. */
class SnapshotIndex {
	private readonly services = new Map<string, Service>();
	private readonly servicesByNamespace = new Map<string, Service[]>();
	private readonly deploymentOfReplicaSet = new Map<string, string>();
	private readonly podsByDeployment = new Map<string, Pod[]>();
	private readonly unownedPods: Pod[] = [];
	private readonly autoscalers = new Map<string, Autoscaler>();
	private readonly subsets = new Map<string, Record<string, string>>();
	private readonly podsByRevision = new Map<string, Pod[]>();

	constructor(snapshot: ClusterSnapshot) {
		for (const service of sortByName(snapshot.services ?? [])) {
			const namespace = namespaceOf(service);
			this.services.set(`${namespace}/${service.metadata?.name}`, service);
			this.servicesByNamespace.set(namespace, [...(this.servicesByNamespace.get(namespace) ?? []), service]);
		}

		for (const replicaSet of snapshot.replicaSets ?? []) {
			const owner = listOf(replicaSet.metadata?.ownerReferences).find((reference) => reference.kind === 'Deployment');
			if (owner?.name) this.deploymentOfReplicaSet.set(`${namespaceOf(replicaSet)}/${replicaSet.metadata?.name}`, owner.name);
		}

		for (const pod of snapshot.pods ?? []) {
			const namespace = namespaceOf(pod);
			const revision = pod.metadata?.labels?.[kserveRevisionLabel];
			const inferenceService = pod.metadata?.labels?.[kserveInferenceServiceLabel];
			if (revision && inferenceService) {
				const key = `${namespace}/${inferenceService}/${revision}`;
				this.podsByRevision.set(key, [...(this.podsByRevision.get(key) ?? []), pod]);
			}

			const owner = listOf(pod.metadata?.ownerReferences).find((reference) => reference.kind === 'ReplicaSet');
			const deployment = owner?.name ? this.deploymentOfReplicaSet.get(`${namespace}/${owner.name}`) : undefined;
			if (deployment) {
				const key = `${namespace}/${deployment}`;
				this.podsByDeployment.set(key, [...(this.podsByDeployment.get(key) ?? []), pod]);
			} else {
				this.unownedPods.push(pod);
			}
		}

		for (const autoscaler of snapshot.autoscalers ?? []) {
			const target = autoscaler.spec?.scaleTargetRef;
			if (target?.kind !== 'Deployment' || !target.name) continue;
			this.autoscalers.set(`${namespaceOf(autoscaler)}/${target.name}`, {
				min: autoscaler.spec?.minReplicas ?? 1,
				max: autoscaler.spec?.maxReplicas ?? 0,
				current: autoscaler.status?.currentReplicas ?? 0,
			});
		}

		for (const rule of sortByName(snapshot.destinationRules ?? [])) {
			const namespace = namespaceOf(rule);
			const host = resolveHost(rule.spec?.host ?? '', namespace);
			if (!host) continue;
			for (const subset of listOf(rule.spec?.subsets)) {
				const key = `${host.namespace}/${host.name}/${subset.name}`;
				if (subset.name && !this.subsets.has(key)) this.subsets.set(key, subset.labels ?? {});
			}
		}
	}

	service(namespace: string, name: string): Service | undefined {
		return this.services.get(`${namespace}/${name}`);
	}

	servicesIn(namespace: string): Service[] {
		return this.servicesByNamespace.get(namespace) ?? [];
	}

	subset(namespace: string, host: string, subset: string): Record<string, string> | undefined {
		return this.subsets.get(`${namespace}/${host}/${subset}`);
	}

	autoscalerFor(namespace: string, deployment: string): Autoscaler | undefined {
		return this.autoscalers.get(`${namespace}/${deployment}`);
	}

	podsOfRevision(namespace: string, inferenceService: string, revision: string): Pod[] {
		return this.podsByRevision.get(`${namespace}/${inferenceService}/${revision}`) ?? [];
	}

	/** Pods through their ReplicaSet owner; pods whose ReplicaSet is unknown by the Deployment's selector. */
	podsOfDeployment(deployment: Deployment): Pod[] {
		const namespace = namespaceOf(deployment);
		const owned = this.podsByDeployment.get(`${namespace}/${deployment.metadata?.name}`) ?? [];
		const selected = this.unownedPods.filter(
			(pod) =>
				namespaceOf(pod) === namespace &&
				!pod.metadata?.labels?.[kserveRevisionLabel] &&
				labelSelectorMatches(deployment.spec?.selector, pod.metadata?.labels),
		);
		return [...owned, ...selected];
	}
}

/** The `modeldeck.dev/` annotations of some objects, later ones winning; undefined when there are none. */
export function modeldeckAnnotations(sources: ReadonlyArray<Record<string, string> | undefined>): Record<string, string> | undefined {
	const found: Record<string, string> = {};
	for (const source of sources) {
		for (const [key, value] of Object.entries(source ?? {})) {
			if (key.startsWith('modeldeck.dev/')) found[key] = value;
		}
	}

	return Object.keys(found).length > 0 ? found : undefined;
}
