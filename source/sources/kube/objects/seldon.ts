/** Seldon Core 2 (mlops.seldon.io/v1alpha1): Models and Experiments, as the API server sends them. Only the fields modeldeck reads; everything is optional (outside input). */
import type {KubeObject} from '../objects.ts';

export interface SeldonModel extends KubeObject {
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}

export interface SeldonExperiment extends KubeObject {
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}
