/** The console's options from its flags, each checked with a message that says how to fix it; and duration values. */

/**
 * A duration flag's value in seconds: a number with an optional unit (`500ms`, `2`, `2s`, `5m`); undefined when it is
 * not one. One parser for every duration flag, so they all accept the same spellings.
 */
export function parseDurationSeconds(text: string): number | undefined {
	const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
	const value = match ? Number(match[1]) * (match[2] === 'ms' ? 0.001 : match[2] === 'm' ? 60 : 1) : Number.NaN;
	return Number.isFinite(value) ? value : undefined;
}

/** The longest `--at`: fast-forwarding the demo simulates every 2 s tick up to it, at start-up. */
export const MAX_DEMO_AT_SECONDS = 3600;

/** `--at`'s value in seconds, or the message that says what is wrong with it. */
export function parseDemoAt(text: string, demo: boolean): {seconds: number} | {error: string} {
	const seconds = parseDurationSeconds(text);
	if (seconds === undefined || seconds > MAX_DEMO_AT_SECONDS) {
		return {error: `--at takes a duration from 0 to 60m into the demo's scenario, like --at 5m or --at 90s (got "${text}").`};
	}

	if (!demo) return {error: '--at only applies to the demo: add --demo (a real cluster is always shown as it is now).'};
	return {seconds};
}

export interface ConsoleOptions {
	demo: boolean;
	scenario: string | undefined;
	context: string | undefined;
	namespace: string | undefined;
	allNamespaces: boolean;
	kubeconfig: string | undefined;
	prometheus: string | undefined;
	agent: string | undefined;
	readOnly: boolean;
	refreshSeconds: number | undefined;
	/** --at: seconds into the demo's scenario. */
	atSeconds: number | undefined;
	colors: 'auto' | 'none' | '16' | 'full';
	/** --record: the asciinema file to record the session into. */
	record: string | undefined;
}

export function validateConsoleFlags(
	flags: {
		demo?: boolean;
		scenario?: string;
		context?: string;
		namespace?: string;
		allNamespaces?: boolean;
		kubeconfig?: string;
		prometheus?: string;
		agent?: string;
		readOnly?: boolean;
		refresh?: string;
		at?: string;
		color?: boolean;
		colors?: string;
		record?: string;
	},
	scenarios: readonly string[],
): {options: ConsoleOptions} | {errors: string[]} {
	const errors: string[] = [];
	if (flags.scenario !== undefined && !scenarios.includes(flags.scenario)) {
		errors.push(`--scenario must be one of: ${scenarios.join(', ')} (got "${flags.scenario}").`);
	}

	if (flags.scenario !== undefined && !flags.demo) errors.push('--scenario only applies to the demo: add --demo.');
	let refreshSeconds: number | undefined;
	if (flags.refresh !== undefined) {
		const value = parseDurationSeconds(flags.refresh) ?? Number.NaN;
		if (!Number.isFinite(value) || value < 0.5 || value > 3600) {
			errors.push(`--refresh takes seconds between 0.5 and 3600, like --refresh 2 or --refresh 500ms (got "${flags.refresh}").`);
		} else {
			refreshSeconds = value;
		}
	}

	let atSeconds: number | undefined;
	if (flags.at !== undefined) {
		const at = parseDemoAt(flags.at, flags.demo ?? false);
		if ('error' in at) errors.push(at.error);
		else atSeconds = at.seconds;
	}

	if (flags.prometheus !== undefined) {
		try {
			const url = new URL(flags.prometheus);
			if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
		} catch {
			errors.push(`--prometheus takes an http(s) URL like http://localhost:9090 (got "${flags.prometheus}").`);
		}
	}

	if (flags.agent !== undefined) {
		try {
			new URL(flags.agent);
		} catch {
			errors.push(`--agent takes a URL like http://localhost:8090 (got "${flags.agent}").`);
		}
	}

	const colorChoices = ['auto', 'none', '16', 'full'];
	if (flags.colors !== undefined && !colorChoices.includes(flags.colors)) {
		errors.push(`--colors must be one of: ${colorChoices.join(', ')} (got "${flags.colors}").`);
	}

	if (flags.namespace !== undefined && flags.allNamespaces) errors.push('Use either --namespace or --all-namespaces, not both.');
	if (errors.length > 0) return {errors};
	return {
		options: {
			demo: flags.demo ?? false,
			scenario: flags.scenario,
			context: flags.context,
			namespace: flags.namespace,
			allNamespaces: flags.allNamespaces ?? false,
			kubeconfig: flags.kubeconfig,
			prometheus: flags.prometheus,
			agent: flags.agent,
			readOnly: flags.readOnly ?? false,
			refreshSeconds,
			atSeconds,
			colors: flags.color === false ? 'none' : ((flags.colors as ConsoleOptions['colors'] | undefined) ?? 'auto'),
			record: flags.record,
		},
	};
}

/** The parsed values in the shape validateConsoleFlags takes. */
export function consoleFlagValues(values: ReadonlyMap<string, string | true>): Parameters<typeof validateConsoleFlags>[0] {
	const text = (name: string) => {
		const value = values.get(name);
		return typeof value === 'string' ? value : undefined;
	};

	const result: Parameters<typeof validateConsoleFlags>[0] = {
		demo: values.has('demo'),
		allNamespaces: values.has('all-namespaces'),
		readOnly: values.has('read-only'),
		color: !values.has('no-color'),
	};
	for (const [key, name] of [
		['scenario', 'scenario'],
		['context', 'context'],
		['namespace', 'namespace'],
		['kubeconfig', 'kubeconfig'],
		['prometheus', 'prometheus'],
		['agent', 'agent'],
		['refresh', 'refresh'],
		['at', 'at'],
		['colors', 'colors'],
		['record', 'record'],
	] as const) {
		const value = text(name);
		if (value !== undefined) result[key] = value;
	}

	return result;
}
