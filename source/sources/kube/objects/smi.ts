/** SMI TrafficSplit (split.smi-spec.io), as Linkerd and Argo Rollouts write it. Only the fields modeldeck reads; everything is optional (outside input). */
import type {KubeObject} from '../objects.ts';

export interface TrafficSplit extends KubeObject {
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}
