/**
 * PromQL profiles: per serving runtime, the query behind each figure. Every query returns one series per version
 * labelled exactly `namespace`, `model` and `version`, for ALL versions sharing the profile at once: the runtime's
 * own labels are renamed with label_replace, and runtimes whose series don't carry the version are joined to their
 * pod's labels.
 *
 * Placeholders (see promql.ts): `{selector}` (the profile's label matchers for the requested versions), `{window}`,
 * `{namespaces}`, `{models}`, `{versions}` (regex alternations) and `{pods}` (pod → model/version, for joins).
 *
 * Choices and their limits:
 * - Latency percentiles come from histograms with histogram_quantile, which interpolates linearly inside a bucket:
 *   a percentile is only as exact as the buckets around it. Runtimes without a latency histogram have no
 *   percentile queries here (TorchServe), rather than a mean shown as a percentile.
 * - `{pods}` joins on kube-state-metrics' `kube_pod_labels`, which only carries the pod labels kube-state-metrics is
 *   told to expose: run it with `--metric-labels-allowlist=pods=[modeldeck.dev/model,app.kubernetes.io/version]`
 *   (or the labels set in options.podLabels). Without that, CPU and memory (and the seldon/torchserve/triton
 *   request figures) are absent, never wrong. KServe needs no join: its revision names are in its pod names.
 * - CPU and memory are the busiest replica's (max over pods of the pod's sum over its containers, sidecars
 *   istio-proxy and queue-proxy left out), so they compare with the per-pod limits the thresholds use.
 * - The generic profile reads CPU and memory from the model server's own process metrics (they carry model and
 *   version), so it needs neither cAdvisor nor kube-state-metrics.
 */
import type {MetricName} from '../../domain/types.ts';
import {METRIC_NAMES} from '../../domain/types.ts';
import {unknownPlaceholders} from './promql.ts';

export interface PromQLProfile {
	name: string;
	/** Where the figures come from, said for people (shown with `explain`). */
	description: string;
	/** What `{selector}` expands to; uses `{namespaces}`, `{models}`, `{versions}`. */
	selector: string;
	queries: Partial<Record<MetricName, string>>;
	/** Why a figure has no query in this profile. */
	missing?: Partial<Record<MetricName, string>>;
}

/** Custom profiles from settings: profile (runtime) name → metric → template. */
export type CustomProfiles = Record<string, Partial<Record<string, string>>>;

const BY = 'namespace, model, version';
const QUANTILES: Array<[MetricName, number]> = [
	['p50Ms', 0.5],
	['p95Ms', 0.95],
	['p99Ms', 0.99],
];
const SIDECARS = '|POD|istio-proxy|queue-proxy';

/** `numerator / denominator`, reading 0 (not absent) when the numerator has no series but the denominator has traffic. */
function ratio(numerator: string, denominator: string): string {
	return `(${numerator} or ${denominator} * 0) / ${denominator}`;
}

/**
 * The sum of per-pod rates of two counters, either of which may have no series yet on a pod. (A single selector
 * over both names, `{__name__=~"a|b"}`, cannot be used: rate() drops the names and the two collide.)
 */
function sumEither(first: string, second: string): string {
	return `((${first} + ${second}) or ${first} or ${second})`;
}

/**
 * Pod-level expression (labels namespace, pod, and `le` for buckets) joined to the pod's model and version, then
 * aggregated by version (and `le`, for buckets).
 */
function joinPods(aggregation: string, podLevel: string, keepBucket = false): string {
	const by = keepBucket ? `${BY}, le` : BY;
	return `${aggregation} by (${by}) (${podLevel} * on (namespace, pod) group_left (model, version) {pods})`;
}

/** cAdvisor CPU and memory per version, via `{pods}`. */
const cadvisor: Pick<Record<MetricName, string>, 'cpuCores' | 'memoryBytes'> = {
	cpuCores: joinPods(
		'max',
		`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace=~"{namespaces}", container!~"${SIDECARS}"}[{window}]))`,
	),
	memoryBytes: joinPods(
		'max',
		`sum by (namespace, pod) (container_memory_working_set_bytes{namespace=~"{namespaces}", container!~"${SIDECARS}"})`,
	),
};

function genericProfile(): PromQLProfile {
	const requests = `sum by (${BY}) (rate(modeldeck_inference_requests_total{{selector}}[{window}]))`;
	const errors = `sum by (${BY}) (rate(modeldeck_inference_requests_total{{selector}, status="error"}[{window}]))`;
	const queries: Partial<Record<MetricName, string>> = {
		rps: requests,
		errorRatio: ratio(errors, requests),
		cpuCores: `max by (${BY}) (rate(process_cpu_seconds_total{{selector}}[{window}]))`,
		memoryBytes: `max by (${BY}) (process_resident_memory_bytes{{selector}})`,
	};
	for (const [metric, quantile] of QUANTILES) {
		queries[metric] =
			`histogram_quantile(${quantile}, sum by (${BY}, le) (rate(modeldeck_inference_request_duration_seconds_bucket{{selector}}[{window}]))) * 1000`;
	}
	return {
		name: 'generic',
		description:
			"modeldeck's model server (and any server exporting modeldeck_inference_requests_total and modeldeck_inference_request_duration_seconds with model and version labels); CPU and memory from its process metrics",
		selector: 'namespace=~"{namespaces}", model=~"{models}", version=~"{versions}"',
		queries,
	};
}

/** Knative queue-proxy metrics of KServe's serverless predictors: a version is a revision (`fraud-predictor-00002`). */
function kserveProfile(): PromQLProfile {
	const keep = 'namespace_name, configuration_name, revision_name';
	const relabel = (expression: string) =>
		`label_replace(label_replace(label_replace(${expression}, "namespace", "$1", "namespace_name", "(.*)"), "model", "$1", "configuration_name", "(.+?)-predictor(?:-default)?"), "version", "$1", "revision_name", "(.*)")`;
	const requests = `sum by (${keep}) (rate(revision_app_request_count{{selector}}[{window}]))`;
	const errors = `sum by (${keep}) (rate(revision_app_request_count{{selector}, response_code_class="5xx"}[{window}]))`;
	// Pods of a revision are `<revision>-deployment-<replicaset>-<pod>`.
	const podVersion = (expression: string) =>
		`label_replace(label_replace(${expression}, "version", "$1", "pod", "(.+)-deployment-[^-]+-[^-]+"), "model", "$1", "version", "(.+?)-predictor(?:-default)?-[0-9]+")`;
	const queries: Partial<Record<MetricName, string>> = {
		rps: `sum by (${BY}) (${relabel(requests)})`,
		errorRatio: `sum by (${BY}) (${relabel(ratio(errors, requests))})`,
		cpuCores: `max by (${BY}) (${podVersion(`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace=~"{namespaces}", pod=~"(?:{versions})-deployment-.+", container!~"${SIDECARS}"}[{window}]))`)})`,
		memoryBytes: `max by (${BY}) (${podVersion(`sum by (namespace, pod) (container_memory_working_set_bytes{namespace=~"{namespaces}", pod=~"(?:{versions})-deployment-.+", container!~"${SIDECARS}"})`)})`,
	};
	for (const [metric, quantile] of QUANTILES) {
		// Knative reports latencies in milliseconds already.
		queries[metric] =
			`sum by (${BY}) (${relabel(`histogram_quantile(${quantile}, sum by (${keep}, le) (rate(revision_app_request_latencies_bucket{{selector}}[{window}])))`)})`;
	}
	return {
		name: 'kserve',
		description:
			"KServe serverless predictors: Knative queue-proxy's revision_app_request_count and revision_app_request_latencies (ms); a version is a revision; CPU and memory from cAdvisor by the revision in the pod name",
		selector: 'namespace_name=~"{namespaces}", configuration_name=~"(?:{models})-predictor(?:-default)?", revision_name=~"{versions}"',
		queries,
	};
}

/** Seldon's MLServer: inference counters per pod, REST latency histogram per pod, joined to the pod's version. */
function seldonProfile(): PromQLProfile {
	const successes = `sum by (namespace, pod) (rate(model_infer_request_success_total{{selector}}[{window}]))`;
	const failures = `sum by (namespace, pod) (rate(model_infer_request_failure_total{{selector}}[{window}]))`;
	const all = sumEither(successes, failures);
	const requests = joinPods('sum', all);
	const queries: Partial<Record<MetricName, string>> = {
		rps: requests,
		errorRatio: ratio(joinPods('sum', failures), requests),
		...cadvisor,
	};
	for (const [metric, quantile] of QUANTILES) {
		queries[metric] = `histogram_quantile(${quantile}, ${joinPods(
			'sum',
			`sum by (namespace, pod, le) (rate(rest_server_request_duration_seconds_bucket{{selector}, path=~".*/infer"}[{window}]))`,
			true,
		)}) * 1000`;
	}
	return {
		name: 'seldon',
		description:
			"Seldon MLServer: model_infer_request_success/failure_total and the REST server's request histogram on …/infer, per pod, joined to the pod's model and version labels (kube_pod_labels); CPU and memory from cAdvisor",
		selector: 'namespace=~"{namespaces}"',
		queries,
	};
}

function torchserveProfile(): PromQLProfile {
	const inferences = `sum by (namespace, pod) (rate(ts_inference_requests_total{{selector}}[{window}]))`;
	// Response counters per class appear only once a response of that class was sent: absent ones read 0 on a pod
	// that serves inferences.
	const zero = `${inferences} * 0`;
	const responses = (codeClass: string) =>
		`(sum by (namespace, pod) (rate({__name__=~"Requests${codeClass}XX(?:_total)?", {selector}}[{window}])) or ${zero})`;
	const requests = joinPods('sum', inferences);
	const missing =
		'TorchServe exports latency only as a running total (ts_inference_latency_microseconds), which gives a mean, not percentiles; export a histogram and add a custom profile';
	return {
		name: 'torchserve',
		description:
			"TorchServe (metrics_mode=prometheus): ts_inference_requests_total and Requests2XX/4XX/5XX per pod, joined to the pod's model and version labels; CPU and memory from cAdvisor",
		selector: 'namespace=~"{namespaces}"',
		queries: {
			rps: requests,
			errorRatio: `${joinPods('sum', responses('5'))} / ${joinPods('sum', `(${responses('2')} + ${responses('4')} + ${responses('5')})`)}`,
			...cadvisor,
		},
		missing: {p50Ms: missing, p95Ms: missing, p99Ms: missing},
	};
}

function tritonProfile(): PromQLProfile {
	const successes = `sum by (namespace, pod) (rate(nv_inference_request_success{{selector}}[{window}]))`;
	const failuresPerPod = `sum by (namespace, pod) (rate(nv_inference_request_failure{{selector}}[{window}]))`;
	const requests = joinPods('sum', sumEither(successes, failuresPerPod));
	const failures = joinPods('sum', failuresPerPod);
	const queries: Partial<Record<MetricName, string>> = {rps: requests, errorRatio: ratio(failures, requests), ...cadvisor};
	for (const [metric, quantile] of QUANTILES) {
		// Summaries cannot be aggregated across replicas: this is the worst replica's percentile.
		queries[metric] =
			`${joinPods('max', `max by (namespace, pod) (nv_inference_request_summary_us{{selector}, quantile="${quantile}"})`)} / 1000`;
	}
	return {
		name: 'triton',
		description:
			"NVIDIA Triton: nv_inference_request_success/failure per pod, joined to the pod's model and version labels; percentiles from the nv_inference_request_summary_us summaries (start Triton with --metrics-config summary_latencies=true), the worst replica's since summaries cannot be aggregated; CPU and memory from cAdvisor",
		selector: 'namespace=~"{namespaces}"',
		queries,
	};
}

/** Istio's sidecar metrics: model = canonical service, version = canonical revision (app.kubernetes.io/name and /version). */
function istioProfile(): PromQLProfile {
	const keep = 'destination_workload_namespace, destination_canonical_service, destination_canonical_revision';
	const relabel = (expression: string) =>
		`label_replace(label_replace(label_replace(${expression}, "namespace", "$1", "destination_workload_namespace", "(.*)"), "model", "$1", "destination_canonical_service", "(.*)"), "version", "$1", "destination_canonical_revision", "(.*)")`;
	const requests = `sum by (${keep}) (rate(istio_requests_total{{selector}}[{window}]))`;
	const errors = `sum by (${keep}) (rate(istio_requests_total{{selector}, response_code=~"5.."}[{window}]))`;
	const queries: Partial<Record<MetricName, string>> = {
		rps: `sum by (${BY}) (${relabel(requests)})`,
		errorRatio: `sum by (${BY}) (${relabel(ratio(errors, requests))})`,
		...cadvisor,
	};
	for (const [metric, quantile] of QUANTILES) {
		queries[metric] =
			`sum by (${BY}) (${relabel(`histogram_quantile(${quantile}, sum by (${keep}, le) (rate(istio_request_duration_milliseconds_bucket{{selector}}[{window}])))`)})`;
	}
	return {
		name: 'istio',
		description:
			'Istio sidecars (reporter=destination): istio_requests_total and istio_request_duration_milliseconds; model = destination_canonical_service, version = destination_canonical_revision; CPU and memory from cAdvisor',
		selector:
			'reporter="destination", destination_workload_namespace=~"{namespaces}", destination_canonical_service=~"{models}", destination_canonical_revision=~"{versions}"',
		queries,
	};
}

export const BUILTIN_PROFILES: Readonly<Record<string, PromQLProfile>> = Object.freeze({
	generic: genericProfile(),
	kserve: kserveProfile(),
	seldon: seldonProfile(),
	torchserve: torchserveProfile(),
	triton: tritonProfile(),
	istio: istioProfile(),
});

/** Runtime names as discovery may report them → profile. */
const RUNTIME_ALIASES: Array<[RegExp, string]> = [
	[/kserve|kfserving|knative/i, 'kserve'],
	[/seldon|mlserver/i, 'seldon'],
	[/torchserve|pytorch/i, 'torchserve'],
	[/triton/i, 'triton'],
	[/istio/i, 'istio'],
	[/modeldeck|generic/i, 'generic'],
];

/** The profile name for a runtime: an exact profile name first, then known aliases, else the default profile. */
export function profileNameFor(
	runtime: string | undefined,
	profiles: Readonly<Record<string, PromQLProfile>>,
	defaultProfile: string,
): string {
	if (!runtime) return defaultProfile;
	if (Object.hasOwn(profiles, runtime)) return runtime;
	const lower = runtime.toLowerCase();
	if (Object.hasOwn(profiles, lower)) return lower;
	for (const [pattern, name] of RUNTIME_ALIASES) if (pattern.test(runtime) && Object.hasOwn(profiles, name)) return name;
	return defaultProfile;
}

/** Problems in custom profiles, said for people; empty when they are fine. */
export function customProfileProblems(custom: CustomProfiles): string[] {
	const problems: string[] = [];
	for (const [name, templates] of Object.entries(custom)) {
		if (typeof templates !== 'object' || templates === null) {
			problems.push(`profile "${name}" must map metric names to PromQL templates`);
			continue;
		}
		for (const [metric, template] of Object.entries(templates)) {
			if (!METRIC_NAMES.includes(metric as MetricName)) {
				problems.push(`profile "${name}": unknown metric "${metric}"; use one of ${METRIC_NAMES.join(', ')}`);
				continue;
			}
			if (typeof template !== 'string' || template.trim() === '') {
				problems.push(`profile "${name}", ${metric}: the template must be a non-empty PromQL string`);
				continue;
			}
			const unknown = unknownPlaceholders(template);
			if (unknown.length > 0) {
				problems.push(
					`profile "${name}", ${metric}: unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')}; known: {selector} {window} {namespaces} {models} {versions} {pods}`,
				);
			}
		}
	}
	return problems;
}

/**
 * Built-in profiles with custom ones laid over them: a custom profile named like a built-in one replaces only the
 * metrics it names; a new name starts from nothing and uses the generic selector (labels namespace, model, version).
 */
export function mergeProfiles(custom: CustomProfiles = {}): Record<string, PromQLProfile> {
	const merged: Record<string, PromQLProfile> = {...BUILTIN_PROFILES};
	for (const [name, templates] of Object.entries(custom)) {
		const base = merged[name];
		const queries: Partial<Record<MetricName, string>> = {...base?.queries};
		for (const [metric, template] of Object.entries(templates)) {
			if (METRIC_NAMES.includes(metric as MetricName) && typeof template === 'string') {
				queries[metric as MetricName] = template;
			}
		}
		merged[name] = {
			name,
			description: base ? `${base.description} (with custom queries from settings)` : 'custom profile from settings',
			selector: base?.selector ?? BUILTIN_PROFILES['generic']!.selector,
			queries,
		};
	}
	return merged;
}
