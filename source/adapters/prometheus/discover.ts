/**
 * Prometheus found in the cluster when none is configured: the Services of the usual installations are listed (by
 * label, in all namespaces, or where the user may list them), one is chosen (choose-prometheus.ts) and queried
 * through the API server's service proxy with the kubeconfig user's own credentials. A Service named in settings
 * (`prometheusService`) is used as it is, through the same proxy.
 */
import type https from 'node:https';
import {KubeConfig} from '@kubernetes/client-node';
import {type MetricsPort, SourceAbsentError} from '../../domain/ports.ts';
import {describeKubeError, KubeApiError} from '../kube/errors.ts';
import {KubeHttp, resourcePath, resourceTypes} from '../kube/http.ts';
import {
	choosePrometheus,
	LOOKED_FOR,
	POINT_AT_ONE,
	PROMETHEUS_RULES,
	type PrometheusCandidate,
	type PrometheusChoice,
	type ServiceSummary,
	serviceSummary,
} from './choose-prometheus.ts';
import {createPrometheusMetrics, type KubeServiceProxy, type PrometheusMetricsOptions} from './prometheus-metrics.ts';

export interface PrometheusInClusterOptions {
	/** A kubeconfig file or a loaded one. Default: $KUBECONFIG, else ~/.kube/config, else in-cluster. */
	kubeconfig?: string | KubeConfig | undefined;
	/** Default: the kubeconfig's current context. */
	context?: string | undefined;
	/** Settings' `prometheusService` for the context, `namespace/service:port`: used instead of looking. */
	service?: string | undefined;
	/**
	 * Where to look when the user may not list Services in all namespaces. Default: the context's namespace,
	 * `monitoring`, `prometheus`.
	 */
	namespaces?: string[];
	/** Everything else the Prometheus source takes (profiles, timeouts). */
	metrics?: Omit<PrometheusMetricsOptions, 'url' | 'kube'>;
}

function loadConfig(kubeconfig: string | KubeConfig | undefined, context: string | undefined): KubeConfig {
	let config: KubeConfig;
	if (kubeconfig instanceof KubeConfig) {
		config = kubeconfig;
	} else {
		config = new KubeConfig();
		if (kubeconfig) config.loadFromFile(kubeconfig);
		else config.loadFromDefault();
	}

	if (context) config.setCurrentContext(context);
	return config;
}

/** The distinct label selectors of the rules, each listed once. */
const selectors = [...new Set(PROMETHEUS_RULES.map((rule) => rule.selector))];

async function listServices(http: KubeHttp, namespace: string | undefined): Promise<ServiceSummary[]> {
	const lists = await Promise.all(
		selectors.map((labelSelector) =>
			http.get<{items?: unknown[]}>(resourcePath(resourceTypes.services, namespace), {query: {labelSelector}, timeoutMs: 10_000}),
		),
	);
	return lists.flatMap((list) =>
		(list.items ?? []).map(serviceSummary).filter((summary): summary is ServiceSummary => summary !== undefined),
	);
}

/** Looks for Prometheus's Service; undefined when there is none. Throws when the cluster could not be asked. */
export async function findPrometheusService(config: KubeConfig, namespaces?: string[]): Promise<PrometheusChoice | undefined> {
	const http = new KubeHttp(config);
	try {
		return choosePrometheus(await listServices(http, undefined));
	} catch (error) {
		if (!(error instanceof KubeApiError && error.status === 403)) {
			throw new Error(
				describeKubeError(error, {verb: 'list', resource: 'services', server: http.server, ...(http.user ? {user: http.user} : {})}),
			);
		}
	}

	// Not allowed in all namespaces: where Prometheus usually is, and the context's own namespace.
	const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
	const where = namespaces ?? [...new Set([contextNamespace, 'monitoring', 'prometheus'].filter((name): name is string => Boolean(name)))];
	const found: ServiceSummary[] = [];
	for (const namespace of where) {
		try {
			found.push(...(await listServices(http, namespace)));
		} catch (error) {
			if (!(error instanceof KubeApiError && error.status === 403)) {
				throw new Error(
					describeKubeError(error, {
						verb: 'list',
						resource: 'services',
						namespace,
						server: http.server,
						...(http.user ? {user: http.user} : {}),
					}),
				);
			}
		}
	}

	return choosePrometheus(found);
}

function stringHeaders(headers: https.RequestOptions['headers']): Record<string, string> {
	const result: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers ?? {})) {
		if (typeof value === 'string') result[name] = value;
	}

	return result;
}

/** The service proxy to a Prometheus Service, authenticated as the kubeconfig's user (tokens fetched fresh per query). */
export async function serviceProxyTo(
	config: KubeConfig,
	target: Pick<PrometheusCandidate, 'namespace' | 'service' | 'port' | 'scheme'>,
): Promise<KubeServiceProxy> {
	const cluster = config.getCurrentCluster();
	if (!cluster) throw new Error('the kubeconfig has no cluster for the current context; pick a context with --context');
	const tls: https.RequestOptions = {};
	await config.applyToHTTPSOptions(tls);
	return {
		server: cluster.server,
		namespace: target.namespace,
		service: target.service,
		port: target.port,
		scheme: target.scheme,
		...(tls.ca ? {ca: tls.ca as string | Buffer} : {}),
		...(tls.cert ? {cert: tls.cert as string | Buffer} : {}),
		...(tls.key ? {key: tls.key as string | Buffer} : {}),
		...(tls.rejectUnauthorized === false ? {insecureSkipTlsVerify: true} : {}),
		// Exec plugins and token files give tokens that expire: ask the kubeconfig for the headers of each query.
		headers: async () => {
			const fresh: https.RequestOptions = {};
			await config.applyToHTTPSOptions(fresh);
			return stringHeaders(fresh.headers);
		},
	};
}

/** `namespace/service:port` as settings write it, or undefined when it is not that. */
export function parseServiceSetting(text: string): Pick<PrometheusCandidate, 'namespace' | 'service' | 'port'> | undefined {
	const match = /^([a-z0-9-]+)\/([a-z0-9-]+):([0-9a-z-]+)$/.exec(text);
	return match ? {namespace: match[1]!, service: match[2]!, port: match[3]!} : undefined;
}

/**
 * The Prometheus of the cluster as a MetricsPort: the settings' Service, else the one found. When there is none,
 * throws a SourceAbsentError that says what was looked for and how to point at one.
 */
export async function prometheusInCluster(options: PrometheusInClusterOptions): Promise<MetricsPort> {
	const config = loadConfig(options.kubeconfig, options.context);
	const context = config.getCurrentContext() || '(no context)';
	if (options.service !== undefined) {
		const named = parseServiceSetting(options.service);
		if (!named)
			throw new Error(
				`prometheusService in settings must be "namespace/service:port", e.g. "monitoring/prometheus-operated:web" (got "${options.service}").`,
			);
		return createPrometheusMetrics({...options.metrics, kube: await serviceProxyTo(config, {...named, scheme: 'http'})});
	}

	const choice = await findPrometheusService(config, options.namespaces);
	if (!choice) throw new SourceAbsentError(`no Prometheus found (${POINT_AT_ONE}) in context ${context}; looked for ${LOOKED_FOR}`);
	const metrics = createPrometheusMetrics({...options.metrics, kube: await serviceProxyTo(config, choice)});
	return {...metrics, found: choice.description};
}
