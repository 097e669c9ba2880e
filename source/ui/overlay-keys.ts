/**
 * Keys while a dialog is open. A dialog takes every key first (dialog > view > global): in a dialog with a text field a
 * printable key is text, and is shown as typed; any other key is a `dialog` command of the registry (enter, esc, the
 * arrows, …), overridable in settings like every other key.
 */
import {Command} from '../keymap/spec.ts';
import type {Keymap} from '../keymap/registry.ts';
import type {Controller} from '../store/controller.ts';
import type {Overlay} from '../store/state.ts';

const textDialogs = new Set<Overlay['kind']>(['weight-input', 'filter', 'lookup', 'palette']);

/** The character a key types into a text field, or undefined for keys that are not text. */
function typed(key: string, input: string): string | undefined {
	if (key === 'space') return ' ';
	if (input.length === 1 && key === input && /^[\x20-\x7e]$/.test(input)) return input;
	return undefined;
}

function bound(keymap: Keymap, key: string, id: string): boolean {
	return keymap.byKey.get(key)?.some((command) => command.id === id) ?? false;
}

export function handleOverlayKey(overlay: Overlay, key: string, input: string, controller: Controller, keymap: Keymap): boolean {
	const text = textDialogs.has(overlay.kind) ? typed(key, input) : undefined;
	if (text !== undefined) {
		if (overlay.kind === 'weight-input' && !/^[0-9%]$/.test(text)) return true;
		controller.editDialogText((before) => before + text);
		return true;
	}

	const command = keymap.byKey.get(key)?.find((candidate) => candidate.scope === 'dialog');
	if (command) controller.run(command.id);
	// The key that opened help or the queries closes them again.
	else if ((overlay.kind === 'help' && bound(keymap, key, Command.HELP)) || (overlay.kind === 'explain' && bound(keymap, key, Command.EXPLAIN))) {
		controller.closeOverlay();
	}

	return true;
}
