/** The credentials the first lists are sent with before the Kubernetes client loads (adapters/kube/early-lists.ts). */
import fc from 'fast-check';
import {stringify} from 'yaml';
import {describe, expect, it} from 'vitest';
import {earlyAccess, listQuery, requestKey} from '../../../source/adapters/kube/early-lists.ts';
import {resourcePath} from '../../../source/adapters/kube/http.ts';
import {watchedKinds} from '../../../source/adapters/kube/watched-kinds.ts';

const noFiles = (file: string): Buffer => {
	throw new Error(`no file ${file}`);
};

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, context: Record<string, unknown> = {}) {
	return stringify({
		apiVersion: 'v1',
		kind: 'Config',
		clusters: [{name: 'c', cluster}],
		users: [{name: 'u', user}],
		contexts: [{name: 'ctx', context: {cluster: 'c', user: 'u', ...context}}],
		'current-context': 'ctx',
	});
}

const access = (text: string, options: {env?: NodeJS.ProcessEnv; readFile?: (file: string) => Buffer; context?: string} = {}) =>
	earlyAccess(text, {directory: '/kube', env: options.env ?? {}, readFile: options.readFile ?? noFiles, context: options.context});

describe('earlyAccess', () => {
	it('sends a token as a bearer token and trusts the kubeconfig CA', () => {
		const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
		const found = access(
			kubeconfig(
				{server: 'https://10.0.0.1:6443', 'certificate-authority-data': ca.toString('base64')},
				{token: 'abc'},
				{namespace: 'team-a'},
			),
		);
		expect(found?.server).toBe('https://10.0.0.1:6443');
		expect(found?.context).toBe('ctx');
		expect(found?.namespace).toBe('team-a');
		expect(found?.options.headers['Authorization']).toBe('Bearer abc');
		expect(Buffer.from(found!.options.ca as Buffer).equals(ca)).toBe(true);
		expect(found?.options.rejectUnauthorized).toBeUndefined();
	});

	it('reads token, certificate and CA files relative to the kubeconfig, and client certificates as data', () => {
		const files: Record<string, string> = {'/kube/token': 'tok\n', '/kube/ca.pem': 'CA', '/etc/cert.pem': 'CERT', '/kube/key.pem': 'KEY'};
		const readFile = (file: string) => (files[file] !== undefined ? Buffer.from(files[file]) : noFiles(file));
		const found = access(
			kubeconfig(
				{server: 'https://h', 'certificate-authority': 'ca.pem'},
				{tokenFile: 'token', 'client-certificate': '/etc/cert.pem', 'client-key': 'key.pem'},
			),
			{readFile},
		);
		expect(found?.options.headers['Authorization']).toBe('Bearer tok');
		expect(String(found?.options.ca)).toBe('CA');
		expect(String(found?.options.cert)).toBe('CERT');
		expect(String(found?.options.key)).toBe('KEY');
	});

	it('turns certificate checks off only where the kubeconfig says insecure-skip-tls-verify, and names the server it checks', () => {
		expect(access(kubeconfig({server: 'https://h', 'insecure-skip-tls-verify': true}, {token: 't'}))?.options.rejectUnauthorized).toBe(
			false,
		);
		expect(
			access(kubeconfig({server: 'https://h', 'insecure-skip-tls-verify': 'true'}, {token: 't'}))?.options.rejectUnauthorized,
		).toBeUndefined();
		expect(access(kubeconfig({server: 'https://h', 'tls-server-name': 'api.internal'}, {token: 't'}))?.options.servername).toBe(
			'api.internal',
		);
	});

	it('sends a username and password as basic authentication', () => {
		const found = access(kubeconfig({server: 'https://h'}, {username: 'me', password: 'secret'}));
		expect(found?.options.headers['Authorization']).toBe(`Basic ${Buffer.from('me:secret').toString('base64')}`);
	});

	it('leaves to the Kubernetes client what it alone knows: exec plugins, auth providers, impersonation, proxies', () => {
		const server = {server: 'https://h'};
		expect(access(kubeconfig(server, {exec: {command: 'aws', apiVersion: 'client.authentication.k8s.io/v1'}}))).toBeUndefined();
		expect(access(kubeconfig(server, {'auth-provider': {name: 'oidc'}}))).toBeUndefined();
		expect(access(kubeconfig(server, {token: 't', as: 'someone'}))).toBeUndefined();
		expect(access(kubeconfig({...server, 'proxy-url': 'http://proxy:3128'}, {token: 't'}))).toBeUndefined();
		expect(access(kubeconfig(server, {token: 't'}), {env: {HTTPS_PROXY: 'http://proxy:3128'}})).toBeUndefined();
		expect(access(kubeconfig(server, {'client-certificate-data': 'Y2VydA=='}))).toBeUndefined();
	});

	it('takes the context asked for, else the current one, else the only one; none when it is not there', () => {
		const text = kubeconfig({server: 'https://h'}, {token: 't'});
		expect(access(text, {context: 'ctx'})?.context).toBe('ctx');
		expect(access(text, {context: 'other'})).toBeUndefined();
		expect(access(text.replace('current-context: ctx', ''))?.context).toBe('ctx');
		expect(access(kubeconfig({server: 'ftp://h'}, {token: 't'}))).toBeUndefined();
		expect(access('::: not yaml :::\n\t- [')).toBeUndefined();
	});

	it('never throws on any kubeconfig, and whatever it returns names an http(s) server', () => {
		const value = fc.oneof(fc.string(), fc.boolean(), fc.integer(), fc.constant(null), fc.base64String());
		const entry = (field: string, keys: string[]) =>
			fc.record({name: fc.constantFrom('c', 'u', 'ctx', ''), [field]: fc.dictionary(fc.constantFrom(...keys), value)});
		const config = fc.record(
			{
				clusters: fc.array(entry('cluster', ['server', 'certificate-authority-data', 'insecure-skip-tls-verify', 'proxy-url']), {
					maxLength: 2,
				}),
				users: fc.array(entry('user', ['token', 'username', 'password', 'client-key-data', 'client-certificate-data', 'exec']), {
					maxLength: 2,
				}),
				contexts: fc.array(entry('context', ['cluster', 'user', 'namespace']), {maxLength: 2}),
				'current-context': value,
			},
			{requiredKeys: []},
		);
		fc.assert(
			fc.property(
				fc.oneof(
					config.map((object) => stringify(object)),
					fc.string(),
				),
				(text) => {
					const found = access(text);
					if (found) expect(found.server).toMatch(/^https?:\/\//);
				},
			),
		);
	});
});

describe('requestKey', () => {
	it('is the path and query KubeHttp sends, with undefined values left out', () => {
		const deployments = watchedKinds().find((kind) => kind.key === 'deployments')!;
		expect(requestKey(resourcePath(deployments.type, undefined), listQuery(deployments))).toBe(
			'/apis/apps/v1/deployments?resourceVersion=0',
		);
		const events = watchedKinds().find((kind) => kind.key === 'canaryEvents')!;
		expect(requestKey(resourcePath(events.type, 'team-a'), listQuery(events))).toBe(
			'/api/v1/namespaces/team-a/events?fieldSelector=involvedObject.kind%3DCanary&resourceVersion=0',
		);
	});

	it('gives one key per kind and namespace', () => {
		const keys = new Set(watchedKinds().map((kind) => requestKey(resourcePath(kind.type, undefined), listQuery(kind))));
		expect(keys.size).toBe(watchedKinds().length);
	});
});
