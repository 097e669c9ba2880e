/**
 * The first lists at start-up (adapters/kube/early-lists.ts) ask for the pods and ReplicaSets only once the Deployments
 * are in, and the first models do not wait for them: their versions say the pods are not listed yet (restarts and pod
 * problems unknown) — unless the versions are made of pods (KServe revisions) or ReplicaSets (Argo Rollouts), when
 * the models wait. The API server here is a small HTTP server serving snapshots captured from the real one, which holds
 * the pods back until the test lets them go; the lists against the real kube-apiserver are in
 * test/integration/kube-early-lists.test.ts.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, expect, it} from 'vitest';
import {buildModels} from '../../../source/adapters/kube/build-models.ts';
import {type EarlyLists, listQuery, requestKey, startEarlyLists} from '../../../source/adapters/kube/early-lists.ts';
import {resourcePath} from '../../../source/adapters/kube/http.ts';
import {watchedKinds} from '../../../source/adapters/kube/watched-kinds.ts';
import type {Model} from '../../../source/domain/types.ts';
import {type FixtureName, loadFixture} from '../../fixtures/kube/load.ts';

const servers: Server[] = [];
const lists: EarlyLists[] = [];

afterEach(async () => {
	for (const early of lists.splice(0)) early.discard();
	await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** The kinds' list paths, every namespace. */
const kindOfPath = new Map(watchedKinds().map((kind) => [resourcePath(kind.type, undefined), kind.key]));

interface Served {
	early: EarlyLists;
	/** Kinds in the order their requests came in, and when each Deployments answer was sent. */
	requests: string[];
	deploymentsAnswered: () => number;
	/** Answers the pods list (held until then). */
	releasePods: () => void;
	/** What it serves. */
	snapshot: ReturnType<typeof loadFixture>;
}

/** An API server holding SNAPSHOT (with a pod restarted 3 times); its pods list waits for releasePods(). */
async function serve(name: FixtureName): Promise<Served> {
	const snapshot = loadFixture(name) as unknown as Record<string, unknown[]>;
	const pod = snapshot['pods']![0] as {status: {containerStatuses: Array<{restartCount: number}>}};
	pod.status.containerStatuses[0]!.restartCount = 3;
	const requests: string[] = [];
	let answeredAt = 0;
	let order = 0;
	let releasePods!: () => void;
	const podsReleased = new Promise<void>((resolve) => {
		releasePods = resolve;
	});
	const server = createServer((request, response) => {
		const key = kindOfPath.get(new URL(request.url ?? '/', 'http://localhost').pathname);
		requests.push(key ?? 'other');
		const answer = () => {
			const items = key ? snapshot[key] : undefined;
			if (!items) response.writeHead(404, {'content-type': 'application/json'}).end('{"kind":"Status","code":404}');
			else response.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({metadata: {resourceVersion: '7'}, items}));
		};
		if (key === 'deployments') answeredAt = ++order;
		if (key === 'pods') void podsReleased.then(answer);
		else answer();
	});
	servers.push(server);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-early-'));
	const kubeconfig = path.join(directory, 'kubeconfig');
	writeFileSync(
		kubeconfig,
		[
			'apiVersion: v1',
			'kind: Config',
			`clusters: [{name: c, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}"}}]`,
			'users: [{name: u, user: {token: t}}]',
			'contexts: [{name: local, context: {cluster: c, user: u}}]',
			'current-context: local',
		].join('\n'),
	);
	const early = startEarlyLists(kubeconfig, undefined, 'all');
	if (!early) throw new Error('the kubeconfig was not taken for early lists');
	lists.push(early);
	return {
		early,
		requests,
		deploymentsAnswered: () => answeredAt,
		releasePods,
		snapshot: snapshot as unknown as ReturnType<typeof loadFixture>,
	};
}

/** What is known without the pods: every version's restarts and pod problems left out. */
const withoutPods = (models: Model[]) =>
	models.map((model) => ({...model, versions: model.versions.map(({restarts: _restarts, problems: _problems, ...version}) => version)}));

it('asks for the pods and ReplicaSets after the Deployments, and draws the first models without waiting for the pods', async () => {
	const {early, requests, deploymentsAnswered, releasePods, snapshot} = await serve('shapes-httproute');
	const models = await early.models();
	const full = buildModels(snapshot);
	const restarted = full.flatMap((model) => model.versions).filter((version) => version.restarts > 0);
	expect(restarted.length).toBeGreaterThan(0);

	// The Deployments' readiness, weights, images and routes are all there; restarts are not known, not zero.
	expect(models).toBeDefined();
	expect(models!.flatMap((model) => model.versions).every((version) => version.podsPending === true)).toBe(true);
	expect(withoutPods(models!).map((model) => ({...model, versions: model.versions.map(({podsPending: _p, ...v}) => v)}))).toEqual(
		withoutPods(full),
	);
	expect(deploymentsAnswered()).toBeGreaterThan(0);
	for (let waited = 0; !(requests.includes('pods') && requests.includes('replicaSets')) && waited < 5000; waited += 10) {
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	expect(requests.indexOf('pods')).toBeGreaterThan(requests.indexOf('deployments'));
	expect(requests.indexOf('replicaSets')).toBeGreaterThan(requests.indexOf('deployments'));
	// Everything but the pods and ReplicaSets went out at once, before the Deployments were in.
	expect(requests.slice(0, watchedKinds().length - 2)).not.toContain('pods');

	// The watch still takes the pods list when it comes.
	releasePods();
	const podsKind = watchedKinds().find((kind) => kind.key === 'pods')!;
	const pods = await early.take(requestKey(resourcePath(podsKind.type, undefined), listQuery(podsKind)));
	expect(pods?.items).toHaveLength(snapshot.pods.length);
});

it('waits for the pods where the versions are made of them (KServe revisions)', async () => {
	const {early, releasePods, snapshot} = await serve('shapes-kserve');
	let done = false;
	const models = early.models().then((result) => {
		done = true;
		return result;
	});
	await new Promise((resolve) => setTimeout(resolve, 200));
	expect(done).toBe(false);
	releasePods();
	const result = await models;
	expect(result?.flatMap((model) => model.versions).some((version) => version.podsPending)).toBe(false);
	expect(result).toEqual(buildModels(snapshot));
});
