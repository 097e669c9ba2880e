/** Label selector matching, as the API server does it. */
import type {LabelSelector} from './objects.ts';

/** A Service-style selector (plain map). An empty or missing selector selects nothing, as for Services. */
export function mapSelects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
	if (!selector) return false;
	// A loop over the keys, not Object.entries: discovery asks this of every Service of a namespace for every version
	// of every model there (at 600 Deployments, ~70,000 times per recomputation): ~10 times faster once warm.
	let any = false;
	for (const key in selector) {
		if (!Object.hasOwn(selector, key)) continue;
		any = true;
		if (labels?.[key] !== selector[key]) return false;
	}

	return any;
}

/** A Deployment-style selector. An empty selector selects everything, as the API defines. */
export function labelSelectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
	if (!selector) return false;
	const own = labels ?? {};
	for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
		if (own[key] !== value) return false;
	}

	for (const requirement of selector.matchExpressions ?? []) {
		const key = requirement.key ?? '';
		const values = requirement.values ?? [];
		const has = Object.hasOwn(own, key);
		switch (requirement.operator) {
			case 'In': {
				if (!has || !values.includes(own[key]!)) return false;
				break;
			}

			case 'NotIn': {
				if (has && values.includes(own[key]!)) return false;
				break;
			}

			case 'Exists': {
				if (!has) return false;
				break;
			}

			case 'DoesNotExist': {
				if (has) return false;
				break;
			}

			default: {
				return false;
			}
		}
	}

	return true;
}

/** `a=b,c=d` for the API's labelSelector query parameter. */
export function selectorToQuery(selector: LabelSelector | undefined): string {
	const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
	for (const requirement of selector?.matchExpressions ?? []) {
		const values = (requirement.values ?? []).join(',');
		switch (requirement.operator) {
			case 'In': {
				parts.push(`${requirement.key} in (${values})`);
				break;
			}

			case 'NotIn': {
				parts.push(`${requirement.key} notin (${values})`);
				break;
			}

			case 'Exists': {
				parts.push(`${requirement.key}`);
				break;
			}

			case 'DoesNotExist': {
				parts.push(`!${requirement.key}`);
				break;
			}

			default:
		}
	}

	return parts.join(',');
}
