/** Flags and arguments of `modeldeck status|weight|promote|rollback`. Pure: bad input becomes a usage message. */
import {parseDemoAt} from '../cli-flags/console-options.ts';
import {flagHelp, parseFlags} from '../flags/parse.ts';
import {commandFlags, flagTable} from '../cli-flags/table.ts';
import {parseWeight} from '../domain/weights.ts';

export type CommandName = 'status' | 'weight' | 'promote' | 'rollback';

export const commandNames: readonly CommandName[] = ['status', 'weight', 'promote', 'rollback'];

export interface CommandArgs {
	command: CommandName;
	/** kubeconfig context; default the kubeconfig's current context. */
	context?: string;
	/** Namespace, or `all`; default the context's namespace. */
	namespace?: string;
	kubeconfig?: string;
	/** Apply without asking. */
	yes: boolean;
	/** Go ahead though the change gives more traffic to a version flagged critical or judged fail. */
	force: boolean;
	/** Refuse every change. */
	readOnly: boolean;
	/** status only: print the modeldeck.status/v1 document. */
	json: boolean;
	/** Use the simulated fleet instead of a cluster. */
	demo: boolean;
	/** The demo's scenario (with --demo). */
	scenario?: string;
	/** --at: seconds into the demo's scenario (with --demo). */
	atSeconds?: number;
	help: boolean;
	/** The whole command's time limit (--timeout), not counting a confirmation's answer. Default 15 s. */
	timeoutSeconds: number;
	/** MODEL or NAMESPACE/MODEL (status: an optional filter). */
	model?: string;
	/** weight only. */
	weight?: number;
	/** Which canary, when a model has several. */
	canary?: string;
	/** status: Prometheus base URL for metrics, flags and the canary verdict. */
	prometheus?: string;
}

const synopsis: Record<CommandName, string> = {
	status: 'modeldeck status [MODEL] [--json]',
	weight: 'modeldeck weight MODEL PERCENT [--canary VERSION]',
	promote: 'modeldeck promote MODEL [--canary VERSION]',
	rollback: 'modeldeck rollback MODEL [--canary VERSION]',
};

const purpose: Record<CommandName, string> = {
	status: 'Every model and version with track, weight, readiness, metrics and flags.',
	weight: "Set the canary's share of traffic (0–100); the stable gets the rest.",
	promote: 'Send all traffic to the canary, which becomes stable (the old stable is scaled to zero unless kept).',
	rollback: 'Canary to 0%; a Deployment whose template changed gets its previous template back.',
};

export function usage(command: CommandName): string {
	return `Usage: ${synopsis[command]} [options]

${purpose[command]}
MODEL is a model name, or NAMESPACE/MODEL.${command === 'weight' ? ' PERCENT is a whole number from 0 to 100.' : ''}

Options:
${flagHelp(commandFlags(command), '  ')}

Exit codes: 0 done, 1 refused or failed (with a message), 2 usage error.
`;
}

export function parseCommandArgs(command: CommandName, argv: string[]): {args: CommandArgs} | {usageError: string} {
	// Parsed against every command's flags, so that one given to the wrong command is named as such.
	const parsed = parseFlags(
		argv,
		flagTable.filter((flag) => flag.commands),
		`Run modeldeck ${command} --help for the list.`,
	);
	if ('errors' in parsed) return {usageError: parsed.errors.join('\n')};
	const {positionals} = parsed;
	const text = (name: string) => {
		const value = parsed.values.get(name);
		return typeof value === 'string' ? value : undefined;
	};

	const own = new Set(commandFlags(command).map((flag) => flag.name));
	for (const name of parsed.values.keys()) {
		if (own.has(name)) continue;
		const takers = flagTable.find((flag) => flag.name === name)?.commands ?? [];
		return {usageError: `--${name} is for ${takers.join(', ').replace(/, ([^,]*)$/, ' and $1')} only`};
	}

	const args: CommandArgs = {
		command,
		yes: parsed.values.has('yes'),
		force: parsed.values.has('force'),
		readOnly: parsed.values.has('read-only'),
		json: parsed.values.has('json'),
		demo: parsed.values.has('demo'),
		help: parsed.values.has('help'),
		timeoutSeconds: 15,
	};
	if (args.help) return {args};
	const context = text('context');
	if (context !== undefined) args.context = context;
	const kubeconfig = text('kubeconfig');
	if (kubeconfig !== undefined) args.kubeconfig = kubeconfig;
	const scenario = text('scenario');
	if (scenario !== undefined) {
		if (!args.demo) return {usageError: '--scenario only applies to the demo: add --demo'};
		args.scenario = scenario;
	}

	const at = text('at');
	if (at !== undefined) {
		const parsedAt = parseDemoAt(at, args.demo);
		if ('error' in parsedAt) return {usageError: parsedAt.error.replace(/\.$/, '')};
		args.atSeconds = parsedAt.seconds;
	}

	const namespace = text('namespace');
	if (namespace !== undefined && parsed.values.has('all-namespaces')) {
		return {usageError: 'pass either --namespace or --all-namespaces, not both'};
	}

	if (namespace !== undefined) {
		if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) {
			return {usageError: `"${namespace}" is not a namespace name (lower-case letters, digits and "-"), nor "all"`};
		}

		args.namespace = namespace;
	}

	if (parsed.values.has('all-namespaces')) args.namespace = 'all';
	const prometheus = text('prometheus');
	if (prometheus !== undefined) {
		if (!/^https?:\/\/\S+$/.test(prometheus)) {
			return {usageError: `--prometheus takes an http(s) URL like http://localhost:9090 (got "${prometheus}")`};
		}

		args.prometheus = prometheus;
	}

	const timeout = text('timeout');
	if (timeout !== undefined) {
		const seconds = Number(timeout);
		if (!/^\s*\d*\.?\d+\s*$/.test(timeout) || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
			return {usageError: `--timeout ${timeout}: use a number of seconds above 0, like --timeout 30`};
		}

		args.timeoutSeconds = seconds;
	}

	const canary = text('canary');
	if (canary !== undefined) args.canary = canary;
	const expected = command === 'weight' ? 2 : 1;
	if (positionals.length > expected) return {usageError: `too many arguments: ${positionals.slice(expected).join(' ')}`};
	const [model, percent] = positionals;
	if (command !== 'status' && !model) return {usageError: 'name the model: MODEL or NAMESPACE/MODEL'};
	if (model !== undefined) {
		if (!/^([a-z0-9][-a-z0-9]*\/)?[a-z0-9][-.a-z0-9]*$/.test(model)) {
			return {usageError: `"${model}" is not a model name: use MODEL or NAMESPACE/MODEL`};
		}

		args.model = model;
	}

	if (command === 'weight') {
		if (percent === undefined) return {usageError: 'give the canary weight: a whole number from 0 to 100'};
		// The one weight parser of the dialog and the settings: the CLI accepts exactly what it accepts.
		const weight = parseWeight(percent);
		if ('error' in weight) return {usageError: weight.error};
		args.weight = weight.weight;
	}

	return {args};
}
