/** Items of the command palette: commands, models, contexts and namespaces, fuzzy-filtered. Pure. */
import {fuzzyFilter} from './fuzzy.ts';
import {displayKey} from './key-name.ts';
import {available, type CommandId, type CommandSpec} from './spec.ts';
import {modelKey} from '../domain/types.ts';
import type {AppState} from '../state/state.ts';

export type PaletteItem =
	| {kind: 'command'; id: CommandId; label: string; detail: string; disabled?: string}
	| {kind: 'model'; key: string; label: string; detail: string}
	| {kind: 'context'; name: string; label: string; detail: string}
	| {kind: 'namespace'; namespace: string | undefined; label: string; detail: string};

export function paletteItems(state: AppState, keymap: {commands: readonly CommandSpec[]}): PaletteItem[] {
	const items: PaletteItem[] = [];
	for (const command of keymap.commands) {
		if (command.id === 'app.palette' || command.scope === 'dialog') continue;
		// Read-only mode takes dangerous commands away: they are listed with why, not left out without a word.
		const disabled = available(command, state)
			? command.disabledReason?.(state)
			: `not in read-only (${state.readOnlyReason ?? 'settings'})`;
		items.push({
			kind: 'command',
			id: command.id,
			label: command.description,
			detail: command.keys.map(displayKey).join(' '),
			...(disabled ? {disabled} : {}),
		});
	}

	for (const model of state.models) {
		items.push({kind: 'model', key: modelKey(model), label: `open ${model.name}`, detail: model.namespace});
	}

	for (const context of state.contexts) {
		items.push({kind: 'context', name: context.name, label: `context ${context.name}`, detail: context.cluster});
	}

	items.push({kind: 'namespace', namespace: undefined, label: 'namespace: all', detail: ''});
	for (const namespace of state.namespaces) {
		items.push({kind: 'namespace', namespace, label: `namespace ${namespace}`, detail: ''});
	}

	return items;
}

export function filterPalette(state: AppState, keymap: {commands: readonly CommandSpec[]}, query: string): PaletteItem[] {
	return fuzzyFilter(query, paletteItems(state, keymap), (item) => item.label);
}
