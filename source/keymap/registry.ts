/**
 * The one keymap registry. The footer hints, the `?` help overlay, the command palette and the README key table
 * are all generated from it. Read-only mode removes every command marked dangerous.
 */
import type {AppState} from '../store/state.ts';
import {canaryOf, currentModel, runningTask, stableOf} from '../store/selectors.ts';

export const Command = {
	HELP: 'app.help',
	PALETTE: 'app.palette',
	QUIT: 'app.quit',
	FILTER: 'fleet.filter',
	SORT: 'fleet.sort',
	UP: 'nav.up',
	DOWN: 'nav.down',
	TOP: 'nav.top',
	BOTTOM: 'nav.bottom',
	OPEN: 'nav.open',
	BACK: 'nav.back',
	WEIGHT_UP: 'canary.weightUp',
	WEIGHT_DOWN: 'canary.weightDown',
	WEIGHT_SET: 'canary.weightSet',
	PROMOTE: 'canary.promote',
	ROLLBACK: 'canary.rollback',
	SWITCH: 'canary.switch',
	SMOKE: 'test.smoke',
	LOAD: 'test.load',
	EXPLAIN: 'model.explain',
	LOG: 'view.log',
	AUDIT: 'view.audit',
	CONTEXT: 'cluster.context',
	NAMESPACE: 'cluster.namespace',
	LOG_PAUSE: 'log.pause',
	LOG_VERSION: 'log.version',
	LOG_STATUS: 'log.status',
	LOG_LATENCY: 'log.latency',
	LOG_LOOKUP: 'log.lookup',
} as const;

export type CommandId = (typeof Command)[keyof typeof Command];

/** Where a command applies. `global` works on every screen; the others only on their screen. */
export type Scope = 'global' | 'fleet' | 'model' | 'log' | 'target';

export interface CommandSpec {
	id: CommandId;
	keys: string[];
	description: string;
	/** Short label for the footer. */
	hint: string;
	scope: Scope;
	/** Changes the cluster or loads a model: needs confirmation, gone in read-only mode, audited. */
	dangerous: boolean;
	/** Shown in the footer and help; hidden from the footer when false. */
	footer: boolean;
	/** Why the command does nothing right now, or undefined when it can run. */
	disabledReason?: (state: AppState) => string | undefined;
}

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

export const commands: readonly CommandSpec[] = [
	{id: Command.HELP, keys: ['?'], description: 'Show every key', hint: 'help', scope: 'global', dangerous: false, footer: true},
	{
		id: Command.PALETTE,
		keys: [':'],
		description: 'Command palette: fuzzy search over commands, models and contexts',
		hint: 'palette',
		scope: 'global',
		dangerous: false,
		footer: false,
	},
	{id: Command.QUIT, keys: ['q', 'ctrl+c'], description: 'Quit', hint: 'quit', scope: 'global', dangerous: false, footer: true},
	{id: Command.UP, keys: ['k', 'up'], description: 'Move up', hint: 'up', scope: 'fleet', dangerous: false, footer: false},
	{id: Command.DOWN, keys: ['j', 'down'], description: 'Move down', hint: 'down', scope: 'fleet', dangerous: false, footer: false},
	{id: Command.TOP, keys: ['g', 'home'], description: 'First row', hint: 'top', scope: 'fleet', dangerous: false, footer: false},
	{id: Command.BOTTOM, keys: ['G', 'end'], description: 'Last row', hint: 'bottom', scope: 'fleet', dangerous: false, footer: false},
	{id: Command.OPEN, keys: ['enter'], description: 'Open the selected model', hint: 'open', scope: 'fleet', dangerous: false, footer: true},
	{id: Command.BACK, keys: ['esc'], description: 'Back to the fleet', hint: 'back', scope: 'global', dangerous: false, footer: false},
	{id: Command.FILTER, keys: ['/'], description: 'Filter rows by model, namespace, version or image', hint: 'filter', scope: 'fleet', dangerous: false, footer: true},
	{id: Command.SORT, keys: ['o'], description: 'Cycle the sort column (model, flags, p99, errors, rps, CPU, memory)', hint: 'sort', scope: 'fleet', dangerous: false, footer: false},
	{
		id: Command.WEIGHT_UP,
		keys: ['+', '='],
		description: 'Canary weight up by a step',
		hint: 'weight',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason(state) {
			const reason = needsCanary(state);
			if (reason) return reason;
			if (canaryOf(currentModel(state)!)!.weight >= 100) return 'canary already at 100%: promote it instead';
			return undefined;
		},
	},
	{
		id: Command.WEIGHT_DOWN,
		keys: ['-'],
		description: 'Canary weight down by a step',
		hint: 'weight',
		scope: 'target',
		dangerous: true,
		footer: false,
		disabledReason(state) {
			const reason = needsCanary(state);
			if (reason) return reason;
			if (canaryOf(currentModel(state)!)!.weight <= 0) return 'canary already at 0%';
			return undefined;
		},
	},
	{id: Command.WEIGHT_SET, keys: ['w'], description: 'Set the canary weight to a value', hint: 'set weight', scope: 'target', dangerous: true, footer: false, disabledReason: needsCanary},
	{
		id: Command.PROMOTE,
		keys: ['p'],
		description: 'Promote: all traffic to the canary, which becomes stable',
		hint: 'promote',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason: needsCanary,
	},
	{
		id: Command.ROLLBACK,
		keys: ['r'],
		description: 'Roll back: canary to 0% (and its previous template restored)',
		hint: 'rollback',
		scope: 'target',
		dangerous: true,
		footer: true,
		disabledReason: needsCanary,
	},
	{
		id: Command.SWITCH,
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
	},
	{id: Command.SMOKE, keys: ['s'], description: 'Smoke test every version side by side: metadata, a valid request, outputs checked', hint: 'smoke', scope: 'target', dangerous: false, footer: true, disabledReason: needsAgent},
	{id: Command.LOAD, keys: ['t'], description: 'Load test stable and canary side by side', hint: 'load test', scope: 'target', dangerous: true, footer: true, disabledReason: needsAgent},
	{
		id: Command.EXPLAIN,
		keys: ['x'],
		description: 'Show the query behind every figure of the model',
		hint: 'queries',
		scope: 'model',
		dangerous: false,
		footer: true,
	},
	{
		id: Command.LOG,
		keys: ['l'],
		description: 'Prediction log (live tail)',
		hint: 'log',
		scope: 'global',
		dangerous: false,
		footer: true,
		disabledReason(state) {
			const agent = state.health.agent;
			if (agent.status === 'absent') return `no prediction log: ${agent.message ?? 'no agent'}`;
			return undefined;
		},
	},
	{
		id: Command.AUDIT,
		keys: ['a'],
		description: 'Audit log of actions (the agent\'s, or this session\'s direct actions without one)',
		hint: 'audit',
		scope: 'global',
		dangerous: false,
		footer: false,
	},
	{id: Command.CONTEXT, keys: ['c'], description: 'Switch cluster context', hint: 'context', scope: 'global', dangerous: false, footer: false},
	{id: Command.NAMESPACE, keys: ['n'], description: 'Switch namespace (or all)', hint: 'namespace', scope: 'global', dangerous: false, footer: false},
	{id: Command.LOG_PAUSE, keys: ['space'], description: 'Pause or resume the log', hint: 'pause', scope: 'log', dangerous: false, footer: true},
	{id: Command.LOG_VERSION, keys: ['v'], description: 'Filter the log by version (cycle)', hint: 'version', scope: 'log', dangerous: false, footer: true},
	{id: Command.LOG_STATUS, keys: ['e'], description: 'Filter the log by status: all, errors, ok', hint: 'status', scope: 'log', dangerous: false, footer: true},
	{id: Command.LOG_LATENCY, keys: ['L'], description: 'Filter the log by minimum latency (cycle)', hint: 'latency', scope: 'log', dangerous: false, footer: true},
	{id: Command.LOG_LOOKUP, keys: ['f'], description: 'Find a prediction by request id in stored history', hint: 'find id', scope: 'log', dangerous: false, footer: true},
];

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

		default: {
			return command.scope === state.view.screen;
		}
	}
}

/** In read-only mode (from the flag or the context's settings) dangerous commands do not exist. */
export function available(command: CommandSpec, state: AppState): boolean {
	return !(state.readOnly && command.dangerous);
}

/** The command a key triggers on the current screen, if any. */
export function commandForKey(keymap: Keymap, key: string, state: AppState): CommandSpec | undefined {
	return keymap.byKey.get(key)?.find((command) => available(command, state) && inScope(command, state));
}
