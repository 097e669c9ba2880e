/**
 * The Kubernetes source against a real control plane (etcd, kube-apiserver, kube-controller-manager, kwok) started
 * by the harness: discovery of every shape, each action on each router kind read back, RBAC refusals, conflicts.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {ConflictError, ForbiddenError} from '../../source/domain/ports.ts';
import {KubeActions} from '../../source/adapters/kube/actions.ts';
import {analyseModels} from '../../source/adapters/kube/build-models.ts';
import {defaultConventions} from '../../source/adapters/kube/conventions.ts';
import {isPatchTestFailure} from '../../source/adapters/kube/errors.ts';
import {KubeHttp, resourcePath} from '../../source/adapters/kube/http.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import {planSetWeight} from '../../source/adapters/kube/plans.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment} from '../fixtures/kube/manifests.ts';
import {allScenarios, fraudScenario, type Scenario} from '../fixtures/kube/scenarios.ts';
import {applyScenario, readSnapshot} from '../fixtures/kube/setup.ts';
import {type Recorder, record, weightsOf} from '../fixtures/kube/watch-helpers.ts';

let cluster: Cluster;
let api: TestApi;
let admin: KubeCluster;
const recorders: Recorder[] = [];

async function applyToExisting(scenario: Scenario): Promise<void> {
	await api.createAll(scenario.objects);
	await api.waitForRollouts(scenario.namespace);
}

function watch(target: KubeCluster, namespace: string | undefined): Recorder {
	const recorder = record(target, namespace);
	recorders.push(recorder);
	return recorder;
}

async function routeWeights(kind: 'HTTPRoute' | 'VirtualService', namespace: string, name: string): Promise<number[]> {
	const object = await api.get(kind, namespace, name);
	return kind === 'HTTPRoute'
		? object.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight)
		: object.spec.http[0].route.map((destination: {weight: number}) => destination.weight);
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	for (const scenario of allScenarios) await applyScenario(api, scenario);
	await applyToExisting(fraudScenario('team-a'));
	await applyToExisting(fraudScenario('team-b'));
	admin = await createKubeCluster({kubeconfigPath: cluster.kubeconfig});
});

afterAll(async () => {
	for (const recorder of recorders) recorder.stop();
	await cluster?.stop();
});

describe('contexts and namespaces from the kubeconfig', () => {
	it('lists contexts, switches, and lists namespaces', async () => {
		expect(
			admin
				.contexts()
				.map((context) => context.name)
				.sort(),
		).toEqual(['admin', 'operator', 'viewer']);
		expect(admin.currentContext()).toBe('admin');
		expect(admin.label).toBe('admin');
		expect(admin.namespace).toBe('default');
		expect(admin.server).toBe(cluster.server);
		expect(await admin.namespaces()).toEqual(expect.arrayContaining(['team-a', 'team-b', 'shapes-kserve']));
		const viewer = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'viewer'});
		expect(viewer.namespace).toBe('team-a');
		const switching = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
		expect(switching.namespace).toBeUndefined();
		await switching.switchContext('operator');
		expect(switching.currentContext()).toBe('operator');
		await expect(switching.switchContext('nope')).rejects.toThrow(
			'context nope is not in the kubeconfig (contexts: admin, viewer, operator)',
		);
		await expect(createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'missing'})).rejects.toThrow(
			/context missing is not in the kubeconfig/,
		);
	});

	it('KUBECONFIG is read when no file is passed', async () => {
		const saved = process.env.KUBECONFIG;
		process.env.KUBECONFIG = cluster.kubeconfig;
		try {
			const fromEnvironment = await createKubeCluster({context: 'operator'});
			expect(fromEnvironment.server).toBe(cluster.server);
			expect(fromEnvironment.namespace).toBe('team-a');
		} finally {
			if (saved === undefined) delete process.env.KUBECONFIG;
			else process.env.KUBECONFIG = saved;
		}
	});
});

describe('discovery through watches', () => {
	it('finds every supported shape and the odd ones, as the fixtures describe them', async () => {
		const recorder = watch(admin, undefined);
		const models = await recorder.until('every scenario model', (list) => list.length >= 11);
		expect(weightsOf(models, 'shapes-httproute', 'fraud-detector')).toEqual({v12: 'stable 90', v13: 'canary 10'});
		expect(weightsOf(models, 'shapes-istio', 'recommender')).toEqual({v1: 'stable 80', v2: 'canary 20'});
		expect(weightsOf(models, 'shapes-istio', 'ranker')).toEqual({v3: 'stable 50', v4: 'canary 50'});
		expect(weightsOf(models, 'shapes-kserve', 'sentiment')).toEqual({
			'sentiment-predictor-00001': 'stable 80',
			'sentiment-predictor-00002': 'canary 20',
		});
		expect(weightsOf(models, 'shapes-kserve', 'summarizer')).toEqual({'summarizer-predictor-00003': 'stable 100'});
		expect(weightsOf(models, 'shapes-replicas', 'churn')).toEqual({v1: 'stable 75', v2: 'canary 25'});
		expect(weightsOf(models, 'odd-a', 'scorer')).toEqual({v1: 'stable 50', v2: 'canary 25', v3: 'canary 0'});
		expect(weightsOf(models, 'odd-b', 'scorer')).toEqual({v1: 'stable 100'});
		const scorer = models.find((model) => model.namespace === 'odd-a' && model.name === 'scorer')!;
		expect(scorer.warnings).toEqual([
			'Deployment scorer-legacy has modeldeck.dev/model=scorer but no app.kubernetes.io/version label: not shown; add the label to show it as a version',
			'HTTPRoute/scorer sends traffic to Service scorer-v9, which does not exist',
			'HTTPRoute/scorer weights add up to 120, not 100: shown as shares of the total',
		]);
		const fraud = models.find((model) => model.namespace === 'shapes-httproute')!;
		expect(fraud.versions[0]).toMatchObject({
			replicasReady: 3,
			replicasDesired: 3,
			autoscaler: {min: 3, max: 6, current: 3},
			resources: {cpuLimitCores: 0.5},
		});
		const crashy = models.find((model) => model.name === 'crashy')!;
		expect(crashy.versions[0]!.problems?.[0]).toMatch(/CrashLoopBackOff, OOMKilled$/);
		expect(crashy.versions[0]!.restarts).toBe(4);
		// The watch and a one-off read agree: the watch adds nothing and loses nothing.
		for (const namespace of ['shapes-httproute', 'shapes-istio', 'shapes-replicas']) {
			const fresh = analyseModels(await readSnapshot(api, namespace)).map((analysis) => analysis.model);
			expect(models.filter((model) => model.namespace === namespace)).toEqual(fresh);
		}

		expect(recorder.errors).toEqual([]);
	});

	it('watches one namespace, and follows changes', async () => {
		const recorder = watch(admin, 'odd-b');
		const models = await recorder.until('odd-b', (list) => list.length === 1);
		expect(models[0]!.namespace).toBe('odd-b');
		await api.patch('Deployment', 'odd-b', 'scorer-v1', {spec: {replicas: 2}});
		await recorder.until('scorer to have two ready pods', (list) => list[0]?.versions[0]?.replicasReady === 2);
		await api.createAll([deployment({namespace: 'odd-b', model: 'scorer', version: 'v2', replicas: 2})]);
		const updated = await recorder.until(
			'v2 to appear and be ready',
			(list) => list[0]?.versions.length === 2 && list[0]!.versions.every((version) => version.replicasReady === 2),
		);
		expect(weightsOf(updated, 'odd-b', 'scorer')).toEqual({v1: 'stable 50', v2: 'canary 50'});
	});

	it('CRDs that are not installed do not break discovery', async () => {
		const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/destinationrules.networking.istio.io';
		const crd = await api.http.get<{metadata: Record<string, unknown>; status?: unknown}>(crdPath);
		const served = async () => {
			try {
				await api.http.get('/apis/networking.istio.io/v1/destinationrules');
				return true;
			} catch {
				return false;
			}
		};

		await api.http.request('DELETE', crdPath);
		try {
			await api.waitFor('the DestinationRule API to go away', async () => !(await served()));
			const recorder = watch(await createKubeCluster({kubeconfigPath: cluster.kubeconfig}), 'shapes-istio');
			const models = await recorder.until('istio models', (list) => list.length === 2);
			// Without DestinationRules the subsets reach no version; everything else is still there.
			expect(weightsOf(models, 'shapes-istio', 'ranker')).toEqual({v3: 'stable 50', v4: 'canary 50'});
			expect(models.find((model) => model.name === 'recommender')!.warnings?.[0]).toMatch(/no DestinationRule in shapes-istio defines it/);
			expect(recorder.errors).toEqual([]);
		} finally {
			const {name} = crd.metadata;
			await api.http.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
				body: {...crd, metadata: {name}, status: undefined},
			});
			await api.waitFor('the DestinationRule API to come back', served);
			await api.createAll(allScenarios.flatMap((scenario) => scenario.objects.filter((object) => object.kind === 'DestinationRule')));
		}
	});
});

describe('actions on each router kind, read back from the API server', () => {
	it('HTTPRoute: set weight, promote (old stable scaled to zero)', async () => {
		await admin.setCanaryWeight({namespace: 'shapes-httproute', name: 'fraud-detector'}, 'v13', 30, 10);
		expect(await routeWeights('HTTPRoute', 'shapes-httproute', 'fraud-detector')).toEqual([70, 30]);
		await admin.promote({namespace: 'shapes-httproute', name: 'fraud-detector'}, 'v13');
		expect(await routeWeights('HTTPRoute', 'shapes-httproute', 'fraud-detector')).toEqual([0, 100]);
		expect((await api.get('Deployment', 'shapes-httproute', 'fraud-detector-v12')).spec.replicas).toBe(0);
		// The old stable is retired, not a canary at 0% that + would send traffic to: v13 alone, and a warning.
		const recorder = watch(admin, 'shapes-httproute');
		const [model] = await recorder.until('only v13 listed', (list) => list[0]?.versions.length === 1);
		expect(model!.versions.map((version) => [version.name, version.track, version.weight])).toEqual([['v13', 'stable', 100]]);
		expect(model!.warnings?.join('\n')).toMatch(/v12 is retired .*Deployment\/fraud-detector-v12/);
	});

	it('VirtualService: set weight, rollback, promote with the old stable kept, switch back in one write', async () => {
		const keeping = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, promoteKeepsOldStable: true});
		await keeping.setCanaryWeight({namespace: 'shapes-istio', name: 'recommender'}, 'v2', 40);
		expect(await routeWeights('VirtualService', 'shapes-istio', 'recommender')).toEqual([60, 40]);
		await keeping.rollback({namespace: 'shapes-istio', name: 'recommender'}, 'v2');
		expect(await routeWeights('VirtualService', 'shapes-istio', 'recommender')).toEqual([100, 0]);
		await keeping.promote({namespace: 'shapes-istio', name: 'ranker'}, 'v4');
		expect(await routeWeights('VirtualService', 'shapes-istio', 'ranker')).toEqual([0, 100]);
		expect((await api.get('Deployment', 'shapes-istio', 'ranker-v3')).spec.replicas).toBe(1);
		const before = Number((await api.get('VirtualService', 'shapes-istio', 'ranker')).metadata.generation);
		await keeping.switchTraffic({namespace: 'shapes-istio', name: 'ranker'}, 'v3');
		const after = await api.get('VirtualService', 'shapes-istio', 'ranker');
		expect(await routeWeights('VirtualService', 'shapes-istio', 'ranker')).toEqual([100, 0]);
		expect(Number(after.metadata.generation)).toBe(before + 1);
	});

	it('KServe: set canaryTrafficPercent, roll back to 0, promote by removing it', async () => {
		const ref = {namespace: 'shapes-kserve', name: 'sentiment'};
		await admin.setCanaryWeight(ref, 'sentiment-predictor-00002', 50, 20);
		expect((await api.get('InferenceService', 'shapes-kserve', 'sentiment')).spec.predictor.canaryTrafficPercent).toBe(50);
		await admin.rollback(ref, 'sentiment-predictor-00002');
		expect((await api.get('InferenceService', 'shapes-kserve', 'sentiment')).spec.predictor.canaryTrafficPercent).toBe(0);
		await admin.promote(ref, 'sentiment-predictor-00002');
		const promoted = await api.get('InferenceService', 'shapes-kserve', 'sentiment');
		expect(promoted.spec.predictor).not.toHaveProperty('canaryTrafficPercent');
		expect(promoted.spec.predictor.model.storageUri).toBe('gs://models/sentiment/v2');
	});

	it('replicas (no router): the share is set by scaling, keeping the total', async () => {
		const ref = {namespace: 'shapes-replicas', name: 'churn'};
		await admin.setCanaryWeight(ref, 'v2', 50, 25);
		expect((await api.get('Deployment', 'shapes-replicas', 'churn-v1')).spec.replicas).toBe(2);
		expect((await api.get('Deployment', 'shapes-replicas', 'churn-v2')).spec.replicas).toBe(2);
		await api.waitForRollouts('shapes-replicas');
		await admin.rollback(ref, 'v2');
		expect((await api.get('Deployment', 'shapes-replicas', 'churn-v1')).spec.replicas).toBe(4);
		expect((await api.get('Deployment', 'shapes-replicas', 'churn-v2')).spec.replicas).toBe(0);
	});

	it('rollback restores the previous template and the controller-manager rolls back to that ReplicaSet as a new revision', async () => {
		const namespace = 'rollout';
		await api.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}});
		await api.waitFor('default ServiceAccount', async () =>
			Boolean(await api.http.get(`/api/v1/namespaces/${namespace}/serviceaccounts/default`)),
		);
		await applyToExisting(fraudScenario(namespace));
		const goodImage = 'registry.example/fraud:v2';
		await api.patch(
			'Deployment',
			namespace,
			'fraud-v2',
			[{op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.example/fraud:v2-bad'}],
			'json',
		);
		await api.waitForRollouts(namespace);
		expect((await api.get('Deployment', namespace, 'fraud-v2')).metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');

		await admin.rollback({namespace, name: 'fraud'}, 'v2');
		expect(await routeWeights('HTTPRoute', namespace, 'fraud')).toEqual([100, 0]);
		const restored = await api.get('Deployment', namespace, 'fraud-v2');
		expect(restored.spec.template.spec.containers[0].image).toBe(goodImage);
		expect(restored.spec.template.metadata.labels).not.toHaveProperty('pod-template-hash');

		const replicaSets = await api.waitFor('the controller to roll back to the first ReplicaSet as revision 3', async () => {
			const deploymentNow = await api.get('Deployment', namespace, 'fraud-v2');
			const sets = await api.list('ReplicaSet', namespace, 'modeldeck.dev/model=fraud,app.kubernetes.io/version=v2');
			const good = sets.find((set) => set.spec.template.spec.containers[0].image === goodImage);
			const ready =
				deploymentNow.metadata.annotations['deployment.kubernetes.io/revision'] === '3' &&
				good?.metadata.annotations['deployment.kubernetes.io/revision'] === '3' &&
				good?.status?.readyReplicas === 1;
			return ready ? sets : undefined;
		});
		// The old ReplicaSet is reused (same template hash), not a third one created; the bad one is scaled away.
		expect(replicaSets).toHaveLength(2);
		const bad = replicaSets.find((set) => set.spec.template.spec.containers[0].image !== goodImage)!;
		expect(bad.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
		await api.waitFor(
			'the bad ReplicaSet to be scaled to zero',
			async () => (await api.get('ReplicaSet', namespace, bad.metadata.name)).spec.replicas === 0,
		);
	});

	it('a model that is not there, a stable named as canary: refused with a message', async () => {
		await expect(admin.setCanaryWeight({namespace: 'team-a', name: 'ghost'}, 'v1', 10)).rejects.toThrow(
			'model ghost not found in namespace team-a: no Deployment labelled modeldeck.dev/model=ghost, no router annotated with it or reaching two Deployments, no InferenceService, Argo Rollouts Rollout, Flagger Canary, Seldon Experiment or Model named so, no Deployments labelled app.kubernetes.io/name=ghost with two versions',
		);
		await expect(admin.rollback({namespace: 'team-a', name: 'fraud'}, 'v1')).rejects.toThrow(
			'v1 is the stable version of fraud: roll back a canary instead',
		);
	});
});

describe('RBAC: the operator acts with their own credentials', () => {
	const actions = [
		['setCanaryWeight', (port: KubeCluster, namespace: string) => port.setCanaryWeight({namespace, name: 'fraud'}, 'v2', 25)],
		['promote', (port: KubeCluster, namespace: string) => port.promote({namespace, name: 'fraud'}, 'v2')],
		['rollback', (port: KubeCluster, namespace: string) => port.rollback({namespace, name: 'fraud'}, 'v2')],
		['switchTraffic', (port: KubeCluster, namespace: string) => port.switchTraffic({namespace, name: 'fraud'}, 'v2')],
	] as const;

	it('the viewer is refused every action, with who, what and where', async () => {
		const viewer = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'viewer'});
		for (const [name, act] of actions) {
			const error = await act(viewer, 'team-a').then(
				() => undefined,
				(failure: unknown) => failure,
			);
			expect(error, name).toBeInstanceOf(ForbiddenError);
			expect((error as Error).message, name).toBe(
				'forbidden: user viewer cannot patch httproutes in namespace team-a (ask a cluster admin for a Role granting patch on httproutes in team-a)',
			);
		}

		expect(await routeWeights('HTTPRoute', 'team-a', 'fraud')).toEqual([80, 20]);
	});

	it('the operator may act in team-a only', async () => {
		const operator = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, context: 'operator'});
		for (const [name, act] of actions) {
			const error = await act(operator, 'team-b').then(
				() => undefined,
				(failure: unknown) => failure,
			);
			expect(error, name).toBeInstanceOf(ForbiddenError);
			expect((error as Error).message, name).toMatch(/^forbidden: user operator cannot patch httproutes in namespace team-b/);
		}

		await operator.setCanaryWeight({namespace: 'team-a', name: 'fraud'}, 'v2', 25, 20);
		expect(await routeWeights('HTTPRoute', 'team-a', 'fraud')).toEqual([75, 25]);
		expect(await routeWeights('HTTPRoute', 'team-b', 'fraud')).toEqual([80, 20]);
	});
});

describe('a change between the console’s read and its write', () => {
	it('a weight that is no longer what was shown is a ConflictError saying what it is now', async () => {
		const ref = {namespace: 'team-b', name: 'fraud'};
		const recorder = watch(admin, 'team-b');
		const shown = (await recorder.until('team-b fraud', (list) => list.length === 1))[0]!.versions.find(
			(version) => version.name === 'v2',
		)!.weight;
		expect(shown).toBe(20);
		await api.patch(
			'HTTPRoute',
			'team-b',
			'fraud',
			[
				{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 70},
				{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 30},
			],
			'json',
		);
		const error = await admin.setCanaryWeight(ref, 'v2', 40, shown).then(
			() => undefined,
			(failure: unknown) => failure,
		);
		expect(error).toBeInstanceOf(ConflictError);
		expect((error as Error).message).toBe('canary v2 weight is now 30%, not 20% as shown — someone else changed it; refresh and try again');
		expect(await routeWeights('HTTPRoute', 'team-b', 'fraud')).toEqual([70, 30]);
	});

	it('the API server refuses a JSON Patch whose test op no longer holds (HTTP 422), and we recognise it', async () => {
		const stale = analyseModels(await readSnapshot(api, 'team-b')).find((analysis) => analysis.model.name === 'fraud')!;
		await api.patch('HTTPRoute', 'team-b', 'fraud', [{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 35}], 'json');
		const [write] = planSetWeight(stale, 'v2', 50);
		const error = await api.http.patch(resourcePath(write!.type, 'team-b', 'fraud'), write!.patch).then(
			() => undefined,
			(failure: unknown) => failure,
		);
		expect((error as {status: number}).status).toBe(422);
		expect(isPatchTestFailure(error)).toBe(true);
		expect(await routeWeights('HTTPRoute', 'team-b', 'fraud')).toEqual([70, 35]);
	});

	it('a change landing after the read but before the write is reported, never overwritten', async () => {
		const ref = {namespace: 'team-b', name: 'fraud'};
		await api.patch(
			'HTTPRoute',
			'team-b',
			'fraud',
			[
				{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 90},
				{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 10},
			],
			'json',
		);
		// An HTTP client whose first write is preceded by someone else's change: the race, made certain.
		class RacingHttp extends KubeHttp {
			raced = false;
			override async patch<T>(path: string, body: unknown, patchType?: 'json' | 'merge'): Promise<T> {
				if (!this.raced) {
					this.raced = true;
					await api.patch(
						'HTTPRoute',
						'team-b',
						'fraud',
						[
							{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 60},
							{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 40},
						],
						'json',
					);
				}

				return super.patch<T>(path, body, patchType);
			}
		}

		const {KubeConfig} = await import('@kubernetes/client-node');
		const config = new KubeConfig();
		config.loadFromFile(cluster.kubeconfig);
		const racing = new RacingHttp(config);
		const actions = new KubeActions(() => racing, {conventions: defaultConventions, promoteKeepsOldStable: false});
		const error = await actions.setCanaryWeight(ref, 'v2', 20, 10).then(
			() => undefined,
			(failure: unknown) => failure,
		);
		expect(racing.raced).toBe(true);
		expect(error).toBeInstanceOf(ConflictError);
		expect((error as Error).message).toBe('canary v2 weight is now 40%, not 10% as shown — someone else changed it; refresh and try again');
		expect(await routeWeights('HTTPRoute', 'team-b', 'fraud')).toEqual([60, 40]);
	});
});

describe('errors for people', () => {
	it('an unreachable server names the URL and the cause', async () => {
		const {writeFileSync} = await import('node:fs');
		const file = `${cluster.kubeconfig}.unreachable`;
		writeFileSync(
			file,
			`apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: u, namespace: team-a}\ncurrent-context: gone\n`,
		);
		const gone = await createKubeCluster({kubeconfigPath: file, backoff: {initialMs: 50, maxMs: 200, absentRecheckMs: 1000}});
		await expect(gone.setCanaryWeight({namespace: 'team-a', name: 'fraud'}, 'v2', 10)).rejects.toThrow(
			'cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED); is the cluster running and is this the right context?',
		);
		const recorder = watch(gone, 'team-a');
		const error = await recorder.untilError('an unreachable error', () => true);
		expect(error).toEqual({
			source: 'cluster',
			message:
				'cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED); is the cluster running and is this the right context? — retrying',
		});
		expect(recorder.models).toBeUndefined();
	});

	it('a token the API server does not know says to log in again', async () => {
		const {readFileSync, writeFileSync} = await import('node:fs');
		const file = `${cluster.kubeconfig}.expired`;
		writeFileSync(file, readFileSync(cluster.kubeconfig, 'utf8').replaceAll(cluster.tokens.viewer, 'expired-token'));
		const expired = await createKubeCluster({kubeconfigPath: file, context: 'viewer'});
		await expect(expired.promote({namespace: 'team-a', name: 'fraud'}, 'v2')).rejects.toThrow(
			`token expired or invalid for ${cluster.server} (user viewer); re-login or refresh the kubeconfig credentials`,
		);
	});
});
