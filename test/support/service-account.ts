/**
 * A user with exactly the permissions a test gives: a ServiceAccount, a Role with RULES and its RoleBinding in
 * NAMESPACE, a token for it (TokenRequest), and a kubeconfig file that signs in with that token. What a narrowly
 * authorised on-call engineer's kubeconfig looks like, on the harness's API server.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {TestApi} from '../fixtures/kube/api.ts';

export interface PolicyRule {
	apiGroups: string[];
	resources: string[];
	verbs: string[];
	resourceNames?: string[];
}

export interface ServiceAccountUserOptions {
	namespace: string;
	/** The ServiceAccount's name; also the kubeconfig's user and context. */
	name: string;
	rules: PolicyRule[];
	/** The API server's URL and CA file (the harness cluster's `server` and `caFile`). */
	server: string;
	caFile: string;
	/** The kubeconfig context's namespace, when it has one. */
	contextNamespace?: string;
}

/** Creates the account, its Role and RoleBinding, and returns the path of a kubeconfig that signs in as it. */
export async function serviceAccountUser(api: TestApi, options: ServiceAccountUserOptions): Promise<string> {
	const {namespace, name} = options;
	const post = (collection: string, body: unknown) => api.http.request('POST', collection, {body});
	const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
	await post(`/api/v1/namespaces/${namespace}/serviceaccounts`, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name}});
	await post(`${rbac}/roles`, {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: {name}, rules: options.rules});
	await post(`${rbac}/rolebindings`, {
		apiVersion: 'rbac.authorization.k8s.io/v1',
		kind: 'RoleBinding',
		metadata: {name},
		roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name},
		subjects: [{kind: 'ServiceAccount', name, namespace}],
	});
	const issued = (await post(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
		apiVersion: 'authentication.k8s.io/v1',
		kind: 'TokenRequest',
		spec: {expirationSeconds: 3600},
	})) as {status: {token: string}};
	const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), `modeldeck-${name}-`)), 'kubeconfig');
	const context = {cluster: 'local', user: name, ...(options.contextNamespace ? {namespace: options.contextNamespace} : {})};
	writeFileSync(
		kubeconfig,
		JSON.stringify({
			apiVersion: 'v1',
			kind: 'Config',
			clusters: [{name: 'local', cluster: {server: options.server, 'certificate-authority': options.caFile}}],
			users: [{name, user: {token: issued.status.token}}],
			contexts: [{name, context}],
			'current-context': name,
		}),
	);
	return kubeconfig;
}
