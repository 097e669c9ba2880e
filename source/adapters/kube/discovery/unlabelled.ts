/**
 * What clusters say about workloads without modeldeck's labels: the name and version labels of the Kubernetes
 * recommended labels (`app.kubernetes.io/name`, `app.kubernetes.io/version`) or of Istio's docs (`app`, `version`).
 */
import type {Deployment} from '../objects.ts';

export const nameLabels = ['app.kubernetes.io/name', 'app'] as const;
export const versionLabels = ['app.kubernetes.io/version', 'version'] as const;

/**
 * A Deployment a controller made and manages (a Knative Revision's, a Flagger primary, an operator's) is that
 * controller's business: never grouped into a model from its labels or a router's backends.
 */
export function controllerOwned(deployment: Deployment): boolean {
	const references = deployment.metadata?.ownerReferences;
	return Array.isArray(references) && references.some((reference) => reference?.controller === true);
}

/** The first of `keys` the object carries, with its value. */
export function firstLabel(labels: Record<string, string> | undefined, keys: readonly string[]): {key: string; value: string} | undefined {
	for (const key of keys) {
		const value = labels?.[key];
		if (typeof value === 'string' && value !== '') return {key, value};
	}

	return undefined;
}

/** Labels of the Deployment, then of its pod template (charts often label only one of them). */
export function workloadLabel(deployment: Deployment, keys: readonly string[]): {key: string; value: string} | undefined {
	return firstLabel(deployment.metadata?.labels, keys) ?? firstLabel(deployment.spec?.template?.metadata?.labels, keys);
}

/**
 * Version names for a group of Deployments: their version labels when every one has a distinct one, else each
 * Deployment's name (two Deployments with the same version label would otherwise be one version).
 */
export function versionNames(deployments: Deployment[]): (deployment: Deployment) => string {
	const labelled = deployments.map((deployment) => workloadLabel(deployment, versionLabels)?.value);
	const distinct = labelled.every((value) => value !== undefined) && new Set(labelled).size === labelled.length;
	const names = new Map(
		deployments.map((deployment, position) => [deployment, distinct ? labelled[position]! : (deployment.metadata?.name ?? '?')]),
	);
	return (deployment) => names.get(deployment) ?? deployment.metadata?.name ?? '?';
}
