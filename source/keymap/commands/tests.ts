/** Tests run by the agent: a smoke test of every version and a load test of stable and canary. */
import {canaryOf, currentModel, stableOf, versionsInOrder} from '../../state/selectors.ts';
import {needsAgent, ref} from './conditions.ts';
import {Command, type CommandDefinition, type CommandId} from '../spec.ts';

/** The test commands. */
export const tests = {
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
} satisfies Partial<Record<CommandId, CommandDefinition>>;
