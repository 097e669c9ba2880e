/**
 * A model made of Deployments (one per version) and, optionally, the router that splits its traffic.
 */
import type {Model, RouterKind} from '../../../domain/types.ts';
import {weightsFromReplicas} from '../../../domain/weights.ts';
import type {Conventions} from '../conventions.ts';
import {mapSelects} from '../labels.ts';
import type {Deployment, HttpRoute, VirtualService} from '../objects.ts';
import type {TrafficSplit} from '../objects/smi.ts';
import {trafficSplitSplit} from './smi.ts';
import {type SnapshotIndex, sortByName} from './snapshot.ts';
import {assignTracks, modeldeckAnnotations, selfDeclaredStable, stableAnnotation, withoutRetired} from './tracks.ts';
import {applySplit, httpRouteSplit, type ModelAnalysis, type TrafficControl, virtualServiceSplit} from './traffic.ts';
import {versionFromDeployment, type VersionDraft} from './workloads.ts';

export interface DeploymentGroup {
	namespace: string;
	name: string;
	deployments: Deployment[];
	warnings: string[];
	/**
	 * A Deployment's version name, when it is not the `versionLabel` of the conventions (groups found without
	 * modeldeck's labels: `app.kubernetes.io/version`, `version`, else the Deployment's name).
	 */
	versionOf?: (deployment: Deployment) => string | undefined;
	/** How the model was found (Model.discoveredBy). */
	discoveredBy?: string;
}

/** A router a Deployment model's traffic goes through; `kind` as the API names it. */
export type DeploymentRouter = HttpRoute | VirtualService | TrafficSplit;

const routerKinds: Record<string, RouterKind> = {HTTPRoute: 'httproute', VirtualService: 'virtualservice', TrafficSplit: 'trafficsplit'};

export function analyseDeploymentModel(
	group: DeploymentGroup,
	routers: DeploymentRouter[],
	index: SnapshotIndex,
	conventions: Conventions,
): ModelAnalysis {
	const warnings = [...group.warnings];
	const drafts: VersionDraft[] = [];
	for (const deployment of sortByName(group.deployments)) {
		const deploymentName = deployment.metadata?.name ?? '?';
		const versionName = group.versionOf ? group.versionOf(deployment) : deployment.metadata?.labels?.[conventions.versionLabel];
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
				: chosen.kind === 'TrafficSplit'
					? trafficSplitSplit(chosen as TrafficSplit, drafts, index, warnings)
					: virtualServiceSplit(chosen as VirtualService, drafts, index, warnings);
		applySplit(split.backends, drafts, chosenLabel, warnings);
		router = routerKinds[chosen.kind ?? ''] ?? 'virtualservice';
		routerObject = chosenLabel;
		resourceVersion = chosen.metadata?.resourceVersion;
		traffic = {
			kind: router as 'httproute' | 'virtualservice' | 'trafficsplit',
			object: chosenLabel,
			name: chosen.metadata?.name ?? '',
			resourceVersion,
			backends: split.backends,
			annotated: chosen.metadata?.annotations !== undefined,
		};
	} else {
		const weights = weightsFromReplicas(drafts.map((draft) => draft.version.replicasReady));
		drafts.forEach((draft, position) => {
			draft.version.weight = weights[position] ?? 0;
		});
	}

	const declared =
		routers[0]?.metadata?.annotations?.[stableAnnotation] ??
		selfDeclaredStable(drafts.map((draft) => ({version: draft.version, deployment: draft.deployment})));
	const versions = withoutRetired(
		assignTracks(
			drafts.map((draft) => draft.version),
			declared,
		),
		warnings,
	);
	const runtime = drafts.map((draft) => draft.deployment.metadata?.labels?.[conventions.runtimeLabel]).find(Boolean);
	const model: Model = {namespace: group.namespace, name: group.name, router, versions};
	if (routerObject) model.routerObject = routerObject;
	if (group.discoveredBy) model.discoveredBy = group.discoveredBy;
	if (runtime) model.runtime = runtime;
	if (resourceVersion) model.resourceVersion = resourceVersion;
	if (warnings.length > 0) model.warnings = warnings;
	// modeldeck.dev/* annotations (e.g. modeldeck.dev/guard) from the router and the Deployments; the router wins.
	const annotations = modeldeckAnnotations([
		...drafts.map((draft) => draft.deployment.metadata?.annotations),
		routers[0]?.metadata?.annotations,
	]);
	if (annotations) model.annotations = annotations;
	const deployments: Record<string, string> = {};
	for (const draft of drafts) deployments[draft.version.name] = draft.deployment.metadata?.name ?? '';
	return {model, traffic, deployments};
}
