/**
 * Seldon Core 2 (mlops.seldon.io/v1alpha1): Models and Experiments, as the API server sends them. Only the fields
 * modeldeck reads (from Seldon's operator/apis/mlops/v1alpha1 model_types.go and experiment_types.go); everything is
 * optional (outside input).
 */
import type {KubeObject} from '../objects.ts';

/** Knative-style condition (Seldon's statuses embed duckv1.Status). */
export interface SeldonCondition {
	type?: string;
	status?: string;
	reason?: string;
	message?: string;
	lastTransitionTime?: string;
}

export interface SeldonModel extends KubeObject {
	spec?: {
		storageUri?: string;
		modelType?: string;
		artifactVersion?: number;
		replicas?: number;
		minReplicas?: number;
		maxReplicas?: number;
		server?: string;
		requirements?: string[];
		memory?: string | number;
	};
	status?: {
		/** Total replicas targeted by the model. */
		replicas?: number;
		availableReplicas?: number;
		/** Conditions `ModelReady`, `Ready`, … */
		conditions?: SeldonCondition[];
		observedGeneration?: number;
	};
}

export interface SeldonExperimentCandidate {
	/** A Model (or, with `resourceType: pipeline`, a Pipeline) in the Experiment's namespace. */
	name?: string;
	/** Relative weight: a candidate's share is its weight over the sum of weights. */
	weight?: number;
}

export interface SeldonExperiment extends KubeObject {
	spec?: {
		/** The model whose requests the experiment splits among its candidates (it must be one of them). */
		default?: string;
		candidates?: SeldonExperimentCandidate[];
		/** A model given a copy of `percent`% of the requests; its answers are not returned. */
		mirror?: {name?: string; percent?: number};
		/** `model` (default) or `pipeline`. */
		resourceType?: string;
	};
	status?: {conditions?: SeldonCondition[]; observedGeneration?: number};
}
