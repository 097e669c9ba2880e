// The fleet of `npm run bench:cluster` (bench/cluster.ts): models labelled the modeldeck way (README, "Labels"),
// each a stable and a canary Deployment, a Service per version and an HTTPRoute splitting traffic between them,
// spread over namespaces, on the harness's control plane; kwok makes their pods Running and Ready.
import {FAKE_NODES, fakeNode} from '../harness/cluster.ts';
import {resourcePath} from '../source/adapters/kube/http.ts';
import {TestApi} from '../test/fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../test/fixtures/kube/manifests.ts';

/** Models spread over this many namespaces (a fleet of 60 Deployments fills the first few only). */
export const FLEET_NAMESPACES = 10;
const names = ['fraud', 'churn', 'ranker', 'sentiment', 'recommender', 'scorer', 'summarizer', 'embedder', 'classifier', 'forecaster'];

/** A line showing one of the fleet's models (modeldeck) or Deployments (k9s: `fraud-000-v1`). */
export const FLEET_ROW = new RegExp(`\\b(?:${names.join('|')})-\\d{3}\\b`);

/** Each fake node takes 110 pods: the harness's two are not enough for a fleet of 600 Deployments. */
const PODS_PER_NODE = 110;

export interface FleetModel {
	namespace: string;
	name: string;
	objects: Array<Record<string, any>>;
	/** Pods of its two versions. */
	pods: number;
}

/** Model `index` of the fleet: stable v1 with 2 replicas, canary v2 with 1 or 2 (alternately), routed 90/10. */
export function fleetModel(index: number): FleetModel {
	const namespace = `fleet-${String(index % FLEET_NAMESPACES).padStart(2, '0')}`;
	const name = `${names[Math.floor(index / FLEET_NAMESPACES) % names.length]}-${String(index).padStart(3, '0')}`;
	const canaryReplicas = index % 2 === 0 ? 1 : 2;
	return {
		namespace,
		name,
		pods: 2 + canaryReplicas,
		objects: [
			deployment({namespace, model: name, version: 'v1', replicas: 2, cpu: '250m', memory: '512Mi'}),
			deployment({namespace, model: name, version: 'v2', replicas: canaryReplicas, cpu: '250m', memory: '512Mi'}),
			service(namespace, `${name}-v1`, name, 'v1'),
			service(namespace, `${name}-v2`, name, 'v2'),
			httpRoute(namespace, name, name, [
				{service: `${name}-v1`, weight: 90},
				{service: `${name}-v2`, weight: 10},
			]),
		],
	};
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) await work(items[next++]!);
	};

	await Promise.all(Array.from({length: concurrency}, worker));
}

/**
 * Grows the fleet to `deployments` Deployments (two a model), creating what is missing, and waits until every one
 * of them has all its replicas ready. Returns the number of pods.
 */
export async function growFleet(api: TestApi, deployments: number, log: (line: string) => void, timeoutMs = 300_000): Promise<number> {
	const models = Array.from({length: deployments / 2}, (_, index) => fleetModel(index));
	const namespaces = [...new Set(models.map((model) => model.namespace))];
	const existing = new Set((await api.list('Namespace', undefined)).map((item) => item.metadata.name as string));
	for (const namespace of namespaces.filter((name) => !existing.has(name))) {
		await api.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}});
	}

	const pods = models.reduce((sum, model) => sum + model.pods, 0);
	const nodes = Math.ceil((pods * 1.2) / PODS_PER_NODE);
	const existingNodes = new Set(
		(await api.http.get<{items: Array<Record<string, any>>}>('/api/v1/nodes')).items.map((item) => item.metadata.name as string),
	);
	for (let index = FAKE_NODES.length; index < nodes; index++) {
		const name = `kwok-node-${index}`;
		if (!existingNodes.has(name)) await api.http.request('POST', '/api/v1/nodes', {body: fakeNode(name)});
	}

	const present = new Set(
		(await api.list('Deployment', undefined, 'modeldeck.dev/model')).map((item) => `${item.metadata.namespace}/${item.metadata.name}`),
	);
	const missing = models.filter((model) => !present.has(`${model.namespace}/${model.name}-v1`));
	const started = Date.now();
	// The ServiceAccount `default` of a new namespace comes from the controller manager: pods wait for it.
	await pool(missing, 16, async (model) => {
		for (const object of model.objects) await api.create(object);
	});
	log(`created ${missing.length} models (${missing.length * 5} objects) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	let lastLog = 0;
	await api.waitFor(
		`${deployments} Deployments to be ready`,
		async () => {
			const list = await api.http.get<{items: Array<Record<string, any>>}>(resourcePath(TestApi.type('Deployment'), undefined), {
				query: {labelSelector: 'modeldeck.dev/model'},
			});
			const ready = list.items.filter((item) => (item.status?.readyReplicas ?? 0) === item.spec.replicas).length;
			const readyPods = list.items.reduce((sum, item) => sum + (item.status?.readyReplicas ?? 0), 0);
			if (Date.now() - lastLog > 10_000) {
				lastLog = Date.now();
				log(`  ${ready}/${deployments} Deployments ready, ${readyPods}/${pods} pods (${((Date.now() - started) / 1000).toFixed(0)} s)`);
			}

			return list.items.length === deployments && ready === deployments;
		},
		timeoutMs,
	);
	log(`${deployments} Deployments, ${pods} pods ready ${((Date.now() - started) / 1000).toFixed(1)} s after the first create`);
	return pods;
}
