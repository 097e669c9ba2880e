/**
 * Discovery without modeldeck's labels on the local control plane: a cluster as teams run it (plain Deployments with
 * name and version labels, an unannotated HTTPRoute, an SMI TrafficSplit, Seldon Core 2 Models and an Experiment, a
 * KServe InferenceService in RawDeployment mode — unlabelled.ts) gives models through the real watch, `status --json`
 * and `status` list them, weights are written to the router objects the models were found by (read back from the API
 * server), and a namespace with nothing says what was looked for.
 */
import {PassThrough} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {runCommand} from '../../source/commands/index.ts';
import type {Model} from '../../source/domain/types.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {resourcePath, resourceTypes} from '../../source/adapters/kube/http.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {applyUnlabelled, unlabelledNamespace} from '../fixtures/kube/unlabelled.ts';
import {type Recorder, record} from '../fixtures/kube/watch-helpers.ts';

const namespace = unlabelledNamespace;
let cluster: Cluster;
let api: TestApi;
let recorder: Recorder | undefined;

async function run(argv: string[]) {
	const out = {stdout: '', stderr: ''};
	const stdin = new PassThrough();
	stdin.end();
	const code = await runCommand(argv[0] as 'status' | 'weight' | 'promote', [...argv.slice(1), '--kubeconfig', cluster.kubeconfig], {
		stdin,
		stdout: {write: (chunk: string) => (out.stdout += chunk)},
		stderr: {write: (chunk: string) => (out.stderr += chunk)},
	});
	return {code, ...out};
}

function weights(models: Model[], name: string): string | undefined {
	const model = models.find((candidate) => candidate.namespace === namespace && candidate.name === name);
	return model?.versions.map((version) => `${version.name} ${version.track} ${version.weight}`).join(', ');
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await applyUnlabelled(api);
	await api.http.request('POST', '/api/v1/namespaces', {body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'nothing-here'}}});
});

afterAll(async () => {
	recorder?.stop();
	await cluster?.stop();
});

describe('an unlabelled cluster', () => {
	it('gives models through the real watch, each saying how it was found', async () => {
		const port = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace});
		recorder = record(port, namespace);
		const models = await recorder.until(
			'every unlabelled model',
			(list) => list.length === 8 && list.every((model) => model.versions.every((version) => version.replicasReady > 0)),
		);
		expect(models.map((model) => `${model.name}: ${model.discoveredBy}: ${weights(models, model.name)}`)).toEqual([
			'checkout: TrafficSplit/checkout backends: v1 stable 90, v2 canary 10',
			'churn: app.kubernetes.io/name + app.kubernetes.io/version labels: 1.0 stable 75, 1.1 canary 25',
			'churn-next: labels modeldeck.dev/model: 2.0 stable 100',
			'fraud: HTTPRoute/fraud backends: v7 stable 80, v8 canary 20',
			'income: Seldon Model/income: income stable 100',
			'iris: Seldon Experiment/iris-experiment: iris stable 70, iris2 canary 30',
			'reviews: app + version labels: v1 stable 50, v2 canary 50',
			'tabular: InferenceService/tabular (RawDeployment): tabular-predictor stable 100',
		]);
		expect(recorder.errors).toEqual([]);
	});

	it('status --json lists them, and the table too', async () => {
		const json = await run(['status', '--json', '-n', namespace]);
		expect(json.stderr).toBe('');
		expect(json.code).toBe(0);
		const document = JSON.parse(json.stdout) as {
			models: Array<{name: string; router: string; versions: Array<{name: string; weight: number}>}>;
		};
		expect(
			document.models.map(
				(model) => `${model.name} ${model.router} ${model.versions.map((version) => `${version.name}=${version.weight}`).join(' ')}`,
			),
		).toEqual([
			'checkout trafficsplit v1=90 v2=10',
			'churn replicas 1.0=75 1.1=25',
			'churn-next replicas 2.0=100',
			'fraud httproute v7=80 v8=20',
			'income seldon income=100',
			'iris seldon iris=70 iris2=30',
			'reviews replicas v1=50 v2=50',
			'tabular kserve tabular-predictor=100',
		]);
		const table = await run(['status', '-n', namespace]);
		expect(table.code).toBe(0);
		expect(table.stdout).toContain(
			'warning: unlabelled/tabular: InferenceService/tabular runs in RawDeployment mode, where KServe ignores canaryTrafficPercent 20',
		);
	});

	it('weights are written to the objects the models were found by: HTTPRoute, TrafficSplit, Seldon Experiment', async () => {
		for (const [model, canary] of [
			['fraud', 'v8'],
			['checkout', 'v2'],
			['iris', 'iris2'],
		] as const) {
			const result = await run(['weight', model, '40', '-n', namespace, '--yes']);
			expect(result.stderr, model).toBe('');
			expect(result.code, model).toBe(0);
			await recorder!.until(`${model} at 40`, (list) => (weights(list, model) ?? '').includes(`${canary} canary 40`));
		}

		const route = await api.http.get<{spec: {rules: Array<{backendRefs: Array<{weight: number}>}>}}>(
			resourcePath(resourceTypes.httpRoutes, namespace, 'fraud'),
		);
		expect(route.spec.rules[0]!.backendRefs.map((backend) => backend.weight)).toEqual([60, 40]);
		const split = await api.http.get<{spec: {backends: Array<{weight: number}>}}>(
			resourcePath(resourceTypes.trafficSplits, namespace, 'checkout'),
		);
		expect(split.spec.backends.map((backend) => backend.weight)).toEqual([60, 40]);
		const experiment = await api.http.get<{spec: {candidates: Array<{name: string; weight: number}>}}>(
			resourcePath(resourceTypes.seldonExperiments, namespace, 'iris-experiment'),
		);
		expect(experiment.spec.candidates).toEqual([
			{name: 'iris', weight: 60},
			{name: 'iris2', weight: 40},
		]);
	});

	it('promote on an unannotated HTTPRoute marks the stable on it (the router had no annotations at all)', async () => {
		const result = await run(['promote', 'fraud', '--canary', 'v8', '-n', namespace, '--yes']);
		expect(result.stderr).toBe('');
		expect(result.code).toBe(0);
		const route = await api.http.get<{
			metadata: {annotations?: Record<string, string>};
			spec: {rules: Array<{backendRefs: Array<{weight: number}>}>};
		}>(resourcePath(resourceTypes.httpRoutes, namespace, 'fraud'));
		expect(route.metadata.annotations).toEqual({'modeldeck.dev/stable': 'v8'});
		expect(route.spec.rules[0]!.backendRefs.map((backend) => backend.weight)).toEqual([0, 100]);
		await recorder!.until('fraud promoted', (list) => weights(list, 'fraud') === 'v8 stable 100');
	});
});

describe('a namespace with nothing', () => {
	it('gives no models, and the status table says what was looked for and how to label things', async () => {
		const json = await run(['status', '--json', '-n', 'nothing-here']);
		expect(json.code).toBe(0);
		expect(JSON.parse(json.stdout).models).toEqual([]);
		const table = await run(['status', '-n', 'nothing-here']);
		expect(table.code).toBe(0);
		expect(table.stdout.split('\n').slice(1, 8)).toEqual([
			'no models found; looked for:',
			'· Deployments labelled modeldeck.dev/model + app.kubernetes.io/version',
			'· HTTPRoutes, VirtualServices, TrafficSplits reaching 2+ Deployments',
			'· KServe InferenceServices; Seldon Experiments and Models',
			'· 2+ Deployments sharing app.kubernetes.io/name (or app) with different app.kubernetes.io/version (or version)',
			'To show one: kubectl label deployment <name> modeldeck.dev/model=<model> app.kubernetes.io/version=<version>',
			'',
		]);
	});
});
