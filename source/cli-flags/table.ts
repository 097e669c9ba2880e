/**
 * The command line's tables: every flag of the console and of status/weight/promote/rollback, and every subcommand.
 * The parser (parse.ts), `--help` (help.ts), the commands' usage and the shell completion scripts are made from them.
 */

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
