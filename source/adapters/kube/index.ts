/**
 * The Kubernetes source: a ClusterPort over a kubeconfig. Discovery watches (watch.ts) turn objects into models
 * (build-models.ts, pure); actions (actions.ts, planned by plans.ts) write straight to the API server with the
 * kubeconfig's credentials.
 */
export {createKubeCluster, type KubeCluster, type KubeClusterOptions, UnknownContextError} from './create-kube-cluster.ts';
export type {PlannedChange, TrafficAction} from './actions.ts';
export {analyseModels, buildModels, type ClusterSnapshot, type ModelAnalysis} from './build-models.ts';
export {type Conventions, defaultConventions} from './conventions.ts';
export {describeKubeError, type KubeErrorContext} from './errors.ts';
export {type BackoffPolicy, defaultBackoff} from './watch.ts';
