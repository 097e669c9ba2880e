/** Flags and arguments of `modeldeck status|weight|promote|rollback`. Pure: bad input becomes a usage message. */
import {parseArgs} from 'node:util';
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
	help: boolean;
	/** How long to wait for the cluster's first answer. Default 15 s. */
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
	rollback: "Canary to 0%; a Deployment whose template changed gets its previous template back.",
};

export function usage(command: CommandName): string {
	const changes = command === 'status' ? '' : `  -y, --yes                 apply without asking (required without a terminal)
      --read-only           refuse to change anything
      --canary VERSION      the canary to act on, when a model has several
      --force               go ahead though a version gaining traffic is flagged critical or judged fail
`;
	return `Usage: ${synopsis[command]} [options]

${purpose[command]}
MODEL is a model name, or NAMESPACE/MODEL.

Options:
      --context NAME        kubeconfig context (default: the current context)
  -n, --namespace NAME      namespace, or "all" (default: the context's namespace)
  -A, --all-namespaces      every namespace
      --kubeconfig FILE     kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
${command === 'status' ? '      --json                print the modeldeck.status/v1 JSON document (docs/status-json.md)\n' : ''}${changes}      --demo                use the simulated fleet instead of a cluster
      --timeout SECONDS     wait this long for the cluster's first answer (default 15)
  -h, --help                show this help

Exit codes: 0 done, 1 refused or failed (with a message), 2 usage error.
`;
}

export function parseCommandArgs(command: CommandName, argv: string[]): {args: CommandArgs} | {usageError: string} {
	let parsed;
	try {
		parsed = parseArgs({
			args: argv,
			allowPositionals: true,
			strict: true,
			options: {
				context: {type: 'string'},
				namespace: {type: 'string', short: 'n'},
				'all-namespaces': {type: 'boolean', short: 'A'},
				kubeconfig: {type: 'string'},
				yes: {type: 'boolean', short: 'y'},
				force: {type: 'boolean'},
				'read-only': {type: 'boolean'},
				json: {type: 'boolean'},
				demo: {type: 'boolean'},
				timeout: {type: 'string'},
				canary: {type: 'string'},
				prometheus: {type: 'string'},
				help: {type: 'boolean', short: 'h'},
			},
		});
	} catch (error) {
		return {usageError: error instanceof Error ? error.message : String(error)};
	}

	const {values, positionals} = parsed;
	const args: CommandArgs = {
		command,
		yes: values.yes ?? false,
		force: values.force ?? false,
		readOnly: values['read-only'] ?? false,
		json: values.json ?? false,
		demo: values.demo ?? false,
		help: values.help ?? false,
		timeoutSeconds: 15,
	};
	if (args.help) return {args};
	if (values.context !== undefined) {
		if (!values.context) return {usageError: '--context needs a context name'};
		args.context = values.context;
	}

	if (values.kubeconfig !== undefined) {
		if (!values.kubeconfig) return {usageError: '--kubeconfig needs a file'};
		args.kubeconfig = values.kubeconfig;
	}

	if (values.namespace !== undefined && values['all-namespaces']) {
		return {usageError: 'pass either --namespace or --all-namespaces, not both'};
	}

	if (values.namespace !== undefined) {
		if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(values.namespace)) {
			return {usageError: `"${values.namespace}" is not a namespace name (lower-case letters, digits and "-"), nor "all"`};
		}

		args.namespace = values.namespace;
	}

	if (values['all-namespaces']) args.namespace = 'all';
	if (values.prometheus !== undefined) {
		if (!/^https?:\/\/\S+$/.test(values.prometheus)) {
			return {usageError: `--prometheus takes an http(s) URL like http://localhost:9090 (got "${values.prometheus}")`};
		}

		args.prometheus = values.prometheus;
	}
	if (values.timeout !== undefined) {
		const seconds = Number(values.timeout);
		if (!Number.isFinite(seconds) || seconds <= 0) return {usageError: `--timeout ${values.timeout}: use a number of seconds above 0`};
		args.timeoutSeconds = seconds;
	}

	if (values.canary !== undefined) {
		if (command === 'status') return {usageError: '--canary is for weight, promote and rollback'};
		if (!values.canary) return {usageError: '--canary needs a version name'};
		args.canary = values.canary;
	}

	if (args.json && command !== 'status') return {usageError: '--json is for status only'};
	const expected = command === 'weight' ? 2 : command === 'status' ? 1 : 1;
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
		const weight = parseWeight(percent);
		if ('error' in weight) return {usageError: weight.error};
		args.weight = weight.weight;
	}

	return {args};
}
