/**
 * SMI TrafficSplit (split.smi-spec.io), as Linkerd's SMI extension, Open Service Mesh and Argo Rollouts write it. Only
 * the fields modeldeck reads; everything is optional (outside input).
 *
 * modeldeck reads v1alpha2 (the version Linkerd's SMI extension stores; v1alpha1 and v1alpha3 objects are served at
 * v1alpha2 by the same CRD). v1alpha1 wrote a weight as a quantity (`500m`), later versions as an integer: both are read.
 */
import type {KubeObject} from '../objects.ts';

export interface TrafficSplitBackend {
	/** A Service in the TrafficSplit's namespace. */
	service?: string;
	weight?: number | string;
}

export interface TrafficSplit extends KubeObject {
	spec?: {
		/** The root Service clients call; the backends are the Services traffic is split between. */
		service?: string;
		backends?: TrafficSplitBackend[];
		matches?: unknown[];
	};
}
