/** `modeldeck weight|promote|rollback`: a planned change, shown and confirmed, then carried out. */
import {createInterface} from 'node:readline';
import {
	isNoop,
	noopMessage,
	plannedAction,
	PlanRefusal,
	planLines,
	planResult,
	type ChangePlan,
	type PlanDanger,
	type TrafficAction,
} from '../domain/plan.ts';
import type {Model, ModelRef, Version} from '../domain/types.ts';
import type {CommandArgs} from './command-args.ts';
import {Deadline} from './deadline.ts';
import type {CommandIo, CommandOptions} from './command-options.ts';
import {Refusal} from './refusals.ts';
import type {Connection} from './connect.ts';
import {findModel, firstModels} from './models.ts';
import {planDangersFromMetrics} from './command-analysis.ts';

function pickCanary(model: Model, requested: string | undefined, allowSole: boolean): Version {
	const list = model.versions.map((version) => `${version.name} ${version.track} ${version.weight}%`).join(', ') || 'none';
	if (requested) {
		const version = model.versions.find((candidate) => candidate.name === requested);
		if (!version) throw new Refusal(`${model.name} has no version ${requested} (versions: ${list})`);
		return version;
	}

	const canaries = model.versions.filter((version) => version.track === 'canary');
	if (canaries.length === 1) return canaries[0]!;
	if (canaries.length > 1) {
		throw new Refusal(
			`${model.name} has several canaries (${canaries.map((version) => `${version.name} ${version.weight}%`).join(', ')}): pass --canary VERSION`,
		);
	}

	if (allowSole && model.versions.length === 1) return model.versions[0]!;
	throw new Refusal(`${model.name} has no canary (versions: ${list})`);
}

type Answer = 'yes' | 'no' | 'no-terminal';

async function confirm(io: CommandIo, change: string, yes: boolean): Promise<Answer> {
	if (yes) return 'yes';
	if (!io.stdin.isTTY) return 'no-terminal';
	io.stderr.write(`${change}\nApply? [y/N] `);
	const lines = createInterface({input: io.stdin, terminal: false});
	try {
		const answer = await new Promise<string>((resolve) => {
			lines.once('line', resolve);
			lines.once('close', () => resolve(''));
		});
		return /^\s*y(es)?\s*$/i.test(answer) ? 'yes' : 'no';
	} finally {
		lines.close();
	}
}

export async function act(args: CommandArgs, connection: Connection, io: CommandIo, options: CommandOptions): Promise<number> {
	const {cluster, namespace} = connection;
	const command = args.command;
	const deadline = connection.deadline ?? new Deadline(args.timeoutSeconds);
	const model = findModel(await firstModels(cluster, namespace, deadline.remainingMs, args.timeoutSeconds), args.model!, namespace);
	const ref: ModelRef = {namespace: model.namespace, name: model.name};
	const canary = pickCanary(model, args.canary, command === 'rollback');
	let action: TrafficAction;
	switch (command) {
		case 'weight': {
			if (canary.track === 'stable') throw new Refusal(`${canary.name} is the stable version of ${model.name}: set a canary's weight`);
			action = {kind: 'set-weight', model: ref, canary: canary.name, from: canary.weight, to: args.weight!};
			break;
		}

		case 'promote': {
			const stable = model.versions.find((version) => version.track === 'stable' && version !== canary);
			if (!stable) throw new Refusal(`${canary.name} is already the stable version of ${model.name}`);
			action = {kind: 'promote', model: ref, canary: canary.name, stable: stable.name};
			break;
		}

		case 'rollback': {
			action = {kind: 'rollback', model: ref, canary: canary.name};
			break;
		}

		default: {
			throw new Refusal(`unknown command ${command}`);
		}
	}

	// Planned from a fresh read: what is asked, applied and printed is this plan, every version it moves included.
	let plan: ChangePlan;
	try {
		plan = await deadline.race(
			cluster.plan(action),
			`no answer from ${cluster.label} within ${args.timeoutSeconds} s (--timeout SECONDS waits longer); nothing was changed`,
		);
	} catch (error) {
		if (error instanceof PlanRefusal) throw new Refusal(error.message);
		throw error;
	}

	if (isNoop(plan)) {
		io.stdout.write(`${noopMessage(plan)}\n`);
		return 0;
	}

	// More traffic to a version flagged critical or judged fail needs --force, and says why first.
	let dangers: PlanDanger[] | undefined;
	try {
		dangers = await deadline.race(
			planDangersFromMetrics(plan, model, connection.metrics, options),
			`no answer from the metrics source within ${args.timeoutSeconds} s, so the flags and verdict could not be checked; nothing was changed`,
		);
	} catch (error) {
		throw new Refusal(
			`cannot check ${model.name}'s flags and verdict before the change (metrics from ${connection.metrics?.label ?? 'none'}: ${error instanceof Error ? error.message : String(error)}); fix the metrics source or retry`,
		);
	}

	const danger =
		dangers && dangers.length > 0
			? dangers.flatMap((entry) => [
					`DANGER: ${entry.version} would get more traffic (${entry.before}% → ${entry.after}%) though:`,
					...entry.evidence.map((line) => `  ${line}`),
				])
			: [];
	if (danger.length > 0 && !args.force) {
		throw new Refusal(`refused: ${danger.join('\n')}\npass --force to go ahead anyway`);
	}

	if (danger.length > 0) io.stderr.write(`${danger.join('\n')}\n--force: going ahead anyway\n`);
	const change = [`${model.name}: ${command} ${canary.name}`, ...planLines(plan).map((line) => `  ${line}`)].join('\n');
	const answer = await confirm(io, change, args.yes);
	if (answer === 'no-terminal') {
		io.stderr.write(
			`modeldeck ${command}: refused: no terminal to confirm on (${planResult(plan)}); pass --yes to apply without confirmation\n`,
		);
		return 1;
	}

	if (answer === 'no') {
		io.stderr.write(`modeldeck ${command}: cancelled; nothing changed\n`);
		return 1;
	}

	if (!args.yes) deadline.restart();
	// The plan's weights go with the action: a model that changed meanwhile is a conflict, not a different change.
	await deadline.race(
		cluster.act(plannedAction(plan)),
		`no answer from ${cluster.label} to the change within ${args.timeoutSeconds} s; it may or may not have been applied: check with modeldeck status ${model.namespace}/${model.name}`,
	);
	io.stdout.write(`${planResult(plan)} — done\n`);
	return 0;
}
