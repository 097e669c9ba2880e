/**
 * The shapes of the Kubernetes objects modeldeck reads, as the API server sends them (plain JSON, timestamps as
 * strings). Every field is optional because objects from a cluster are outside input: a missing field must never crash.
 */

export interface OwnerReference {
	apiVersion?: string;
	kind?: string;
	name?: string;
	uid?: string;
	controller?: boolean;
}

export interface ObjectMeta {
	name?: string;
	namespace?: string;
	uid?: string;
	labels?: Record<string, string>;
	annotations?: Record<string, string>;
	creationTimestamp?: string;
	resourceVersion?: string;
	generation?: number;
	ownerReferences?: OwnerReference[];
	/** Who wrote which fields (server-side apply bookkeeping): tells a controller's writes from a person's. */
	managedFields?: ManagedFieldsEntry[];
}

export interface ManagedFieldsEntry {
	/** `rollouts-controller`, `flagger`, `manager`, `kubectl-client-side-apply`, … (the writer's user agent). */
	manager?: string;
	operation?: string;
	subresource?: string;
}

export interface KubeObject {
	apiVersion?: string;
	kind?: string;
	metadata?: ObjectMeta;
}

export interface KubeList<T extends KubeObject = KubeObject> {
	apiVersion?: string;
	kind?: string;
	metadata?: {resourceVersion?: string; continue?: string};
	items?: T[];
}

export interface LabelSelectorRequirement {
	key?: string;
	operator?: string;
	values?: string[];
}

export interface LabelSelector {
	matchLabels?: Record<string, string>;
	matchExpressions?: LabelSelectorRequirement[];
}

export interface ResourceRequirements {
	requests?: Record<string, string | number>;
	limits?: Record<string, string | number>;
}

export interface Container {
	name?: string;
	image?: string;
	resources?: ResourceRequirements;
}

export interface PodTemplate {
	metadata?: ObjectMeta;
	spec?: {containers?: Container[]; [key: string]: unknown};
}

export interface Deployment extends KubeObject {
	spec?: {
		replicas?: number;
		paused?: boolean;
		selector?: LabelSelector;
		template?: PodTemplate;
	};
	status?: {
		replicas?: number;
		readyReplicas?: number;
		availableReplicas?: number;
		updatedReplicas?: number;
		observedGeneration?: number;
	};
}

export interface ReplicaSet extends KubeObject {
	spec?: {replicas?: number; selector?: LabelSelector; template?: PodTemplate};
	status?: {replicas?: number; readyReplicas?: number};
}

export interface ContainerState {
	waiting?: {reason?: string; message?: string};
	running?: {startedAt?: string};
	terminated?: {reason?: string; exitCode?: number};
}

export interface ContainerStatus {
	name?: string;
	ready?: boolean;
	restartCount?: number;
	image?: string;
	state?: ContainerState;
	lastState?: ContainerState;
}

export interface Pod extends KubeObject {
	spec?: {containers?: Container[]};
	status?: {
		phase?: string;
		reason?: string;
		conditions?: Array<{type?: string; status?: string}>;
		containerStatuses?: ContainerStatus[];
		initContainerStatuses?: ContainerStatus[];
	};
}

export interface Service extends KubeObject {
	spec?: {selector?: Record<string, string>; ports?: Array<{name?: string; port?: number}>};
}

export interface HorizontalPodAutoscaler extends KubeObject {
	spec?: {
		scaleTargetRef?: {apiVersion?: string; kind?: string; name?: string};
		minReplicas?: number;
		maxReplicas?: number;
	};
	status?: {currentReplicas?: number; desiredReplicas?: number};
}

export interface HttpBackendRef {
	group?: string;
	kind?: string;
	name?: string;
	namespace?: string;
	port?: number;
	weight?: number;
}

export interface HttpRoute extends KubeObject {
	spec?: {
		parentRefs?: unknown[];
		hostnames?: string[];
		rules?: Array<{matches?: unknown[]; backendRefs?: HttpBackendRef[]; [key: string]: unknown}>;
	};
}

export interface VirtualServiceDestination {
	destination?: {host?: string; subset?: string; port?: {number?: number}};
	weight?: number;
}

export interface VirtualService extends KubeObject {
	spec?: {
		hosts?: string[];
		http?: Array<{name?: string; match?: unknown[]; route?: VirtualServiceDestination[]; [key: string]: unknown}>;
	};
}

export interface DestinationRule extends KubeObject {
	spec?: {host?: string; subsets?: Array<{name?: string; labels?: Record<string, string>}>};
}

export interface KnativeTrafficTarget {
	revisionName?: string;
	percent?: number;
	latestRevision?: boolean;
	tag?: string;
}

export interface InferenceServicePredictor {
	canaryTrafficPercent?: number;
	minReplicas?: number;
	maxReplicas?: number;
	model?: {storageUri?: string; runtime?: string; modelFormat?: {name?: string}; resources?: ResourceRequirements};
	containers?: Container[];
	[framework: string]: unknown;
}

export interface InferenceService extends KubeObject {
	spec?: {predictor?: InferenceServicePredictor};
	status?: {
		components?: {
			predictor?: {
				latestReadyRevision?: string;
				latestCreatedRevision?: string;
				latestRolledoutRevision?: string;
				previousRolledoutRevision?: string;
				traffic?: KnativeTrafficTarget[];
			};
		};
	};
}
