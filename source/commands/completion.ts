/**
 * What shell completion knows, made from the tables the help is made from: the subcommands (subcommandTable), the
 * flags of the console and of status/weight/promote/rollback (flagTable), and the flags of the agent, the model server
 * and rollout as their usage texts list them. Pure: completion-scripts.ts turns it into bash, zsh and fish, and
 * complete.ts answers the scripts' questions that need the outside world (kubeconfig contexts, model names).
 */
import {flagTable, subcommandTable, type FlagSpec} from '../cli-flags/table.ts';

/** Where a flag's value comes from. */
export type ValueKind =
	| {kind: 'choices'; values: readonly string[]}
	/** The kubeconfig's contexts (or the demo's, with --demo): `modeldeck __complete contexts`. */
	| {kind: 'contexts'}
	| {kind: 'file'}
	/** Anything: nothing to offer. */
	| {kind: 'free'};

export interface CompletionFlag {
	name: string;
	short?: string;
	/** What it does, in one line (fish shows it). */
	description: string;
	/** Undefined for a switch. */
	value?: ValueKind;
}

export interface CompletionCommand {
	name: string;
	summary: string;
	flags: readonly CompletionFlag[];
	/** The first argument is a model: `modeldeck __complete models`. */
	takesModel: boolean;
	/** The first argument's fixed words. */
	words: readonly string[];
}

export interface CompletionSpec {
	program: string;
	consoleFlags: readonly CompletionFlag[];
	commands: readonly CompletionCommand[];
}

export const completionShells = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof completionShells)[number];

/** What the spec is made from besides the tables: the demo's scenarios and the usage texts of agent and model-server. */
export interface CompletionInputs {
	scenarios: readonly string[];
	usages: Readonly<Record<string, string>>;
}

function valueKind(flag: {name: string; value?: string; choices?: readonly string[]}, scenarios: readonly string[]): ValueKind | undefined {
	if (!flag.value) return undefined;
	if (flag.choices) return {kind: 'choices', values: flag.choices};
	if (flag.name === 'scenario') return {kind: 'choices', values: scenarios};
	if (flag.name === 'context') return {kind: 'contexts'};
	if (/^(PATH|FILE)$/.test(flag.value)) return {kind: 'file'};
	return {kind: 'free'};
}

function fromTable(flag: FlagSpec, scenarios: readonly string[]): CompletionFlag {
	const value = valueKind(flag, scenarios);
	return {
		name: flag.name,
		...(flag.short ? {short: flag.short} : {}),
		description: flag.help.join(' ').replace(/\s+/g, ' '),
		...(value ? {value} : {}),
	};
}

/**
 * The flags a usage text lists, one per line that starts (after indentation) with `--name`, `-x, --name`, either
 * followed by a placeholder in capitals when it takes a value: the format of `modeldeck agent --help`.
 */
export function usageFlags(usage: string, scenarios: readonly string[] = []): CompletionFlag[] {
	const flags: CompletionFlag[] = [];
	for (const match of usage.matchAll(/^ {1,8}(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: ([A-Z][A-Z0-9_:./-]*))?(?: +(.*))?$/gm)) {
		const [, short, name, placeholder, description = ''] = match;
		if (flags.some((flag) => flag.name === name)) continue;
		const value = valueKind({name: name!, ...(placeholder ? {value: placeholder} : {})}, scenarios);
		flags.push({name: name!, ...(short ? {short} : {}), description: description.trim(), ...(value ? {value} : {})});
	}

	return flags;
}

export function completionSpec(inputs: CompletionInputs): CompletionSpec {
	const consoleFlags = flagTable.filter((flag) => flag.console).map((flag) => fromTable(flag, inputs.scenarios));
	const commands = subcommandTable.map((subcommand): CompletionCommand => {
		const tableFlags = flagTable.filter((flag) => flag.commands?.includes(subcommand.name as never));
		const usage = inputs.usages[subcommand.name];
		const flags =
			tableFlags.length > 0
				? tableFlags.map((flag) => fromTable(flag, inputs.scenarios))
				: usage
					? usageFlags(usage, inputs.scenarios)
					: [];
		return {
			name: subcommand.name,
			summary: subcommand.summary,
			flags,
			takesModel: subcommand.takesModel ?? false,
			words: subcommand.words ?? [],
		};
	});
	return {program: 'modeldeck', consoleFlags, commands};
}

/**
 * The flags of the words typed so far that say where models and contexts are (`modeldeck __complete models -- WORDS`):
 * read leniently, since the line is half typed — anything else is passed over, a flag missing its value is ignored.
 */
export interface TypedContext {
	demo: boolean;
	scenario?: string;
	context?: string;
	kubeconfig?: string;
	namespace?: string;
	allNamespaces: boolean;
}

export function typedContext(words: readonly string[]): TypedContext {
	const typed: TypedContext = {demo: false, allNamespaces: false};
	const valued: Record<string, 'scenario' | 'context' | 'kubeconfig' | 'namespace'> = {
		'--scenario': 'scenario',
		'--context': 'context',
		'--kubeconfig': 'kubeconfig',
		'--namespace': 'namespace',
		'-n': 'namespace',
	};
	for (let index = 0; index < words.length; index++) {
		const word = words[index]!;
		if (word === '--') break;
		if (word === '--demo') typed.demo = true;
		else if (word === '-A' || word === '--all-namespaces') typed.allNamespaces = true;
		const equals = word.startsWith('--') ? word.indexOf('=') : -1;
		const key = valued[equals === -1 ? word : word.slice(0, equals)];
		if (!key) continue;
		const value = equals === -1 ? words[index + 1] : word.slice(equals + 1);
		if (equals === -1) index++;
		// A value must be a word of its own, not the next flag nor nothing.
		if (value !== undefined && value !== '' && !value.startsWith('-')) typed[key] = value;
	}

	return typed;
}

/** `status`'s arguments that read the models the typed line points at, as JSON, giving up after TIMEOUT seconds. */
export function statusArguments(typed: TypedContext, timeoutSeconds: number): string[] {
	return [
		'--json',
		'--timeout',
		String(timeoutSeconds),
		...(typed.demo ? ['--demo'] : []),
		...(typed.demo && typed.scenario ? ['--scenario', typed.scenario] : []),
		...(typed.context ? ['--context', typed.context] : []),
		...(typed.kubeconfig ? ['--kubeconfig', typed.kubeconfig] : []),
		...(typed.allNamespaces ? ['--all-namespaces'] : typed.namespace ? ['--namespace', typed.namespace] : []),
	];
}

/** The model names of a modeldeck.status/v1 document, each once, in order; none when it is not one. */
export function modelNames(statusJson: string): string[] {
	let document: unknown;
	try {
		document = JSON.parse(statusJson);
	} catch {
		return [];
	}

	const models = (document as {models?: unknown} | null)?.models;
	if (!Array.isArray(models)) return [];
	const names = models
		.map((model: unknown) => (model as {name?: unknown} | null)?.name)
		.filter((name): name is string => typeof name === 'string' && /^[\w.-]+$/.test(name));
	return [...new Set(names)];
}
