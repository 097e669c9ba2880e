/**
 * A rollout of a serverless KServe InferenceService against the real kube-apiserver of the harness, driven by the real
 * DeliveryRunner through the Kubernetes DeliveryPort: modeldeck sets the new image on the predictor with
 * canaryTrafficPercent 0, waits for the revision KServe creates (the new version, named after it), steps
 * canaryTrafficPercent, judges, and removes it to promote; a failing judgement sets it back to 0.
 *
 * KServe's controller is played by this test (`KservePlayer`): neither KServe nor Knative Serving can run here (they
 * need Knative's webhooks, its activator and autoscaler, and a networking layer; the harness has a control plane and
 * kwok). The player does what KServe and Knative do to the status after a predictor change, through the status
 * subresource: a new revision `<name>-predictor-<generation>` for every change of the revision template — the
 * predictor spec (canaryTrafficPercent aside) and, as KServe copies them there, the InferenceService's annotations —
 * ready at the next reconcile, and the traffic split from canaryTrafficPercent between the latest ready revision and
 * the one rolled out before. What is under test is every write modeldeck makes, read back from the API server, and
 * that the rollout makes KServe create exactly one revision (its state is kept in a Delivery, not in an annotation).
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {kserveBeforeAnnotation} from '../../source/adapters/kube/delivery/kserve-canary.ts';
import {resourcePath, resourceTypes} from '../../source/adapters/kube/http.ts';
import {createKubeCluster, type KubeCluster} from '../../source/adapters/kube/index.ts';
import type {VerdictResult} from '../../source/domain/analysis.ts';
import {deliveryAnnotation, type DeliverySpec, type DeliveryState} from '../../source/domain/delivery.ts';
import {type DeliveryAuditRecord, DeliveryRunner} from '../../source/delivery/runner.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {inferenceService, inferenceServiceCanaryStatus} from '../fixtures/kube/manifests.ts';

type Json = Record<string, any>;

let cluster: Cluster;
let api: TestApi;
let kube: KubeCluster;
const players: KservePlayer[] = [];

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	kube = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
}, 300_000);

afterEach(() => {
	for (const player of players.splice(0)) player.stop();
});

afterAll(async () => {
	await cluster?.stop();
});

const oldImage = 'registry.example/fraud:v1';
const newImage = 'registry.example/fraud:v2';
const revision = (generation: number) => `fraud-predictor-${String(generation).padStart(5, '0')}`;

/** KServe's (and Knative's) part, played on the status subresource; see the header. */
class KservePlayer {
	/** What the predictor's spec was at each reconcile: canaryTrafficPercent, image (for the assertions). */
	readonly seen: Array<{canaryTrafficPercent: number | undefined; image: string}> = [];
	/** The revisions it created. */
	readonly created: string[] = [];
	#template = '';
	#generation: number;
	#rolledOut: string;
	/** Generations skipped at the next spec change (someone else changed the predictor meanwhile). */
	skip = 0;
	#timer: NodeJS.Timeout | undefined;
	#busy = false;

	readonly namespace: string;

	constructor(namespace: string, generation: number) {
		this.namespace = namespace;
		this.#generation = generation;
		this.#rolledOut = revision(generation);
	}

	/** Takes the predictor as the API server keeps it as the current revision's template, then reconciles. */
	async start(): Promise<void> {
		this.#template = KservePlayer.template(await api.get('InferenceService', this.namespace, 'fraud'));
		this.#timer = setInterval(() => {
			if (this.#busy) return;
			this.#busy = true;
			void this.reconcile()
				.catch(() => undefined)
				.finally(() => {
					this.#busy = false;
				});
		}, 30);
		players.push(this);
	}

	stop(): void {
		clearInterval(this.#timer);
	}

	/** What KServe makes the revision template of: the predictor but canaryTrafficPercent, and the annotations. */
	static template(isvc: Json): string {
		const {canaryTrafficPercent: _, ...predictor} = isvc.spec.predictor as Json;
		const annotations = Object.fromEntries(
			Object.entries((isvc.metadata.annotations ?? {}) as Record<string, string>).filter(([key]) => !KservePlayer.disallowed.includes(key)),
		);
		return JSON.stringify({predictor, annotations});
	}

	/** KServe's ServiceAnnotationDisallowedList: the annotations it does not copy into the revision template. */
	static readonly disallowed = [
		'autoscaling.knative.dev/min-scale',
		'autoscaling.knative.dev/max-scale',
		'internal.serving.kserve.io/storage-initializer-sourceuri',
		'kubectl.kubernetes.io/last-applied-configuration',
	];

	async reconcile(): Promise<void> {
		const isvc = await api.get('InferenceService', this.namespace, 'fraud');
		const {canaryTrafficPercent} = isvc.spec.predictor as Json;
		const last = this.seen.at(-1);
		const image = isvc.spec.predictor.containers?.[0]?.image;
		if (last?.canaryTrafficPercent !== canaryTrafficPercent || last?.image !== image) this.seen.push({canaryTrafficPercent, image});
		const status = (isvc.status?.components?.predictor ?? {}) as Json;
		let created: string = status.latestCreatedRevision;
		let ready: string = status.latestReadyRevision;
		const template = KservePlayer.template(isvc);
		if (template !== this.#template) {
			// Knative: a new revision per change of the Configuration's template; ready at the next reconcile.
			this.#template = template;
			this.#generation += 1 + this.skip;
			created = revision(this.#generation);
			this.created.push(created);
		} else {
			ready = created;
		}

		let traffic: Json[];
		if (canaryTrafficPercent === undefined) {
			// No canaryTrafficPercent: the latest ready revision is rolled out and takes everything.
			this.#rolledOut = ready;
			traffic = [{latestRevision: true, percent: 100, revisionName: ready, tag: 'latest'}];
		} else if (ready === this.#rolledOut) {
			traffic = [{latestRevision: true, percent: 100, revisionName: ready, tag: 'latest'}];
		} else {
			traffic = [
				{latestRevision: true, percent: canaryTrafficPercent, revisionName: ready, tag: 'latest'},
				{latestRevision: false, percent: 100 - canaryTrafficPercent, revisionName: this.#rolledOut, tag: 'prev'},
			];
		}

		const next = {latestCreatedRevision: created, latestReadyRevision: ready, latestRolledoutRevision: this.#rolledOut, traffic};
		if (JSON.stringify(next) === JSON.stringify({...next, ...status, traffic: status.traffic ?? []}) && status.traffic) return;
		await api.patchStatus('InferenceService', this.namespace, 'fraud', {status: {components: {predictor: next}}});
	}
}

/** InferenceService `fraud` in NAMESPACE, serving revision 00002 (a custom container) at 100%, and KServe played. */
async function servingModel(namespace: string, predictor: Json = {containers: [{name: 'kserve-container', image: oldImage}]}) {
	await api.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}});
	await api.create({
		apiVersion: 'serving.kserve.io/v1beta1',
		kind: 'InferenceService',
		metadata: {name: 'fraud', namespace},
		spec: {predictor: {minReplicas: 1, ...predictor}},
	});
	const player = new KservePlayer(namespace, 2);
	await api.patchStatus('InferenceService', namespace, 'fraud', {
		status: {
			components: {
				predictor: {
					latestCreatedRevision: revision(2),
					latestReadyRevision: revision(2),
					latestRolledoutRevision: revision(2),
					traffic: [{latestRevision: true, percent: 100, revisionName: revision(2), tag: 'latest'}],
				},
			},
		},
	});
	await player.start();
	return player;
}

function spec(namespace: string, overrides: Partial<DeliverySpec> = {}): DeliverySpec {
	return {
		model: {namespace, name: 'fraud'},
		image: newImage,
		version: 'v2',
		steps: [20, 60, 100],
		pauseSeconds: 0,
		readyTimeoutSeconds: 60,
		maxHolds: 0,
		requestedBy: 'pipeline',
		...overrides,
	};
}

interface Observed {
	/** canaryTrafficPercent in the spec, and the new version's weight as discovery shows it, at each judgement. */
	judged: Array<{spec: number | undefined; weight: number}>;
	/** The predictor (and its status) when the smoke test ran. */
	smoked: Json[];
	audit: DeliveryAuditRecord[];
}

function runner(namespace: string, verdicts: VerdictResult[] = []): {deliveries: DeliveryRunner; observed: Observed} {
	const observed: Observed = {judged: [], smoked: [], audit: []};
	const deliveries = new DeliveryRunner({
		port: kube.deliveryPort(),
		judge: async (state: DeliveryState) => {
			const isvc = await api.get('InferenceService', namespace, 'fraud');
			const model = await kube.readModel(state.spec.model);
			const weight = model.versions.find((version) => version.name === state.spec.version)?.weight ?? -1;
			observed.judged.push({spec: isvc.spec.predictor.canaryTrafficPercent, weight});
			return {result: verdicts.shift() ?? 'pass', summary: `judged at ${state.weight}%`};
		},
		smoke: async () => {
			observed.smoked.push(await api.get('InferenceService', namespace, 'fraud'));
			return {ok: true, message: 'smoke test passed'};
		},
		audit: (record) => {
			observed.audit.push(record);
		},
		tickMs: 50,
		retryDelayMs: 100,
	});
	return {deliveries, observed};
}

describe('KubeDeliveryPort on a serverless KServe InferenceService', () => {
	it('plans the revision KServe will create as the new version, and every write to the InferenceService', async () => {
		const namespace = 'deliver-kserve-plan';
		await servingModel(namespace);
		const plan = await kube.planDelivery(spec(namespace));
		expect(plan).toMatchObject({
			mode: 'weights',
			stable: 'fraud-predictor-00002',
			spec: {version: 'fraud-predictor-00003', versionLabel: 'v2', image: newImage},
		});
		expect(plan.writes.map((write) => write.object)).toEqual([
			'InferenceService/fraud',
			'InferenceService/fraud',
			'InferenceService/fraud',
			'Delivery/fraud',
		]);
		expect(plan.writes[0]!.change).toBe(
			`predictor image ${oldImage} → ${newImage} with canaryTrafficPercent 0: KServe creates revision fraud-predictor-00003, the new version (KServe names versions after revisions; v2 is its pods' label app.kubernetes.io/version)`,
		);
		expect(plan.writes[1]!.change).toBe(
			"canaryTrafficPercent 20 → 60, then removed: KServe's promotion (fraud-predictor-00003 takes all traffic)",
		);
		expect(plan.writes[2]!.change).toMatch(
			/annotation modeldeck.dev\/delivery-before: the image before \(registry.example\/fraud:v1\) and revision fraud-predictor-00002; a rollback sets canaryTrafficPercent 0 .*fraud-predictor-00002 takes all traffic; the predictor keeps the new image/,
		);
		// Asking for the revision's own name: no label.
		expect((await kube.planDelivery(spec(namespace, {version: 'fraud-predictor-00003'}))).spec).not.toHaveProperty('versionLabel');
		// Nothing to roll out.
		await expect(kube.planDelivery(spec(namespace, {image: oldImage}))).rejects.toThrow(/runs registry.example\/fraud:v1 already/);
	});

	it('refuses RawDeployment mode, an old framework predictor and a canary in progress, saying what to do', async () => {
		const raw = 'deliver-kserve-raw';
		await servingModel(raw);
		await api.patch('InferenceService', raw, 'fraud', {metadata: {annotations: {'serving.kserve.io/deploymentMode': 'RawDeployment'}}});
		await expect(kube.planDelivery(spec(raw))).rejects.toThrow(
			/runs in RawDeployment mode, where KServe has no canary: roll out a new predictor/,
		);

		const framework = 'deliver-kserve-framework';
		await servingModel(framework, {sklearn: {storageUri: 'gs://models/fraud/v1'}});
		await expect(kube.planDelivery(spec(framework))).rejects.toThrow(
			/names a framework \(e.g. spec.predictor.sklearn\), which has no image to change: move it to spec.predictor.model/,
		);

		const busy = 'deliver-kserve-busy';
		const player = await servingModel(busy);
		await api.patch('InferenceService', busy, 'fraud', {
			spec: {predictor: {canaryTrafficPercent: 10, containers: [{name: 'kserve-container', image: 'x/y:v9'}]}},
		});
		await api.waitFor(
			'KServe to split the traffic',
			async () => player.seen.at(-1)?.canaryTrafficPercent === 10 && (await kube.readModel(spec(busy).model)).versions.length === 2,
		);
		await expect(kube.planDelivery(spec(busy))).rejects.toThrow(
			/has a canary in progress \(fraud-predictor-00003 at 10%\): promote it or roll it back first/,
		);
	});

	it('refuses the fixtures’ shapes: a Serverless one with its canary at 20%, and a RawDeployment one (moved here from the Flagger test)', async () => {
		const ns = 'deliver-kserve-fixtures';
		await api.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}});
		await api.create(inferenceService(ns, 'tabular', 'gs://models/tabular/v2', 20));
		await api.patchStatus(
			'InferenceService',
			ns,
			'tabular',
			inferenceServiceCanaryStatus('tabular', 'tabular-predictor-00001', 'tabular-predictor-00002', 20),
		);
		const raw = inferenceService(ns, 'ranker', 'gs://models/ranker/v1');
		(raw['metadata'] as Record<string, unknown>)['annotations'] = {'serving.kserve.io/deploymentMode': 'RawDeployment'};
		await api.create(raw);
		await api.create({
			apiVersion: 'apps/v1',
			kind: 'Deployment',
			metadata: {name: 'ranker-predictor', namespace: ns, labels: {'serving.kserve.io/inferenceservice': 'ranker'}},
			spec: {
				replicas: 1,
				selector: {matchLabels: {app: 'ranker-predictor'}},
				template: {
					metadata: {labels: {app: 'ranker-predictor'}},
					spec: {containers: [{name: 'kserve-container', image: 'kserve/sklearnserver:v0.14.0'}]},
				},
			},
		});
		await expect(kube.planDelivery({...spec(ns), model: {namespace: ns, name: 'tabular'}})).rejects.toThrow(
			'InferenceService/tabular has a canary in progress (tabular-predictor-00002 at 20%): promote it or roll it back first (modeldeck promote / rollback tabular)',
		);
		await expect(kube.planDelivery({...spec(ns), model: {namespace: ns, name: 'ranker'}})).rejects.toThrow(
			'InferenceService/ranker runs in RawDeployment mode, where KServe has no canary',
		);
		expect((await api.get('InferenceService', ns, 'tabular')).spec.predictor.canaryTrafficPercent).toBe(20);
	});

	it('sets the image with canaryTrafficPercent 0, steps it while judging, promotes by removing it, and keeps the state in a Delivery the InferenceService owns', async () => {
		const namespace = 'deliver-kserve-promote';
		const player = await servingModel(namespace);
		const {deliveries, observed} = runner(namespace);
		deliveries.run();
		const started = await deliveries.start(spec(namespace));
		expect(started).toMatchObject({ok: true, state: {spec: {version: 'fraud-predictor-00003'}, mode: 'weights'}});
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final).toMatchObject({phase: 'promoted', weight: 100, stable: 'fraud-predictor-00002'});

		// The smoke test ran once the predicted revision was ready, still without traffic.
		const [smoked] = observed.smoked;
		expect(smoked!.spec.predictor).toMatchObject({
			canaryTrafficPercent: 0,
			containers: [{name: 'kserve-container', image: newImage}],
			labels: {'app.kubernetes.io/version': 'v2'},
		});
		expect(smoked!.status.components.predictor.latestReadyRevision).toBe('fraud-predictor-00003');
		// Judged at each step, canaryTrafficPercent being the step and the new version's weight as discovery shows it.
		expect(observed.judged).toEqual([
			{spec: 20, weight: 20},
			{spec: 60, weight: 60},
		]);
		// What KServe saw: the old image, the new one at 0, the steps, and the promotion (canaryTrafficPercent removed).
		await api.waitFor('KServe to take up the promotion', async () => player.seen.length === 5);
		expect(player.seen).toEqual([
			{canaryTrafficPercent: undefined, image: oldImage},
			{canaryTrafficPercent: 0, image: newImage},
			{canaryTrafficPercent: 20, image: newImage},
			{canaryTrafficPercent: 60, image: newImage},
			{canaryTrafficPercent: undefined, image: newImage},
		]);

		const isvc = await api.get('InferenceService', namespace, 'fraud');
		expect(isvc.spec.predictor).not.toHaveProperty('canaryTrafficPercent');
		expect(JSON.parse(isvc.metadata.annotations[kserveBeforeAnnotation])).toEqual({revision: 'fraud-predictor-00002', image: oldImage});
		// The state is in the Delivery of the same name, owned by the InferenceService; none in its annotations, which
		// KServe would copy into a new revision at every write.
		expect(isvc.metadata.annotations).not.toHaveProperty(deliveryAnnotation);
		const delivery = await api.http.get<Json>(resourcePath(resourceTypes.deliveries, namespace, 'fraud'));
		expect(delivery.metadata.ownerReferences).toEqual([
			{apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', name: 'fraud', uid: isvc.metadata.uid},
		]);
		expect(delivery.spec.model).toBe('fraud');
		expect(JSON.parse(delivery.spec.state)).toMatchObject({
			phase: 'promoted',
			spec: {version: 'fraud-predictor-00003', versionLabel: 'v2'},
		});
		// One revision for the whole rollout: the new image's.
		expect(player.created).toEqual(['fraud-predictor-00003']);
		const model = await kube.readModel(spec(namespace).model);
		await api.waitFor('discovery to show the new revision alone', async () => {
			const current = await kube.readModel(spec(namespace).model);
			return current.versions.length === 1 && current.versions[0]!.name === 'fraud-predictor-00003';
		});
		expect(model.delivery).toMatchObject({phase: 'promoted', spec: {version: 'fraud-predictor-00003'}});
		// The smoke test reaches a revision at its Knative private Service.
		expect((await kube.readModel(spec(namespace).model)).versions[0]).toMatchObject({
			name: 'fraud-predictor-00003',
			weight: 100,
			service: 'fraud-predictor-00003-private',
		});
		expect(observed.audit[0]!.lines).toContain(
			"writes InferenceService/fraud: canaryTrafficPercent 20 → 60, then removed: KServe's promotion (fraud-predictor-00003 takes all traffic)",
		);
		expect(observed.audit.at(-1)!.entry.action).toBe('rollout promote');
	});

	it('rolls back on a failing judgement: canaryTrafficPercent 0, all traffic on the revision rolled out before', async () => {
		const namespace = 'deliver-kserve-rollback';
		const player = await servingModel(namespace);
		const {deliveries, observed} = runner(namespace, ['pass', 'fail']);
		deliveries.run();
		await deliveries.start(spec(namespace));
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final).toMatchObject({phase: 'rolled-back', weight: 0, reason: expect.stringContaining('judged fail at 60%')});
		expect(observed.judged.map((judged) => judged.spec)).toEqual([20, 60]);
		await api.waitFor(
			'KServe to take up the rollback',
			async () => player.seen.at(-1)?.canaryTrafficPercent === 0 && player.seen.length > 2,
		);
		expect(player.seen.map((seen) => seen.canaryTrafficPercent)).toEqual([undefined, 0, 20, 60, 0]);
		const isvc = await api.get('InferenceService', namespace, 'fraud');
		// KServe's rollback: the predictor keeps the new image (recorded before, in the annotation), without traffic.
		expect(isvc.spec.predictor).toMatchObject({canaryTrafficPercent: 0, containers: [{image: newImage}]});
		expect(JSON.parse(isvc.metadata.annotations[kserveBeforeAnnotation]).image).toBe(oldImage);
		await api.waitFor('KServe to send all traffic back', async () => {
			const model = await kube.readModel(spec(namespace).model);
			return model.versions.find((version) => version.name === 'fraud-predictor-00002')?.weight === 100 && model;
		});
		const model = await kube.readModel(spec(namespace).model);
		expect(model.versions.map((version) => [version.name, version.track, version.weight])).toEqual([
			['fraud-predictor-00002', 'stable', 100],
			['fraud-predictor-00003', 'canary', 0],
		]);
		expect(model.delivery).toMatchObject({phase: 'rolled-back'});
		expect(player.created).toEqual(['fraud-predictor-00003']);
		const loaded = await kube.deliveryPort().load();
		expect(loaded.find((state) => state.spec.model.namespace === namespace)).toMatchObject({phase: 'rolled-back'});
	});

	it('rolls back at once when KServe creates another revision than the one planned', async () => {
		const namespace = 'deliver-kserve-other';
		const player = await servingModel(namespace);
		player.skip = 1;
		const {deliveries, observed} = runner(namespace);
		deliveries.run();
		await deliveries.start(spec(namespace, {readyTimeoutSeconds: 600}));
		const final = await deliveries.settled(spec(namespace).model);
		deliveries.close();
		expect(final.phase).toBe('rolled-back');
		expect(final.reason).toContain(
			'fraud-predictor-00003 will not become ready: KServe created revision fraud-predictor-00004, not fraud-predictor-00003',
		);
		expect(observed.smoked).toEqual([]);
		expect((await api.get('InferenceService', namespace, 'fraud')).spec.predictor.canaryTrafficPercent).toBe(0);
	});

	// Last: it removes the CRD from this file's cluster.
	it('refuses to start when the Delivery CRD is not installed, saying how to install it', async () => {
		const namespace = 'deliver-kserve-no-crd';
		await servingModel(namespace);
		await api.http.request('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/deliveries.modeldeck.dev');
		await api.waitFor('the Delivery CRD to be gone', async () =>
			api.http.get(resourcePath(resourceTypes.deliveries, namespace)).then(
				() => false,
				(error: {status?: number}) => error.status === 404,
			),
		);
		await expect(kube.planDelivery(spec(namespace))).rejects.toThrow(
			"modeldeck keeps a KServe rollout's state in a Delivery (modeldeck.dev), whose CRD is not installed: kubectl apply -f deploy/base/delivery-crd.yaml",
		);
	});
});
