/**
 * The one keymap registry. The footer hints, the `?` help overlay, the command palette and the README key table
 * are all generated from it. Read-only mode removes every command marked dangerous.
 */
import type {AppState} from '../store/state.ts';
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
 * Build the effective keymap: defaults, overridden per command id from settings, with dangerous commands removed
 * in read-only mode.
 */
export function buildKeymap(options: {readOnly: boolean; overrides?: Record<string, string[]>}): Keymap {
	const known = new Set<string>(commands.map((command) => command.id));
	for (const id of Object.keys(options.overrides ?? {})) {
		if (!known.has(id)) {
			throw new KeymapError(`Unknown command "${id}" in key settings. Known commands: ${[...known].join(', ')}`);
		}
	}

	const effective = commands
		.filter((command) => !(options.readOnly && command.dangerous))
		.map((command) => {
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

		case 'dialog': {
			return state.overlay !== undefined;
		}

		default: {
			return command.scope === state.view.screen;
		}
	}
}

/** The command a key triggers on the current screen, if any. */
export function commandForKey(keymap: Keymap, key: string, state: AppState): CommandSpec | undefined {
	return keymap.byKey.get(key)?.find((command) => available(command, state) && inScope(command, state));
}
