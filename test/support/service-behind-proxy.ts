/**
 * Puts a server running on this host behind a Service of the local control plane, so that the API server's service
 * proxy (`/api/v1/namespaces/NS/services/[scheme:]NAME:PORT/proxy/…`) reaches it, as it reaches a pod in a real
 * cluster. What kube-apiserver's service proxy needs (its service ResourceLocation, pkg/registry/core/service/storage):
 * - an Endpoints object named like the Service: the proxy reads Endpoints, not EndpointSlices. Without one it answers
 *   404 `services "NAME" not found` (the Endpoints lookup's NotFound, reported under the Service's name);
 * - addresses that name a Pod (targetRef) of the Service's namespace whose status.podIPs include the address,
 *   otherwise 503 `no endpoints available`. Here that pod is a stand-in: its scheduler does not exist, so it is never
 *   bound to a node and kwok (which manages only pods on its nodes) never rewrites the status the test writes;
 * - a non-loopback address (Endpoints refuse loopback ones): the host's own IPv4, on which the server must listen
 *   (or on 0.0.0.0);
 * - a Service without a selector, so that the endpoints controller leaves the Endpoints object alone (the EndpointSlice
 *   mirroring controller copies it into an EndpointSlice, as for any selector-less Service).
 */
import {networkInterfaces} from 'node:os';
import type {TestApi} from '../fixtures/kube/api.ts';

/** This machine's first non-loopback, non-link-local IPv4 address. */
export function hostAddress(): string {
	for (const addresses of Object.values(networkInterfaces())) {
		for (const address of addresses ?? []) {
			if (address.family === 'IPv4' && !address.internal && !address.address.startsWith('169.254.')) return address.address;
		}
	}

	throw new Error('This test needs a non-loopback IPv4 address on the machine (Endpoints may not name loopback addresses).');
}

export interface ServiceBehindProxyOptions {
	namespace: string;
	/** The Service's name; the Endpoints object has the same. */
	service: string;
	/** The Service's labels (what discovery looks for), also given to the stand-in pod. */
	labels: Record<string, string>;
	/** The Service port's name, e.g. `http` or `web`. */
	portName: string;
	/** The Service's port number, e.g. 9090. */
	servicePort: number;
	/** Where the server listens on this host: a non-loopback address and its port. */
	host: string;
	port: number;
	/** The stand-in pod's name. Default `<service>-on-host`. */
	pod?: string;
	/** Create the namespace first (an existing one is fine). Default true. */
	createNamespace?: boolean;
}

/** Creates the Service, the stand-in Pod with the host's address in its status, and the Endpoints that name it. */
export async function serviceBehindProxy(api: TestApi, options: ServiceBehindProxyOptions): Promise<void> {
	const {namespace, service, labels, portName, servicePort, host, port} = options;
	const pod = options.pod ?? `${service}-on-host`;
	const post = (collection: string, body: unknown) => api.http.request('POST', collection, {body});
	if (options.createNamespace ?? true) {
		await post('/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}}).catch(
			(error: {status?: number}) => {
				if (error.status !== 409) throw error;
			},
		);
	}

	await post(`/api/v1/namespaces/${namespace}/services`, {
		apiVersion: 'v1',
		kind: 'Service',
		metadata: {name: service, labels},
		spec: {ports: [{name: portName, port: servicePort, targetPort: port, protocol: 'TCP'}]},
	});
	await post(`/api/v1/namespaces/${namespace}/pods`, {
		apiVersion: 'v1',
		kind: 'Pod',
		metadata: {name: pod, labels},
		spec: {
			schedulerName: 'runs-on-the-test-host',
			containers: [{name: 'server', image: 'modeldeck/on-host:none', ports: [{name: portName, containerPort: port}]}],
		},
	});
	await api.http.patch(`/api/v1/namespaces/${namespace}/pods/${pod}/status`, {status: {podIP: host, podIPs: [{ip: host}]}}, 'merge');
	await post(`/api/v1/namespaces/${namespace}/endpoints`, {
		apiVersion: 'v1',
		kind: 'Endpoints',
		metadata: {name: service, labels},
		subsets: [{addresses: [{ip: host, targetRef: {kind: 'Pod', namespace, name: pod}}], ports: [{name: portName, port, protocol: 'TCP'}]}],
	});
}
