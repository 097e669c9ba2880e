/**
 * The command line of the console and of status/weight/promote/rollback: one table of flags, the parser, the help
 * made from the table, and the console's validation. meow reads the arguments; the table generates its flags. Every error
 * says how to fix it.
 */
import meow, {type AnyFlags} from 'meow';

/** Where a flag applies: the console, and which of the commands status, weight, promote, rollback. */
export type FlagCommand = 'status' | 'weight' | 'promote' | 'rollback';

export interface FlagSpec {
	name: string;
	short?: string;
	/** The value's placeholder (`NAME`); a flag without one is a switch. */
	value?: string;
	/** Help text, one string per line. */
	help: readonly string[];
	/** The console takes it. */
	console?: boolean;
	/** The commands that take it. */
	commands?: readonly FlagCommand[];
	/** The values it takes, when it is an enumeration. */
	choices?: readonly string[];
}

const everyCommand: readonly FlagCommand[] = ['status', 'weight', 'promote', 'rollback'];
const changes: readonly FlagCommand[] = ['weight', 'promote', 'rollback'];

/** Every flag of modeldeck: the one table the parser, `--help` and the commands' usage are made from. */
export const flagTable: readonly FlagSpec[] = [
	{name: 'demo', help: ['Simulated fleet (always labelled DEMO on screen)'], console: true, commands: everyCommand},
	{
		name: 'scenario',
		value: 'NAME',
		help: [
			'Demo script (with --demo): tour (default), latency-regression,',
			'error-burst, memory-leak, prediction-drift, healthy-canary, calm',
		],
		console: true,
		commands: everyCommand,
	},
	{
		name: 'at',
		value: 'DURATION',
		help: [
			'Demo (with --demo): the fleet as it is DURATION into the scenario,',
			'fast-forwarded on its own clock, e.g. --at 5m (0 to 60m)',
		],
		console: true,
		commands: everyCommand,
	},
	{
		name: 'context',
		value: 'NAME',
		help: [
			'Kubeconfig context (default: the current one); several, like',
			'prod-us,prod-eu, shown merged; with --demo, demo-prod',
			'(default) or demo-staging',
		],
		console: true,
		commands: everyCommand,
	},
	{
		name: 'namespace',
		short: 'n',
		value: 'NAME',
		help: ["Namespace (default: the context's, or all with -A)"],
		console: true,
		commands: everyCommand,
	},
	{name: 'all-namespaces', short: 'A', help: ['Every namespace'], console: true, commands: everyCommand},
	{
		name: 'kubeconfig',
		value: 'PATH',
		help: ['Kubeconfig file (default: $KUBECONFIG or ~/.kube/config)'],
		console: true,
		commands: everyCommand,
	},
	{name: 'prometheus', value: 'URL', help: ['Prometheus base URL, e.g. http://localhost:9090'], console: true, commands: ['status']},
	{
		name: 'agent',
		value: 'URL',
		help: [
			"The modeldeck agent's URL, e.g. a port-forward (default: found in the",
			"cluster); sends the kubeconfig user's token, or MODELDECK_TOKEN",
		],
		console: true,
	},
	{name: 'json', help: ['status: print the modeldeck.status/v1 JSON document (docs/status-json.md)'], commands: ['status']},
	{name: 'yes', short: 'y', help: ['Apply without asking (required without a terminal)'], commands: changes},
	{name: 'canary', value: 'VERSION', help: ['The canary to act on, when a model has several'], commands: changes},
	{
		name: 'force',
		help: ['Go ahead though a version gaining traffic is flagged critical or', 'judged fail (the danger gate)'],
		commands: ['weight', 'promote'],
	},
	{name: 'read-only', help: ['No action can change anything; dangerous keys are removed'], console: true, commands: everyCommand},
	{
		name: 'timeout',
		value: 'SECONDS',
		help: ['Give up after this many seconds in all (default 15); time spent', 'answering a confirmation does not count'],
		commands: everyCommand,
	},
	{name: 'refresh', value: 'SECONDS', help: ['Metric refresh interval (default 2)'], console: true},
	{name: 'no-color', help: ['No colours (also NO_COLOR=1)'], console: true},
	{name: 'color', help: ['Colours (the default)'], console: true},
	{name: 'colors', value: 'MODE', help: ['auto, full, 16 or none'], console: true, choices: ['auto', 'full', '16', 'none']},
	{name: 'version', short: 'v', help: ['Print the version'], console: true},
	{name: 'help', short: 'h', help: ['This help'], console: true, commands: everyCommand},
];

/** A subcommand: `modeldeck --help`, the dispatch in cli.tsx and the shell completion scripts are made from this table. */
export interface SubcommandSpec {
	name: string;
	/** Its line in `modeldeck --help`: the synopsis and what it does. */
	usage: string;
	summary: string;
	/** Its first argument is a model (completed from `status --json`). */
	takesModel?: boolean;
	/** The words its first argument can be, when they are fixed. */
	words?: readonly string[];
}

export const subcommandTable: readonly SubcommandSpec[] = [
	{name: 'status', usage: 'modeldeck status [--json]', summary: 'every model and version, for scripts', takesModel: true},
	{
		name: 'weight',
		usage: 'modeldeck weight MODEL PERCENT',
		summary: 'set the canary weight (a whole number from 0 to 100)',
		takesModel: true,
	},
	{name: 'promote', usage: 'modeldeck promote MODEL', summary: 'all traffic to the canary, which becomes stable', takesModel: true},
	{name: 'rollback', usage: 'modeldeck rollback MODEL', summary: 'canary to 0% (and its previous template back)', takesModel: true},
	{
		name: 'rollout',
		usage: 'modeldeck rollout MODEL --image IMAGE',
		summary: 'a progressive rollout of a new version (by the agent, else in the foreground)',
		takesModel: true,
	},
	{name: 'agent', usage: 'modeldeck agent [flags]', summary: 'the in-cluster agent'},
	{name: 'model-server', usage: 'modeldeck model-server [flags]', summary: 'a small OIP v2 model server for tests and demos'},
	{name: 'config', usage: 'modeldeck config path', summary: 'where the settings file lives', words: ['path']},
	{
		name: 'completion',
		usage: 'modeldeck completion bash|zsh|fish',
		summary: 'the shell completion script, e.g. source <(modeldeck completion bash)',
		words: ['bash', 'zsh', 'fish'],
	},
];

export const consoleFlags: readonly FlagSpec[] = flagTable.filter((flag) => flag.console);
export const consoleFlagNames: readonly string[] = consoleFlags.map((flag) => flag.name);

export function commandFlags(command: FlagCommand): FlagSpec[] {
	return flagTable.filter((flag) => flag.commands?.includes(command));
}

/** The flags' part of a help text: one entry per flag, its help aligned in a column. */
export function flagHelp(flags: readonly FlagSpec[], indent = '    '): string {
	// Long names line up whether or not a flag has a short one.
	const shortWidth = flags.some((flag) => flag.short) ? 4 : 0;
	const heads = flags.map(
		(flag) => `${flag.short ? `-${flag.short}, ` : ' '.repeat(shortWidth)}--${flag.name}${flag.value ? ` ${flag.value}` : ''}`,
	);
	const width = Math.max(...heads.map((head) => head.length)) + 2;
	return flags
		.map((flag, index) => flag.help.map((line, row) => `${indent}${(row === 0 ? heads[index]! : '').padEnd(width)}${line}`).join('\n'))
		.join('\n');
}

export interface ParsedFlags {
	/** Flag name → its value (`true` for a switch); the last one given wins. */
	values: Map<string, string | true>;
	positionals: string[];
	/** modeldeck's version, from the package.json meow found. */
	version?: string;
}

/** The meow flags of FLAGS, keyed the way meow names them (camelCase). */
function meowFlags(flags: readonly FlagSpec[]): AnyFlags {
	const result: AnyFlags = {};
	for (const flag of flags) {
		// yargs-parser (under meow) reads --no-color as color=false itself; a flag of its own would never be set.
		if (flag.name.startsWith('no-') && flags.some((other) => other.name === flag.name.slice(3))) continue;
		result[camelCase(flag.name)] = flag.value
			? // Repeated value flags are collected so the last one wins, as every modeldeck flag always did.
				{
					type: 'string',
					isMultiple: true,
					...(flag.short ? {shortFlag: flag.short} : {}),
					...(flag.choices ? {choices: [...flag.choices]} : {}),
				}
			: {type: 'boolean', ...(flag.short ? {shortFlag: flag.short} : {})};
	}

	return result;
}

/** Set by the single executable's build (scripts/sea.mjs), which has no package.json beside it for meow to read. */
declare const MODELDECK_PACKAGE: Record<string, unknown> | undefined;
let manifest: Record<string, unknown> | undefined = typeof MODELDECK_PACKAGE === 'undefined' ? undefined : MODELDECK_PACKAGE;

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * Parse ARGV against FLAGS with meow. A flag that takes a value takes the next argument (or `--flag=value`), and refuses
 * to run without one; the next argument does not count as a value when it is itself a flag. `-5` is an argument, not a
 * flag (a negative number, which the command then explains). `--` ends the flags.
 *
 * meow exits the process on an unknown flag and yargs-parser reads `-5a` as the flags 5 and a, `--context --demo` as an
 * empty context and `--demo=yes` as false; so a check before meow names unknown flags (with a suggestion), values that
 * are missing and switches given a value, and hands meow the flags with each value attached (`--name=value`) and the
 * arguments after `--`, where yargs-parser takes every one as it is.
 */
export function parseFlags(
	argv: readonly string[],
	flags: readonly FlagSpec[],
	helpHint = 'Run modeldeck --help for the list.',
): ParsedFlags | {errors: string[]} {
	const errors: string[] = [];
	const forMeow: string[] = [];
	const positionals: string[] = [];
	const byName = new Map(flags.map((flag) => [flag.name, flag]));
	const byShort = new Map(flags.filter((flag) => flag.short).map((flag) => [flag.short!, flag]));
	const isFlag = (argument: string | undefined) =>
		argument !== undefined && argument.startsWith('-') && argument !== '-' && !/^-\d/.test(argument);
	const needsValue = (flag: FlagSpec, shown: string) =>
		`${shown} needs a value: ${shown} ${flag.value}${shown.startsWith('--') ? ` (a value that starts with "-" is written ${shown}=-…)` : ''}.`;
	/** The value of FLAG written as SHOWN: attached, or the next argument unless that is a flag. */
	const takeValue = (flag: FlagSpec, shown: string, index: number, attached: string | undefined): number => {
		const value = attached ?? (isFlag(argv[index + 1]) ? undefined : argv[index + 1]);
		if (value === undefined || value.trim() === '') errors.push(needsValue(flag, shown));
		else forMeow.push(`--${flag.name}=${value}`);
		return attached === undefined && value !== undefined ? index + 1 : index;
	};

	for (let index = 0; index < argv.length; index++) {
		const argument = argv[index]!;
		if (argument === '--') {
			positionals.push(...argv.slice(index + 1));
			break;
		}

		if (!isFlag(argument)) {
			positionals.push(argument);
			continue;
		}

		if (argument.startsWith('--')) {
			const equals = argument.indexOf('=');
			const name = argument.slice(2, equals === -1 ? undefined : equals);
			const flag = byName.get(name);
			if (!flag) {
				const suggestion = closest(name, [...byName.keys()]);
				errors.push(`Unknown flag --${name}.${suggestion ? ` Did you mean --${suggestion}?` : ''} ${helpHint}`);
			} else if (!flag.value) {
				if (equals === -1) forMeow.push(argument);
				else errors.push(`--${name} takes no value (got "${argument}").`);
			} else {
				index = takeValue(flag, `--${name}`, index, equals === -1 ? undefined : argument.slice(equals + 1));
			}

			continue;
		}

		// Short flags: switches may be grouped (-yA); one that takes a value ends the group (-nteam-a or -n team-a).
		const letters = argument.slice(1);
		for (let position = 0; position < letters.length; position++) {
			const letter = letters[position]!;
			const flag = byShort.get(letter);
			if (!flag) {
				errors.push(`Unknown flag -${letter}. ${helpHint}`);
				break;
			}

			if (!flag.value) {
				forMeow.push(`-${letter}`);
				continue;
			}

			const attached = letters.slice(position + 1).replace(/^=/, '');
			index = takeValue(flag, `-${letter}`, index, attached === '' ? undefined : attached);
			break;
		}
	}

	if (errors.length > 0) return {errors};
	let parsed;
	try {
		parsed = meow({
			importMeta: import.meta,
			// package.json is looked up once, not on every parse.
			...(manifest ? {pkg: manifest} : {}),
			argv: [...forMeow, '--', ...positionals],
			flags: meowFlags(flags),
			allowUnknownFlags: false,
			// Help and version are modeldeck's: the help is made from the table, and both are printed by the caller.
			autoHelp: false,
			autoVersion: false,
			// A switch not given is absent, not false: "given" is what the callers ask.
			booleanDefault: undefined,
		});
	} catch (error) {
		// meow's own refusals (a value outside a flag's choices) already say what is allowed.
		return {errors: [error instanceof Error ? error.message.replaceAll('`', '') : String(error)]};
	}

	// meow normalises the package (URLs and all) on every call it is given one; only what it uses is kept.
	manifest ??= {name: parsed.pkg.name, version: parsed.pkg.version, bin: parsed.pkg.bin};
	const values = new Map<string, string | true>();
	for (const flag of flags) {
		const value: unknown = parsed.flags[camelCase(flag.name)];
		if (Array.isArray(value) && value.length > 0) values.set(flag.name, String(value.at(-1)));
		else if (value === true) values.set(flag.name, true);
	}

	// --no-color is the negated --color to meow; the table keeps it as a flag of its own.
	if (byName.has('no-color') && parsed.flags['color'] === false) values.set('no-color', true);
	return {values, positionals: parsed.input, ...(typeof manifest['version'] === 'string' ? {version: manifest['version']} : {})};
}

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
		},
	};
}

/** `modeldeck --help`: the usage lines, then every flag from the table. */
export function consoleHelp(): string {
	const commandOnly = flagTable.filter((flag) => !flag.console);
	return `
  The terminal console for model deployments.

  Usage
    $ modeldeck [flags]                      console on the current kubeconfig context
    $ modeldeck --demo [--scenario NAME]     console on a simulated fleet
${subcommandTable.map((subcommand) => `    $ ${subcommand.usage.padEnd(37)}${subcommand.summary}`).join('\n')}

  Flags
${flagHelp(consoleFlags)}

  Flags of status, weight, promote and rollback (each also takes the flags above that it needs;
  modeldeck COMMAND --help lists them)
${flagHelp(commandOnly)}

  Keys: press ? in the console.
`;
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
	] as const) {
		const value = text(name);
		if (value !== undefined) result[key] = value;
	}

	return result;
}
