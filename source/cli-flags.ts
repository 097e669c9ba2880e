/**
 * Validation of the console's command line, separate from meow so it is tested as plain TypeScript.
 * Every error says how to fix it.
 */

export const consoleFlagNames = [
	'demo',
	'scenario',
	'context',
	'namespace',
	'all-namespaces',
	'kubeconfig',
	'prometheus',
	'agent',
	'read-only',
	'refresh',
	'no-color',
	'color',
	'colors',
	'version',
	'help',
] as const;

const shortFlags = new Set(['n', 'A', 'h', 'v']);

export function closest(name: string, candidates: readonly string[]): string | undefined {
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of candidates) {
		const distance = editDistance(name, candidate);
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}

	return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
	const previous = Array.from({length: b.length + 1}, (_, index) => index);
	for (let i = 1; i <= a.length; i++) {
		let diagonal = previous[0]!;
		previous[0] = i;
		for (let j = 1; j <= b.length; j++) {
			const above = previous[j]!;
			previous[j] = Math.min(previous[j]! + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
			diagonal = above;
		}
	}

	return previous[b.length]!;
}

/** Unknown flags, each with a suggestion. */
export function unknownFlags(argv: readonly string[], known: readonly string[] = consoleFlagNames): string[] {
	const errors: string[] = [];
	for (const argument of argv) {
		if (argument === '--') break;
		if (argument.startsWith('--')) {
			const name = argument.slice(2).split('=')[0]!;
			if (known.includes(name)) continue;
			const suggestion = closest(name, known);
			errors.push(`Unknown flag --${name}.${suggestion ? ` Did you mean --${suggestion}?` : ''} Run modeldeck --help for the list.`);
		} else if (/^-[a-zA-Z]/.test(argument)) {
			for (const letter of argument.slice(1)) {
				if (!shortFlags.has(letter)) errors.push(`Unknown flag -${letter}. Run modeldeck --help for the list.`);
			}
		}
	}

	return errors;
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
	colors: 'auto' | 'none' | '16' | 'full';
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
		color?: boolean;
		colors?: string;
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
		const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(flags.refresh.trim());
		const value = match ? Number(match[1]) * (match[2] === 'ms' ? 0.001 : match[2] === 'm' ? 60 : 1) : Number.NaN;
		if (!Number.isFinite(value) || value < 0.5 || value > 3600) {
			errors.push(`--refresh takes seconds between 0.5 and 3600, like --refresh 2 or --refresh 500ms (got "${flags.refresh}").`);
		} else {
			refreshSeconds = value;
		}
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
			colors: flags.color === false ? 'none' : ((flags.colors as ConsoleOptions['colors'] | undefined) ?? 'auto'),
		},
	};
}
