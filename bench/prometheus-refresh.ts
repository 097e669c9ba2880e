// Prometheus refresh benchmark. Run: node bench/prometheus-refresh.ts [--quick]
//
// 100 versions (20 models × 5 versions) served by 4 fake exporters on local ports, in the generic profile's metric
// names (histogram, request counter, process CPU and memory), scraped every second by a real Prometheus started by
// the harness. Times one sample() refresh of all 100 versions (and of 1, for comparison) and counts the queries it
// sends: one per metric, whatever the number of versions.
import http from 'node:http';
import type net from 'node:net';
import {performance} from 'node:perf_hooks';
import {startPrometheus, waitForTargets} from '../harness/prometheus.ts';
import type {MetricTarget} from '../source/domain/ports.ts';
import type {Sample, VersionKey} from '../source/domain/types.ts';
import {LATENCY_BUCKETS_SECONDS} from '../source/model-server/server-metrics.ts';
import {createPrometheusMetrics} from '../source/adapters/prometheus/prometheus-metrics.ts';

const quick = process.argv.includes('--quick');
const EXPORTERS = 4;
const MODELS = 20;
const VERSIONS_PER_MODEL = 5;
const ITERATIONS = quick ? 10 : 50;
const WINDOW_SECONDS = 30;

/** A version one of the fake exporters serves: its labels, its request rate and its latency scale. */
interface ServedVersion {
	namespace: string;
	name: string;
	version: string;
	rps: number;
	scaleMs: number;
}

const versions: ServedVersion[] = [];
for (let model = 0; model < MODELS; model++) {
	for (let version = 1; version <= VERSIONS_PER_MODEL; version++) {
		versions.push({
			namespace: `team-${model % 4}`,
			name: `model-${model}`,
			version: `v${version}`,
			rps: 5 + model + version,
			scaleMs: 5 * version,
		});
	}
}

const started = Date.now();

/** Text exposition of the versions an exporter serves, counters growing with time since start. */
function exposition(served: ServedVersion[]): string {
	const elapsed = (Date.now() - started) / 1000;
	const lines = ['# TYPE modeldeck_inference_request_duration_seconds histogram'];
	for (const v of served) {
		const labels = `namespace="${v.namespace}",model="${v.name}",version="${v.version}"`;
		const total = v.rps * elapsed;
		// Latency roughly exponential with mean scaleMs: share under each bound.
		for (const bound of LATENCY_BUCKETS_SECONDS) {
			lines.push(
				`modeldeck_inference_request_duration_seconds_bucket{${labels},le="${bound}"} ${total * (1 - Math.exp((-bound * 1000) / v.scaleMs))}`,
			);
		}
		lines.push(`modeldeck_inference_request_duration_seconds_bucket{${labels},le="+Inf"} ${total}`);
		lines.push(`modeldeck_inference_request_duration_seconds_count{${labels}} ${total}`);
		lines.push(`modeldeck_inference_request_duration_seconds_sum{${labels}} ${(total * v.scaleMs) / 1000}`);
	}
	lines.push('# TYPE modeldeck_inference_requests_total counter');
	for (const v of served) {
		const labels = `namespace="${v.namespace}",model="${v.name}",version="${v.version}"`;
		lines.push(`modeldeck_inference_requests_total{${labels},code="200",status="ok"} ${v.rps * 0.99 * elapsed}`);
		lines.push(`modeldeck_inference_requests_total{${labels},code="500",status="error"} ${v.rps * 0.01 * elapsed}`);
	}
	lines.push('# TYPE process_cpu_seconds_total counter');
	for (const v of served)
		lines.push(`process_cpu_seconds_total{namespace="${v.namespace}",model="${v.name}",version="${v.version}"} ${0.1 * elapsed}`);
	lines.push('# TYPE process_resident_memory_bytes gauge');
	for (const v of served)
		lines.push(`process_resident_memory_bytes{namespace="${v.namespace}",model="${v.name}",version="${v.version}"} ${100e6 + v.rps * 1e6}`);
	return `${lines.join('\n')}\n`;
}

function listen(server: http.Server): Promise<number> {
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

const exporters: http.Server[] = [];
const ports: number[] = [];
for (let index = 0; index < EXPORTERS; index++) {
	const served = versions.filter((_, position) => position % EXPORTERS === index);
	const server = http.createServer((_request, response) => {
		response.writeHead(200, {'content-type': 'text/plain; version=0.0.4'});
		response.end(exposition(served));
	});
	exporters.push(server);
	ports.push(await listen(server));
}

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const prometheus = await startPrometheus({
	scrapeIntervalSeconds: 1,
	scrapeTargets: ports.map((port, index) => ({job: `exporter-${index}`, targets: [`127.0.0.1:${port}`]})),
});
try {
	await waitForTargets(prometheus.url, {targets: EXPORTERS});
	// Enough scrapes for rate() over the window to have several points.
	await new Promise((resolve) => setTimeout(resolve, 6000));

	let queries = 0;
	const source = createPrometheusMetrics({url: prometheus.url, scrapeIntervalSeconds: 1, onQuery: () => queries++});
	const all = versions.map(({namespace, name, version}) => ({namespace, name, version}));

	async function measure(targets: MetricTarget[]): Promise<{times: number[]; perRefresh: number; result: Map<VersionKey, Sample>}> {
		const times: number[] = [];
		let perRefresh = 0;
		let result = new Map<VersionKey, Sample>();
		for (let iteration = 0; iteration < ITERATIONS; iteration++) {
			queries = 0;
			const begin = performance.now();
			result = await source.sample(targets, WINDOW_SECONDS);
			times.push(performance.now() - begin);
			perRefresh = queries;
		}
		return {times, perRefresh, result};
	}

	await measure(all.slice(0, 1)); // warm-up
	const one = await measure(all.slice(0, 1));
	const hundred = await measure(all);
	const complete = [...hundred.result.values()].filter((sample) => Object.values(sample).every((value) => value !== null)).length;

	queries = 0;
	const historyBegin = performance.now();
	const history = await source.history(all, {start: Date.now() - 5000, end: Date.now(), stepSeconds: 1});
	const historyMs = performance.now() - historyBegin;

	const bytes = source.plan(all, WINDOW_SECONDS).reduce((sum, query) => sum + query.query.length, 0);
	console.log(`Prometheus refresh (${prometheus.binary}), ${ITERATIONS} refreshes each, window ${WINDOW_SECONDS}s, scrape 1s:`);
	console.log(
		`  1 version:    ${one.perRefresh} queries/refresh, median ${percentile(one.times, 50).toFixed(1)} ms, p95 ${percentile(one.times, 95).toFixed(1)} ms`,
	);
	console.log(
		`  100 versions: ${hundred.perRefresh} queries/refresh, median ${percentile(hundred.times, 50).toFixed(1)} ms, p95 ${percentile(hundred.times, 95).toFixed(1)} ms (${(bytes / 1024).toFixed(1)} KiB of PromQL)`,
	);
	console.log(`  100 versions: ${hundred.result.size} versions returned, ${complete} with all 7 figures`);
	console.log(
		`  history of 100 versions (5 s at 1 s steps): ${queries} range queries, ${historyMs.toFixed(1)} ms, ${history.size} versions`,
	);
} finally {
	await prometheus.stop();
	for (const server of exporters) server.close();
}
