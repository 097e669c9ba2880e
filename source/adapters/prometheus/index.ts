export {createPrometheusMetrics} from './prometheus-metrics.ts';
export type {KubeServiceProxy, PrometheusMetrics, PrometheusMetricsOptions} from './prometheus-metrics.ts';
export {BUILTIN_PROFILES, customProfileProblems, mergeProfiles, profileNameFor} from './profiles.ts';
export type {CustomProfiles, PromQLProfile} from './profiles.ts';
export {DEFAULT_POD_LABELS, explainQuery, planQueries} from './query-plan.ts';
export type {PlannedQuery, PodLabels} from './query-plan.ts';
