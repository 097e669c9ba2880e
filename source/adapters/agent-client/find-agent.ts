/**
 * Finds the modeldeck agent in a cluster (a Service labelled `app.kubernetes.io/name=modeldeck-agent`) and says
 * how to reach it through the API server's service proxy with the kubeconfig's own credentials: nothing is exposed
 * outside the cluster, and the agent sees the operator's own token.
 */
import {CoreV1Api, KubeConfig} from '@kubernetes/client-node';
import type {V1Service} from '@kubernetes/client-node';
import type https from 'node:https';
import type {AgentClientOptions} from '../agent-client.ts';

export const agentServiceLabel = 'app.kubernetes.io/name=modeldeck-agent';

export interface FoundAgent {
	namespace: string;
	service: string;
	/** Port name or number as the proxy path needs it. */
	port: string;
	/** The service-proxy base URL. */
	url: string;
	/** Options for createAgentClient: URL, token, TLS of the API server. */
	clientOptions: AgentClientOptions;
	/** Set when the kubeconfig has no bearer token: the agent cannot check client-certificate users. */
	warning?: string;
}

export interface FindAgentOptions {
	/** A kubeconfig file; default $KUBECONFIG or ~/.kube/config (or in-cluster). */
	kubeconfig?: string | KubeConfig;
	context?: string;
	/** Namespaces to look in when listing Services in all namespaces is not allowed. Default: the context's namespace, `modeldeck`. */
	namespaces?: string[];
}

function proxyPort(service: V1Service): string {
	const ports = service.spec?.ports ?? [];
	const port = ports.find((candidate) => candidate.name === 'http') ?? ports[0];
	if (!port) return '8090';
	return port.name ?? String(port.port);
}

/** The kubeconfig user's bearer token (exec plugins and token files resolved), other headers, and the API server's TLS. */
async function credentials(
	config: KubeConfig,
): Promise<{token?: string; headers: Record<string, string>; tls: NonNullable<AgentClientOptions['tls']>}> {
	const httpsOptions: https.RequestOptions = {};
	await config.applyToHTTPSOptions(httpsOptions);
	const headers: Record<string, string> = {};
	for (const [key, value] of Object.entries(httpsOptions.headers ?? {})) {
		if (typeof value === 'string') headers[key.toLowerCase()] = value;
	}

	const token = /^bearer\s+(\S+)$/i.exec(headers['authorization'] ?? '')?.[1];
	delete headers['authorization'];
	const tls: NonNullable<AgentClientOptions['tls']> = {};
	if (httpsOptions.ca) tls.ca = httpsOptions.ca as string | Buffer;
	if (httpsOptions.cert) tls.cert = httpsOptions.cert as string | Buffer;
	if (httpsOptions.key) tls.key = httpsOptions.key as string | Buffer;
	if (httpsOptions.rejectUnauthorized === false) tls.rejectUnauthorized = false;
	return {...(token ? {token} : {}), headers, tls};
}

/**
 * The bearer token of a kubeconfig context's user, for an agent reached directly (`--agent URL` through a
 * port-forward): the agent checks the same identity it would see through the service proxy. Undefined for users
 * without one (client certificates).
 */
export async function kubeconfigToken(kubeconfig: string, context: string | undefined): Promise<string | undefined> {
	const config = new KubeConfig();
	config.loadFromFile(kubeconfig);
	if (context) config.setCurrentContext(context);
	return (await credentials(config)).token;
}

/** Undefined when no agent is found; throws when the cluster could not be asked. */
export async function findAgent(options: FindAgentOptions = {}): Promise<FoundAgent | undefined> {
	let config: KubeConfig;
	if (options.kubeconfig instanceof KubeConfig) {
		config = options.kubeconfig;
	} else {
		config = new KubeConfig();
		if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
		else config.loadFromDefault();
	}

	if (options.context) config.setCurrentContext(options.context);
	const cluster = config.getCurrentCluster();
	if (!cluster) throw new Error('the kubeconfig has no current cluster');
	const core = config.makeApiClient(CoreV1Api);
	let services: V1Service[] = [];
	try {
		services = (await core.listServiceForAllNamespaces({labelSelector: agentServiceLabel})).items;
	} catch (error) {
		const code = (error as {code?: number}).code;
		if (code !== 403) throw error;
		const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
		const namespaces = options.namespaces ?? [...new Set([contextNamespace, 'modeldeck'].filter((name): name is string => Boolean(name)))];
		for (const namespace of namespaces) {
			try {
				services.push(...(await core.listNamespacedService({namespace, labelSelector: agentServiceLabel})).items);
			} catch (inner) {
				if ((inner as {code?: number}).code !== 403) throw inner;
			}
		}
	}

	const service = services.find((candidate) => candidate.metadata?.name && candidate.metadata.namespace);
	if (!service) return undefined;
	const namespace = service.metadata!.namespace!;
	const name = service.metadata!.name!;
	const port = proxyPort(service);
	// RBAC checks services/proxy against this whole id (`http:modeldeck-agent:http`), which is what
	// deploy/base/console-access.yaml grants: keep the two in step. The API server then dials an address of the
	// Service's Endpoints object whose port has that name.
	const url = `${cluster.server.replace(/\/+$/, '')}/api/v1/namespaces/${namespace}/services/http:${name}:${port}/proxy/`;

	const {token, headers, tls} = await credentials(config);
	const clientOptions: AgentClientOptions = {url, headers, tls, label: `agent ${namespace}/${name}`};
	if (token) clientOptions.token = token;
	const found: FoundAgent = {namespace, service: name, port, url, clientOptions};
	if (!token) {
		found.warning =
			'the kubeconfig user has no bearer token (client certificates cannot be checked by the agent); the agent will refuse its requests';
	}

	return found;
}
