/** Other screens and scopes: the queries behind the figures, the prediction log, the audit log, context and namespace. */
import {Command, type CommandDefinition, type CommandId} from '../spec.ts';

/** The commands that open a screen or switch what is shown. */
export const views = {
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
} satisfies Partial<Record<CommandId, CommandDefinition>>;
