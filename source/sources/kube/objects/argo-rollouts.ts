/** Argo Rollouts (argoproj.io/v1alpha1): Rollouts and their AnalysisRuns, as the API server sends them. Only the fields modeldeck reads; everything is optional (outside input). */
import type {KubeObject} from '../objects.ts';

export interface Rollout extends KubeObject {
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}

export interface AnalysisRun extends KubeObject {
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}
