/**
 * The one keymap registry. The footer hints, the `?` help overlay, the command palette and the README key table
 * are all generated from it. Read-only mode takes away every command marked dangerous, and says so when one is asked for.
 */
import type {AppState} from '../state/state.ts';
import {definitions} from './commands.ts';
import {available, Command, type CommandDefinition, type CommandId, type CommandSpec, type Scope} from './spec.ts';

export {available, Command, type CommandId, type CommandSpec, type Scope};

/** Every command in registry order (the order of the help overlay and the README), with its handler. */
export const commandDefinitions: ReadonlyArray<CommandDefinition & {id: CommandId}> = (
	Object.entries(definitions) as Array<[CommandId, CommandDefinition]>
).map(([id, definition]) => ({id, ...definition}));

/** The specs alone: what people are shown. */
export const commands: readonly CommandSpec[] = commandDefinitions.map(({run: _run, ...spec}) => spec);

/** The handler of a command: every id has one, the compiler checks it in commands.ts. */
export function handlerOf(id: CommandId): CommandDefinition['run'] {
	return (definitions as Record<CommandId, CommandDefinition>)[id].run;
}

export interface Keymap {
	commands: CommandSpec[];
	/** Key name → commands bound to it, in registry order. */
	byKey: Map<string, CommandSpec[]>;
}

/** Problems in key overrides from settings, said for people. */
export class KeymapError extends Error {
	override name = 'KeymapError';
}

/**
 * Build the effective keymap: defaults, overridden per command id from settings. Dangerous commands stay bound in
 * read-only mode (which can change with the context): pressed, they say why they do nothing.
 */
export function buildKeymap(options: {overrides?: Record<string, string[]>} = {}): Keymap {
	const known = new Set<string>(commands.map((command) => command.id));
	for (const id of Object.keys(options.overrides ?? {})) {
		if (!known.has(id)) {
			throw new KeymapError(`Unknown command "${id}" in key settings. Known commands: ${[...known].join(', ')}`);
		}
	}

	const effective = commands.map((command) => {
		const keys = options.overrides?.[command.id];
		return keys ? {...command, keys} : command;
	});
	const byKey = new Map<string, CommandSpec[]>();
	for (const command of effective) {
		for (const key of command.keys) {
			byKey.set(key, [...(byKey.get(key) ?? []), command]);
		}
	}

	return {commands: effective, byKey};
}

/** Does the command apply on the current screen? */
export function inScope(command: CommandSpec, state: AppState): boolean {
	switch (command.scope) {
		case 'global': {
			return true;
		}

		case 'target': {
			return state.view.screen === 'fleet' || state.view.screen === 'model';
		}

		case 'list': {
			return state.view.screen === 'fleet' || state.view.screen === 'log';
		}

		case 'dialog': {
			return state.overlay !== undefined;
		}

		default: {
			return command.scope === state.view.screen;
		}
	}
}

/**
 * The command a key triggers on the current screen, if any — a dangerous one too in read-only mode, so that the key
 * can say why it does nothing.
 */
export function commandForKey(keymap: Keymap, key: string, state: AppState): CommandSpec | undefined {
	return keymap.byKey.get(key)?.find((command) => inScope(command, state));
}

/** A command's name in a sentence: `promote`, `roll back`, `canary weight up by a step`. */
export function commandName(command: CommandSpec): string {
	const name = command.description.split(':')[0]!;
	return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Why read-only mode takes the command away, or undefined when it does not. */
export function readOnlyReason(command: CommandSpec, state: AppState): string | undefined {
	if (available(command, state)) return undefined;
	return `read-only (${state.readOnlyReason ?? 'settings'}): ${commandName(command)} is not available`;
}
