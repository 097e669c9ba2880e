import {render} from 'ink-testing-library';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serviceAccountUser} from '../support/service-account.ts';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {type RunningPrometheus, startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {createConsole} from '../../source/app.tsx';
import {SourceAbsentError} from '../../source/domain/ports.ts';
import type {MetricTarget} from '../../source/domain/ports.ts';
import {versionKey} from '../../source/domain/types.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/server.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {LazyMetricsPort} from '../../source/adapters/lazy-metrics.ts';
import {prometheusInCluster} from '../../source/adapters/prometheus/discover.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {consoleDefaults} from '../support/console-defaults.ts';
import {runCommandCaptured} from '../support/run-command-captured.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';
import {hostAddress, serviceBehindProxy} from '../support/service-behind-proxy.ts';

let cluster: Cluster;
let api: TestApi;
let prometheus: RunningPrometheus;
const servers: RunningModelServer[] = [];
let load: PacedLoad | undefined;

const targets: MetricTarget[] = ['v1', 'v2'].map((version) => ({namespace: 'team-a', name: 'fraud', version}));

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	for (const version of ['v1', 'v2'])
		servers.push(await startModelServer({model: 'fraud', modelVersion: version, port: 0, knobs: {latencyMs: 5}}));
	// Reached only through the Service: it listens on the host's own address, not on loopback.
	prometheus = await startPrometheus({
		listenHost: hostAddress(),
		scrapeIntervalSeconds: 1,
		scrapeTargets: servers.map((server, index) => ({
			job: `fraud-v${index + 1}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace: 'team-a'},
		})),
	});
	await waitForTargets(prometheus.url, {targets: 2});
	load = startPacedLoad({urls: servers.map((server) => server.url), model: 'fraud', rate: 10, limitMs: 120_000});
	await api.waitForRollouts('team-a');
}, 120_000);

afterAll(async () => {
	await load?.stop();
	await prometheus?.stop();
	for (const server of servers) await server.close();
	await cluster?.stop();
});

describe('a cluster without Prometheus', () => {
	it('says what was looked for and how to point at one', async () => {
		const looking = prometheusInCluster({kubeconfig: cluster.kubeconfig, context: 'admin'});
		await expect(looking).rejects.toBeInstanceOf(SourceAbsentError);
		await expect(looking).rejects.toThrow(
			/^no Prometheus found \(--prometheus URL points at one, .*prometheusService.*\) in context admin; looked for Services of kube-prometheus-stack .*prometheus-operated.*prometheus-server.*app\.kubernetes\.io\/name=prometheus$/,
		);
	});
});

describe('Prometheus behind the Prometheus Operator’s Service', () => {
	beforeAll(async () => {
		const host = hostAddress();
		await serviceBehindProxy(api, {
			namespace: 'monitoring',
			service: 'prometheus-operated',
			labels: {'operated-prometheus': 'true', 'managed-by': 'prometheus-operator'},
			portName: 'web',
			servicePort: 9090,
			host,
			port: prometheus.port,
		});
		// The chart's Service ranks below the operator's: nothing answers behind it.
		await api.http.request('POST', '/api/v1/namespaces', {body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'prometheus'}}});
		await api.http.request('POST', '/api/v1/namespaces/prometheus/services', {
			body: {
				apiVersion: 'v1',
				kind: 'Service',
				metadata: {name: 'prometheus-server', labels: {'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/component': 'server'}},
				spec: {selector: {'app.kubernetes.io/name': 'prometheus'}, ports: [{name: 'http', port: 80, targetPort: 9090}]},
			},
		});
	});

	it('is found, preferred over the chart’s, and queried through the API server’s service proxy', async () => {
		const source = await prometheusInCluster({kubeconfig: cluster.kubeconfig, context: 'admin'});
		expect(source.found).toBe('monitoring/prometheus-operated (found: Prometheus Operator; also prometheus/prometheus-server)');
		expect(source.label).toBe('prometheus monitoring/prometheus-operated (via API server)');
		// Figures from what the real Prometheus scraped, as soon as it has two scrapes with traffic.
		await api.waitFor('requests/s of both versions', async () => {
			const samples = await source.sample(targets, 10);
			return targets.every((target) => (samples.get(versionKey(target))?.rps ?? 0) > 0) && samples;
		});
	});

	it('status without --prometheus gives the found Prometheus’s figures and says which it used', async () => {
		const result = await runCommandCaptured('status', ['--json', '--kubeconfig', cluster.kubeconfig, '--context', 'admin', '-n', 'team-a']);
		expect(result.code).toBe(0);
		expect(result.stderr).toBe(
			'modeldeck status: metrics from prometheus monitoring/prometheus-operated (found: Prometheus Operator; also prometheus/prometheus-server)\n',
		);
		const document = JSON.parse(result.stdout) as {metricsSource: {source: string; found?: string}; models: Array<{versions: unknown}>};
		// The document says it too, for scripts.
		expect(document.metricsSource.found).toBe(
			'monitoring/prometheus-operated (found: Prometheus Operator; also prometheus/prometheus-server)',
		);
		const versions = document.models[0]!.versions as Array<{name: string; metrics: {rps: number | null} | null}>;
		expect(versions.map((version) => version.name).sort()).toEqual(['v1', 'v2']);
		for (const version of versions) expect(version.metrics?.rps).toBeGreaterThan(0);
	});

	it('settings’ prometheusService wins over what would be found', async () => {
		// A Service of that name does not exist: the answer is the API server's, for the named Service.
		const source = await prometheusInCluster({kubeconfig: cluster.kubeconfig, context: 'admin', service: 'monitoring/elsewhere:9090'});
		expect(source.found).toBeUndefined();
		expect(source.label).toBe('prometheus monitoring/elsewhere (via API server)');
		await expect(source.sample(targets, 10)).rejects.toThrow(/monitoring\/elsewhere:9090 through the API server .* answered 404/);
	});

	it('tells a user without services/proxy which permission reaching it takes', async () => {
		const source = await prometheusInCluster({kubeconfig: cluster.kubeconfig, context: 'viewer'});
		expect(source.found).toMatch(/^monitoring\/prometheus-operated/);
		await expect(source.sample(targets, 10)).rejects.toThrow(
			/refused the proxy .*HTTP 403.*needs "get" on "services\/proxy" in namespace monitoring/,
		);
	});

	it('a user who may list Services only in monitoring finds it there, and reaches it with services/proxy granted there', async () => {
		const kubeconfig = await serviceAccountUser(api, {
			namespace: 'monitoring',
			name: 'oncall',
			server: cluster.server,
			caFile: cluster.caFile,
			rules: [
				{apiGroups: [''], resources: ['services'], verbs: ['list']},
				{
					apiGroups: [''],
					resources: ['services/proxy'],
					resourceNames: ['prometheus-operated', 'http:prometheus-operated:web'],
					verbs: ['get', 'create'],
				},
			],
		});
		// Not in all namespaces, not in prometheus (the chart's Service is there): monitoring only.
		const source = await prometheusInCluster({kubeconfig});
		expect(source.found).toBe('monitoring/prometheus-operated (found: Prometheus Operator)');
		const samples = await source.sample(targets, 30);
		expect(samples.get(versionKey(targets[0]!))?.rps).toBeGreaterThan(0);
	});

	it('the console with no --prometheus shows its figures and says which Prometheus it found and how; another context looks again', async () => {
		const kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'admin', namespace: 'team-a'});
		const metrics = new LazyMetricsPort(
			(context) => prometheusInCluster({kubeconfig: cluster.kubeconfig, context}),
			'prometheus in the cluster',
			'admin',
		);
		const handle = createConsole(
			{...consoleDefaults, refreshSeconds: 1, namespace: 'team-a', sources: {cluster: kube, metrics, demo: false}},
			{width: 200, height: 20},
		);
		handle.controller.start();
		const rendered = render(handle.element);
		try {
			const deadline = Date.now() + 30_000;
			const rows = () => (rendered.lastFrame() ?? '').split('\n');
			const rps = (version: string) =>
				/\s(\d+(?:\.\d+)?)\s/.exec(
					rows()
						.find((line) => new RegExp(`\\s${version}\\s+(stable|canary)`).test(line))
						?.replace(/^.*?%/, '') ?? '',
				)?.[1];
			while (!(Number(rps('v1')) > 0 && Number(rps('v2')) > 0) && Date.now() < deadline)
				await new Promise((resolve) => setTimeout(resolve, 100));
			const frame = rendered.lastFrame() ?? '';
			expect(Number(rps('v1')), frame).toBeGreaterThan(0);
			expect(Number(rps('v2')), frame).toBeGreaterThan(0);
			expect(frame).toContain('prom:ok');
			expect(frame).toContain('prometheus: monitoring/prometheus-operated (found: Prometheus Operator; also prometheus/prometheus-server)');

			// Another context looks again, with that context's user: the viewer may not use the service proxy.
			await handle.controller.switchContext('viewer');
			const until = Date.now() + 30_000;
			while (!(rendered.lastFrame() ?? '').includes('prom:down') && Date.now() < until)
				await new Promise((resolve) => setTimeout(resolve, 100));
			const switched = rendered.lastFrame() ?? '';
			expect(switched).toContain('prom:down');
			expect(switched).toMatch(
				/prom down: The API server refused the proxy to Prometheus service monitoring\/prometheus-operated:web .*HTTP 403/,
			);
			expect(switched).not.toContain('prometheus: monitoring/prometheus-operated (found');
		} finally {
			handle.controller.stop();
			rendered.unmount();
		}
	});
});
