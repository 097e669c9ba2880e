/**
 * The first lists sent before the Kubernetes client loads (adapters/kube/early-lists.ts), against the real API server:
 * they make the same first models as the watch (drawn before the client loads; made before the pods are in, they
 * leave restarts and pod problems unknown — test/unit/kube/early-lists-pods.test.ts), the first watch takes them and finds
 * the same models as without them; a watch of another namespace, or a list the
 * API server refused, is asked again the ordinary way and says the same. And the source's JSON client decodes bodies
 * read chunk by chunk (adapters/kube/http.ts), multi-byte characters included, and reads a list while it arrives as
 * the whole body parsed and trimmed.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {startEarlyLists} from '../../source/adapters/kube/early-lists.ts';
import {resourcePath} from '../../source/adapters/kube/http.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {watchedKinds} from '../../source/adapters/kube/watched-kinds.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {type Recorder, record, weightsOf} from '../fixtures/kube/watch-helpers.ts';

let cluster: Cluster;
let api: TestApi;
const recorders: Recorder[] = [];

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	// An API server just started may refuse a list while the kind's watch cache fills (429), and an early list is not
	// sent again: the watch asks the ordinary way, and the first models are not made. The first test compares those
	// models, so the tests start once early lists are all answered with the fraud model in them, as on a cluster that
	// has been up a while.
	await api.waitFor('the early lists to be answered, with the fraud model', async () => {
		const probe = startEarlyLists(cluster.kubeconfig, undefined, 'all');
		const models = await probe?.models();
		probe?.discard();
		return models?.some((model) => model.name === 'fraud');
	});
});

afterAll(async () => {
	for (const recorder of recorders) recorder.stop();
	await cluster?.stop();
});

function watch(port: Awaited<ReturnType<typeof createKubeCluster>>, namespace: string | undefined): Recorder {
	const recorder = record(port, namespace);
	recorders.push(recorder);
	return recorder;
}

const fraud = (models: Parameters<typeof weightsOf>[0]) => weightsOf(models, 'team-a', 'fraud')?.v2 === 'canary 20';

it('the first watch takes every early list and finds the models it finds without them', async () => {
	const early = startEarlyLists(cluster.kubeconfig, undefined, 'all');
	expect(early?.context).toBe('admin');
	expect(early?.namespace).toBeUndefined();
	// The models the console draws first, before the Kubernetes client loads.
	const first = early?.models();
	const withEarly = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all', ...(early ? {earlyLists: early} : {})});
	const models = await watch(withEarly, undefined).until('the fraud model, from the early lists', fraud);
	expect(early?.taken).toBe(watchedKinds().length);
	const without = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all'});
	const plain = await watch(without, undefined).until('the fraud model, from ordinary lists', fraud);
	expect(JSON.stringify(models)).toBe(JSON.stringify(plain));
	// Made before the pods were in, the first models leave each version's restarts and pod problems unknown
	// (podsPending); everything else is what the watch finds. Made after, they are the watch's exactly.
	const firstModels = (await first) ?? [];
	const pending = firstModels.some((model) => model.versions.some((version) => version.podsPending));
	const known = (list: typeof firstModels) =>
		list.map((model) => ({
			...model,
			versions: model.versions.map(({restarts: _restarts, problems: _problems, podsPending: _pending, ...version}) => version),
		}));
	if (pending) expect(firstModels.every((model) => model.versions.every((version) => version.podsPending))).toBe(true);
	expect(JSON.stringify(pending ? known(firstModels) : firstModels)).toBe(JSON.stringify(pending ? known(plain) : plain));
});

it('a watch of another namespace than the early lists asks the ordinary way, and a context switch drops them', async () => {
	const early = startEarlyLists(cluster.kubeconfig, undefined, 'team-b')!;
	const port = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all', earlyLists: early});
	await watch(port, 'team-a').until('the fraud model in team-a', fraud);
	expect(early.taken).toBe(0);
	const switched = startEarlyLists(cluster.kubeconfig, undefined, 'team-a')!;
	const other = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, namespace: 'all', earlyLists: switched});
	await other.switchContext('viewer');
	await watch(other, 'team-a').until('the fraud model, as the viewer', fraud);
	expect(switched.taken).toBe(0);
});

it('a list the API server refused early is asked again, and the refusal is said as without early lists', async () => {
	// A token the API server does not know: every list is refused (401).
	const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'modeldeck-early-')), 'kubeconfig');
	writeFileSync(kubeconfig, readFileSync(cluster.kubeconfig, 'utf8').replace(cluster.tokens.admin, 'not-a-known-token'));
	const early = startEarlyLists(kubeconfig, undefined, 'all')!;
	// No first models from refused lists: the watch says why.
	expect(await early.models()).toBeUndefined();
	const withEarly = await createKubeCluster({kubeconfigPath: kubeconfig, namespace: 'all', earlyLists: early});
	const refused = await watch(withEarly, undefined).untilError('the refusal', () => true);
	expect(early.taken).toBe(watchedKinds().length);
	const without = await createKubeCluster({kubeconfigPath: kubeconfig, namespace: 'all'});
	const plain = await watch(without, undefined).untilError('the refusal without early lists', () => true);
	expect(refused.message).toBe(plain.message);
	expect(refused.message).toMatch(/401|unauthori[sz]ed|token/i);
});

it('bodies are decoded whole, multi-byte characters split across chunks included', async () => {
	// ~600 KB of two- to four-byte characters: many TCP/TLS chunks, with characters cut at chunk boundaries.
	const text = 'é漢字🙂ß'.repeat(50_000);
	await api.http.request('POST', '/api/v1/namespaces/team-a/configmaps', {
		body: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'multibyte'}, data: {text}},
	});
	const read = await api.http.get<{data: {text: string}}>('/api/v1/namespaces/team-a/configmaps/multibyte');
	expect(read.data.text.length).toBe(text.length);
	expect(read.data.text === text).toBe(true);
});

it('a list read while it arrives (relists, and lists not sent early) is what the whole body parsed and trimmed gives', async () => {
	// Multi-byte characters in a list big enough to come in many chunks.
	const text = 'é漢字🙂ß'.repeat(20_000);
	for (let index = 0; index < 3; index++) {
		await api.http.request('POST', '/api/v1/namespaces/team-a/configmaps', {
			body: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: `listed-${index}`}, data: {text}},
		});
	}

	const configMaps = {type: {group: '', version: 'v1', plural: 'configmaps'}, trim: undefined};
	for (const kind of [...watchedKinds().filter((candidate) => !candidate.optional), configMaps]) {
		const path = resourcePath(kind.type, undefined);
		const whole = async () => {
			const list = await api.http.get<{items: unknown[]}>(path);
			return JSON.stringify({...list, items: kind.trim ? list.items.map(kind.trim) : list.items});
		};
		// Compared when nothing changed between two whole lists around it.
		let compared = false;
		for (let attempt = 0; attempt < 5 && !compared; attempt++) {
			const before = await whole();
			const read = JSON.stringify(await api.http.list(path, {}, kind.trim));
			if (before !== (await whole())) continue;
			expect(read, kind.type.plural).toBe(before);
			compared = true;
		}
		expect(compared, `${kind.type.plural} stayed the same across two lists in 5 tries`).toBe(true);
	}
	const listed = await api.http.list<{items: {data: {text: string}}[]}>('/api/v1/namespaces/team-a/configmaps', {});
	expect(listed.items.filter((item) => item.data?.text === text)).toHaveLength(3);
	// An answer that is not a list is said to be one.
	await expect(api.http.list('/api/v1/namespaces/team-a/configmaps/listed-0')).rejects.toThrow(
		'GET /api/v1/namespaces/team-a/configmaps/listed-0: the API server sent something that is not a JSON list',
	);
});
