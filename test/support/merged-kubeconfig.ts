/** One kubeconfig with a context per local control plane, as an operator's kubeconfig has one per cluster. */
import {readFileSync, writeFileSync} from 'node:fs';
import {parse, stringify} from 'yaml';

type Json = Record<string, any>;

/**
 * Writes FILE with the admin context of each control plane's kubeconfig under the name given (its cluster and user
 * renamed alike, so that nothing collides); the first is the current context.
 */
export function mergeKubeconfigs(file: string, planes: Array<{context: string; kubeconfig: string}>): void {
	const merged: Json = {
		apiVersion: 'v1',
		kind: 'Config',
		clusters: [],
		users: [],
		contexts: [],
		'current-context': planes[0]!.context,
		preferences: {},
	};
	for (const {context, kubeconfig} of planes) {
		const config = parse(readFileSync(kubeconfig, 'utf8')) as Json;
		const admin = (config.contexts as Json[]).find((entry) => entry.name === 'admin')!;
		const cluster = (config.clusters as Json[]).find((entry) => entry.name === admin.context.cluster)!;
		const user = (config.users as Json[]).find((entry) => entry.name === admin.context.user)!;
		merged.clusters.push({...cluster, name: `${context}-cluster`});
		merged.users.push({...user, name: `${context}-admin`});
		merged.contexts.push({name: context, context: {cluster: `${context}-cluster`, user: `${context}-admin`, namespace: 'default'}});
	}

	writeFileSync(file, stringify(merged), {mode: 0o600});
}
