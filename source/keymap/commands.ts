/**
 * Every command of the console, each in one place: its keys, its words, when it cannot run and what it does. The
 * compiler checks that every command id has exactly one entry here, so a key cannot be bound to nothing.
 */
import {modelKey, refOf, type Model, type ModelRef, type RolloutCommand} from '../domain/types.ts';
import {stepWeight} from '../domain/weights.ts';
import {
	canaryOf,
	selectedCanary,
	currentModel,
	currentRow,
	flaggedModels,
	fleetRows,
	logVersions,
	requestIds,
	runningTask,
	selectedPrediction,
	stableOf,
	versionsInOrder,
	visibleLog,
} from '../store/selectors.ts';
import type {AppState} from '../store/state.ts';
import {deliveryDefinitions} from './delivery-commands.ts';
import {filterPalette} from './palette.ts';
import {Command, type CommandDefinition, type CommandHost, type CommandId} from './spec.ts';

function needsModel(state: AppState): string | undefined {
	if (state.view.screen !== 'fleet' && state.view.screen !== 'model') return 'open the fleet or a model first';
	if (!currentModel(state)) return 'no model selected';
	return undefined;
}

function needsCluster(state: AppState): string | undefined {
	const health = state.health.cluster;
	if (health.status === 'down') return `cluster unreachable: ${health.message ?? 'no connection'}`;
	return undefined;
}

function needsCanary(state: AppState): string | undefined {
	const reason = needsModel(state) ?? needsCluster(state);
	if (reason) return reason;
	const model = currentModel(state)!;
	if (!canaryOf(model)) return `${model.name} has no canary`;
	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return undefined;
}

function needsAgent(state: AppState): string | undefined {
	const reason = needsModel(state);
	if (reason) return reason;
	const agent = state.health.agent;
	if (agent.status === 'absent' || agent.status === 'down') {
		return `needs the modeldeck agent (${agent.message ?? 'not connected'})`;
	}

	const model = currentModel(state)!;
	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return undefined;
}

/** A command of the controller running the model's canary (Argo Rollouts), which owns its traffic. */
function needsRollout(state: AppState): string | undefined {
	const reason = needsModel(state) ?? needsCluster(state);
	if (reason) return reason;
	const model = currentModel(state)!;
	if (model.rollout?.controller !== 'argo-rollouts')
		return `${model.name} is not an Argo Rollouts Rollout: use the weight, promote and rollback keys`;
	if (runningTask(state, model)) return `an action on ${model.name} is still running`;
	return undefined;
}

/** The model at hand is an Argo Rollout: its commands lead the footer. */
function isRollout(state: AppState): boolean {
	return (state.view.screen === 'fleet' || state.view.screen === 'model') && currentModel(state)?.rollout?.controller === 'argo-rollouts';
}

function rolloutCommand(command: RolloutCommand) {
	return (host: CommandHost) => host.askToConfirm({kind: 'rollout', model: ref(currentModel(host.state)!), command});
}

/** The version serving the most traffic: what a blue-green switch switches away from. */
function servingVersion(model: Model): Model['versions'][number] {
	return [...model.versions].sort((a, b) => b.weight - a.weight)[0]!;
}

function ref(model: Model): ModelRef {
	return refOf(model);
}

function stepCanary(host: CommandHost, direction: 1 | -1): void {
	const model = currentModel(host.state)!;
	const canary = selectedCanary(host.state, model)!;
	const to = stepWeight(canary.weight, host.state.weightStep, direction);
	host.askToConfirm({kind: 'set-weight', model: ref(model), canary: canary.name, from: canary.weight, to});
}

/** Down (+1) moves to a newer line in the log (whose cursor counts back from the newest) and to the next row elsewhere. */
function moveRow(host: CommandHost, delta: 1 | -1): void {
	if (host.state.view.screen === 'log') host.dispatch({type: 'log/cursor', delta: -delta, visible: visibleLog(host.state).length});
	else host.dispatch({type: 'nav/move', delta});
}

function needsCanaryStep(state: AppState, direction: 1 | -1): string | undefined {
	const reason = needsCanary(state);
	if (reason) return reason;
	const {weight} = selectedCanary(state, currentModel(state)!)!;
	if (direction > 0 && weight >= 100) return 'canary already at 100%: promote it instead';
	if (direction < 0 && weight <= 0) return 'canary already at 0%';
	return undefined;
}

/** The value after `current` in `values`, round to the first (also when `current` is not among them). */
function cycle<T>(values: readonly T[], current: unknown): T {
	return values[(values.indexOf(current as T) + 1) % values.length]!;
}

const latencySteps = [undefined, 50, 100, 250, 500, 1000] as const;

export const definitions = {
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
	[Command.WEIGHT_UP]: {
		keys: ['+', '='],
		description: 'Canary weight up by a step',
		hint: 'weight',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason: (state) => needsCanaryStep(state, 1),
		run: (host) => stepCanary(host, 1),
	},
	[Command.WEIGHT_DOWN]: {
		keys: ['-'],
		description: 'Canary weight down by a step',
		hint: 'weight',
		scope: 'target',
		dangerous: true,
		footer: false,
		disabledReason: (state) => needsCanaryStep(state, -1),
		run: (host) => stepCanary(host, -1),
	},
	[Command.WEIGHT_SET]: {
		keys: ['w'],
		description: 'Set the canary weight to a value',
		hint: 'set weight',
		scope: 'target',
		dangerous: true,
		footer: false,
		disabledReason: needsCanary,
		run(host) {
			const model = currentModel(host.state)!;
			const canary = selectedCanary(host.state, model)!;
			host.dispatch({
				type: 'overlay/open',
				overlay: {kind: 'weight-input', model: modelKey(model), canary: canary.name, current: canary.weight, text: ''},
			});
		},
	},
	[Command.PROMOTE]: {
		keys: ['p'],
		description: 'Promote: all traffic to the canary, which becomes stable',
		hint: 'promote',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason: needsCanary,
		run(host) {
			const model = currentModel(host.state)!;
			host.askToConfirm({
				kind: 'promote',
				model: ref(model),
				canary: selectedCanary(host.state, model)!.name,
				stable: stableOf(model)?.name ?? '-',
			});
		},
	},
	[Command.ROLLBACK]: {
		keys: ['r'],
		description: 'Roll back: canary to 0% (and its previous template restored)',
		hint: 'rollback',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason: needsCanary,
		run(host) {
			const model = currentModel(host.state)!;
			host.askToConfirm({kind: 'rollback', model: ref(model), canary: selectedCanary(host.state, model)!.name});
		},
	},
	[Command.SWITCH]: {
		keys: ['b'],
		description: 'Blue-green switch: all traffic to the other version in one write',
		hint: 'switch',
		scope: 'target',
		dangerous: true,
		footer: false,
		disabledReason(state) {
			const reason = needsModel(state) ?? needsCluster(state);
			if (reason) return reason;
			const model = currentModel(state)!;
			if (model.versions.length < 2) return `${model.name} has only one version`;
			if (!stableOf(model)) return `${model.name} has no stable version`;
			if (runningTask(state, model)) return `an action on ${model.name} is still running`;
			return undefined;
		},
		run(host) {
			const model = currentModel(host.state)!;
			const current = servingVersion(model);
			if (model.versions.length === 2) {
				host.askToConfirm({
					kind: 'switch',
					model: ref(model),
					from: current.name,
					to: model.versions.find((version) => version !== current)!.name,
				});
				return;
			}

			// "The other version" is a guess with three or more: ask which one gets all traffic, as the context picker does.
			const versions = versionsInOrder(model);
			const row = host.state.view.screen === 'fleet' ? currentRow(host.state) : undefined;
			const cursor = row && modelKey(row.model) === modelKey(model) && row.version !== current ? versions.indexOf(row.version) : -1;
			const width = Math.max(...versions.map((version) => version.name.length));
			host.dispatch({
				type: 'overlay/open',
				overlay: {
					kind: 'pick',
					purpose: 'switch',
					model: modelKey(model),
					options: versions.map((version) => version.name),
					labels: versions.map(
						(version) => `${version.name.padEnd(width)}  ${version.track.padEnd(6)} ${String(version.weight).padStart(3)}%`,
					),
					index: cursor >= 0 ? cursor : versions.findIndex((version) => version !== current),
				},
			});
		},
	},
	[Command.ROLLOUT_STEP]: {
		keys: ['>'],
		description: 'Argo Rollouts: promote to the next step (kubectl argo rollouts promote)',
		hint: 'next step',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('promote'),
	},
	[Command.ROLLOUT_FULL]: {
		keys: ['F'],
		description: 'Argo Rollouts: promote fully, skipping the remaining steps and analysis (promote --full)',
		hint: 'promote fully',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('promote-full'),
	},
	[Command.ROLLOUT_ABORT]: {
		keys: ['A'],
		description: 'Argo Rollouts: abort, all traffic back to the stable (kubectl argo rollouts abort)',
		hint: 'abort',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('abort'),
	},
	[Command.ROLLOUT_RETRY]: {
		keys: ['R'],
		description: 'Argo Rollouts: retry an aborted rollout (kubectl argo rollouts retry rollout)',
		hint: 'retry',
		scope: 'target',
		dangerous: true,
		footer: false,
		footerWhen: isRollout,
		disabledReason: needsRollout,
		run: rolloutCommand('retry'),
	},
	...deliveryDefinitions,
	[Command.SMOKE]: {
		keys: ['s'],
		description: 'Smoke test every version side by side: metadata, a valid request, outputs checked',
		hint: 'smoke',
		scope: 'target',
		dangerous: false,
		footer: true,
		disabledReason: needsAgent,
		run(host) {
			// Every version at once, so that their checks show side by side.
			const model = currentModel(host.state)!;
			for (const version of versionsInOrder(model)) void host.execute({kind: 'smoke-test', target: {...ref(model), version: version.name}});
		},
	},
	[Command.LOAD]: {
		keys: ['t'],
		description: 'Load test stable and canary side by side',
		hint: 'load test',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason: needsAgent,
		run(host) {
			const model = currentModel(host.state)!;
			const targets = [stableOf(model), canaryOf(model)]
				.filter((version) => version !== undefined)
				.map((version) => ({...ref(model), version: version.name}));
			host.askToConfirm({kind: 'load-test', targets, ...host.loadTest});
		},
	},
	[Command.EXPLAIN]: {
		keys: ['x'],
		description: 'Show the query behind every figure of the model',
		hint: 'queries',
		scope: 'model',
		dangerous: false,
		footer: true,
		run: (host) => host.explain(),
	},
	[Command.LOG]: {
		keys: ['l'],
		description: "Prediction log (live tail); from a model view, that model's predictions only",
		hint: 'log',
		scope: 'global',
		dangerous: false,
		footer: true,
		disabledReason(state) {
			const agent = state.health.agent;
			if (agent.status === 'absent') return `no prediction log: ${agent.message ?? 'no agent'}`;
			return undefined;
		},
		run(host) {
			const {view} = host.state;
			host.dispatch({type: 'view/open', view: view.screen === 'model' ? {screen: 'log', model: view.model} : {screen: 'log'}});
			host.flushLog();
		},
	},
	[Command.AUDIT]: {
		keys: ['a'],
		description: "Audit log of actions (the agent's, or this session's direct actions without one)",
		hint: 'audit',
		scope: 'global',
		dangerous: false,
		footer: false,
		run(host) {
			host.dispatch({type: 'view/open', view: {screen: 'audit'}});
			host.loadAudit();
		},
	},
	[Command.CONTEXT]: {
		keys: ['c'],
		description: 'Switch cluster context',
		hint: 'context',
		scope: 'global',
		dangerous: false,
		footer: false,
		// Several clusters shown at once: the contexts are fixed for this console.
		disabledReason: (state) =>
			Object.keys(state.clusters).length > 1
				? `several contexts are shown (${state.context}): start modeldeck with one --context to switch`
				: undefined,
		run(host) {
			const options = host.contextNames();
			const index = Math.max(0, options.indexOf(host.state.context));
			host.dispatch({type: 'overlay/open', overlay: {kind: 'pick', purpose: 'context', options, index}});
		},
	},
	[Command.NAMESPACE]: {
		keys: ['n'],
		description: 'Switch namespace (or all)',
		hint: 'namespace',
		scope: 'global',
		dangerous: false,
		footer: false,
		run(host) {
			const options = ['all namespaces', ...host.state.namespaces];
			const index = Math.max(0, options.indexOf(host.state.namespace ?? 'all namespaces'));
			host.dispatch({type: 'overlay/open', overlay: {kind: 'pick', purpose: 'namespace', options, index}});
		},
	},
	[Command.LOG_PAUSE]: {
		keys: ['space'],
		description: 'Pause or resume the log',
		hint: 'pause',
		scope: 'log',
		dangerous: false,
		footer: true,
		run(host) {
			host.dispatch({type: 'log/toggle-pause'});
			if (!host.state.log.paused) host.flushLog();
		},
	},
	[Command.LOG_VERSION]: {
		keys: ['v'],
		description: 'Filter the log by version (cycle)',
		hint: 'version',
		scope: 'log',
		dangerous: false,
		footer: true,
		run(host) {
			host.setLogFilter({...host.state.log.filter, version: cycle([undefined, ...logVersions(host.state)], host.state.log.filter.version)});
		},
	},
	[Command.LOG_STATUS]: {
		keys: ['e'],
		description: 'Filter the log by status: all, errors, ok',
		hint: 'status',
		scope: 'log',
		dangerous: false,
		footer: true,
		run(host) {
			host.setLogFilter({...host.state.log.filter, status: cycle([undefined, 'error', 'ok'] as const, host.state.log.filter.status)});
		},
	},
	[Command.LOG_LATENCY]: {
		keys: ['L'],
		description: 'Filter the log by minimum latency (cycle)',
		hint: 'latency',
		scope: 'log',
		dangerous: false,
		footer: true,
		run(host) {
			host.setLogFilter({...host.state.log.filter, minLatencyMs: cycle(latencySteps, host.state.log.filter.minLatencyMs)});
		},
	},
	[Command.LOG_LOOKUP]: {
		keys: ['f'],
		description: 'Find a prediction by the start of its request id (asks which when several match)',
		hint: 'find id',
		scope: 'log',
		dangerous: false,
		footer: true,
		run: (host) => host.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text: ''}}),
	},
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
} satisfies Record<CommandId, CommandDefinition>;
