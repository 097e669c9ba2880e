/**
 * A KServe InferenceService: its versions are predictor revisions, its split `canaryTrafficPercent`.
 */
import type {Model, Version} from '../../../domain/types.ts';
import type {Deployment, InferenceService, InferenceServicePredictor} from '../objects.ts';
import {kserveInferenceServiceLabel, listOf, namespaceOf, type SnapshotIndex, sortByName} from './snapshot.ts';
import {modeldeckAnnotations} from './tracks.ts';
import type {ModelAnalysis, TrafficControl} from './traffic.ts';
import {countRestarts, mainContainer, podProblems, podReady, resourcesOf, versionFromDeployment} from './workloads.ts';

export const deploymentModeAnnotation = 'serving.kserve.io/deploymentMode';

/**
 * KServe's RawDeployment mode (called Standard since KServe 0.15) runs each component as a plain Deployment, without
 * Knative revisions: `canaryTrafficPercent` is ignored there (KServe's docs: canary rollout is supported in Serverless
 * mode only), and a new predictor spec is a rolling update of the same Deployment. Read from the annotation, the
 * predictor's `deploymentMode`, or the status KServe writes.
 */
export function isRawDeployment(inferenceService: InferenceService): boolean {
	const predictor = inferenceService.spec?.predictor as {deploymentMode?: unknown} | undefined;
	const status = inferenceService.status as {deploymentMode?: unknown} | undefined;
	const mode = [inferenceService.metadata?.annotations?.[deploymentModeAnnotation], predictor?.deploymentMode, status?.deploymentMode].find(
		(value) => typeof value === 'string' && value !== '',
	);
	return mode === 'RawDeployment' || mode === 'Standard';
}

/** The Deployments KServe made for an InferenceService (labelled with its name), the predictor's first. */
export function kserveDeployments(inferenceService: InferenceService, deployments: Deployment[]): Deployment[] {
	const name = inferenceService.metadata?.name;
	const namespace = namespaceOf(inferenceService);
	const own = sortByName(
		deployments.filter(
			(deployment) => namespaceOf(deployment) === namespace && deployment.metadata?.labels?.[kserveInferenceServiceLabel] === name,
		),
	);
	const isPredictor = (deployment: Deployment) =>
		deployment.metadata?.labels?.component === 'predictor' || /-predictor(-default)?$/.test(deployment.metadata?.name ?? '');
	return [...own.filter(isPredictor), ...own.filter((deployment) => !isPredictor(deployment))];
}

/** RawDeployment mode: one version, the predictor's Deployment; never a canary KServe would not run. */
function analyseRawInferenceService(inferenceService: InferenceService, deployments: Deployment[], index: SnapshotIndex): ModelAnalysis {
	const name = inferenceService.metadata?.name ?? '';
	const namespace = namespaceOf(inferenceService);
	const label = `InferenceService/${name}`;
	const warnings: string[] = [];
	const predictor = inferenceService.spec?.predictor;
	const deployment = kserveDeployments(inferenceService, deployments)[0];
	const versions: Version[] = [];
	if (deployment) {
		const version = versionFromDeployment(deployment, deployment.metadata?.name ?? name, index);
		version.weight = 100;
		version.track = 'stable';
		const image = predictorImage(predictor);
		if (image) version.image = image;
		versions.push(version);
	} else {
		warnings.push(
			`${label} runs in RawDeployment mode but no Deployment labelled ${kserveInferenceServiceLabel}=${name} is in ${namespace}: KServe has not reconciled it`,
		);
	}

	if (typeof predictor?.canaryTrafficPercent === 'number') {
		warnings.push(
			`${label} runs in RawDeployment mode, where KServe ignores canaryTrafficPercent ${predictor.canaryTrafficPercent}: there is one version and no canary; for a canary, run the new version as a second InferenceService behind an HTTPRoute`,
		);
	}

	const model: Model = {
		namespace,
		name,
		router: 'kserve',
		routerObject: label,
		runtime: 'kserve',
		versions,
		discoveredBy: `InferenceService/${name} (RawDeployment)`,
	};
	if (inferenceService.metadata?.resourceVersion) model.resourceVersion = inferenceService.metadata.resourceVersion;
	const annotations = modeldeckAnnotations([inferenceService.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	if (warnings.length > 0) model.warnings = warnings;
	const control: TrafficControl = {kind: 'kserve', name, resourceVersion: inferenceService.metadata?.resourceVersion, raw: true};
	if (versions[0]) control.stable = versions[0].name;
	// No Deployment for actions: KServe owns it and would revert a scale or a template undo made behind its back.
	return {model, traffic: control, deployments: {}};
}

const kserveStorageUriAnnotations = [
	'internal.serving.kserve.io/storage-initializer-sourceuri',
	'serving.kserve.io/storage-initializer-sourceuri',
];

export function analyseInferenceService(
	inferenceService: InferenceService,
	index: SnapshotIndex,
	deployments: Deployment[] = [],
): ModelAnalysis {
	if (isRawDeployment(inferenceService)) return analyseRawInferenceService(inferenceService, deployments, index);
	const name = inferenceService.metadata?.name ?? '';
	const namespace = namespaceOf(inferenceService);
	const label = `InferenceService/${name}`;
	const warnings: string[] = [];
	const predictor = inferenceService.spec?.predictor;
	const status = inferenceService.status?.components?.predictor;
	const traffic = listOf(status?.traffic);
	const latestTarget = traffic.find((target) => target.latestRevision === true);
	const previousTarget =
		traffic.find((target) => target.latestRevision === false && target.tag === 'prev') ??
		traffic.find((target) => target.latestRevision === false);
	const canaryRevision =
		latestTarget?.revisionName ?? status?.latestReadyRevision ?? status?.latestCreatedRevision ?? status?.latestRolledoutRevision;
	const stableCandidates = [previousTarget?.revisionName, status?.latestRolledoutRevision, status?.previousRolledoutRevision];
	const stableRevision = stableCandidates.find((revision) => revision && revision !== canaryRevision);
	const canaryTrafficPercent = typeof predictor?.canaryTrafficPercent === 'number' ? predictor.canaryTrafficPercent : undefined;

	const versions: Version[] = [];
	const model: Model = {namespace, name, router: 'kserve', routerObject: label, runtime: 'kserve', versions, discoveredBy: label};
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
	const created =
		pods
			.map((pod) => pod.metadata?.creationTimestamp ?? '')
			.filter(Boolean)
			.sort()[0] ??
		inferenceService.metadata?.creationTimestamp ??
		'';
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
		// Knative gives every revision a private Service that selects its pods directly (port 80 to its queue-proxy);
		// the public one, named after the revision, may send through the activator, which needs the ingress's headers.
		// Smoke tests of one version reach it there.
		service: `${revision}-private`,
	};
	const resources =
		latest && predictor?.model?.resources ? resourcesOf([{resources: predictor.model.resources}]) : resourcesOf(podContainers);
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
