/**
 * The command line's tables: every flag of the console and of status/weight/promote/rollback, and every subcommand.
 * The parser (flags/parse.ts), `--help` (help.ts), the README's Usage and Flags sections (cli-docs.ts), the commands'
 * usage and the shell completion scripts are made from them.
 */
import type {FlagDef} from '../flags/parse.ts';

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
	{
		name: 'record',
		value: 'FILE',
		help: ['Record the session as an asciinema v2 file, e.g. --record demo.cast', '(play it with asciinema play demo.cast)'],
		console: true,
		doc: 'record the session as an asciinema v2 file (`asciinema play FILE` replays it)',
		default: 'off',
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
	{
		name: 'runbook',
		usage: 'modeldeck runbook run|play FILE',
		summary: 'a walkthrough or game day: run it headless, play it with narration (check validates it)',
		words: ['check', 'run', 'play'],
	},
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
