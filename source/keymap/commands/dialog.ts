/** Keys while a dialog is open: accept, confirm, cancel, move through its list and erase what was typed. */
import {filterPalette} from '../palette.ts';
import {requestIds} from '../../state/selectors.ts';
import {Command, type CommandDefinition, type CommandId} from '../spec.ts';

/** The dialog commands. */
export const dialog = {
	[Command.DIALOG_ACCEPT]: {
		keys: ['enter'],
		description: 'In a dialog: review, confirm, choose or keep what it shows',
		hint: 'ok',
		scope: 'dialog',
		dangerous: false,
		footer: false,
		run(host) {
			const overlay = host.state.overlay;
			if (!overlay) return;
			switch (overlay.kind) {
				case 'help':
				case 'explain':
				case 'filter':
				case 'prediction': {
					host.closeOverlay();
					return;
				}

				case 'confirm': {
					host.confirm();
					return;
				}

				case 'weight-input': {
					host.submitWeight(overlay.text);
					return;
				}

				case 'deliver': {
					void host.submitDelivery();
					return;
				}

				case 'pick': {
					void host.pick(overlay.options[overlay.index] ?? '');
					return;
				}

				case 'lookup': {
					const ids = requestIds(overlay.results ?? []);
					// Several requests start with what was typed: enter opens the one picked.
					if (ids.length > 1) {
						const id = ids[overlay.index ?? 0]!;
						host.dispatch({
							type: 'overlay/open',
							overlay: {kind: 'prediction', predictions: overlay.results!.filter((prediction) => prediction.requestId === id)},
						});
					} else void host.lookup(overlay.text);
					return;
				}

				case 'palette': {
					const item = filterPalette(host.state, host.keymap, overlay.query)[overlay.index];
					host.closeOverlay();
					if (!item) return;
					if (item.kind === 'command') host.run(item.id);
					else if (item.kind === 'model') host.openModel(item.key);
					else if (item.kind === 'context') void host.switchContext(item.name);
					else host.setNamespace(item.namespace);
				}
			}
		},
	},
	[Command.DIALOG_YES]: {
		keys: ['y', 'Y'],
		description: 'In the confirmation: carry out the change',
		hint: 'yes',
		scope: 'dialog',
		dangerous: false,
		footer: false,
		run(host) {
			if (host.state.overlay?.kind === 'confirm') host.confirm();
		},
	},
	[Command.DIALOG_CANCEL]: {
		keys: ['esc', 'n', 'N', 'q'],
		description: 'In a dialog: cancel or close it (esc also clears a filter being typed)',
		hint: 'cancel',
		scope: 'dialog',
		dangerous: false,
		footer: false,
		run(host) {
			if (host.state.overlay?.kind === 'filter') host.setFilter('');
			host.closeOverlay();
		},
	},
	[Command.DIALOG_UP]: {
		keys: ['up', 'k'],
		description: 'In a dialog: move up the list',
		hint: 'up',
		scope: 'dialog',
		dangerous: false,
		footer: false,
		run(host) {
			const overlay = host.state.overlay;
			if (overlay?.kind === 'deliver') host.moveDialogField(-1);
			else if (overlay?.kind === 'pick' || overlay?.kind === 'palette')
				host.updateOverlay({...overlay, index: Math.max(0, overlay.index - 1)});
			else if (overlay?.kind === 'lookup' && overlay.results)
				host.updateOverlay({...overlay, index: Math.max(0, (overlay.index ?? 0) - 1)});
		},
	},
	[Command.DIALOG_DOWN]: {
		keys: ['down', 'j', 'tab'],
		description: 'In a dialog: move down the list',
		hint: 'down',
		scope: 'dialog',
		dangerous: false,
		footer: false,
		run(host) {
			const overlay = host.state.overlay;
			if (overlay?.kind === 'deliver') host.moveDialogField(1);
			else if (overlay?.kind === 'pick') host.updateOverlay({...overlay, index: Math.min(overlay.options.length - 1, overlay.index + 1)});
			else if (overlay?.kind === 'lookup' && overlay.results) {
				const count = requestIds(overlay.results).length;
				host.updateOverlay({...overlay, index: Math.min(Math.max(0, count - 1), (overlay.index ?? 0) + 1)});
			} else if (overlay?.kind === 'palette') {
				const count = filterPalette(host.state, host.keymap, overlay.query).length;
				host.updateOverlay({...overlay, index: Math.min(Math.max(0, count - 1), overlay.index + 1)});
			}
		},
	},
	[Command.DIALOG_ERASE]: {
		keys: ['backspace'],
		description: 'In a dialog: erase the last character typed',
		hint: 'erase',
		scope: 'dialog',
		dangerous: false,
		footer: false,
		run: (host) => host.editDialogText((text) => text.slice(0, -1)),
	},
} satisfies Partial<Record<CommandId, CommandDefinition>>;
