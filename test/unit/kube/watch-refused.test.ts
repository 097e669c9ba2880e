/**
 * A refusal every kind meets alike (a token the API server does not know: 401) is said once, whichever kind's list
 * is refused first. An optional kind's problem is held back until the first models are shown; the same words met
 * by a kind the models need, or by the heartbeat, are said at once — a refusal held back for an optional kind must
 * not silence them, or the console waits for models that never come and says nothing. The API server here is a small
 * HTTP server that refuses every request and answers the optional kinds first; the real kube-apiserver refusing a
 * token is in test/integration/kube-early-lists.test.ts.
 */
import type {KubeConfig} from '@kubernetes/client-node';
import {afterEach, expect, it} from 'vitest';
import {defaultConventions} from '../../../source/adapters/kube/conventions.ts';
import {watchModels, watchedKinds} from '../../../source/adapters/kube/watch.ts';
import {resourcePath} from '../../../source/adapters/kube/http.ts';
import type {SourceError} from '../../../source/domain/ports.ts';
import {closeLocalApiServers, localApiServer, until} from '../../fixtures/kube/local-api-server.ts';

const stops: Array<() => void> = [];

afterEach(async () => {
	for (const stop of stops.splice(0)) stop();
	await closeLocalApiServers();
});

/** Paths of the kinds the models need (not optional): answered `lateMs` after the others. */
const neededPaths = new Set(
	watchedKinds(defaultConventions)
		.filter((kind) => !kind.optional)
		.map((kind) => resourcePath(kind.type, undefined)),
);

/** An API server that refuses every request with 401, the kinds the models need and /version `lateMs` late. */
async function refusingServer(lateMs: number): Promise<{kubeConfig: KubeConfig; requests: () => number}> {
	let requests = 0;
	const kubeConfig = await localApiServer((request, response) => {
		requests++;
		const {pathname} = new URL(request.url ?? '/', 'http://localhost');
		const refuse = () =>
			response
				.writeHead(401, {'content-type': 'application/json'})
				.end(
					JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401}),
				);
		if (neededPaths.has(pathname) || pathname === '/version') setTimeout(refuse, lateMs);
		else refuse();
	}, 'not-a-known-token');
	return {kubeConfig, requests: () => requests};
}

for (const lateMs of [0, 50, 300]) {
	it(`says a refused token once when the optional kinds are refused first (the others ${lateMs} ms later)`, async () => {
		const server = await refusingServer(lateMs);
		const seen = {errors: [] as SourceError[], lists: 0};
		stops.push(
			watchModels({
				kubeConfig: server.kubeConfig,
				namespace: undefined,
				conventions: defaultConventions,
				onChange: () => seen.lists++,
				onError: (error) => seen.errors.push(error),
				backoff: {initialMs: 20, maxMs: 100, absentRecheckMs: 60_000},
				debounceMs: 5,
			}),
		);
		await until('the refusal said', () => seen.errors.length > 0);
		expect(seen.errors[0]).toEqual({source: 'cluster', message: expect.stringMatching(/401|unauthori[sz]ed|token/i)});
		// Retried lists and heartbeats meet the same refusal: it stays said once.
		const asked = server.requests();
		await until('more refused requests', () => server.requests() > asked + watchedKinds(defaultConventions).length);
		expect(seen.errors).toHaveLength(1);
		expect(seen.lists).toBe(0);
	});
}
