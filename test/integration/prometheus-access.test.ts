/**
 * How the Prometheus source reaches Prometheus and how it fails: through a stand-in for the API server's service
 * proxy (checking the path and the bearer token, forwarding to a real Prometheus), and against a closed port, a
 * server that never answers, a server that is not Prometheus and a query Prometheus rejects. Failures are thrown
 * Errors that name the address and the cause; no data is an empty map.
 */
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import net from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {freePort, type RunningPrometheus, startPrometheus} from '../../harness/prometheus.ts';
import type {MetricTarget} from '../../source/domain/ports.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/prometheus-metrics.ts';

const PROXY_PREFIX = '/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy';
const TOKEN = 'operator-token';
const targets: MetricTarget[] = [{namespace: 'ml', name: 'fraud', version: 'v1'}];

let prometheus: RunningPrometheus;
let apiServer: http.Server;
let apiServerUrl: string;
let silent: net.Server;
let notPrometheus: http.Server;
const proxiedPaths: string[] = [];
const silentSockets = new Set<net.Socket>();

function listen(server: http.Server | net.Server): Promise<string> {
	return new Promise((resolve) =>
		server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
	);
}

beforeAll(async () => {
	prometheus = await startPrometheus({scrapeTargets: []});
	// What kube-apiserver does for GET/POST …/services/http:prometheus:9090/proxy/<path>: authenticate, authorize,
	// forward <path> to the Service.
	apiServer = http.createServer(async (request, response) => {
		if (request.headers.authorization !== `Bearer ${TOKEN}`) {
			response.writeHead(403, {'content-type': 'application/json'});
			response.end(
				JSON.stringify({kind: 'Status', status: 'Failure', message: 'services "prometheus" is forbidden', reason: 'Forbidden', code: 403}),
			);
			return;
		}
		const url = request.url ?? '';
		if (!url.startsWith(`${PROXY_PREFIX}/`)) {
			response.writeHead(404).end();
			return;
		}
		proxiedPaths.push(url.slice(PROXY_PREFIX.length).split('?')[0]!);
		const chunks: Buffer[] = [];
		for await (const chunk of request) chunks.push(chunk as Buffer);
		const upstream = await fetch(`${prometheus.url}${url.slice(PROXY_PREFIX.length)}`, {
			method: request.method ?? 'GET',
			headers: {'content-type': request.headers['content-type'] ?? 'application/x-www-form-urlencoded'},
			...(request.method === 'POST' ? {body: Buffer.concat(chunks)} : {}),
		});
		response.writeHead(upstream.status, {'content-type': upstream.headers.get('content-type') ?? 'application/json'});
		response.end(Buffer.from(await upstream.arrayBuffer()));
	});
	apiServerUrl = await listen(apiServer);
	// Accepts connections and never answers.
	silent = net.createServer((socket) => silentSockets.add(socket));
	await listen(silent);
	notPrometheus = http.createServer((_request, response) => {
		response.writeHead(200, {'content-type': 'text/html'});
		response.end('<html>Grafana</html>');
	});
	await listen(notPrometheus);
});

afterAll(async () => {
	await prometheus?.stop();
	for (const server of [apiServer, notPrometheus]) server?.closeAllConnections();
	for (const socket of silentSockets) socket.destroy();
	for (const server of [apiServer, silent, notPrometheus])
		await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

describe('reaching Prometheus', () => {
	it('gives an empty map when Prometheus has no data: absent, not zero', async () => {
		const source = createPrometheusMetrics({url: prometheus.url});
		expect((await source.sample(targets, 60)).size).toBe(0);
		expect((await source.history(targets, {start: Date.now() - 60_000, end: Date.now(), stepSeconds: 5})).size).toBe(0);
	});

	it("goes through the API server's service proxy with the operator's token", async () => {
		proxiedPaths.length = 0;
		const source = createPrometheusMetrics({
			kube: {server: apiServerUrl, namespace: 'monitoring', service: 'prometheus', port: 9090, token: TOKEN},
		});
		expect(source.label).toBe('prometheus monitoring/prometheus (via API server)');
		expect((await source.sample(targets, 60)).size).toBe(0);
		expect(proxiedPaths).toHaveLength(7);
		expect(new Set(proxiedPaths)).toEqual(new Set(['/api/v1/query']));
		await source.history(targets, {start: Date.now() - 60_000, end: Date.now(), stepSeconds: 5});
		expect(proxiedPaths).toContain('/api/v1/query_range');
	});

	it('says which permission is missing when the API server refuses the proxy', async () => {
		const source = createPrometheusMetrics({
			kube: {
				server: apiServerUrl,
				namespace: 'monitoring',
				service: 'prometheus',
				port: 9090,
				headers: async () => ({Authorization: 'Bearer expired'}),
			},
		});
		await expect(source.sample(targets, 60)).rejects.toThrow(
			`The API server refused the proxy to Prometheus service monitoring/prometheus:9090 through the API server ${apiServerUrl} (HTTP 403: `,
		);
		await expect(source.sample(targets, 60)).rejects.toThrow('Your user needs "get" on "services/proxy" in namespace monitoring.');
	});

	it('names the address and the cause when nothing listens', async () => {
		const port = await freePort();
		const source = createPrometheusMetrics({url: `http://127.0.0.1:${port}`});
		await expect(source.sample(targets, 60)).rejects.toThrow(
			new RegExp(
				`^Cannot reach Prometheus at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*Check the address and that Prometheus is running\\.$`,
			),
		);
	});

	it('gives up after the timeout on a server that never answers', async () => {
		const port = (silent.address() as AddressInfo).port;
		const source = createPrometheusMetrics({url: `http://127.0.0.1:${port}`, timeoutMs: 300});
		await expect(source.sample(targets, 60)).rejects.toThrow(
			`Prometheus at http://127.0.0.1:${port} did not answer the rps query within 300 ms.`,
		);
	});

	it('says so when the address is not Prometheus', async () => {
		const url = `http://127.0.0.1:${(notPrometheus.address() as AddressInfo).port}`;
		const source = createPrometheusMetrics({url});
		await expect(source.sample(targets, 60)).rejects.toThrow(
			`Prometheus at ${url} did not answer like Prometheus: answered text/html instead of Prometheus's JSON from ${url}/api/v1/query. Is this the Prometheus address?`,
		);
	});

	it('shows the rejected query when a custom profile is broken', async () => {
		const source = createPrometheusMetrics({
			url: prometheus.url,
			profiles: {generic: {rps: 'sum by (namespace, model, version) (rate(x{{selector}}[{window}])'}},
		});
		await expect(source.sample(targets, 60)).rejects.toThrow(
			/^Prometheus at http:\/\/127\.0\.0\.1:\d+ rejected the generic profile's rps query \(HTTP 400: .*parse error.*\)\. Query: sum by \(namespace, model, version\) \(rate\(x\{namespace=~"ml", model=~"fraud", version=~"v1"\}\[60s\]\)$/,
		);
	});
});
