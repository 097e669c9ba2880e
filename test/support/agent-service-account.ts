/**
 * The agent's identity as deployed: deploy/base's ServiceAccount and its RBAC applied as written, and a kubeconfig
 * holding a token the API server issues for that ServiceAccount (what the pod's projected token would be). An agent
 * started with it can do what the shipped RBAC allows, nothing more.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {parseAllDocuments} from 'yaml';
import type {Cluster} from '../../harness/cluster.ts';
import type {TestApi} from '../fixtures/kube/api.ts';

/** Applies deploy/base's serviceaccount.yaml and rbac.yaml in NAMESPACE (which must exist); returns the kubeconfig's path. */
export async function agentServiceAccountKubeconfig(cluster: Cluster, api: TestApi, agentNamespace: string): Promise<string> {
	const post = (collection: string, body: unknown) => api.http.request('POST', collection, {body});
	for (const file of ['serviceaccount.yaml', 'rbac.yaml']) {
		for (const document of parseAllDocuments(readFileSync(path.resolve('deploy/base', file), 'utf8'))) {
			const object = document.toJS() as {kind: string; metadata: {namespace?: string}} | null;
			if (!object) continue;
			const collection = {
				ServiceAccount: `/api/v1/namespaces/${agentNamespace}/serviceaccounts`,
				ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
				ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
				Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${agentNamespace}/roles`,
				RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${agentNamespace}/rolebindings`,
			}[object.kind];
			if (!collection) throw new Error(`deploy/base/${file}: no collection for ${object.kind} in this test`);
			await post(collection, object);
		}
	}

	const issued = (await api.http.request('POST', `/api/v1/namespaces/${agentNamespace}/serviceaccounts/modeldeck-agent/token`, {
		body: {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {expirationSeconds: 3600}},
	})) as {status?: {token?: string}};
	const token = issued.status?.token;
	if (!token) throw new Error('the API server issued no token for the modeldeck-agent ServiceAccount');
	const file = path.join(mkdtempSync(path.join(tmpdir(), 'modeldeck-agent-sa-')), 'kubeconfig');
	writeFileSync(
		file,
		JSON.stringify({
			apiVersion: 'v1',
			kind: 'Config',
			clusters: [{name: 'local', cluster: {server: cluster.server, 'certificate-authority': cluster.caFile}}],
			users: [{name: 'modeldeck-agent', user: {token}}],
			contexts: [{name: 'modeldeck-agent', context: {cluster: 'local', user: 'modeldeck-agent'}}],
			'current-context': 'modeldeck-agent',
		}),
	);
	return file;
}
