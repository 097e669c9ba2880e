/**
 * The contexts of a kubeconfig and the one in force, read with the YAML parser alone: the console names its context
 * in the first frame and refuses an unknown --context before the Kubernetes client (big) has loaded.
 * createKubeCluster applies the same rule when it loads.
 */
import {readFile} from 'node:fs/promises';
import {parse} from 'yaml';
import type {Context} from '../../domain/types.ts';

export interface KubeconfigContexts {
	/** Every context, in file order. */
	contexts: Context[];
	/** The context in force: --context, else current-context, else the only context; undefined when none is. */
	current: string | undefined;
}

/** Undefined when the file cannot be read or parsed (the Kubernetes source then reports why, once loaded). */
export async function readKubeconfigContexts(file: string, requested: string | undefined): Promise<KubeconfigContexts | undefined> {
	let config: unknown;
	try {
		config = parse(await readFile(file, 'utf8'));
	} catch {
		return undefined;
	}

	if (typeof config !== 'object' || config === null) return undefined;
	const {contexts: entries, 'current-context': currentContext} = config as {contexts?: unknown; 'current-context'?: unknown};
	const contexts: KubeconfigContexts['contexts'] = [];
	for (const entry of Array.isArray(entries) ? (entries as unknown[]) : []) {
		const {name, context} = (entry ?? {}) as {name?: unknown; context?: {cluster?: unknown; user?: unknown; namespace?: unknown}};
		if (typeof name !== 'string' || !name) continue;
		const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
		const [cluster, user, namespace] = [text(context?.cluster), text(context?.user), text(context?.namespace)];
		contexts.push({name, cluster: cluster ?? '', ...(user ? {user} : {}), ...(namespace ? {namespace} : {})});
	}

	const current =
		requested ??
		(typeof currentContext === 'string' && currentContext ? currentContext : contexts.length === 1 ? contexts[0]!.name : undefined);
	return {contexts, current};
}
