/**
 * Which queries a refresh sends: targets grouped by profile, then ONE query per metric per profile covering every
 * version in the group (regex alternations of their namespaces, models and versions). The number of queries depends
 * on the profiles in use, never on the number of versions. Pure.
 */
import type {MetricTarget} from '../../domain/ports.ts';
import type {MetricName} from '../../domain/types.ts';
import {METRIC_NAMES} from '../../domain/types.ts';
import type {PromQLProfile} from './profiles.ts';
import {profileNameFor} from './profiles.ts';
import {type TemplateValues, alternation, duration, fillTemplate} from './promql.ts';

/** Kubernetes pod labels that say which model and version a pod serves (exposed by kube-state-metrics). */
export interface PodLabels {
	/** Default `modeldeck.dev/model`. */
	model: string;
	/** Default `app.kubernetes.io/version`. */
	version: string;
}

export const DEFAULT_POD_LABELS: PodLabels = {model: 'modeldeck.dev/model', version: 'app.kubernetes.io/version'};

export interface PlanContext {
	profiles: Readonly<Record<string, PromQLProfile>>;
	defaultProfile: string;
	podLabels: PodLabels;
}

export interface PlannedQuery {
	profile: string;
	metric: MetricName;
	query: string;
	/** The versions this query answers for. */
	targets: MetricTarget[];
}

/** kube-state-metrics turns pod label `app.kubernetes.io/version` into `label_app_kubernetes_io_version`. */
export function kubeStateMetricsLabel(podLabel: string): string {
	return `label_${podLabel.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** Pod → model, version (value 1), restricted to the requested versions; de-duplicated across kube-state-metrics replicas. */
export function podsExpression(podLabels: PodLabels, namespaces: string, models: string, versions: string): string {
	const model = kubeStateMetricsLabel(podLabels.model);
	const version = kubeStateMetricsLabel(podLabels.version);
	return `max by (namespace, pod, model, version) (label_replace(label_replace(kube_pod_labels{namespace=~"${namespaces}", ${model}=~"${models}", ${version}=~"${versions}"}, "model", "$1", "${model}", "(.+)"), "version", "$1", "${version}", "(.+)"))`;
}

export function templateValues(
	profile: PromQLProfile,
	targets: readonly MetricTarget[],
	windowSeconds: number,
	podLabels: PodLabels,
): TemplateValues {
	const namespaces = alternation(targets.map((target) => target.namespace));
	const models = alternation(targets.map((target) => target.name));
	const versions = alternation(targets.map((target) => target.version));
	const lists = {namespaces, models, versions};
	return {
		selector: fillTemplate(profile.selector, lists),
		window: duration(windowSeconds),
		...lists,
		pods: podsExpression(podLabels, namespaces, models, versions),
	};
}

/** Targets grouped by the profile their runtime selects, in a stable order. */
export function groupByProfile(targets: readonly MetricTarget[], context: PlanContext): Map<string, MetricTarget[]> {
	const groups = new Map<string, MetricTarget[]>();
	for (const target of targets) {
		const name = profileNameFor(target.runtime, context.profiles, context.defaultProfile);
		const group = groups.get(name);
		if (group) group.push(target);
		else groups.set(name, [target]);
	}
	return groups;
}

/** Every query a refresh sends for these targets. */
export function planQueries(
	targets: readonly MetricTarget[],
	windowSeconds: number,
	context: PlanContext,
	metrics: readonly MetricName[] = METRIC_NAMES,
): PlannedQuery[] {
	const planned: PlannedQuery[] = [];
	for (const [name, group] of groupByProfile(targets, context)) {
		const profile = context.profiles[name];
		if (!profile) continue;
		const values = templateValues(profile, group, windowSeconds, context.podLabels);
		for (const metric of metrics) {
			const template = profile.queries[metric];
			if (!template) continue;
			planned.push({profile: name, metric, query: fillTemplate(template, values), targets: group});
		}
	}
	return planned;
}

/** The query behind one figure of one version, as a person would paste it; a PromQL comment when there is none. */
export function explainQuery(target: MetricTarget, metric: MetricName, windowSeconds: number, context: PlanContext): string {
	const name = profileNameFor(target.runtime, context.profiles, context.defaultProfile);
	const profile = context.profiles[name];
	if (!profile) return `# no PromQL profile named "${name}"`;
	const template = profile.queries[metric];
	if (!template) {
		const why = profile.missing?.[metric] ?? 'add it to a custom profile in settings';
		return `# the ${name} profile has no query for ${metric}: ${why}`;
	}
	return fillTemplate(template, templateValues(profile, [target], windowSeconds, context.podLabels));
}
