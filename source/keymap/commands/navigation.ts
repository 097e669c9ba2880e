/** Moving about: help, palette, quit, rows, screens, filter and sort, and the jump to the next flagged model. */
import {modelKey} from '../../domain/types.ts';
import {currentModel, currentRow, flaggedModels, fleetRows, selectedPrediction, visibleLog} from '../../state/selectors.ts';
import {Command, type CommandHost, type CommandDefinition, type CommandId} from '../spec.ts';

/** Down (+1) moves to a newer line in the log (whose cursor counts back from the newest) and to the next row elsewhere. */
function moveRow(host: CommandHost, delta: 1 | -1): void {
	if (host.state.view.screen === 'log') host.dispatch({type: 'log/cursor', delta: -delta, visible: visibleLog(host.state).length});
	else host.dispatch({type: 'nav/move', delta});
}

/** Help, palette, quit, and moving through rows and screens. */
export const navigation = {
	[Command.HELP]: {
		keys: ['?'],
		description: 'Show every key',
		hint: 'help',
		scope: 'global',
		dangerous: false,
		footer: true,
		run: (host) => host.dispatch({type: 'overlay/open', overlay: {kind: 'help'}}),
	},
	[Command.PALETTE]: {
		keys: [':'],
		description: 'Command palette: fuzzy search over commands, models and contexts',
		hint: 'palette',
		scope: 'global',
		dangerous: false,
		footer: false,
		run: (host) => host.dispatch({type: 'overlay/open', overlay: {kind: 'palette', query: '', index: 0}}),
	},
	[Command.QUIT]: {
		keys: ['q', 'ctrl+c'],
		description: 'Quit',
		hint: 'quit',
		scope: 'global',
		dangerous: false,
		footer: true,
		run: (host) => host.quit(),
	},
	[Command.UP]: {
		keys: ['k', 'up'],
		description: 'Move up (in the log: pick an older line, which pauses the tail)',
		hint: 'up',
		scope: 'list',
		dangerous: false,
		footer: false,
		run: (host) => moveRow(host, -1),
	},
	[Command.DOWN]: {
		keys: ['j', 'down'],
		description: 'Move down (in the log: pick a newer line)',
		hint: 'down',
		scope: 'list',
		dangerous: false,
		footer: false,
		run: (host) => moveRow(host, 1),
	},
	[Command.TOP]: {
		keys: ['g', 'home'],
		description: 'First row',
		hint: 'top',
		scope: 'fleet',
		dangerous: false,
		footer: false,
		run: (host) => host.dispatch({type: 'nav/top'}),
	},
	[Command.BOTTOM]: {
		keys: ['G', 'end'],
		description: 'Last row',
		hint: 'bottom',
		scope: 'fleet',
		dangerous: false,
		footer: false,
		run: (host) => host.dispatch({type: 'nav/bottom'}),
	},
	[Command.OPEN]: {
		keys: ['enter'],
		description: "Open the selected model; in the log, the picked line's request and response (the newest without one)",
		hint: 'open',
		scope: 'list',
		dangerous: false,
		footer: true,
		disabledReason: (state) => (state.view.screen === 'log' && !selectedPrediction(state) ? 'no prediction to open' : undefined),
		run(host) {
			if (host.state.view.screen === 'log') {
				const prediction = selectedPrediction(host.state);
				if (prediction) host.dispatch({type: 'overlay/open', overlay: {kind: 'prediction', predictions: [prediction]}});
				return;
			}

			const row = currentRow(host.state);
			if (row) host.dispatch({type: 'view/open', view: {screen: 'model', model: row.modelKey}});
		},
	},
	[Command.BACK]: {
		keys: ['esc'],
		description: 'Back one screen (fleet → model → log: back to the model); on the fleet, clears the filter',
		hint: 'back',
		scope: 'global',
		dangerous: false,
		footer: false,
		run(host) {
			if (host.state.view.screen !== 'fleet' || host.state.back.length > 0) host.dispatch({type: 'view/back'});
			else if (host.state.filter) host.dispatch({type: 'filter/set', text: ''});
		},
	},
	[Command.FILTER]: {
		keys: ['/'],
		description: 'Filter rows by model, namespace, version or image',
		hint: 'filter',
		scope: 'fleet',
		dangerous: false,
		footer: true,
		run: (host) => host.dispatch({type: 'overlay/open', overlay: {kind: 'filter', text: host.state.filter}}),
	},
	[Command.SORT]: {
		keys: ['o'],
		description: 'Cycle the sort column (model, flags, p99, errors, rps, CPU, memory)',
		hint: 'sort',
		scope: 'fleet',
		dangerous: false,
		footer: false,
		run: (host) => host.dispatch({type: 'sort/cycle'}),
	},
} satisfies Partial<Record<CommandId, CommandDefinition>>;

/** The jump to the next flagged model (listed after the log commands, as in the help overlay). */
export const nextFlagged = {
	[Command.NEXT_FLAGGED]: {
		keys: ['!'],
		description: 'Jump to the next flagged model (warning or critical)',
		hint: 'next flagged',
		scope: 'target',
		dangerous: false,
		footer: false,
		disabledReason: (state) => (flaggedModels(state).length === 0 ? 'no model is flagged' : undefined),
		run(host) {
			const {state} = host;
			const flagged = new Set(flaggedModels(state).map((model) => modelKey(model)));
			const rows = fleetRows(state);
			const here = currentModel(state);
			const hereKey = here ? modelKey(here) : undefined;
			const start = rows.findIndex((row) => row.modelKey === hereKey);
			const firsts = rows.flatMap((row, index) => (row.firstOfModel && flagged.has(row.modelKey) ? [{row, index}] : []));
			// The next flagged model after this one, wrapping round; this one again when it is the only one.
			const next =
				firsts.find(({row, index}) => index > start && row.modelKey !== hereKey) ??
				firsts.find(({row}) => row.modelKey !== hereKey) ??
				firsts[0];
			if (next) {
				if (state.view.screen === 'model') host.dispatch({type: 'view/open', view: {screen: 'model', model: next.row.modelKey}});
				else host.dispatch({type: 'nav/select', index: next.index});
				return;
			}

			// Flagged models hidden by the filter.
			host.toast('warning', `the flagged models are hidden by the filter "${state.filter}" (esc clears it)`);
		},
	},
} satisfies Partial<Record<CommandId, CommandDefinition>>;
