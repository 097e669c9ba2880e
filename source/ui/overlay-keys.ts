/**
 * Keys while a dialog is open. Dialogs come first in the dispatcher (dialog > view > global); a handler returns
 * true when it used the key.
 */
import type {Keymap} from '../keymap/registry.ts';
import type {Controller} from '../store/controller.ts';
import type {Overlay} from '../store/state.ts';
import {filterPalette} from './palette.ts';

function edit(text: string, key: string, input: string, allowed: RegExp = /^[\x20-\x7e]$/): string | undefined {
	if (key === 'backspace') return text.slice(0, -1);
	if (key === 'space') return `${text} `;
	if (input.length === 1 && allowed.test(input) && key === input) return text + input;
	return undefined;
}

export function handleOverlayKey(overlay: Overlay, key: string, input: string, controller: Controller, keymap: Keymap): boolean {
	switch (overlay.kind) {
		case 'help':
		case 'explain': {
			if (key === 'esc' || key === 'q' || key === '?' || key === 'enter' || key === 'x') controller.closeOverlay();
			return true;
		}

		case 'confirm': {
			// Behind the danger gate, letters are the model's name being typed: only enter confirms, and only once it is.
			if (overlay.danger) {
				if (key === 'esc') controller.closeOverlay();
				else if (key === 'enter') controller.confirm();
				else {
					const typed = edit(overlay.danger.typed, key, input);
					if (typed !== undefined) controller.typeConfirmation(typed);
				}

				return true;
			}

			if (key === 'y' || key === 'Y' || key === 'enter') controller.confirm();
			else if (key === 'n' || key === 'N' || key === 'esc' || key === 'q') controller.closeOverlay();
			return true;
		}

		case 'weight-input': {
			if (key === 'esc') controller.closeOverlay();
			else if (key === 'enter') controller.submitWeight(overlay.text);
			else {
				const text = edit(overlay.text, key, input, /^[0-9%]$/);
				if (text !== undefined) {
					const {error: _error, ...rest} = overlay;
					controller.updateOverlay({...rest, text});
				}
			}

			return true;
		}

		case 'filter': {
			if (key === 'esc') {
				controller.setFilter('');
				controller.closeOverlay();
			} else if (key === 'enter') {
				controller.closeOverlay();
			} else {
				const text = edit(overlay.text, key, input);
				if (text !== undefined) {
					controller.setFilter(text);
					controller.updateOverlay({...overlay, text});
				}
			}

			return true;
		}

		case 'pick': {
			if (key === 'esc') controller.closeOverlay();
			else if (key === 'enter') void controller.pick(overlay.options[overlay.index] ?? '');
			else if (key === 'up' || key === 'k') controller.updateOverlay({...overlay, index: Math.max(0, overlay.index - 1)});
			else if (key === 'down' || key === 'j') {
				controller.updateOverlay({...overlay, index: Math.min(overlay.options.length - 1, overlay.index + 1)});
			}

			return true;
		}

		case 'lookup': {
			if (key === 'esc') controller.closeOverlay();
			else if (key === 'enter') void controller.lookup(overlay.text);
			else {
				const text = edit(overlay.text, key, input);
				if (text !== undefined) controller.updateOverlay({kind: 'lookup', text});
			}

			return true;
		}

		case 'palette': {
			const items = filterPalette(controller.state, keymap, overlay.query);
			if (key === 'esc') controller.closeOverlay();
			else if (key === 'up') controller.updateOverlay({...overlay, index: Math.max(0, overlay.index - 1)});
			else if (key === 'down' || key === 'tab') {
				controller.updateOverlay({...overlay, index: Math.min(Math.max(0, items.length - 1), overlay.index + 1)});
			} else if (key === 'enter') {
				const item = items[overlay.index];
				controller.closeOverlay();
				if (!item) return true;
				if (item.kind === 'command') controller.run(item.id);
				else if (item.kind === 'model') controller.openModel(item.key);
				else if (item.kind === 'context') void controller.switchContext(item.name);
				else controller.setNamespace(item.namespace);
			} else {
				const query = edit(overlay.query, key, input);
				if (query !== undefined) controller.updateOverlay({kind: 'palette', query, index: 0});
			}

			return true;
		}
	}
}
