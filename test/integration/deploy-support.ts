// What the deploy tests share: deploy/'s kustomizations rendered by the real kustomize CLI (`kustomize build`, the
// binary harness/build-binaries.ts builds and caches, or one on PATH or named by MODELDECK_KUSTOMIZE), parsed into
// the objects that are then applied exactly as rendered.
import {spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import {parseAllDocuments} from 'yaml';
import {kustomizePath} from '../../harness/build-binaries.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: {
		name: string;
		namespace?: string;
		labels?: Record<string, string>;
		annotations?: Record<string, string>;
		[key: string]: unknown;
	};
	[key: string]: unknown;
}

/** `kustomize build DIRECTORY`: its output as text. Throws with kustomize's own message if it refuses. */
export function kustomizeBuildText(directory: string): string {
	const result = spawnSync(kustomizePath(), ['build', directory], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
	if (result.error) throw result.error;
	if (result.status !== 0)
		throw new Error(`kustomize build ${path.relative(repoRoot, directory)} failed (exit ${result.status}): ${result.stderr.trim()}`);
	return result.stdout;
}

/** Every document of a multi-document YAML text, as Kubernetes objects. */
export function parseObjects(text: string, where: string): KubeObject[] {
	const objects: KubeObject[] = [];
	for (const [index, document] of parseAllDocuments(text).entries()) {
		if (document.errors.length > 0) throw new Error(`${where}, document ${index + 1}: ${document.errors[0]!.message}`);
		const value = document.toJS() as KubeObject | null;
		if (value === null || value === undefined) continue;
		if (typeof value.apiVersion !== 'string' || typeof value.kind !== 'string' || typeof value.metadata?.name !== 'string') {
			throw new Error(`${where}, document ${index + 1}: not a Kubernetes object (apiVersion, kind, metadata.name)`);
		}

		objects.push(value);
	}

	return objects;
}

/** `kustomize build` of a directory of deploy/ (e.g. 'deploy/base'), as objects. */
export function kustomize(directory: string): KubeObject[] {
	const absolute = path.resolve(repoRoot, directory);
	return parseObjects(kustomizeBuildText(absolute), `kustomize build ${directory}`);
}

export function findObject(objects: KubeObject[], kind: string, name: string): KubeObject {
	const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
	if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`);
	return found;
}

/** Where and as whom to apply: the local control plane's API server, with a bearer token. */
export interface ApiTarget {
	server: string;
	caFile: string;
	token: string;
}

/** One request to the API server, as plain JSON in and out (no client library between: it would rename fields). */
export async function apiRequest(
	target: ApiTarget,
	method: string,
	pathname: string,
	body?: {type: string; text: string},
): Promise<{status: number; json: any}> {
	const url = new URL(pathname, target.server);
	return new Promise((resolve, reject) => {
		const request = https.request(
			url,
			{
				method,
				ca: readFileSync(target.caFile),
				headers: {authorization: `Bearer ${target.token}`, accept: 'application/json', ...(body ? {'content-type': body.type} : {})},
			},
			(response) => {
				let text = '';
				response.on('data', (chunk: Buffer) => (text += chunk.toString()));
				response.on('end', () => {
					let json: unknown = text;
					try {
						json = JSON.parse(text);
					} catch {
						// Keep the text.
					}

					resolve({status: response.statusCode ?? 0, json});
				});
			},
		);
		request.on('error', reject);
		request.end(body?.text);
	});
}

const resourceCache = new Map<string, {name: string; namespaced: boolean}>();

/** The REST path of an object, from the API server's discovery (kind → plural, namespaced or not). */
async function objectPath(target: ApiTarget, object: KubeObject): Promise<string> {
	const groupVersion = object.apiVersion;
	const key = `${groupVersion}/${object.kind}`;
	if (!resourceCache.has(key)) {
		const prefix = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
		const discovery = await apiRequest(target, 'GET', prefix);
		if (discovery.status !== 200)
			throw new Error(`the API server does not serve ${groupVersion} (${discovery.status}): is its CRD installed?`);
		for (const resource of discovery.json.resources as Array<{name: string; kind: string; namespaced: boolean}>) {
			if (!resource.name.includes('/'))
				resourceCache.set(`${groupVersion}/${resource.kind}`, {name: resource.name, namespaced: resource.namespaced});
		}
	}

	const resource = resourceCache.get(key);
	if (!resource) throw new Error(`the API server serves no kind ${object.kind} in ${groupVersion}`);
	const prefix = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
	const namespace = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
	return `${prefix}${namespace}/${resource.name}/${object.metadata.name}`;
}

const applyOrder = [
	'Namespace',
	'CustomResourceDefinition',
	'ServiceAccount',
	'ClusterRole',
	'ClusterRoleBinding',
	'Role',
	'RoleBinding',
	'ConfigMap',
	'Secret',
	'Service',
];

/**
 * Server-side apply of every object exactly as given, as `kubectl apply --server-side` sends it (namespaces and RBAC
 * first); with dryRun the API server validates and admits each object and stores nothing. Returns what the API
 * server answered for each (the stored object), in the order applied.
 */
export async function applyObjects(target: ApiTarget, objects: KubeObject[], options: {dryRun?: boolean} = {}): Promise<KubeObject[]> {
	const rank = (object: KubeObject) => (applyOrder.includes(object.kind) ? applyOrder.indexOf(object.kind) : applyOrder.length);
	const stored: KubeObject[] = [];
	for (const object of [...objects].sort((a, b) => rank(a) - rank(b))) {
		const where = await objectPath(target, object);
		const query = `?fieldManager=modeldeck-deploy-test&force=true${options.dryRun ? '&dryRun=All' : ''}`;
		const answer = await apiRequest(target, 'PATCH', `${where}${query}`, {
			type: 'application/apply-patch+yaml',
			text: JSON.stringify(object),
		});
		if (answer.status !== 200 && answer.status !== 201) {
			throw new Error(
				`applying ${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name} failed: ${answer.status} ${typeof answer.json === 'string' ? answer.json : answer.json.message}`,
			);
		}

		stored.push(answer.json as KubeObject);
	}

	return stored;
}

/** An object as the API server stores it, as plain JSON. */
export async function readObject(
	target: ApiTarget,
	object: Pick<KubeObject, 'apiVersion' | 'kind'> & {metadata: {name: string; namespace?: string}},
): Promise<KubeObject> {
	const answer = await apiRequest(target, 'GET', await objectPath(target, object as KubeObject));
	if (answer.status !== 200)
		throw new Error(
			`reading ${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}: ${answer.status} ${answer.json?.message ?? answer.json}`,
		);
	return answer.json as KubeObject;
}

/**
 * Stands in for the cluster's network where the tests run on the host: Services' DNS names (`NAME.NAMESPACE.svc`,
 * port 80) lead to real servers on loopback. A process reaches it as its HTTP proxy (NODE_USE_ENV_PROXY=1 and
 * HTTP_PROXY, which make Node's fetch tunnel every plain-HTTP connection through CONNECT): the process keeps its
 * own URLs, `http://fraud-v2.modeldeck-example.svc:80/…`, as in a pod.
 */
export async function startServiceNetwork(
	routes: Record<string, string>,
): Promise<{env: Record<string, string>; tunnelled: string[]; close: () => Promise<void>}> {
	const tunnelled: string[] = [];
	const target = (authority: string | undefined): URL | undefined => {
		const [host, port = '80'] = (authority ?? '').split(':');
		const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?$/.exec(host ?? '');
		const route = match && port === '80' ? routes[`${match[1]}.${match[2]}`] : undefined;
		return route ? new URL(route) : undefined;
	};

	const server = http.createServer((_request, response) => {
		response.writeHead(501, {'content-type': 'text/plain'}).end('this stand-in network only tunnels (CONNECT)');
	});
	server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
		client.on('error', () => client.destroy());
		const to = target(request.url);
		if (!to) {
			client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\nno Service ${request.url} in this stand-in network\n`);
			return;
		}

		tunnelled.push(request.url!);
		const upstream = net.connect(Number(to.port), to.hostname, () => {
			client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
			if (head.length > 0) upstream.write(head);
			upstream.pipe(client);
			client.pipe(upstream);
		});
		upstream.on('error', () => client.destroy());
		client.on('close', () => upstream.destroy());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as net.AddressInfo;
	return {
		env: {
			NODE_USE_ENV_PROXY: '1',
			HTTP_PROXY: `http://127.0.0.1:${port}`,
			http_proxy: `http://127.0.0.1:${port}`,
			NO_PROXY: '127.0.0.1,localhost',
			no_proxy: '127.0.0.1,localhost',
		},
		tunnelled,
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			}),
	};
}
