// deploy/monitoring: the PrometheusRule's alerts checked and unit-tested by promtool (they fire on the series the
// model server and the agent export, with the labels and messages an on-call engineer reads), every metric name in
// the alerts and the Grafana dashboard one that the code actually exports, and every dashboard query run against a
// real Prometheus scraping real model servers (stable and canary) and a real agent.
import {execFile} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {stringify} from 'yaml';
import {type RunningPrometheus, promtoolBinary, startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {type KubeObject, kustomize} from './deploy-support.ts';
import {createAgentMetrics} from '../../source/agent/metrics.ts';
import {type RunningAgent, startAgent} from '../../source/agent/main.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/main.ts';
import {createServerMetrics} from '../../source/model-server/server-metrics.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const monitoring = kustomize('deploy/monitoring');
const ruleObject = monitoring.find((object) => object.kind === 'PrometheusRule')!;
const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'deploy/monitoring/grafana-dashboard.json'), 'utf8')) as Dashboard;

interface Rule {
	alert: string;
	expr: string;
	for?: string;
	labels: Record<string, string>;
	annotations: Record<string, string>;
}

interface Target {
	refId: string;
	expr: string;
	legendFormat?: string;
	datasource?: {type: string; uid: string};
}

interface Panel {
	id: number;
	type: string;
	title: string;
	gridPos: {h: number; w: number; x: number; y: number};
	datasource?: {type: string; uid: string};
	targets?: Target[];
}

interface Dashboard {
	uid: string;
	title: string;
	panels: Panel[];
	templating: {list: Array<{name: string; type: string; query: string | {query: string}}>};
}

const rules = (ruleObject['spec'] as {groups: Array<{name: string; rules: Rule[]}>}).groups.flatMap((group) => group.rules);
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

/** Every metric name the model server and the agent export (histograms with their _bucket, _sum and _count series). */
async function exportedMetricNames(): Promise<Set<string>> {
	const names = new Set<string>(['up']);
	for (const registry of [createServerMetrics('fraud', 'v1').registry, createAgentMetrics().registry]) {
		for (const metric of await registry.getMetricsAsJSON()) {
			names.add(metric.name);
			if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
		}
	}

	return names;
}

/** Names in a PromQL expression that are modeldeck's or process metrics (functions, labels and keywords are not). */
function metricNamesIn(expression: string): string[] {
	const withoutStrings = expression.replaceAll(/"(?:[^"\\]|\\.)*"/g, '""');
	return [
		...withoutStrings.matchAll(/\b((?:modeldeck|process)_[a-z0-9_]+|up)\b(?=\s*[{[)]|\s*$|\s*(?:==|>|<|\/|\*|\+|-|or\b|and\b))/g),
	].map((match) => match[1]!);
}

describe('the PrometheusRule', () => {
	it('is a monitoring.coreos.com/v1 PrometheusRule with the ServiceMonitor and PodMonitor beside it', () => {
		expect(monitoring.map((object) => `${object.apiVersion} ${object.kind}`).sort()).toEqual([
			'monitoring.coreos.com/v1 PodMonitor',
			'monitoring.coreos.com/v1 PrometheusRule',
			'monitoring.coreos.com/v1 ServiceMonitor',
		]);
		expect(monitoring.every((object) => object.metadata.namespace === 'modeldeck')).toBe(true);
	});

	it('scrapes the agent as job="modeldeck-agent", the name its alerts select', () => {
		const serviceMonitor = monitoring.find((object) => object.kind === 'ServiceMonitor')! as KubeObject & {spec: any};
		const base = kustomize('deploy/base');
		const service = base.find((object) => object.kind === 'Service' && object.metadata.name === 'modeldeck-agent')! as KubeObject & {
			spec: any;
		};
		// A ServiceMonitor's job label is the Service's name.
		expect(service.metadata.name).toBe('modeldeck-agent');
		expect(service.metadata.labels).toMatchObject(serviceMonitor.spec.selector.matchLabels);
		expect(service.spec.ports.map((port: {name: string}) => port.name)).toContain(serviceMonitor.spec.endpoints[0].port);
		for (const rule of rules.filter((candidate) => candidate.expr.includes('up{'))) expect(rule.expr).toContain('job="modeldeck-agent"');
	});

	it('gives every alert a severity, a summary and a description, under a unique name', () => {
		expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
		for (const rule of rules) {
			expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels.severity);
			expect(rule.annotations.summary, rule.alert).toBeTruthy();
			expect(rule.annotations.description, rule.alert).toBeTruthy();
		}
	});

	it('reads only metrics the model server and the agent export', async () => {
		const exported = await exportedMetricNames();
		for (const rule of rules) {
			const names = metricNamesIn(rule.expr);
			expect(names.length, `${rule.alert} reads no metric`).toBeGreaterThan(0);
			for (const name of names) expect(exported.has(name), `${rule.alert}: ${name} is not exported by the code`).toBe(true);
		}

		const groups = (ruleObject['spec'] as {groups: Array<{name: string}>}).groups.map((group) => group.name);
		expect(groups).toEqual(['modeldeck.models', 'modeldeck.agent']);
	});

	describe('with promtool', () => {
		let directory: string;

		beforeAll(() => {
			directory = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-rules-'));
			writeFileSync(path.join(directory, 'rules.yaml'), stringify(ruleObject['spec']));
		});

		afterAll(() => rmSync(directory, {recursive: true, force: true}));

		it('passes `promtool check rules`', async () => {
			const {stdout} = await run(promtoolBinary(), ['check', 'rules', path.join(directory, 'rules.yaml')]);
			expect(stdout).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
		});

		it('fires on a failing, slow canary and a down agent, and stays quiet for a healthy stable version (`promtool test rules`)', async () => {
			const series = (name: string, labels: Record<string, string>, values: string) => ({
				series: `${name}{${Object.entries(labels)
					.map(([key, value]) => `${key}="${value}"`)
					.join(',')}}`,
				values,
			});
			const model = {namespace: 'ml', model: 'fraud'};
			const v1 = {...model, version: 'v1'};
			const v2 = {...model, version: 'v2'};
			// Per minute: v1 60 ok requests, all under 5 ms; v2 54 ok and 6 failed (10%), all between 500 and 750 ms.
			const tests = {
				rule_files: ['rules.yaml'],
				evaluation_interval: '1m',
				tests: [
					{
						interval: '1m',
						input_series: [
							series('modeldeck_inference_requests_total', {...v1, code: '200', status: 'ok'}, '0+60x30'),
							series('modeldeck_inference_requests_total', {...v1, code: '500', status: 'error'}, '0x30'),
							series('modeldeck_inference_requests_total', {...v2, code: '200', status: 'ok'}, '0+54x30'),
							series('modeldeck_inference_requests_total', {...v2, code: '500', status: 'error'}, '0+6x30'),
							...['0.005', '0.5', '0.75', '+Inf'].map((le) =>
								series('modeldeck_inference_request_duration_seconds_bucket', {...v1, le}, '0+60x30'),
							),
							...['0.005', '0.5'].map((le) => series('modeldeck_inference_request_duration_seconds_bucket', {...v2, le}, '0x30')),
							...['0.75', '+Inf'].map((le) => series('modeldeck_inference_request_duration_seconds_bucket', {...v2, le}, '0+60x30')),
							series('up', {job: 'modeldeck-agent', namespace: 'modeldeck', pod: 'modeldeck-agent-7d9f'}, '0x30'),
							series(
								'modeldeck_agent_auth_refusals_total',
								{namespace: 'modeldeck', pod: 'modeldeck-agent-7d9f', reason: 'review-failed'},
								'0+30x30',
							),
						],
						alert_rule_test: [
							{
								eval_time: '20m',
								alertname: 'ModelVersionErrorRatioHigh',
								exp_alerts: [
									{
										exp_labels: {severity: 'warning', ...v2},
										exp_annotations: {
											summary: 'ml/fraud v2 fails 10% of its requests',
											description: rules
												.find((rule) => rule.alert === 'ModelVersionErrorRatioHigh')!
												.annotations.description!.replaceAll('{{ $labels.version }}', 'v2')
												.replaceAll('{{ $labels.model }}', 'fraud')
												.replaceAll('{{ $labels.namespace }}', 'ml'),
										},
									},
								],
							},
							{eval_time: '20m', alertname: 'ModelVersionErrorRatioCritical', exp_alerts: []},
							{
								eval_time: '20m',
								alertname: 'ModelVersionP99LatencyHigh',
								exp_alerts: [
									{
										exp_labels: {severity: 'warning', ...v2},
										exp_annotations: {
											summary: 'ml/fraud v2 p99 latency is 747.5ms',
											description: 'The 99th percentile of request latency of version v2 of fraud has been above 500 ms for 10 minutes.',
										},
									},
								],
							},
							{
								eval_time: '10m',
								alertname: 'ModeldeckAgentDown',
								exp_alerts: [
									{
										exp_labels: {severity: 'critical', job: 'modeldeck-agent', namespace: 'modeldeck', pod: 'modeldeck-agent-7d9f'},
										exp_annotations: {
											summary: 'The modeldeck agent modeldeck-agent-7d9f does not answer',
											description: rules.find((rule) => rule.alert === 'ModeldeckAgentDown')!.annotations.description!,
										},
									},
								],
							},
							{
								eval_time: '10m',
								alertname: 'ModeldeckAgentAccessReviewsFailing',
								exp_alerts: [
									{
										exp_labels: {severity: 'critical', namespace: 'modeldeck', pod: 'modeldeck-agent-7d9f'},
										exp_annotations: {
											summary: rules.find((rule) => rule.alert === 'ModeldeckAgentAccessReviewsFailing')!.annotations.summary!,
											description: rules.find((rule) => rule.alert === 'ModeldeckAgentAccessReviewsFailing')!.annotations.description!,
										},
									},
								],
							},
							{eval_time: '20m', alertname: 'ModeldeckAgentAbsent', exp_alerts: []},
						],
					},
					{
						// Nothing scraped at all: the agent is missing.
						interval: '1m',
						input_series: [series('modeldeck_inference_requests_total', {...v1, code: '200', status: 'ok'}, '0+60x30')],
						alert_rule_test: [
							{
								eval_time: '20m',
								alertname: 'ModeldeckAgentAbsent',
								exp_alerts: [
									{
										exp_labels: {severity: 'warning', job: 'modeldeck-agent'},
										exp_annotations: {
											summary: 'Prometheus does not scrape the modeldeck agent',
											description: rules.find((rule) => rule.alert === 'ModeldeckAgentAbsent')!.annotations.description!,
										},
									},
								],
							},
						],
					},
				],
			};
			writeFileSync(path.join(directory, 'tests.yaml'), stringify(tests));
			const result = await run(promtoolBinary(), ['test', 'rules', 'tests.yaml'], {cwd: directory}).then(
				(output) => ({code: 0, ...output}),
				(error: {code: number; stdout: string; stderr: string}) => error,
			);
			expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
			expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
		});
	});
});

describe('the Grafana dashboard', () => {
	const variables = dashboard.templating.list.map((variable) => variable.name);
	const builtIns = ['__rate_interval', '__range', '__interval'];

	it('has the console’s panels: rps, error ratio, latency percentiles, CPU, memory, canary against stable, the agent', () => {
		const titles = queryPanels.map((panel) => panel.title);
		for (const title of [
			'Requests per second',
			'Error ratio',
			'Latency p50 / p95 / p99',
			'CPU',
			'Memory',
			'Error ratio: canary − stable',
			'p99 latency: canary ÷ stable',
			'Prediction logs ingested',
		]) {
			expect(titles).toContain(title);
		}

		const latency = queryPanels.find((panel) => panel.title === 'Latency p50 / p95 / p99')!;
		expect(latency.targets!.map((target) => /histogram_quantile\(([\d.]+)/.exec(target.expr)![1])).toEqual(['0.5', '0.95', '0.99']);
	});

	it('is a well-formed dashboard: unique ids and refIds, panels inside the 24-column grid, a Prometheus datasource variable', () => {
		expect(dashboard.uid).toBe('modeldeck-models');
		expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
		expect(variables).toEqual(['datasource', 'namespace', 'model', 'stable', 'canary']);
		for (const panel of queryPanels) {
			expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
			expect(panel.datasource, panel.title).toEqual({type: 'prometheus', uid: '${datasource}'});
			const refIds = panel.targets!.map((target) => target.refId);
			expect(new Set(refIds).size, panel.title).toBe(refIds.length);
		}
	});

	it('uses only variables it defines, and only metrics the code exports', async () => {
		const exported = await exportedMetricNames();
		const queries = [
			...queryPanels.flatMap((panel) => panel.targets!.map((target) => ({where: panel.title, expr: target.expr}))),
			...dashboard.templating.list
				.filter((variable) => typeof variable.query === 'object')
				.map((variable) => ({where: `variable ${variable.name}`, expr: (variable.query as {query: string}).query})),
		];
		for (const {where, expr} of queries) {
			for (const [, name] of expr.matchAll(/\$\{?(\w+)/g)) expect([...variables, ...builtIns], `${where}: $${name}`).toContain(name);
			const names = metricNamesIn(expr.replace(/^label_values\((.*), \w+\)$/, '$1'));
			expect(names.length, `${where} reads no metric`).toBeGreaterThan(0);
			for (const name of names) expect(exported.has(name), `${where}: ${name} is not exported by the code`).toBe(true);
		}
	});

	describe('against a real Prometheus scraping real model servers and a real agent', () => {
		let prometheus: RunningPrometheus | undefined;
		let agent: RunningAgent | undefined;
		const servers: RunningModelServer[] = [];
		const values = {namespace: 'ml', model: 'fraud', stable: 'v1', canary: 'v2', __rate_interval: '30s', __range: '5m', __interval: '15s'};

		async function query(expression: string): Promise<Array<{metric: Record<string, string>; value: [number, string]}>> {
			const response = await fetch(`${prometheus!.url}/api/v1/query?${new URLSearchParams({query: expression})}`);
			const body = (await response.json()) as {
				status: string;
				error?: string;
				data: {result: Array<{metric: Record<string, string>; value: [number, string]}>};
			};
			if (body.status !== 'success') throw new Error(`${expression}: ${body.error}`);
			return body.data.result;
		}

		const substitute = (expression: string) =>
			expression.replaceAll(/\$\{?(\w+)\}?/g, (_match, name: string) => values[name as keyof typeof values] ?? `$${name}`);

		beforeAll(async () => {
			const urls = new Map<string, string>();
			agent = await startAgent({noAuth: true, port: 0, resolveEndpoint: (target) => urls.get(target.version)!});
			for (const [version, knobs] of [
				['v1', {}],
				['v2', {errorRate: 0.3, latencyMs: 20}],
			] as const) {
				const server = await startModelServer({
					model: 'fraud',
					modelVersion: version,
					port: 0,
					knobs,
					namespace: 'ml',
					logUrl: `${agent.url}/v1/logs`,
				});
				servers.push(server);
				urls.set(version, server.url);
			}

			prometheus = await startPrometheus({
				scrapeIntervalSeconds: 1,
				scrapeTargets: [
					{job: 'models', targets: servers.map((server) => `127.0.0.1:${server.port}`), labels: {namespace: 'ml'}},
					{job: 'modeldeck-agent', targets: [`127.0.0.1:${agent.port}`]},
				],
			});
			await waitForTargets(prometheus.url, {targets: 3});
			const body = JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]});
			const infer = (server: RunningModelServer) =>
				fetch(`${server.url}/v2/models/fraud/infer`, {method: 'POST', body, headers: {'content-type': 'application/json'}}).then(
					(response) => response.arrayBuffer(),
				);
			// Traffic over several scrapes, so that rate() has samples to work with.
			for (let round = 0; round < 8; round++) {
				await Promise.all(servers.flatMap((server) => Array.from({length: 10}, () => infer(server))));
				await new Promise((resolve) => setTimeout(resolve, 500));
			}

			// A rejected log and an action, so that the agent's labelled series exist too.
			await fetch(`${agent.url}/v1/logs`, {method: 'POST', headers: {'content-type': 'application/json'}, body: '{not json'});
			await (
				await fetch(`${agent.url}/v1/actions`, {
					method: 'POST',
					headers: {'content-type': 'application/json'},
					body: JSON.stringify({kind: 'smoke-test', target: {namespace: 'ml', name: 'fraud', version: 'v1'}}),
				})
			).text();
			const scraped = async () =>
				(await query('sum(modeldeck_agent_ingest_rejected_total) and sum(modeldeck_agent_action_duration_seconds_count)')).length > 0;
			const deadline = Date.now() + 15_000;
			while (!(await scraped()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
			await new Promise((resolve) => setTimeout(resolve, 2000));
		});

		afterAll(async () => {
			await prometheus?.stop();
			for (const server of servers) await server.close();
			await agent?.close();
		});

		it('fills the variables from the series (as Grafana’s label_values does)', async () => {
			const labelValues = async (label: string, match: string) => {
				const response = await fetch(`${prometheus!.url}/api/v1/label/${label}/values?${new URLSearchParams({'match[]': match})}`);
				return ((await response.json()) as {data: string[]}).data;
			};

			for (const variable of dashboard.templating.list.filter((candidate) => typeof candidate.query === 'object')) {
				const [, selector, label] = /^label_values\((.*), (\w+)\)$/.exec((variable.query as {query: string}).query)!;
				const expected = {namespace: ['ml'], model: ['fraud'], stable: ['v1', 'v2'], canary: ['v1', 'v2']}[variable.name]!;
				expect(await labelValues(label!, substitute(selector!)), variable.name).toEqual(expected);
			}
		});

		it('answers every panel’s query, per version where the panel is per version', async () => {
			const mayBeEmpty = /guard_rollbacks/;
			for (const panel of queryPanels) {
				for (const target of panel.targets!) {
					const result = await query(substitute(target.expr));
					if (mayBeEmpty.test(target.expr)) continue;
					expect(result.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
					if (/by \(version/.test(target.expr)) {
						expect(result.map((series) => series.metric['version']).sort(), `${panel.title}: ${target.expr}`).toEqual(['v1', 'v2']);
					}

					for (const series of result)
						expect(Number.isFinite(Number(series.value[1])), `${panel.title}: ${target.expr} = ${series.value[1]}`).toBe(true);
				}
			}
		});

		it('shows the canary failing more often than the stable version', async () => {
			const panel = queryPanels.find((candidate) => candidate.title === 'Error ratio: canary − stable')!;
			const [difference] = await query(substitute(panel.targets![0]!.expr));
			expect(Number(difference!.value[1])).toBeGreaterThan(0);
		});
	});
});
