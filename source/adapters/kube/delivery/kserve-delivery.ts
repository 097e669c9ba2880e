/**
 * Rollouts of a serverless KServe InferenceService (kube-delivery.ts dispatches here), by KServe's own canary
 * procedure (kserve-canary.ts has the pure parts): the plan names the revision KServe will create as the new version,
 * the new image goes on the predictor with canaryTrafficPercent 0, and the rollout's state is kept in a Delivery
 * (modeldeck's CRD) owned by the InferenceService — not in its annotations, which KServe copies into new revisions.
 */
import type {DeliveryPlan, DeliverySpec, DeliveryState} from '../../../domain/delivery.ts';
import type {ModelAnalysis} from '../build-models.ts';
import type {Conventions} from '../conventions.ts';
import type {DeliveryObject} from '../discovery/snapshot.ts';
import {actionError, statusOf} from '../errors.ts';
import {resourcePath, resourceTypes} from '../http.ts';
import type {InferenceService} from '../objects.ts';
import {type JsonPatchOperation, PlanError} from '../plans.ts';
import {kserveBeforeAnnotation, kserveImagePatch, nextRevisionName, predictorImage} from './kserve-canary.ts';
import type {KubeObjects} from './kube-objects.ts';

/**
 * A serverless InferenceService: the version is the revision KServe will create (the name asked for becomes its pods'
 * version label), and the plan says what a rollback leaves.
 */
export async function planKserveDelivery(
	objects: KubeObjects,
	conventions: Conventions,
	analysis: ModelAnalysis,
	spec: DeliverySpec,
): Promise<DeliveryPlan> {
	const {model, traffic} = analysis;
	if (traffic.kind !== 'kserve') throw new PlanError(`${model.name} is no longer a KServe InferenceService`);
	const object = `InferenceService/${traffic.name}`;
	const inferenceService = await objects.get<InferenceService>(resourceTypes.inferenceServices, model.namespace, traffic.name);
	if (!inferenceService) throw new PlanError(`${object} is gone`);
	const where = predictorImage(inferenceService);
	if ('problem' in where) throw new PlanError(where.problem);
	if (where.image === spec.image) throw new PlanError(`${object}'s predictor runs ${spec.image} already: nothing to roll out`);
	const canary = model.versions.find((version) => version.track === 'canary');
	if (canary && canary.weight > 0) {
		throw new PlanError(
			`${object} has a canary in progress (${canary.name} at ${canary.weight}%): promote it or roll it back first (modeldeck promote / rollback ${model.name})`,
		);
	}

	await deliveriesServed(objects, model.namespace);
	const stable = model.versions.find((version) => version.track === 'stable');
	const latest = inferenceService.status?.components?.predictor?.latestCreatedRevision;
	if (!stable || !latest) throw new PlanError(`${object} has no revision serving yet: KServe has not reconciled it`);
	let revision: string;
	try {
		revision = nextRevisionName(latest);
	} catch (error) {
		throw new PlanError((error as Error).message);
	}

	const versionLabel = spec.version === revision ? spec.versionLabel : spec.version;
	const planned: DeliverySpec = {...spec, version: revision};
	if (versionLabel === undefined) delete planned.versionLabel;
	else planned.versionLabel = versionLabel;
	const {versionLabel: labelKey} = conventions;
	const steps = spec.steps.filter((step) => step < 100);
	return {
		spec: planned,
		mode: 'weights',
		stable: stable.name,
		writes: [
			{
				object,
				change: `predictor image ${where.image ?? "(the ServingRuntime's)"} → ${spec.image} with canaryTrafficPercent 0: KServe creates revision ${revision}, the new version (KServe names versions after revisions${versionLabel === undefined ? '' : `; ${versionLabel} is its pods' label ${labelKey}`})`,
			},
			{
				object,
				change: `canaryTrafficPercent ${steps.length > 0 ? `${steps.join(' → ')}, then ` : ''}removed: KServe's promotion (${revision} takes all traffic)`,
			},
			{
				object,
				change: `annotation ${kserveBeforeAnnotation}: the image before (${where.image ?? "the ServingRuntime's"}) and revision ${latest}; a rollback sets canaryTrafficPercent 0 (KServe's rollback: ${stable.name} takes all traffic; the predictor keeps the new image and ${revision} stays for inspection — put the image before back before removing canaryTrafficPercent)`,
			},
			{
				object: `Delivery/${traffic.name}`,
				change: `the rollout's state, owned by ${object} (not an annotation of it: KServe copies those into new revisions)`,
			},
		],
	};
}

/** Refuses when a KServe rollout's state could not be kept: the Delivery CRD is not installed, or not readable. */
async function deliveriesServed(objects: KubeObjects, namespace: string): Promise<void> {
	const {http} = objects;
	try {
		await http.get(resourcePath(resourceTypes.deliveries, namespace), {query: {limit: '1'}});
	} catch (error) {
		if (statusOf(error) === 404) {
			throw new PlanError(
				"modeldeck keeps a KServe rollout's state in a Delivery (modeldeck.dev), whose CRD is not installed: kubectl apply -f deploy/base/delivery-crd.yaml (kubectl apply -k deploy/base installs it with the agent)",
			);
		}

		throw actionError(error, {verb: 'list', resource: 'deliveries.modeldeck.dev', namespace, server: http.server, user: http.user});
	}
}

/**
 * The new image on the predictor with canaryTrafficPercent 0, from a fresh read; nothing when it is there already (a
 * runner repeating the effect). KServe must be about to create the revision the delivery is named after.
 */
export async function createKserveVersion(
	objects: KubeObjects,
	conventions: Conventions,
	state: DeliveryState,
	name: string,
): Promise<void> {
	const {spec} = state;
	const inferenceService = await objects.get<InferenceService>(resourceTypes.inferenceServices, spec.model.namespace, name);
	if (!inferenceService) throw new PlanError(`InferenceService/${name} is gone`);
	const latest = inferenceService.status?.components?.predictor?.latestCreatedRevision;
	let patch: JsonPatchOperation[] | undefined;
	try {
		patch = kserveImagePatch(
			inferenceService,
			spec.image,
			spec.versionLabel === undefined ? undefined : [conventions.versionLabel, spec.versionLabel],
		);
		if (patch && latest !== undefined && nextRevisionName(latest) !== spec.version) {
			throw new Error(
				`InferenceService/${name} changed since the plan: its latest revision is ${latest}, so KServe would create ${nextRevisionName(latest)}, not ${spec.version}; start the rollout again`,
			);
		}
	} catch (error) {
		throw new PlanError((error as Error).message);
	}

	if (patch) await objects.patch(resourceTypes.inferenceServices, spec.model.namespace, name, patch, 'json');
}

/**
 * A KServe model's state in its Delivery: merged into it, or the Delivery created (owned by the InferenceService, so
 * that it goes with it).
 */
export async function saveKserveDelivery(objects: KubeObjects, state: DeliveryState, name: string): Promise<void> {
	const {namespace} = state.spec.model;
	const spec = {model: name, state: JSON.stringify(state)};
	const {http} = objects;
	const path = resourcePath(resourceTypes.deliveries, namespace, name);
	const patch = async () => http.patch(path, {spec}, 'merge');
	try {
		await patch();
		return;
	} catch (error) {
		if (statusOf(error) !== 404)
			throw actionError(error, {
				verb: 'patch',
				resource: 'deliveries.modeldeck.dev',
				name,
				namespace,
				server: http.server,
				user: http.user,
			});
	}

	const owner = await objects.get<InferenceService>(resourceTypes.inferenceServices, namespace, name);
	const uid = owner?.metadata?.uid;
	const delivery: DeliveryObject = {
		apiVersion: 'modeldeck.dev/v1alpha1',
		kind: 'Delivery',
		metadata: {
			name,
			namespace,
			labels: {'app.kubernetes.io/managed-by': 'modeldeck'},
			...(uid ? {ownerReferences: [{apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', name, uid}]} : {}),
		},
		spec,
	};
	try {
		await http.request('POST', resourcePath(resourceTypes.deliveries, namespace), {body: delivery});
	} catch (error) {
		// Created meanwhile (another write of the same runner): merge into it.
		if (statusOf(error) === 409) await patch();
		else throw actionError(error, {verb: 'create', resource: 'deliveries.modeldeck.dev', namespace, server: http.server, user: http.user});
	}
}
