/**
 * Which Kubernetes permission each request needs. The agent acts with its own service account, so it checks that
 * the caller could have made the same change themselves: the exact verb, resource and namespace that the action
 * changes.
 *
 * | request                          | permission checked (SubjectAccessReview)                                   |
 * | -------------------------------- | -------------------------------------------------------------------------- |
 * | stream, predictions, audit       | list pods in the namespace asked for (all namespaces when none is given)   |
 * | set-weight, promote, switch      | patch on the router: httproutes.gateway.networking.k8s.io,                  |
 * |                                  | virtualservices.networking.istio.io, inferenceservices.serving.kserve.io,  |
 * |                                  | or deployments.apps (replica-ratio routing)                                |
 * | rollback                         | the same, plus patch deployments.apps on the canary's Deployment           |
 * | smoke-test, load-test            | the same as set-weight on the model: sending it test traffic is an         |
 * |                                  | operator's act, allowed to whoever may change its traffic                  |
 *
 * Prediction logs are the traffic of a namespace's model pods: whoever may list those pods (`view`, or any role
 * that watches workloads) may read them. Viewers can therefore watch but not act.
 */
import type {Action, Model, ModelRef} from '../../domain/types.ts';
import type {ResourceAttributes} from './reviewer.ts';

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
			return {verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace, name: objectName(model.routerObject, model.name)};
		case 'virtualservice':
			return {verb: 'patch', group: 'networking.istio.io', resource: 'virtualservices', namespace, name: objectName(model.routerObject, model.name)};
		case 'kserve':
			return {verb: 'patch', group: 'serving.kserve.io', resource: 'inferenceservices', namespace, name: model.name};
		case 'replicas':
			return {verb: 'patch', group: 'apps', resource: 'deployments', namespace};
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

/**
 * The permissions an action needs. `findModel` gives the agent's current view of a model (undefined when it does
 * not know it). Returns a message instead when the action cannot be authorised exactly.
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
	if (action.kind !== 'rollback') return [router];
	const canaryObject = model.versions.find((version) => version.name === action.canary)?.object;
	if (!canaryObject?.startsWith('Deployment/') || router.resource === 'deployments') return [router];
	return [
		router,
		{verb: 'patch', group: 'apps', resource: 'deployments', namespace: model.namespace, name: objectName(canaryObject, action.canary)},
	];
}
