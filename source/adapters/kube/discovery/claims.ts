/**
 * Discovery runs in order (explicit labels first, then controllers, then routers and workload names), and an object
 * claimed by an earlier step is left alone by later ones: a Deployment behind a Flagger Canary is not also shown as a
 * model of its own, a router owned by Argo Rollouts is not discovered again as an unlabelled router.
 */
import type {KubeObject} from '../objects.ts';
import {namespaceOf} from './snapshot.ts';
import type {ModelAnalysis} from './traffic.ts';

export class Claims {
	private readonly claimed = new Set<string>();

	/** `kind` as the API names it: `Deployment`, `HTTPRoute`, `VirtualService`, `Service`, `Rollout`, … */
	claim(kind: string, namespace: string, name: string): void {
		this.claimed.add(`${kind}/${namespace}/${name}`);
	}

	claimObject(kind: string, object: KubeObject): void {
		this.claim(kind, namespaceOf(object), object.metadata?.name ?? '');
	}

	has(kind: string, namespace: string, name: string): boolean {
		return this.claimed.has(`${kind}/${namespace}/${name}`);
	}

	hasObject(kind: string, object: KubeObject): boolean {
		return this.has(kind, namespaceOf(object), object.metadata?.name ?? '');
	}
}

/**
 * Adds a model unless one of that name is already in its namespace (the earlier step wins: it is the more explicit),
 * in which case the earlier model says what was not shown and how to fix it.
 */
export function addUnlessNameTaken(analyses: ModelAnalysis[], analysis: ModelAnalysis, source: string): boolean {
	const {namespace, name} = analysis.model;
	const clash = analyses.find((existing) => existing.model.namespace === namespace && existing.model.name === name);
	if (clash) {
		clash.model.warnings = [
			...(clash.model.warnings ?? []),
			`${source} has the same name as this model and is not shown; rename one of them`,
		];
		return false;
	}

	analyses.push(analysis);
	return true;
}
