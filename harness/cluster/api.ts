// HTTP for the harness itself: the API server (as admin, against the harness CA), health endpoints, free ports.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A Kubernetes object as the harness writes it: a kind and a name, the rest free. */
export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: {name: string; namespace?: string; [key: string]: unknown};
	[key: string]: unknown;
}

export interface HttpResponse {
	status: number;
	body: string;
}

/** The API server as the harness's admin: `path` is the request path, `body` sent as JSON. */
export type Api = (method: string, path: string, body?: unknown, contentType?: string) => Promise<HttpResponse>;

interface Condition {
	type: string;
	status: string;
}

export function hasCondition(obj: {status?: {conditions?: Condition[]}} | null, type: string): boolean {
	return (obj?.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Creates an object; an existing one is fine. */
export async function ensure(api: Api, collection: string, obj: KubeObject): Promise<void> {
	const r = await api('POST', collection, obj);
	if (r.status !== 201 && r.status !== 200 && r.status !== 409) {
		throw new Error(`creating ${obj.kind} ${obj.metadata?.name}: HTTP ${r.status} ${r.body.slice(0, 500)}`);
	}
}

/** The API server at `server` as the user of `token`, trusting the CA in `caData`. */
export function apiClient(server: string, caData: Buffer, token: string): Api {
	return (method, p, body, contentType) =>
		request(`${server}${p}`, {
			method,
			body,
			contentType,
			ca: caData,
			token,
		});
}

interface RequestOptions {
	method?: string;
	body?: unknown;
	contentType?: string | undefined;
	ca?: Buffer;
	token?: string;
	insecure?: boolean;
}

export function request(url: string, opts: RequestOptions): Promise<HttpResponse> {
	return new Promise((resolve, reject) => {
		const u = new URL(url);
		const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
		const headers: Record<string, string> = {accept: 'application/json'};
		if (opts.token) headers.authorization = `Bearer ${opts.token}`;
		if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
		const lib = u.protocol === 'https:' ? https : http;
		const req = lib.request(
			u,
			{
				method: opts.method ?? 'GET',
				headers,
				timeout: 10_000,
				...(u.protocol === 'https:' ? {ca: opts.ca, rejectUnauthorized: !opts.insecure, agent: false} : {agent: false}),
			},
			(res) => {
				let body = '';
				res.setEncoding('utf8');
				res.on('data', (c) => (body += c));
				res.on('end', () => resolve({status: res.statusCode ?? 0, body}));
				res.on('error', reject);
			},
		);
		req.on('timeout', () => req.destroy(new Error(`timed out: ${opts.method ?? 'GET'} ${url}`)));
		req.on('error', reject);
		if (payload !== undefined) req.write(payload);
		req.end();
	});
}

/** `n` numbers, each one of them once. */
type Ports<N extends number, Acc extends number[] = []> = Acc['length'] extends N ? Acc : Ports<N, [...Acc, number]>;

/** `n` different ports free on 127.0.0.1 right now (all held until the last is found). */
export async function freePorts<N extends number>(n: N): Promise<Ports<N>> {
	const servers: net.Server[] = [];
	const ports: number[] = [];
	try {
		for (let i = 0; i < n; i++) {
			const s = net.createServer();
			servers.push(s);
			await new Promise<void>((resolve, reject) => {
				s.once('error', reject);
				s.listen(0, '127.0.0.1', () => resolve());
			});
			ports.push((s.address() as net.AddressInfo).port);
		}
	} finally {
		await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
	}
	return ports as Ports<N>;
}
