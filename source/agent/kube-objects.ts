/** References to the Kubernetes objects an action changes, for the Events of the audit trail. Pure. */
import type {Model, VersionRef} from '../domain/types.ts';

/** The object an action changed, for its Kubernetes Event. */
export interface InvolvedObject {
	apiVersion: string;
	kind: string;
	name: string;
	namespace: string;
	/**
	 * The object's uid: `kubectl describe` lists only the Events whose involvedObject.uid is the object's. Filled
	 * from the API server when the Event is recorded (kube.ts).
	 */
	uid?: string;
	/** The object's resourceVersion when the Event was recorded (after the action's change). */
	resourceVersion?: string;
}

const apiVersions: Record<string, string> = {
	HTTPRoute: 'gateway.networking.k8s.io/v1',
	VirtualService: 'networking.istio.io/v1',
	InferenceService: 'serving.kserve.io/v1beta1',
	Deployment: 'apps/v1',
	Service: 'v1',
};

/** `Kind/name` → the object reference, when the kind is one the agent knows. */
export function involvedObject(reference: string | undefined, namespace: string): InvolvedObject | undefined {
	if (!reference) return undefined;
	const [kind, name] = reference.split('/');
	const apiVersion = kind ? apiVersions[kind] : undefined;
	if (!kind || !name || !apiVersion) return undefined;
	return {apiVersion, kind, name, namespace};
}

/** The object to attach a model action's Event to: the router, else the InferenceService, else the model's first Deployment. */
export function modelObject(model: Model): InvolvedObject | undefined {
	if (model.router === 'kserve')
		return {apiVersion: apiVersions['InferenceService']!, kind: 'InferenceService', name: model.name, namespace: model.namespace};
	return involvedObject(model.routerObject, model.namespace) ?? involvedObject(model.versions[0]?.object, model.namespace);
}

export function versionObject(model: Model | undefined, target: VersionRef): InvolvedObject | undefined {
	const version = model?.versions.find((candidate) => candidate.name === target.version);
	if (version?.service) return {apiVersion: 'v1', kind: 'Service', name: version.service, namespace: target.namespace};
	return involvedObject(version?.object, target.namespace);
}
