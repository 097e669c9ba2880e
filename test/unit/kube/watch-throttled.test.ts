/**
 * A 429 from the API server ("storage is (re)initializing" just after a CRD is created, or API Priority and Fairness
 * shedding load) asks the client to come back shortly: each request is sent again after its Retry-After (KubeHttp, as
 * client-go's REST client does), and the watch retries quietly, as client-go's reflector does, and says it only when it
 * lasts. The API server here is a small HTTP server that answers 429 to the Seldon models list a
 * set number of times; the real adapter against the real kube-apiserver is in test/integration/kube-source.test.ts.
 */
import type {KubeConfig} from '@kubernetes/client-node';
import {afterEach, expect, it} from 'vitest';
import {defaultConventions} from '../../../source/adapters/kube/conventions.ts';
import {KubeHttp, retryDelayMs} from '../../../source/adapters/kube/http.ts';
import {watchModels} from '../../../source/adapters/kube/watch.ts';
import type {SourceError} from '../../../source/domain/ports.ts';
import {closeLocalApiServers, localApiServer, until} from '../../fixtures/kube/local-api-server.ts';

const modelsPath = '/apis/mlops.seldon.io/v1alpha1/models';
const stops: Array<() => void> = [];

afterEach(async () => {
	for (const stop of stops.splice(0)) stop();
	await closeLocalApiServers();
});

/** An API server with nothing in it that answers 429 to the first `throttled` lists of Seldon models. */
async function apiServer(throttled: number): Promise<{kubeConfig: KubeConfig; modelLists: () => number}> {
	let modelLists = 0;
	const kubeConfig = await localApiServer((request, response) => {
		const url = new URL(request.url ?? '/', 'http://localhost');
		if (url.pathname === '/version') {
			response.writeHead(200, {'content-type': 'application/json'}).end('{"gitVersion":"v1.34.0"}');
			return;
		}
		if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
			response.writeHead(200, {'content-type': 'application/json'});
			response.flushHeaders();
			request.on('close', () => response.end());
			return;
		}
		if (url.pathname === modelsPath && modelLists++ < throttled) {
			response.writeHead(429, {'content-type': 'application/json', 'retry-after': '0'}).end(
				JSON.stringify({
					kind: 'Status',
					apiVersion: 'v1',
					status: 'Failure',
					message: 'storage is (re)initializing',
					reason: 'TooManyRequests',
					code: 429,
				}),
			);
			return;
		}
		response
			.writeHead(200, {'content-type': 'application/json'})
			.end(JSON.stringify({kind: 'List', apiVersion: 'v1', metadata: {resourceVersion: '1'}, items: []}));
	});
	return {kubeConfig, modelLists: () => modelLists};
}

function watch(kubeConfig: KubeConfig): {errors: SourceError[]; lists: number} {
	const seen = {errors: [] as SourceError[], lists: 0};
	stops.push(
		watchModels({
			kubeConfig,
			namespace: undefined,
			conventions: defaultConventions,
			onChange: () => seen.lists++,
			onError: (error) => seen.errors.push(error),
			backoff: {initialMs: 20, maxMs: 100, absentRecheckMs: 60_000},
			debounceMs: 5,
		}),
	);
	return seen;
}

it('retries two 429s in a row quietly: the models are listed and nothing is said', async () => {
	const server = await apiServer(2);
	const seen = watch(server.kubeConfig);
	await until('the third list of Seldon models (the first answered)', () => server.modelLists() >= 3);
	await until('a list of models', () => seen.lists > 0);
	// Past two more backoffs: a 429 said late would show here.
	await new Promise((resolve) => setTimeout(resolve, 300));
	expect(seen.errors).toEqual([]);
});

it('says a 429 that lasts, once, with what the API server answered, and keeps asking', async () => {
	const server = await apiServer(Number.POSITIVE_INFINITY);
	const seen = watch(server.kubeConfig);
	await until('a 429 said', () => seen.errors.length > 0);
	expect(server.modelLists()).toBeGreaterThanOrEqual(3);
	expect(seen.errors).toEqual([
		{
			source: 'cluster',
			message: expect.stringMatching(/answered 429 to watch models: storage is \(re\)initializing; try again shortly — retrying$/),
		},
	]);
	const asked = server.modelLists();
	await until('another list of Seldon models', () => server.modelLists() > asked + 1);
	expect(seen.errors).toHaveLength(1);
	// The models of every other kind are shown meanwhile.
	expect(seen.lists).toBeGreaterThan(0);
});

it('sends a request answered 429 again after its Retry-After, a write too (it was not carried out), and says the fourth 429', async () => {
	const server = await apiServer(2);
	const http = new KubeHttp(server.kubeConfig);
	await expect(http.get(modelsPath)).resolves.toMatchObject({items: []});
	expect(server.modelLists()).toBe(3);
	const once = await apiServer(1);
	await expect(new KubeHttp(once.kubeConfig).patch(modelsPath, {metadata: {labels: {a: 'b'}}}, 'merge')).resolves.toBeDefined();
	expect(once.modelLists()).toBe(2);

	const always = await apiServer(Number.POSITIVE_INFINITY);
	const refused = new KubeHttp(always.kubeConfig);
	await expect(refused.get(modelsPath)).rejects.toMatchObject({status: 429});
	expect(always.modelLists()).toBe(4);
});

it('waits what Retry-After says: whole seconds, 1 s when absent or unreadable, never more than 5 s', () => {
	expect([undefined, '', 'soon', '-1', '0', '2', '30'].map(retryDelayMs)).toEqual([1000, 1000, 1000, 1000, 0, 2000, 5000]);
});
