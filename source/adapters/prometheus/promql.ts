/**
 * PromQL text building: escaping label values into regex alternations and filling query templates. Pure.
 */

/** Escapes RE2 metacharacters so a label value matches only itself. */
export function escapeRegex(value: string): string {
	return value.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&');
}

/** Escapes text for a PromQL double-quoted string literal. */
export function escapeString(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * A regex matching exactly these values, ready to sit between the quotes of `label=~"…"`.
 * Values are de-duplicated and sorted so the same set always gives the same query text.
 */
export function alternation(values: Iterable<string>): string {
	const unique = [...new Set(values)].sort();
	return escapeString(unique.map(escapeRegex).join('|'));
}

/** Formats a duration for PromQL (`90s`); whole seconds, at least 1. */
export function duration(seconds: number): string {
	return `${Math.max(1, Math.round(seconds))}s`;
}

export interface TemplateValues {
	/** Label matchers for the versions, without braces. */
	selector: string;
	/** Range of rate() etc., e.g. `60s`. */
	window: string;
	/** Regex alternations (already escaped for a string literal). */
	namespaces: string;
	models: string;
	versions: string;
	/** An expression with labels namespace, pod, model, version (value 1) for joining pod-level series. */
	pods: string;
}

export const TEMPLATE_PLACEHOLDERS: ReadonlyArray<keyof TemplateValues> = [
	'selector',
	'window',
	'namespaces',
	'models',
	'versions',
	'pods',
];

/**
 * Replaces `{name}` placeholders. Placeholders are filled in one pass, so a value containing `{window}` is left as it is.
 * PromQL's own braces (`metric{label="x"}`) are untouched because only the known names are replaced.
 */
export function fillTemplate(template: string, values: Partial<TemplateValues>): string {
	return template.replace(/\{(selector|window|namespaces|models|versions|pods)\}/g, (whole, name: keyof TemplateValues) => {
		const value = values[name];
		return value === undefined ? whole : value;
	});
}

/** Placeholders a template uses that are not known; used to reject broken custom profiles early. */
export function unknownPlaceholders(template: string): string[] {
	const found = new Set<string>();
	for (const match of template.matchAll(/\{([a-zA-Z]+)\}/g)) {
		const name = match[1]!;
		if (!TEMPLATE_PLACEHOLDERS.includes(name as keyof TemplateValues)) found.add(name);
	}
	return [...found];
}
