/**
 * Runs progressive deliveries (domain/delivery.ts): the pure step function decides, the runner carries the effects
 * out through a DeliveryPort and feeds their outcome back, keeps each state with its model (port.save) after every
 * transition, and audits each transition. One runner hosts every delivery of a cluster: the agent's, or the CLI's in
 * the foreground when no agent is reachable; the demo fleet drives its own with the same runner.
 *
 * Application layer: it imports the domain only and is given its ports and callbacks (the judge, the smoke test, the
 * audit trail, the clock).
 */
import type {VerdictResult} from '../domain/analysis.ts';
import {
	advanceDelivery,
	deliveryPlanLines,
	deliverySpecProblems,
	isDeliveryActive,
	resumeDeliveryEffects,
	startDelivery,
	type DeliveryCommand,
	type DeliveryEffect,
	type DeliveryInput,
	type DeliveryPlan,
	type DeliveryPort,
	type DeliverySpec,
	type DeliveryStarter,
	type DeliveryState,
} from '../domain/delivery.ts';
import type {AuditEntry} from '../domain/ports.ts';
import {modelKey, type ModelRef} from '../domain/types.ts';

/** One audit record per transition, shaped as the agent's audit entries. */
export interface DeliveryAuditRecord {
	entry: AuditEntry;
	/** The delivery after the transition. */
	state: DeliveryState;
	/** The plan's lines, on the record of the start. */
	lines?: string[];
}

export interface DeliveryRunnerDependencies {
	port: DeliveryPort;
	/** Canary vs stable over the last pause (the agent: the guard's verdict with the guard's thresholds). */
	judge: (state: DeliveryState) => Promise<{result: VerdictResult; summary: string}>;
	/** The new version's smoke test. */
	smoke: (state: DeliveryState) => Promise<{ok: boolean; message: string}>;
	/** Called on every transition; a failing audit is reported through onError, never stops the delivery. */
	audit: (record: DeliveryAuditRecord) => Promise<void> | void;
	/** Every state change (for streams and the console). */
	onChange?: (state: DeliveryState) => void;
	onError?: (message: string) => void;
	/** Epoch ms. Default Date.now. */
	now?: () => number;
	/** How often time passes for the deliveries. Default 1000 ms. */
	tickMs?: number;
	/** Tries of a write that fails (a conflict, a hiccup of the API server) before the delivery is told. Default 3. */
	attempts?: number;
	/** Wait between tries. Default 1000 ms. */
	retryDelayMs?: number;
}

export type DeliveryCommandResult = {ok: true; state: DeliveryState} | {ok: false; message: string};

interface Entry {
	state: DeliveryState;
	/** Inputs are handled one at a time, in order. */
	chain: Promise<void>;
	/** Effects in flight: ticks skip a busy delivery. */
	busy: number;
	settled: Array<(state: DeliveryState) => void>;
}

const writeEffects: ReadonlySet<DeliveryEffect['kind']> = new Set([
	'create',
	'set-owner-image',
	'set-weight',
	'promote',
	'rollback',
	'owner-abort',
]);

export class DeliveryRunner implements DeliveryStarter {
	readonly #dependencies: DeliveryRunnerDependencies;
	readonly #entries = new Map<string, Entry>();
	/** Models whose start is being planned: a second start waits for no plan to refuse it. */
	readonly #starting = new Set<string>();
	#timer: NodeJS.Timeout | undefined;
	#closed = false;

	constructor(dependencies: DeliveryRunnerDependencies) {
		this.#dependencies = dependencies;
	}

	#now(): number {
		return (this.#dependencies.now ?? Date.now)();
	}

	/** The newest state of every delivery this runner knows, active or finished. */
	list(): DeliveryState[] {
		return [...this.#entries.values()].map((entry) => entry.state);
	}

	get(model: ModelRef): DeliveryState | undefined {
		return this.#entries.get(modelKey(model))?.state;
	}

	/** Plans through the port, refuses a second active delivery on the model, keeps the first state and starts it. */
	async start(spec: DeliverySpec): Promise<{ok: true; state: DeliveryState} | {ok: false; message: string}> {
		const problems = deliverySpecProblems(spec);
		if (problems.length > 0) return {ok: false, message: problems.join('; ')};
		const key = modelKey(spec.model);
		const current = this.#entries.get(key)?.state;
		if (this.#starting.has(key) || isDeliveryActive(current)) {
			const what = current && isDeliveryActive(current) ? `${current.spec.version} (${current.phase})` : 'another one being started';
			return {
				ok: false,
				message: `${key} already has a rollout in progress: ${what}; wait for it, or abort it first (modeldeck rollout ${spec.model.name} --abort)`,
			};
		}

		this.#starting.add(key);
		try {
			let plan: DeliveryPlan;
			try {
				plan = await this.#dependencies.port.planDelivery(spec);
			} catch (error) {
				return {ok: false, message: (error as Error).message};
			}

			const now = this.#now();
			// The plan's spec: the adapter may have named the version (KServe names it after the revision it creates).
			const first = startDelivery(plan.spec, plan.stable, plan.mode, now);
			const entry: Entry = {state: first.state, chain: Promise.resolve(), busy: 0, settled: []};
			this.#entries.set(key, entry);
			await this.#save(first.state);
			await this.#audit({
				state: first.state,
				lines: deliveryPlanLines(plan),
				entry: this.#entry(first.state, 'rollout start', '', `${first.state.stable} 100%`, `${plan.spec.version} 0% (${plan.mode})`),
			});
			this.#dependencies.onChange?.(first.state);
			this.#runEffects(entry, first.effects);
			return {ok: true, state: first.state};
		} finally {
			this.#starting.delete(key);
		}
	}

	/** Pause, resume or abort the active delivery on MODEL. */
	async command(model: ModelRef, command: DeliveryCommand, by: string): Promise<DeliveryCommandResult> {
		const entry = this.#entries.get(modelKey(model));
		if (!entry || !isDeliveryActive(entry.state)) {
			return {
				ok: false,
				message: `${modelKey(model)} has no rollout in progress to ${command}: start one with modeldeck rollout ${model.name} --image IMAGE`,
			};
		}

		await this.#dispatch(entry, {kind: 'command', command, by});
		return {ok: true, state: entry.state};
	}

	/** Picks up every active delivery kept in the cluster that this runner does not run yet; returns them. */
	async resume(): Promise<DeliveryState[]> {
		const resumed: DeliveryState[] = [];
		for (const state of await this.#dependencies.port.load()) {
			const key = modelKey(state.spec.model);
			if (!isDeliveryActive(state) || isDeliveryActive(this.#entries.get(key)?.state)) continue;
			const entry: Entry = {state, chain: Promise.resolve(), busy: 0, settled: []};
			this.#entries.set(key, entry);
			resumed.push(state);
			this.#dependencies.onChange?.(state);
			this.#runEffects(entry, resumeDeliveryEffects(state));
		}

		return resumed;
	}

	/** Resolves with the delivery on MODEL once it has finished (promoted, rolled back, aborted or failed). */
	async settled(model: ModelRef): Promise<DeliveryState> {
		const entry = this.#entries.get(modelKey(model));
		if (!entry) throw new Error(`${modelKey(model)} has no rollout in this runner`);
		if (!isDeliveryActive(entry.state)) return entry.state;
		return new Promise((resolve) => {
			entry.settled.push(resolve);
		});
	}

	/** One tick for every active delivery that is not busy; resolves once each has handled it (and what followed). */
	async tick(): Promise<void> {
		const ticks = [...this.#entries.values()]
			.filter((entry) => isDeliveryActive(entry.state) && entry.busy === 0)
			.map(async (entry) => this.#dispatch(entry, {kind: 'tick'}));
		await Promise.all(ticks);
	}

	/** Resolves once no delivery has anything in flight. */
	async idle(): Promise<void> {
		for (;;) {
			const entries = [...this.#entries.values()];
			await Promise.all(entries.map(async (entry) => entry.chain));
			if (entries.every((entry) => entry.busy === 0)) return;
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	}

	/** Starts the tick loop. */
	run(): void {
		if (this.#timer || this.#closed) return;
		this.#timer = setInterval(() => {
			void this.tick();
		}, this.#dependencies.tickMs ?? 1000);
		this.#timer.unref?.();
	}

	/**
	 * Stops: no more ticks and no new effects (what is in flight finishes, and its outcome is kept and audited; `idle`
	 * resolves then). The deliveries stay kept in the cluster for the next runner, which repeats the effect due.
	 */
	close(): void {
		this.#closed = true;
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = undefined;
	}

	async #dispatch(entry: Entry, input: DeliveryInput): Promise<void> {
		const handled = entry.chain.then(async () => this.#handle(entry, input));
		entry.chain = handled.catch(() => undefined);
		return handled;
	}

	async #handle(entry: Entry, input: DeliveryInput): Promise<void> {
		const before = entry.state;
		const {state, effects} = advanceDelivery(before, input, this.#now());
		if (state !== before) {
			entry.state = state;
			await this.#save(state);
			if (state.events.length > 0 && state.events.at(-1) !== before.events.at(-1)) await this.#audit(this.#record(before, state, input));
			this.#dependencies.onChange?.(state);
			if (!isDeliveryActive(state)) for (const resolve of entry.settled.splice(0)) resolve(state);
		}

		this.#runEffects(entry, effects);
	}

	#runEffects(entry: Entry, effects: DeliveryEffect[]): void {
		if (this.#closed) return;
		for (const effect of effects) {
			entry.busy++;
			void this.#carryOut(entry, effect)
				.then(async (outcome) => this.#dispatch(entry, outcome))
				.catch((error: unknown) => {
					this.#dependencies.onError?.(`rollout of ${entry.state.id}: ${(error as Error).message}`);
				})
				.finally(() => {
					entry.busy--;
				});
		}
	}

	/** Carries EFFECT out; never throws: a failure is the input that says so. */
	async #carryOut(entry: Entry, effect: DeliveryEffect): Promise<DeliveryInput> {
		const {port} = this.#dependencies;
		const state = entry.state;
		try {
			switch (effect.kind) {
				case 'check-ready': {
					// A failed read is not a verdict: keep waiting until the deadline says otherwise.
					const ready = await port.ready(state).catch((error: unknown) => ({ready: false, detail: (error as Error).message}));
					return {kind: 'ready', ...ready};
				}

				case 'smoke': {
					return {kind: 'smoked', ...(await this.#dependencies.smoke(state))};
				}

				case 'judge': {
					// A judge that cannot read its metrics has no evidence either way: hold, never promote blind.
					const judged = await this.#dependencies
						.judge(state)
						.catch((error: unknown) => ({result: 'insufficient-data' as const, summary: `no judgement: ${(error as Error).message}`}));
					return {kind: 'judged', ...judged};
				}

				case 'observe-owner': {
					return await port.observeOwner(state);
				}

				default: {
					await this.#write(effect, state);
					return {kind: 'done', effect: effect.kind};
				}
			}
		} catch (error) {
			return {kind: 'error', effect: effect.kind, message: (error as Error).message};
		}
	}

	async #write(effect: DeliveryEffect, state: DeliveryState): Promise<void> {
		const {port} = this.#dependencies;
		const attempts = writeEffects.has(effect.kind) ? Math.max(1, this.#dependencies.attempts ?? 3) : 1;
		for (let attempt = 1; ; attempt++) {
			try {
				switch (effect.kind) {
					case 'create': {
						await port.create(state);
						return;
					}

					case 'set-owner-image': {
						await port.setOwnerImage(state);
						return;
					}

					case 'set-weight': {
						await port.setWeight(state, effect.weight);
						return;
					}

					case 'promote': {
						await port.promote(state);
						return;
					}

					case 'rollback': {
						await port.rollback(state);
						return;
					}

					case 'owner-abort': {
						await port.ownerAbort(state);
						return;
					}

					default: {
						return;
					}
				}
			} catch (error) {
				if (attempt >= attempts) throw error;
				await new Promise((resolve) => setTimeout(resolve, this.#dependencies.retryDelayMs ?? 1000));
			}
		}
	}

	async #save(state: DeliveryState): Promise<void> {
		try {
			await this.#dependencies.port.save(state);
		} catch (error) {
			this.#dependencies.onError?.(`rollout of ${state.id}: could not keep its state with the model: ${(error as Error).message}`);
		}
	}

	async #audit(record: DeliveryAuditRecord): Promise<void> {
		try {
			await this.#dependencies.audit(record);
		} catch (error) {
			this.#dependencies.onError?.(`rollout of ${record.state.id}: could not audit ${record.entry.action}: ${(error as Error).message}`);
		}
	}

	#entry(state: DeliveryState, action: string, message: string, before: string, after: string, user?: string): AuditEntry {
		const {model} = state.spec;
		const failed = state.phase === 'failed' || state.phase === 'rolled-back' || state.phase === 'rolling-back';
		return {
			time: state.updatedAt,
			user: user ?? state.spec.requestedBy,
			action,
			target: `${model.namespace}/${model.name}`,
			before,
			after,
			result: state.phase === 'failed' ? 'failed' : 'ok',
			message: message || (failed ? (state.reason ?? '') : ''),
		};
	}

	/** The audit record of the transition BEFORE → AFTER that INPUT caused. */
	#record(before: DeliveryState, after: DeliveryState, input: DeliveryInput): DeliveryAuditRecord {
		const last = after.events.at(-1)?.message ?? '';
		const ended = after.phase === 'rolled-back' || after.phase === 'aborted' || after.phase === 'failed';
		const message = ended && after.reason && !last.includes(after.reason) ? `${last}: ${after.reason}` : last;
		const {version} = after.spec;
		const user = input.kind === 'command' ? input.by : undefined;
		const at = (state: DeliveryState) => `${version} ${state.weight}% (${state.phase})`;
		let action = `rollout ${after.phase}`;
		if (input.kind === 'command') action = `rollout ${input.command}`;
		else if (after.weight !== before.weight) action = 'rollout weight';
		else if (input.kind === 'judged') action = 'rollout judgement';
		if (after.phase === 'promoted') action = 'rollout promote';
		// A failing judgement is audited as the judgement; the rollback's own record follows once it is done.
		if (
			after.phase === 'rolled-back' ||
			after.phase === 'aborted' ||
			(after.phase === 'rolling-back' && input.kind !== 'command' && input.kind !== 'judged')
		)
			action = 'rollout rollback';
		return {state: after, entry: this.#entry(after, action, message, at(before), at(after), user)};
	}
}
