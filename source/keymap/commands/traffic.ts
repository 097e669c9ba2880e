/** Changing traffic: the canary weight, promote, rollback and the blue-green switch, each confirmed first. */
import {modelKey, type Model} from '../../domain/types.ts';
import {stepWeight} from '../../domain/weights.ts';
import {selectedCanary, currentModel, currentRow, runningTask, stableOf, versionsInOrder} from '../../state/selectors.ts';
import type {AppState} from '../../state/state.ts';
import {needsModel, needsCluster, needsCanary, ref} from './conditions.ts';
import {Command, type CommandHost, type CommandDefinition, type CommandId} from '../spec.ts';

/** The version serving the most traffic: what a blue-green switch switches away from. */
function servingVersion(model: Model): Model['versions'][number] {
	return [...model.versions].sort((a, b) => b.weight - a.weight)[0]!;
}

function stepCanary(host: CommandHost, direction: 1 | -1): void {
	const model = currentModel(host.state)!;
	const canary = selectedCanary(host.state, model)!;
	const to = stepWeight(canary.weight, host.state.weightStep, direction);
	host.askToConfirm({kind: 'set-weight', model: ref(model), canary: canary.name, from: canary.weight, to});
}

function needsCanaryStep(state: AppState, direction: 1 | -1): string | undefined {
	const reason = needsCanary(state);
	if (reason) return reason;
	const {weight} = selectedCanary(state, currentModel(state)!)!;
	if (direction > 0 && weight >= 100) return 'canary already at 100%: promote it instead';
	if (direction < 0 && weight <= 0) return 'canary already at 0%';
	return undefined;
}

/** The traffic commands. */
export const traffic = {
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
} satisfies Partial<Record<CommandId, CommandDefinition>>;
