/**
 * The command line of the console and of status/weight/promote/rollback: one table of flags (parsed by flags/parse.ts),
 * the help made from the table, and the console's validation. Every error says how to fix it.
 */
import {flagHelp, type FlagDef} from './flags/parse.ts';

/** Where a flag applies: the console, and which of the commands status, weight, promote, rollback. */
export type FlagCommand = 'status' | 'weight' | 'promote' | 'rollback';

/** A flag of the console or its commands. */
export interface FlagSpec extends FlagDef {
	/** The console takes it. */
	console?: boolean;
	/** The commands that take it. */
	commands?: readonly FlagCommand[];
	/** The README's flag table: what it means (Markdown; default: the help lines) and its default. */
	doc?: string;
	default?: string;
}

const everyCommand: readonly FlagCommand[] = ['status', 'weight', 'promote', 'rollback'];
const changes: readonly FlagCommand[] = ['weight', 'promote', 'rollback'];

/** Every flag of modeldeck: the one table the parser, `--help` and the commands' usage are made from. */
export const flagTable: readonly FlagSpec[] = [
	{
		name: 'demo',
		help: ['Simulated fleet (always labelled DEMO on screen)'],
		console: true,
		commands: everyCommand,
		doc: 'simulated fleet, same interfaces as a real cluster',
		default: 'off',
	},
	{
		name: 'scenario',
		value: 'NAME',
		help: [
			'Demo script (with --demo): tour (default), latency-regression,',
			'error-burst, memory-leak, prediction-drift, healthy-canary, calm',
		],
		console: true,
		commands: everyCommand,
		doc: 'demo script: `tour` (a canary regresses a few seconds in; another is ready to promote), `latency-regression`, `error-burst`, `memory-leak`, `prediction-drift`, `healthy-canary`, `calm`',
		default: '`tour`',
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
		doc: "demo (with `--demo`): the fleet as it is DURATION into the scenario, fast-forwarded on the simulation's own clock (`90s`, `5m`; at most `60m`), e.g. `modeldeck status --json --demo --scenario memory-leak --at 5m` reads the verdict the incident leads to",
		default: '`0` (launch)',
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
		doc: 'kubeconfig context; several, comma-separated (`prod-us,prod-eu`), shown as one merged fleet with a CLUSTER column; with `--demo`, `demo-prod` or `demo-staging`',
		default: 'current context',
	},
	{
		name: 'namespace',
		short: 'n',
		value: 'NAME',
		help: ["Namespace (default: the context's, or all with -A)"],
		console: true,
		commands: everyCommand,
		doc: 'namespace',
		default: "the context's namespace",
	},
	{
		name: 'all-namespaces',
		short: 'A',
		help: ['Every namespace'],
		console: true,
		commands: everyCommand,
		doc: 'every namespace',
		default: 'off',
	},
	{
		name: 'kubeconfig',
		value: 'PATH',
		help: ['Kubeconfig file (default: $KUBECONFIG or ~/.kube/config)'],
		console: true,
		commands: everyCommand,
		doc: 'kubeconfig file',
		default: '`$KUBECONFIG` or `~/.kube/config`',
	},
	{
		name: 'prometheus',
		value: 'URL',
		help: ['Prometheus base URL, e.g. http://localhost:9090'],
		console: true,
		commands: ['status'],
		doc: 'Prometheus base URL',
		default: 'from settings, else one found in the cluster',
	},
	{
		name: 'agent',
		value: 'URL',
		help: [
			"The modeldeck agent's URL, e.g. a port-forward (default: found in the",
			"cluster); sends the kubeconfig user's token, or MODELDECK_TOKEN",
		],
		console: true,
		doc: "the modeldeck agent's URL (sends the kubeconfig user's token, or `MODELDECK_TOKEN`)",
		default: 'found in the cluster, through the API server',
	},
	{
		name: 'json',
		help: ['status: print the modeldeck.status/v1 JSON document (docs/status-json.md)'],
		commands: ['status'],
		doc: '`status`: the `modeldeck.status/v1` document ([docs/status-json.md](docs/status-json.md))',
		default: 'off',
	},
	{
		name: 'yes',
		short: 'y',
		help: ['Apply without asking (required without a terminal)'],
		commands: changes,
		doc: '`weight`, `promote`, `rollback`: apply without asking (required without a terminal)',
		default: 'off',
	},
	{
		name: 'canary',
		value: 'VERSION',
		help: ['The canary to act on, when a model has several'],
		commands: changes,
		doc: '`weight`, `promote`, `rollback`: the canary to act on, when a model has several',
		default: 'the only canary',
	},
	{
		name: 'force',
		help: ['Go ahead though a version gaining traffic is flagged critical or', 'judged fail (the danger gate)'],
		commands: ['weight', 'promote'],
		doc: '`weight`, `promote`: go ahead though a version gaining traffic is flagged critical or judged fail (the danger gate)',
		default: 'off',
	},
	{
		name: 'read-only',
		help: ['No action can change anything; dangerous keys are removed'],
		console: true,
		commands: everyCommand,
		doc: 'no action can change anything; dangerous keys are removed',
		default: 'off',
	},
	{
		name: 'timeout',
		value: 'SECONDS',
		help: ['Give up after this many seconds in all (default 15); time spent', 'answering a confirmation does not count'],
		commands: everyCommand,
		doc: '`status`, `weight`, `promote`, `rollback`: give up after this long in all (time spent answering a confirmation does not count)',
		default: '15',
	},
	{
		name: 'refresh',
		value: 'SECONDS',
		help: ['Metric refresh interval (default 2)'],
		console: true,
		doc: 'metrics refresh interval (`2`, `500ms`, `1m`)',
		default: '2',
	},
	{name: 'no-color', help: ['No colours (also NO_COLOR=1)'], console: true, doc: 'no colours (also `NO_COLOR=1`)', default: 'colours on'},
	{name: 'color', help: ['Colours (the default)'], console: true, doc: 'colours', default: 'on'},
	{
		name: 'colors',
		value: 'MODE',
		help: ['auto, full, 16 or none'],
		console: true,
		choices: ['auto', 'full', '16', 'none'],
		doc: '`auto`, `full`, `16` (basic ANSI only) or `none`',
		default: '`auto`',
	},
	{name: 'version', short: 'v', help: ['Print the version'], console: true, doc: 'print the version', default: ''},
	{
		name: 'help',
		short: 'h',
		help: ['This help'],
		console: true,
		commands: everyCommand,
		doc: "this help (`modeldeck COMMAND --help`: the command's)",
		default: '',
	},
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
