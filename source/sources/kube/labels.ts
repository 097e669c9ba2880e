/** Label selector matching, as the API server does it. */
import type {LabelSelector} from './objects.ts';

/** A Service-style selector (plain map). An empty or missing selector selects nothing, as for Services. */
export function mapSelects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
	if (!selector) return false;
	const entries = Object.entries(selector);
	if (entries.length === 0) return false;
	return entries.every(([key, value]) => labels?.[key] === value);
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
