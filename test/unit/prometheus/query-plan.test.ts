import {describe, expect, it} from 'vitest';
import type {MetricTarget} from '../../../source/domain/ports.ts';
import {METRIC_NAMES} from '../../../source/domain/types.ts';
import {BUILTIN_PROFILES, customProfileProblems, mergeProfiles, profileNameFor} from '../../../source/adapters/prometheus/profiles.ts';
import {alternation, escapeRegex, fillTemplate} from '../../../source/adapters/prometheus/promql.ts';
import {DEFAULT_POD_LABELS, type PlanContext, explainQuery, planQueries} from '../../../source/adapters/prometheus/query-plan.ts';
import {createPrometheusMetrics} from '../../../source/adapters/prometheus/prometheus-metrics.ts';

const context: PlanContext = {profiles: mergeProfiles(), defaultProfile: 'generic', podLabels: DEFAULT_POD_LABELS};

function versions(count: number, runtime?: string): MetricTarget[] {
	return Array.from({length: count}, (_, index) => ({
		namespace: index % 2 === 0 ? 'ml' : 'fraud-team',
		name: `model-${index % 7}`,
		version: `v${index}`,
		...(runtime ? {runtime} : {}),
	}));
}

describe('PromQL building', () => {
	it('sends one query per metric for all versions of a profile, however many versions there are', () => {
		for (const runtime of Object.keys(BUILTIN_PROFILES)) {
			const one = planQueries(versions(1, runtime), 60, context);
			const hundred = planQueries(versions(100, runtime), 60, context);
			expect(hundred.length, runtime).toBe(one.length);
			expect(new Set(hundred.map((query) => query.metric)).size, runtime).toBe(hundred.length);
			for (const query of hundred) expect(query.targets).toHaveLength(100);
		}
	});

	it('groups the generic profile by namespace, model and version and selects every version in one regex', () => {
		const planned = planQueries(versions(3), 120, context);
		expect(planned.map((query) => query.metric)).toEqual([...METRIC_NAMES]);
		for (const query of planned) {
			expect(query.query).toContain('by (namespace, model, version');
			expect(query.query).toContain('version=~"v0|v1|v2"');
			expect(query.query).toContain('namespace=~"fraud-team|ml"');
			expect(query.query).toContain('model=~"model-0|model-1|model-2"');
			expect(query.query).not.toMatch(/\{(selector|window|namespaces|models|versions|pods)\}/);
		}
		const p99 = planned.find((query) => query.metric === 'p99Ms')!.query;
		expect(p99).toBe(
			'histogram_quantile(0.99, sum by (namespace, model, version, le) (rate(modeldeck_inference_request_duration_seconds_bucket{namespace=~"fraud-team|ml", model=~"model-0|model-1|model-2", version=~"v0|v1|v2"}[120s]))) * 1000',
		);
		const errorRatio = planned.find((query) => query.metric === 'errorRatio')!.query;
		expect(errorRatio).toContain('status="error"');
		// No errors yet reads 0 where there is traffic, not absent.
		expect(errorRatio).toContain(' or sum by (namespace, model, version) (rate(modeldeck_inference_requests_total');
	});

	it('ends every built-in query in the labels namespace, model and version', () => {
		for (const [name, profile] of Object.entries(BUILTIN_PROFILES)) {
			for (const [metric, template] of Object.entries(profile.queries)) {
				const text = template!;
				const groupsByVersion =
					/^(sum|max) by \(namespace, model, version\)/.test(text) ||
					/^histogram_quantile\([0-9.]+, (sum|max) by \(namespace, model, version, le\)/.test(text) ||
					/^\(.* or .*\) \/ sum by \(namespace, model, version\)/.test(text);
				expect(groupsByVersion, `${name} ${metric}: ${text}`).toBe(true);
			}
		}
	});

	it('renames runtime labels to namespace, model and version with label_replace', () => {
		const kserve = planQueries(versions(2, 'kserve'), 60, context).find((query) => query.metric === 'rps')!.query;
		expect(kserve).toContain('"model", "$1", "configuration_name"');
		expect(kserve).toContain('"version", "$1", "revision_name"');
		expect(kserve).toContain('revision_name=~"v0|v1"');
		const istio = planQueries(versions(2, 'istio'), 60, context).find((query) => query.metric === 'p95Ms')!.query;
		expect(istio).toContain('istio_request_duration_milliseconds_bucket{reporter="destination"');
		expect(istio).toContain('"version", "$1", "destination_canonical_revision"');
	});

	it("joins pod-level series to the pod's model and version through kube_pod_labels", () => {
		const cpu = planQueries(versions(2, 'triton'), 30, context).find((query) => query.metric === 'cpuCores')!.query;
		expect(cpu).toContain('* on (namespace, pod) group_left (model, version)');
		expect(cpu).toContain(
			'kube_pod_labels{namespace=~"fraud-team|ml", label_modeldeck_dev_model=~"model-0|model-1", label_app_kubernetes_io_version=~"v0|v1"}',
		);
		const custom = planQueries(versions(1, 'triton'), 30, {...context, podLabels: {model: 'app', version: 'version'}});
		expect(custom.find((query) => query.metric === 'memoryBytes')!.query).toContain('label_app=~"model-0", label_version=~"v0"');
	});

	it('sends one batch per profile when models use different runtimes', () => {
		const mixed = [...versions(5, 'kserve'), ...versions(5), ...versions(5, 'MLServer')];
		const planned = planQueries(mixed, 60, context);
		const perProfile = new Map<string, number>();
		for (const query of planned) perProfile.set(query.profile, (perProfile.get(query.profile) ?? 0) + 1);
		expect(Object.fromEntries(perProfile)).toEqual({kserve: 7, generic: 7, seldon: 7});
	});

	it('leaves out figures a runtime cannot give instead of inventing them', () => {
		const planned = planQueries(versions(2, 'torchserve'), 60, context);
		expect(planned.map((query) => query.metric).sort()).toEqual(['cpuCores', 'errorRatio', 'memoryBytes', 'rps']);
		const explained = explainQuery({namespace: 'ml', name: 'm', version: 'v1', runtime: 'torchserve'}, 'p99Ms', 60, context);
		expect(explained).toMatch(/^# the torchserve profile has no query for p99Ms: /);
	});

	it('escapes label values so they match only themselves', () => {
		expect(escapeRegex('v1.2+build')).toBe('v1\\.2\\+build');
		// Inside a PromQL string the regex backslash is doubled.
		expect(alternation(['v1.2', 'v1.2', 'a"b'])).toBe('a\\"b|v1\\\\.2');
		const explained = explainQuery({namespace: 'ml', name: 'fraud', version: 'v1.2'}, 'rps', 60, context);
		expect(explained).toBe(
			'sum by (namespace, model, version) (rate(modeldeck_inference_requests_total{namespace=~"ml", model=~"fraud", version=~"v1\\\\.2"}[60s]))',
		);
	});

	it('fills only known placeholders, leaving PromQL braces alone', () => {
		expect(fillTemplate('rate(x{{selector}, code="5"}[{window}]) {other}', {selector: 'a="b"', window: '30s'})).toBe(
			'rate(x{a="b", code="5"}[30s]) {other}',
		);
	});

	it('chooses profiles by runtime name, aliases and the default', () => {
		const profiles = mergeProfiles({mine: {rps: 'sum by (namespace, model, version) (x{{selector}})'}});
		expect(profileNameFor(undefined, profiles, 'generic')).toBe('generic');
		expect(profileNameFor('mine', profiles, 'generic')).toBe('mine');
		expect(profileNameFor('Triton', profiles, 'generic')).toBe('triton');
		expect(profileNameFor('kserve-sklearnserver', profiles, 'generic')).toBe('kserve');
		expect(profileNameFor('mlserver', profiles, 'generic')).toBe('seldon');
		expect(profileNameFor('something-else', profiles, 'generic')).toBe('generic');
	});

	it('lays custom templates over a built-in profile, replacing only the metrics named', () => {
		const profiles = mergeProfiles({generic: {p99Ms: 'max by (namespace, model, version) (my_p99{{selector}})'}});
		const planned = planQueries(versions(1), 60, {...context, profiles});
		expect(planned.find((query) => query.metric === 'p99Ms')!.query).toBe(
			'max by (namespace, model, version) (my_p99{namespace=~"ml", model=~"model-0", version=~"v0"})',
		);
		expect(planned.find((query) => query.metric === 'p50Ms')!.query).toContain('histogram_quantile(0.5');
	});

	it('says what is wrong with a broken custom profile', () => {
		expect(customProfileProblems({x: {p90Ms: 'up'}})).toEqual([
			'profile "x": unknown metric "p90Ms"; use one of rps, errorRatio, p50Ms, p95Ms, p99Ms, cpuCores, memoryBytes',
		]);
		expect(customProfileProblems({x: {rps: 'rate(x{{selectr}}[{window}])'}})[0]).toContain('unknown placeholder {selectr}');
		expect(() => createPrometheusMetrics({url: 'http://127.0.0.1:9', profiles: {x: {rps: ''}}})).toThrow(
			/Custom PromQL profiles in settings are invalid: profile "x", rps: the template must be a non-empty PromQL string/,
		);
	});

	it('refuses a missing or malformed address with a message that says how to fix it', () => {
		expect(() => createPrometheusMetrics({})).toThrow(/needs a URL/);
		expect(() => createPrometheusMetrics({url: 'prometheus:9090'})).toThrow(/must start with http:\/\//);
	});

	it('explains with the window of the last refresh', async () => {
		const source = createPrometheusMetrics({url: 'http://127.0.0.1:9', defaultWindowSeconds: 45});
		const target = {namespace: 'ml', name: 'fraud', version: 'v2'};
		expect(source.explain(target, 'rps')).toContain('[45s]');
		await source.sample([], 300);
		expect(source.explain(target, 'rps')).toContain('[300s]');
	});
});
