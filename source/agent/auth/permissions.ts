/**
 * Which Kubernetes permission each request needs. The agent acts with its own service account, so it checks that
 * the caller could have made the same changes themselves: the exact verb, resource, name and namespace of every
 * object that the action changes.
 *
 * | request                          | permissions checked (SubjectAccessReviews)                                 |
 * | -------------------------------- | -------------------------------------------------------------------------- |
 * | stream, predictions, audit       | list pods in the namespace asked for (all namespaces when none is given)   |
 * | set-weight, promote, rollback,   | patch on every object the action's plan writes, from the Kubernetes        |
 * | switch                           | source's own plan (adapters/kube/plans.ts): the router (HTTPRoute,          |
 * |                                  | VirtualService, InferenceService) or the Deployments whose replicas split  |
 * |                                  | the traffic; for promote also the old stable's Deployment scaled to zero;  |
 * |                                  | for rollback also the canary's Deployment whose template is restored       |
 * | smoke-test, load-test            | patch on the model's router, as set-weight: sending it test traffic is an  |
 * |                                  | operator's act, allowed to whoever may change its traffic                  |
 * | deliver                          | what the delivery writes: create Deployments and Services in the model's   |
 * |                                  | namespace, patch its router, patch Deployments (promotion scales the old   |
 * |                                  | stable to zero, rollback the new version), patch DestinationRules behind a |
 * |                                  | VirtualService (a subset per version); an Argo Rollout: patch it; a KServe  |
 * |                                  | InferenceService: patch it (its Delivery is modeldeck's bookkeeping)      |
 * | delivery (pause, resume, abort)  | patch on the router and on Deployments (an abort rolls back); KServe: the  |
 * |                                  | InferenceService                                                           |
 *
 * With a cluster that cannot plan (a ClusterPort other than the Kubernetes source), the permissions are worked out
 * from the model instead, covering every object that the action may change.
 *
 * Prediction logs are the traffic of a namespace's model pods: whoever may list those pods (`view`, or any role
 * that watches workloads) may read them. Viewers can therefore watch but not act.
 */
import type {Action, Model, ModelRef} from '../../domain/types.ts';
import type {ResourceAttributes} from './reviewer.ts';
import type {PlannedChange} from '../../adapters/kube/actions.ts';

export function readPermission(namespace: string | undefined): ResourceAttributes {
	return {verb: 'list', group: '', resource: 'pods', namespace: namespace ?? ''};
}

function objectName(reference: string | undefined, fallback: string): string {
	if (!reference) return fallback;
	const slash = reference.lastIndexOf('/');
	return slash === -1 ? reference : reference.slice(slash + 1);
}

function routerPermission(model: Model): ResourceAttributes | string {
	const namespace = model.namespace;
	switch (model.router) {
		case 'httproute':
			return {
				verb: 'patch',
				group: 'gateway.networking.k8s.io',
				resource: 'httproutes',
				namespace,
				name: objectName(model.routerObject, model.name),
			};
		case 'virtualservice':
			return {
				verb: 'patch',
				group: 'networking.istio.io',
				resource: 'virtualservices',
				namespace,
				name: objectName(model.routerObject, model.name),
			};
		case 'kserve':
			return {verb: 'patch', group: 'serving.kserve.io', resource: 'inferenceservices', namespace, name: model.name};
		case 'replicas':
			return {verb: 'patch', group: 'apps', resource: 'deployments', namespace};
		case 'trafficsplit':
			return {
				verb: 'patch',
				group: 'split.smi-spec.io',
				resource: 'trafficsplits',
				namespace,
				name: objectName(model.routerObject, model.name),
			};
		case 'seldon':
			return {
				verb: 'patch',
				group: 'mlops.seldon.io',
				resource: 'experiments',
				namespace,
				name: objectName(model.routerObject, model.name),
			};
		case 'argo-rollouts':
			return {verb: 'patch', group: 'argoproj.io', resource: 'rollouts', namespace, name: objectName(model.owner?.object, model.name)};
		case 'flagger':
			return {verb: 'patch', group: 'flagger.app', resource: 'canaries', namespace, name: objectName(model.owner?.object, model.name)};
		case 'demo':
			return `${model.namespace}/${model.name} is a demo model; the agent cannot change it`;
	}
}

export function actionModel(action: Action): ModelRef {
	switch (action.kind) {
		case 'smoke-test':
			return {namespace: action.target.namespace, name: action.target.name};
		case 'load-test': {
			const first = action.targets[0];
			return first ? {namespace: first.namespace, name: first.name} : {namespace: '', name: ''};
		}

		default:
			return action.model;
	}
}

export type TrafficAction = Extract<Action, {kind: 'set-weight' | 'promote' | 'rollback' | 'switch' | 'rollout'}>;

export function isTrafficAction(action: Action): action is TrafficAction {
	return (
		action.kind === 'set-weight' ||
		action.kind === 'promote' ||
		action.kind === 'rollback' ||
		action.kind === 'switch' ||
		action.kind === 'rollout'
	);
}

/** One write that an action will make, as the cluster source plans it. */
export type {PlannedChange};

/**
 * A cluster that can say what an action will write, carry it out within those writes only, and read a model
 * afresh (the Kubernetes source).
 */
export interface ActionPlanner {
	plannedChanges(action: TrafficAction): Promise<PlannedChange[]>;
	/** The action, failing before it writes anything when its plan (from a fresh read) leaves `within`. */
	actWithin(action: TrafficAction, within: PlannedChange[]): Promise<void>;
	readModel(ref: ModelRef): Promise<Model>;
}

export function isActionPlanner(cluster: unknown): cluster is ActionPlanner {
	const candidate = cluster as Partial<ActionPlanner> | undefined;
	return (
		typeof candidate?.plannedChanges === 'function' &&
		typeof candidate.actWithin === 'function' &&
		typeof candidate.readModel === 'function'
	);
}

/**
 * The permissions to check and, for a planned traffic action, the changes they cover, which the action must then
 * stay within (the model may change between the check and the action).
 */
export type PermissionsResult =
	| {permissions: ResourceAttributes[]; within?: PlannedChange[]}
	| {notFound: string}
	| {invalid: string}
	| {unavailable: string};

function deploymentPermission(namespace: string, name: string | undefined): ResourceAttributes {
	return {verb: 'patch', group: 'apps', resource: 'deployments', namespace, ...(name ? {name} : {})};
}

function deploymentOf(model: Model, versionName: string): string | undefined {
	const object = model.versions.find((version) => version.name === versionName)?.object;
	return object?.startsWith('Deployment/') ? objectName(object, versionName) : undefined;
}

function unique(permissions: ResourceAttributes[]): ResourceAttributes[] {
	const seen = new Set<string>();
	return permissions.filter((permission) => {
		const key = JSON.stringify(permission);
		if (seen.has(key)) return false;
		seen.add(key);
		return true;
	});
}

/**
 * The permissions an action needs, worked out from the model alone (for clusters that cannot plan): every object
 * the action may change. `findModel` gives the agent's current view of a model (undefined when it does not know
 * it). Returns a message instead when the action cannot be authorised exactly.
 */
export function actionPermissions(
	action: Action,
	findModel: (ref: ModelRef) => Model | undefined,
): ResourceAttributes[] | {notFound: string} | {invalid: string} {
	const ref = actionModel(action);
	const model = findModel(ref);
	if (!model) return {notFound: `model ${ref.namespace}/${ref.name} was not found in the cluster (the agent sees no such model)`};
	const router = routerPermission(model);
	if (typeof router === 'string') return {invalid: router};
	const namespace = model.namespace;
	const deploymentsOf = (names: string[]) => names.map((name) => deploymentPermission(namespace, deploymentOf(model, name)));
	const others = (name: string) => model.versions.filter((version) => version.name !== name).map((version) => version.name);
	const replicas = model.router === 'replicas';
	switch (action.kind) {
		case 'set-weight': {
			// Replicas: the canary's and the stable's Deployments are scaled.
			const stable = model.versions.find((version) => version.track === 'stable')?.name;
			return replicas ? unique(deploymentsOf([action.canary, ...(stable ? [stable] : [])])) : [router];
		}

		case 'promote':
			// Every other version's Deployment is scaled to zero (replicas), or the old stable's after the traffic moved.
			if (replicas) return unique(deploymentsOf([action.canary, ...others(action.canary)]));
			return model.router === 'kserve'
				? [router]
				: unique([router, ...deploymentsOf(others(action.canary).filter((name) => deploymentOf(model, name)))]);
		case 'switch':
			return replicas ? unique(deploymentsOf([action.to, ...others(action.to)])) : [router];
		case 'rollback': {
			const canary = deploymentOf(model, action.canary);
			return unique([router, ...(canary ? [deploymentPermission(namespace, canary)] : [])]);
		}

		case 'deliver':
			// An Argo Rollout, and a KServe InferenceService (image and canaryTrafficPercent): the one object is all it changes.
			if (model.router === 'argo-rollouts' || model.router === 'kserve') return [router];
			return [
				{verb: 'create', group: 'apps', resource: 'deployments', namespace},
				{verb: 'create', group: '', resource: 'services', namespace},
				router,
				deploymentPermission(namespace, undefined),
				// Behind a VirtualService with a subset per version, the new version's subset is added to the DestinationRule.
				...(model.router === 'virtualservice'
					? [{verb: 'patch', group: 'networking.istio.io', resource: 'destinationrules', namespace} satisfies ResourceAttributes]
					: []),
			];
		case 'delivery':
			return model.router === 'argo-rollouts' || model.router === 'kserve'
				? [router]
				: [router, deploymentPermission(namespace, undefined)];

		default:
			return [router];
	}
}

/**
 * The permissions an action needs. With a planner (the Kubernetes source) traffic actions need exactly the writes
 * of the plan the action will apply, and are then held to them (`within`); an action that would write nothing, or
 * that cannot be planned (the action will fail the same way, before writing), needs patch on the model's router
 * and may write nothing. Without a planner: `actionPermissions`.
 */
export async function plannedPermissions(
	action: Action,
	findModel: (ref: ModelRef) => Model | undefined,
	planner: ActionPlanner | undefined,
): Promise<PermissionsResult> {
	const fromModel = actionPermissions(action, findModel);
	if (!Array.isArray(fromModel)) return fromModel;
	if (!planner || !isTrafficAction(action)) return {permissions: fromModel};
	const model = findModel(actionModel(action))!;
	const router = routerPermission(model) as ResourceAttributes;
	let changes: PlannedChange[];
	try {
		changes = await planner.plannedChanges(action);
	} catch (error) {
		if ((error as Error).name === 'PlanError') return {permissions: [router], within: []};
		return {
			unavailable: `could not read ${model.namespace}/${model.name} to work out what the action changes: ${(error as Error).message}`,
		};
	}

	if (changes.length === 0) return {permissions: [router], within: []};
	const permissions = changes.map((change) => ({
		verb: change.verb,
		group: change.group,
		resource: change.resource,
		...(change.subresource ? {subresource: change.subresource} : {}),
		namespace: change.namespace,
		name: change.name,
	}));
	return {permissions: unique(permissions), within: changes};
}
