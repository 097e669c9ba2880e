/** mapSelects, the Service-style selector match, answers as the Object.entries version it replaced, for any maps. */
import fc from 'fast-check';
import {expect, it} from 'vitest';
import {mapSelects} from '../../../source/adapters/kube/labels.ts';

function reference(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
	if (!selector) return false;
	const entries = Object.entries(selector);
	if (entries.length === 0) return false;
	return entries.every(([key, value]) => labels?.[key] === value);
}

it('answers as Object.entries-based matching does, for selectors and labels from the cluster (JSON)', () => {
	const key = fc.constantFrom('app', 'version', 'modeldeck.dev/model', '__proto__', 'constructor', 'toString', 'x');
	const value = fc.constantFrom('fraud', 'v1', 'v2', '');
	const map = fc.dictionary(key, value, {maxKeys: 4});
	// Through JSON, as objects come from the API server: `__proto__` is then an own key.
	const fromJson = (object: Record<string, string> | undefined) =>
		object === undefined ? undefined : (JSON.parse(JSON.stringify(object).replace('"x"', '"__proto__"')) as Record<string, string>);
	fc.assert(
		fc.property(fc.option(map, {nil: undefined}), fc.option(map, {nil: undefined}), fc.boolean(), (selector, labels, superset) => {
			const own = superset && selector && labels ? {...labels, ...selector} : labels;
			const [s, l] = [fromJson(selector), fromJson(own)];
			expect(mapSelects(s, l)).toBe(reference(s, l));
		}),
		{numRuns: 2000},
	);
});
