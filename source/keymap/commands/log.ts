/** The prediction log: pause, filters and the lookup by request id. */
import {logVersions} from '../../state/selectors.ts';
import {Command, type CommandDefinition, type CommandId} from '../spec.ts';

/** The value after `current` in `values`, round to the first (also when `current` is not among them). */
function cycle<T>(values: readonly T[], current: unknown): T {
	return values[(values.indexOf(current as T) + 1) % values.length]!;
}

const latencySteps = [undefined, 50, 100, 250, 500, 1000] as const;

/** The log commands. */
export const log = {
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
} satisfies Partial<Record<CommandId, CommandDefinition>>;
