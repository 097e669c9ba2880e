/**
 * Several kubeconfig contexts shown at once: `--context prod-us,prod-eu` or the settings' `showContexts` list. Names
 * are checked here (outside input), against the kubeconfig by the caller.
 */

/** The contexts a `--context` value names: one name, or several separated by commas. */
export function parseContextList(text: string): {contexts: string[]} | {error: string} {
	const names = text.split(',').map((name) => name.trim());
	if (names.some((name) => name === '')) {
		return {
			error: `--context takes a context name, or several separated by commas like --context prod-us,prod-eu, with no empty name (got "${text}").`,
		};
	}

	return checkedList(names, '--context');
}

/** The settings' list, as read from the file: the same rules as the flag. */
export function checkedList(names: readonly string[], where: string): {contexts: string[]} | {error: string} {
	const seen = new Set<string>();
	for (const name of names) {
		if (seen.has(name)) return {error: `${where} names the context ${name} twice: list each context once.`};
		seen.add(name);
	}

	return {contexts: [...names]};
}

/**
 * Which contexts the console shows: the flag's (a name the kubeconfig has whole, commas and all, is one context), else
 * the settings' list when no --context was given; two or more are shown merged, one is the usual console on that context
 * (`context`), none (undefined) the usual console on the context in force.
 * Contexts the kubeconfig does not have are an error that lists the ones it has.
 */
export function chooseContexts(options: {
	flag: string | undefined;
	settings: readonly string[] | undefined;
	known: readonly string[];
	settingsPath?: string;
}): {contexts: string[] | undefined; context?: string} | {error: string} {
	const {flag, known} = options;
	let chosen: string[];
	let where: string;
	if (flag !== undefined) {
		if (known.includes(flag) || !flag.includes(',')) return {contexts: undefined};
		const parsed = parseContextList(flag);
		if ('error' in parsed) return parsed;
		chosen = parsed.contexts;
		where = '--context';
	} else {
		if (!options.settings || options.settings.length === 0) return {contexts: undefined};
		where = `showContexts${options.settingsPath ? ` in ${options.settingsPath}` : ''}`;
		const checked = checkedList(options.settings, where);
		if ('error' in checked) return checked;
		chosen = checked.contexts;
	}

	const missing = chosen.filter((name) => !known.includes(name));
	if (missing.length > 0) {
		return {
			error: `${where} names ${missing.length === 1 ? 'a context' : 'contexts'} the kubeconfig does not have: ${missing.join(', ')} (contexts: ${known.join(', ') || 'none'}). Fix the list.`,
		};
	}

	// One context listed is the usual console on that context.
	return chosen.length > 1 ? {contexts: chosen} : {contexts: undefined, context: chosen[0]!};
}
