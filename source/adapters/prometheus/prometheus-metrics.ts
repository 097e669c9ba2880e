/**
 * MetricsPort over Prometheus's HTTP API (prometheus-query), reached by URL or through the Kubernetes API server's
 * service proxy with the operator's credentials. One query per metric per profile per refresh, all versions at once.
 */
import https from 'node:https';
import {PrometheusDriver, type QueryResult} from 'prometheus-query';
import type {MetricTarget, MetricsPort, TimeRange} from '../../domain/ports.ts';
import type {MetricName, Sample, Series, VersionKey} from '../../domain/types.ts';
import {METRIC_NAMES} from '../../domain/types.ts';
import {assembleSamples, assembleSeries, toMatrix, toVector} from './parse.ts';
import {type CustomProfiles, customProfileProblems, mergeProfiles} from './profiles.ts';
import {DEFAULT_POD_LABELS, type PlanContext, type PlannedQuery, type PodLabels, explainQuery, planQueries} from './query-plan.ts';

/** Reach Prometheus through `/api/v1/namespaces/{namespace}/services/{scheme}:{service}:{port}/proxy/`. */
export interface KubeServiceProxy {
	/** API server URL, e.g. `https://127.0.0.1:6443`. */
	server: string;
	/** Namespace of the Prometheus Service, e.g. `monitoring`. */
	namespace: string;
	/** Service name, e.g. `prometheus-k8s`. */
	service: string;
	/** Service port name or number, e.g. `9090` or `web`. */
	port: string | number;
	/** `http` (default) or `https`: how the API server talks to the Service. */
	scheme?: 'http' | 'https';
	/** Bearer token of the operator. */
	token?: string;
	/** Extra headers, or a function giving fresh ones per request (for tokens that expire, e.g. exec plugins). */
	headers?: Record<string, string> | (() => Promise<Record<string, string>> | Record<string, string>);
	/** TLS to the API server: CA, client certificate and key (PEM), as in the kubeconfig. */
	ca?: string | Buffer;
	cert?: string | Buffer;
	key?: string | Buffer;
	/** Skip verifying the API server's certificate (kubeconfig `insecure-skip-tls-verify`). */
	insecureSkipTlsVerify?: boolean;
	/** Or a ready agent built from the kubeconfig; wins over ca/cert/key. */
	httpsAgent?: https.Agent;
}

export interface PrometheusMetricsOptions {
	/** Prometheus base URL, e.g. `http://prometheus.monitoring:9090`. One of `url` or `kube` is required. */
	url?: string;
	kube?: KubeServiceProxy;
	/** Custom profiles from settings (profile → metric → template); laid over the built-in ones. */
	profiles?: CustomProfiles;
	/** Profile for versions whose runtime names none. Default `generic`. */
	defaultProfile?: string;
	/** Pod labels naming model and version, for runtimes joined through kube-state-metrics. */
	podLabels?: Partial<PodLabels>;
	/** Per-query timeout, both on the HTTP request and passed to Prometheus. Default 10000 ms. */
	timeoutMs?: number;
	/**
	 * Prometheus's scrape interval, to size rate() windows of history queries like Grafana's `$__rate_interval`:
	 * max(step + scrape, 4 × scrape). Default 15 s.
	 */
	scrapeIntervalSeconds?: number;
	/** Window `explain` shows before the first refresh. Default 60 s. */
	defaultWindowSeconds?: number;
	/** Clock for evaluation times (tests pin it inside fixed data). Default Date.now. */
	now?: () => number;
	/** Told about every query sent (benchmarks count them). */
	onQuery?: (event: {
		kind: 'instant' | 'range';
		metric: MetricName;
		profile: string;
		query: string;
		durationMs: number;
		ok: boolean;
	}) => void;
}

export interface PrometheusMetrics extends MetricsPort {
	/** The queries a `sample()` of these targets would send (one per metric per profile). */
	plan(targets: MetricTarget[], windowSeconds: number): PlannedQuery[];
}

/** Prometheus refuses range queries of more than 11,000 points per series. */
const MAX_POINTS = 11_000;

/** The shape of what prometheus-query throws (plain objects, not Errors). */
interface DriverFailure {
	errorType?: string;
	error?: string;
	httpStatus?: number;
	code?: string;
}

/** Set on the error thrown for an answer that is not Prometheus's JSON (see the response interceptor). */
const NOT_PROMETHEUS = 'MODELDECK_NOT_PROMETHEUS';

function proxyEndpoint(kube: KubeServiceProxy): string {
	const server = kube.server.replace(/\/+$/, '');
	// Colons stay literal, as kubectl writes them; names are DNS labels, so nothing else needs escaping.
	const service = [kube.scheme ?? 'http', kube.service, String(kube.port)].map(encodeURIComponent).join(':');
	return `${server}/api/v1/namespaces/${encodeURIComponent(kube.namespace)}/services/${service}/proxy`;
}

export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
	if (!options.url && !options.kube) {
		throw new Error('Prometheus source needs a URL (prometheusUrl) or a Kubernetes service (prometheusService: namespace/service:port).');
	}
	if (options.url && !/^https?:\/\/[^/]/.test(options.url)) {
		throw new Error(`Prometheus URL must start with http:// or https://, e.g. http://127.0.0.1:9090; got "${options.url}".`);
	}
	const problems = customProfileProblems(options.profiles ?? {});
	if (problems.length > 0) throw new Error(`Custom PromQL profiles in settings are invalid: ${problems.join('; ')}.`);

	const profiles = mergeProfiles(options.profiles);
	const defaultProfile = options.defaultProfile ?? 'generic';
	if (!profiles[defaultProfile]) {
		throw new Error(`Default PromQL profile "${defaultProfile}" does not exist; use one of ${Object.keys(profiles).join(', ')}.`);
	}
	const context: PlanContext = {profiles, defaultProfile, podLabels: {...DEFAULT_POD_LABELS, ...options.podLabels}};
	const timeoutMs = options.timeoutMs ?? 10_000;
	const scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 15;
	const now = options.now ?? Date.now;
	let lastWindowSeconds = options.defaultWindowSeconds ?? 60;

	const kube = options.kube;
	const endpoint = kube ? proxyEndpoint(kube) : options.url!.replace(/\/+$/, '');
	const where = kube
		? `Prometheus service ${kube.namespace}/${kube.service}:${kube.port} through the API server ${kube.server}`
		: `Prometheus at ${endpoint}`;
	const label = kube ? `prometheus ${kube.namespace}/${kube.service} (via API server)` : `prometheus ${endpoint}`;

	let httpsAgent = kube?.httpsAgent;
	if (kube && !httpsAgent && (kube.ca || kube.cert || kube.insecureSkipTlsVerify)) {
		httpsAgent = new https.Agent({
			...(kube.ca ? {ca: kube.ca} : {}),
			...(kube.cert ? {cert: kube.cert} : {}),
			...(kube.key ? {key: kube.key} : {}),
			rejectUnauthorized: !kube.insecureSkipTlsVerify,
			keepAlive: true,
		});
	}

	const driver = new PrometheusDriver({
		endpoint,
		baseURL: '/api/v1/',
		timeout: timeoutMs,
		// POST keeps long queries (100 versions in a regex) clear of URL length limits.
		preferPost: true,
		// prometheus-query reports an answer without Prometheus's JSON envelope (an HTML page, a login form) as an
		// "unexpected network error"; mark it so it can be said for what it is.
		responseInterceptor: {
			onFulfilled: (response) => {
				const data: unknown = response.data;
				if (typeof data !== 'object' || data === null || !('status' in data)) {
					const contentType = String(response.headers['content-type'] ?? 'no content type');
					throw Object.assign(new Error(`answered ${contentType} instead of Prometheus's JSON`), {code: NOT_PROMETHEUS});
				}
				return response;
			},
		},
		requestInterceptor: {
			onFulfilled: async (config) => {
				// axios's timeout restarts with every byte (the socket's idle timeout): an answer trickling in, or a
				// connection the network froze mid-answer, could hold a refresh for ever. This one ends the request.
				config.signal = AbortSignal.timeout(timeoutMs);
				if (!kube) return config;
				const extra = typeof kube.headers === 'function' ? await kube.headers() : (kube.headers ?? {});
				for (const [name, value] of Object.entries(extra)) config.headers.set(name, value);
				if (kube.token) config.headers.set('Authorization', `Bearer ${kube.token}`);
				if (httpsAgent) config.httpsAgent = httpsAgent;
				return config;
			},
		},
	});

	function describeFailure(failure: unknown, query: PlannedQuery): Error {
		const detail = (typeof failure === 'object' && failure !== null ? failure : {error: String(failure)}) as DriverFailure;
		const cause = detail.error ?? 'unknown error';
		switch (detail.errorType) {
			case 'timeout_error':
				return new Error(
					`${where} did not answer the ${query.metric} query within ${timeoutMs} ms. Is it overloaded, or is the address right?`,
				);
			case 'network_error':
				if (detail.code === 'ERR_CANCELED') {
					return new Error(
						`${where} did not answer the ${query.metric} query within ${timeoutMs} ms. Is it overloaded, or is the network to it down?`,
					);
				}
				if (detail.code === NOT_PROMETHEUS) {
					return new Error(
						`${where} did not answer like Prometheus: ${cause} from ${endpoint}/api/v1/query. Is this the Prometheus address?`,
					);
				}
				return new Error(
					`Cannot reach ${where}: ${cause}${detail.code ? ` (${detail.code})` : ''}. Check the address and that Prometheus is running.`,
				);
			case 'ssl_error':
				return new Error(`TLS to ${where} failed: ${cause}. Check the certificate settings in your kubeconfig.`);
			case 'client_error':
				return new Error(
					`${where} did not answer like Prometheus (no JSON status from ${endpoint}/api/v1/query). Is this the Prometheus address?`,
				);
			case 'http_error': {
				const status = detail.httpStatus ?? 0;
				if (kube && (status === 401 || status === 403)) {
					return new Error(
						`The API server refused the proxy to ${where} (HTTP ${status}: ${cause}). Your user needs "get" on "services/proxy" in namespace ${kube.namespace}.`,
					);
				}
				if (status === 404)
					return new Error(`${where} answered 404 for the query API: ${cause}. Check the URL (or the service name and port).`);
				if (status === 400 || status === 422) {
					return new Error(
						`${where} rejected the ${query.profile} profile's ${query.metric} query (HTTP ${status}: ${cause}). Query: ${query.query}`,
					);
				}
				return new Error(`${where} failed the ${query.metric} query (HTTP ${status}: ${cause}).`);
			}
			default:
				return new Error(`${where} failed the ${query.metric} query: ${cause}`);
		}
	}

	async function run<T>(
		kind: 'instant' | 'range',
		query: PlannedQuery,
		send: () => Promise<QueryResult>,
		convert: (result: QueryResult) => T,
	): Promise<T> {
		const started = performance.now();
		try {
			const result = await send();
			options.onQuery?.({
				kind,
				metric: query.metric,
				profile: query.profile,
				query: query.query,
				durationMs: performance.now() - started,
				ok: true,
			});
			return convert(result);
		} catch (failure) {
			options.onQuery?.({
				kind,
				metric: query.metric,
				profile: query.profile,
				query: query.query,
				durationMs: performance.now() - started,
				ok: false,
			});
			throw describeFailure(failure, query);
		}
	}

	/** Runs all queries at once; the first failure (in plan order) is thrown after all have settled. */
	async function all<T>(tasks: Array<Promise<T>>): Promise<T[]> {
		const settled = await Promise.allSettled(tasks);
		const failed = settled.find((outcome) => outcome.status === 'rejected');
		if (failed) throw (failed as PromiseRejectedResult).reason;
		return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
	}

	const prometheusTimeout = `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`;

	return {
		label,
		plan: (targets, windowSeconds) => planQueries(targets, windowSeconds, context),

		async sample(targets: MetricTarget[], windowSeconds: number): Promise<Map<VersionKey, Sample>> {
			lastWindowSeconds = windowSeconds;
			if (targets.length === 0) return new Map();
			const time = now();
			const planned = planQueries(targets, windowSeconds, context);
			const answers = await all(
				planned.map((query) =>
					run(
						'instant',
						query,
						() => driver.instantQuery(query.query, time, prometheusTimeout),
						(result) => ({metric: query.metric, targets: query.targets, vector: toVector(result.resultType, result.result)}),
					),
				),
			);
			return assembleSamples(answers, time);
		},

		async history(targets: MetricTarget[], range: TimeRange): Promise<Map<VersionKey, Series>> {
			if (targets.length === 0) return new Map();
			if (!(range.end > range.start) || !(range.stepSeconds > 0)) {
				throw new Error(`History range must have end after start and a positive step; got ${JSON.stringify(range)}.`);
			}
			const spanSeconds = (range.end - range.start) / 1000;
			const stepSeconds = Math.max(range.stepSeconds, Math.ceil(spanSeconds / MAX_POINTS));
			const windowSeconds = Math.max(stepSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds);
			const planned = planQueries(targets, windowSeconds, context);
			const answers = await all(
				planned.map((query) =>
					run(
						'range',
						query,
						() => driver.rangeQuery(query.query, range.start, range.end, stepSeconds, prometheusTimeout),
						(result) => ({metric: query.metric, targets: query.targets, matrix: toMatrix(result.resultType, result.result)}),
					),
				),
			);
			return assembleSeries(answers);
		},

		explain(target: MetricTarget, metric: MetricName): string {
			if (!METRIC_NAMES.includes(metric)) return `# unknown metric ${String(metric)}`;
			return explainQuery(target, metric, lastWindowSeconds, context);
		},
	};
}
