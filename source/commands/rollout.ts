/**
 * `modeldeck rollout MODEL --image IMAGE`: a progressive rollout for pipelines. With an agent reachable it sends the
 * agent the `deliver` action (the agent runs it; the rollout survives this command); without one it runs the rollout
 * here, in the foreground, with the same DeliveryRunner, and says so on stderr. `--wait` follows the rollout (the
 * state the model keeps in its annotation) until it ends: exit 0 promoted, 1 rolled back, aborted or failed, 2 bad
 * input.
 */
import {
	deliverySummary,
	encodeDeliveryState,
	isDeliveryActive,
	type DeliveryEvent,
	type DeliverySpec,
	type DeliveryState,
} from '../domain/delivery.ts';
import type {AgentPort} from '../domain/ports.ts';
import type {ActionProgress, Model, ModelRef} from '../domain/types.ts';
import type {DeliveryRunner} from '../delivery/runner.ts';
import type {CommandIo} from './run-command.ts';
import {parseRolloutArgs, type RolloutArgs, rolloutUsage} from './rollout-args.ts';

export interface RolloutConnection {
	/** The context's namespace, for a model given without one. */
	namespace: string;
	readModel(model: ModelRef): Promise<Model>;
	close?(): void;
}

export interface RolloutDependencies {
	connect(args: RolloutArgs): Promise<RolloutConnection>;
	/** The agent when one is reachable (--agent URL, or found in the cluster); undefined when there is none. */
	agent(args: RolloutArgs): Promise<AgentPort | undefined>;
	/** A runner in this process (the foreground), over the same connection. */
	foreground(args: RolloutArgs, connection: RolloutConnection): Promise<DeliveryRunner>;
	/** Who asks, for the audit trail: the kubeconfig user, `pipeline` in CI. */
	requestedBy?: string;
	/** How often --wait reads the model when the agent runs the rollout. Default 2 s. */
	pollMs?: number;
	now?: () => number;
}

const terminal = (state: DeliveryState | undefined): state is DeliveryState => state !== undefined && !isDeliveryActive(state);

export async function runRollout(argv: string[], io: CommandIo, dependencies: RolloutDependencies): Promise<number> {
	const parsed = parseRolloutArgs(argv);
	if ('usageError' in parsed) {
		io.stderr.write(`modeldeck rollout: ${parsed.usageError}\n\nRun modeldeck rollout --help for the usage.\n`);
		return 2;
	}

	const {args} = parsed;
	if (args.help) {
		io.stdout.write(rolloutUsage);
		return 0;
	}

	let connection: RolloutConnection | undefined;
	try {
		connection = await dependencies.connect(args);
		const model: ModelRef = {namespace: args.namespace ?? connection.namespace, name: args.model};
		const agent = args.foreground ? undefined : await dependencies.agent(args);
		if (args.abort) return await abort(args, model, agent, connection, io, dependencies);
		const spec: DeliverySpec = {
			model,
			image: args.image!,
			version: args.version!,
			steps: args.steps,
			pauseSeconds: args.pauseSeconds,
			readyTimeoutSeconds: args.readyTimeoutSeconds,
			maxHolds: args.maxHolds,
			requestedBy: dependencies.requestedBy ?? '',
		};
		if (agent) return await throughAgent(args, spec, agent, connection, io, dependencies);
		io.stderr.write(
			`modeldeck rollout: ${args.foreground ? '--foreground' : 'no modeldeck agent reachable'}: running the rollout here, in the foreground, until it ends (stopping this command stops the rollout where it is; modeldeck rollout ${model.name} --abort rolls it back)\n`,
		);
		const runner = await dependencies.foreground(args, connection);
		const started = await runner.start(spec);
		if (!started.ok) {
			io.stderr.write(`modeldeck rollout: refused: ${started.message}\n`);
			return 1;
		}

		runner.run();
		try {
			return await follow(
				args,
				io,
				() => runner.get(model),
				() => runner.settled(model),
				dependencies,
			);
		} finally {
			runner.close();
		}
	} catch (error) {
		io.stderr.write(`modeldeck rollout: ${(error as Error).message}\n`);
		return 1;
	} finally {
		connection?.close?.();
	}
}

async function lastProgress(progress: AsyncIterable<ActionProgress>): Promise<ActionProgress | undefined> {
	let last: ActionProgress | undefined;
	for await (const step of progress) last = step;
	return last;
}

async function throughAgent(
	args: RolloutArgs,
	spec: DeliverySpec,
	agent: AgentPort,
	connection: RolloutConnection,
	io: CommandIo,
	dependencies: RolloutDependencies,
): Promise<number> {
	const last = await lastProgress(agent.act({kind: 'deliver', model: spec.model, spec}));
	if (last?.kind !== 'done') {
		io.stderr.write(`modeldeck rollout: refused by the agent: ${last && 'message' in last ? last.message : 'no answer'}\n`);
		return 1;
	}

	const id = /rollout (\S+@\d+) started/.exec(last.message)?.[1];
	io.stderr.write(`modeldeck rollout: ${last.message} (the agent ${agent.label} runs it)\n`);
	const read = async () => {
		const state = (await connection.readModel(spec.model)).delivery;
		return state && (id === undefined ? state.spec.version === spec.version : state.id === id) ? state : undefined;
	};

	if (!args.wait) {
		if (args.output === 'json') {
			const state = await read();
			io.stdout.write(`${state ? encodeDeliveryState(state) : JSON.stringify({id, phase: 'starting'})}\n`);
		}

		return 0;
	}

	let current: DeliveryState | undefined;
	return follow(
		args,
		io,
		() => current,
		async () => {
			for (;;) {
				current = (await read().catch(() => undefined)) ?? current;
				if (terminal(current)) return current;
				await new Promise((resolve) => setTimeout(resolve, dependencies.pollMs ?? 2000));
			}
		},
		dependencies,
	);
}

/** Prints the rollout's events as they come (text), then its end; the exit code from how it ended. */
async function follow(
	args: RolloutArgs,
	io: CommandIo,
	current: () => DeliveryState | undefined,
	settled: () => Promise<DeliveryState>,
	dependencies: RolloutDependencies,
): Promise<number> {
	const printed = new Set<string>();
	const print = () => {
		const state = current();
		if (!state || args.output === 'json') return;
		for (const event of state.events) {
			const key = `${event.at} ${event.message}`;
			if (printed.has(key)) continue;
			printed.add(key);
			io.stdout.write(`${line(event)}\n`);
		}
	};

	const timer = setInterval(print, 500);
	let final: DeliveryState;
	try {
		final = await settled();
	} finally {
		clearInterval(timer);
	}

	print();
	if (args.output === 'json') io.stdout.write(`${encodeDeliveryState(final)}\n`);
	else
		io.stdout.write(
			`${final.spec.model.namespace}/${final.spec.model.name} ${final.spec.version}: ${deliverySummary(final, (dependencies.now ?? Date.now)())}\n`,
		);
	return final.phase === 'promoted' ? 0 : 1;
}

function line(event: DeliveryEvent): string {
	return `${new Date(event.at).toISOString().slice(11, 19)} ${event.message}`;
}

async function abort(
	args: RolloutArgs,
	model: ModelRef,
	agent: AgentPort | undefined,
	connection: RolloutConnection,
	io: CommandIo,
	dependencies: RolloutDependencies,
): Promise<number> {
	if (agent) {
		const last = await lastProgress(agent.act({kind: 'delivery', model, command: 'abort'}));
		if (last?.kind !== 'done') {
			io.stderr.write(`modeldeck rollout: refused by the agent: ${last && 'message' in last ? last.message : 'no answer'}\n`);
			return 1;
		}

		io.stderr.write(`modeldeck rollout: ${last.message}\n`);
		if (!args.wait) return 0;
		return follow(
			args,
			io,
			() => undefined,
			async () => {
				for (;;) {
					const state = (await connection.readModel(model)).delivery;
					if (terminal(state)) return state;
					await new Promise((resolve) => setTimeout(resolve, dependencies.pollMs ?? 2000));
				}
			},
			dependencies,
		).then((code) => (code === 1 ? 0 : code));
	}

	// No agent: pick the rollout up from the model's annotation here and roll it back.
	const runner = await dependencies.foreground(args, connection);
	await runner.resume();
	const result = await runner.command(model, 'abort', dependencies.requestedBy || 'modeldeck rollout --abort');
	if (!result.ok) {
		io.stderr.write(`modeldeck rollout: ${result.message}\n`);
		return 1;
	}

	runner.run();
	try {
		const final = await runner.settled(model);
		if (args.output === 'json') io.stdout.write(`${encodeDeliveryState(final)}\n`);
		else io.stdout.write(`${model.namespace}/${model.name} ${final.spec.version}: ${deliverySummary(final, Date.now())}\n`);
		return final.phase === 'aborted' ? 0 : 1;
	} finally {
		runner.close();
	}
}
