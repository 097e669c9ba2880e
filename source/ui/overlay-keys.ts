/**
 * Keys while a dialog is open. A dialog takes every key first (dialog > view > global): in a dialog with a text field a
 * printable key is text, and is shown as typed; any other key is a `dialog` command of the registry (enter, esc, the
 * arrows, …), overridable in settings like every other key.
 */
import {Command} from '../keymap/spec.ts';
import type {Keymap} from '../keymap/registry.ts';
import type {Controller} from '../console/controller.ts';
import type {Overlay} from '../state/state.ts';

const textDialogs = new Set<Overlay['kind']>(['weight-input', 'filter', 'lookup', 'palette', 'deliver']);

/**
 * The character a key types into a text field, or undefined for keys that are not text. Every printable character is
 * text, even one a field cannot accept: it is shown, and the field says what is wrong (a `.` dropped silently turned
 * `4.5` into 45%).
 */
function typed(key: string, input: string): string | undefined {
	if (key === 'space') return ' ';
	if (key === input && [...input].length === 1 && !/\p{Cc}/u.test(input)) return input;
	return undefined;
}

function bound(keymap: Keymap, key: string, id: string): boolean {
	return keymap.byKey.get(key)?.some((command) => command.id === id) ?? false;
}

export function handleOverlayKey(overlay: Overlay, key: string, input: string, controller: Controller, keymap: Keymap): boolean {
	// Behind the danger gate, letters are the model's name being typed: only the accept key confirms, once it is typed.
	const gated = overlay.kind === 'confirm' && overlay.danger !== undefined;
	const text = textDialogs.has(overlay.kind) || gated ? typed(key, input) : undefined;
	if (text !== undefined) {
		controller.editDialogText((before) => before + text);
		return true;
	}

	const command = keymap.byKey.get(key)?.find((candidate) => candidate.scope === 'dialog');
	if (command) controller.run(command.id);
	// The key that opened help or the queries closes them again.
	else if (
		(overlay.kind === 'help' && bound(keymap, key, Command.HELP)) ||
		(overlay.kind === 'explain' && bound(keymap, key, Command.EXPLAIN))
	) {
		controller.closeOverlay();
	}

	return true;
}
