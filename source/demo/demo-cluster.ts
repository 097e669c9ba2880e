/**
 * ClusterPort over the simulation. Actions take a short simulated time (as a write to the API server and the
 * router's reconciliation would), are checked at once so that an impossible one is refused without waiting, and are
 * checked again when written, so a change made meanwhile is a ConflictError rather than silently overwritten.
 */
import {
	type ChangePlan,
	changedVersions,
	ensureActionHolds,
	ensurePlanHolds,
	expectedWeights,
	planAfter,
	planBefore,
	PlanRefusal,
	planResult,
	planTraffic,
	type PlannedObjectWrite,
	type TrafficAction,
} from '../domain/plan.ts';
import {ConflictError, type ClusterPort, type SourceError} from '../domain/ports.ts';
import type {DeliveryPlan, DeliverySpec} from '../domain/delivery.ts';
import type {Context, Model, ModelRef, Unsubscribe} from '../domain/types.ts';
import type {AuditLog} from './audit-log.ts';
import {PRODUCTION_CONTEXT} from './fleet.ts';
import type {FleetSimulation} from './simulation.ts';

interface Watcher {
	namespace: string | undefined;
	onChange: (models: Model[]) => void;
	onError: (error: SourceError) => void;
	seenChange: number;
	seenContext: string;
	active: boolean;
}

export interface ActionOutcome {
	/** What changed, said for people, e.g. `canary v13: 10% → 20%`. */
	message: string;
}

function messageOf(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

export class DemoCluster implements ClusterPort {
	readonly label = 'demo';
	private readonly simulation: FleetSimulation;
	private readonly clock: () => number;
	private readonly audit: AuditLog;
	private readonly actionDelay: () => Promise<void>;
	private context = PRODUCTION_CONTEXT;
	private readonly watchers = new Set<Watcher>();
	/** Plans rollouts (demo/delivery-port.ts), set once the demo's rollouts are wired. */
	deliveryPlanner: {planDelivery(spec: DeliverySpec): Promise<DeliveryPlan>} | undefined;

	constructor(simulation: FleetSimulation, clock: () => number, audit: AuditLog, actionDelay: () => Promise<void>) {
		this.simulation = simulation;
		this.clock = clock;
		this.audit = audit;
		this.actionDelay = actionDelay;
	}

	contexts(): Context[] {
		return this.simulation.contexts.map(({context}) => ({...context}));
	}

	currentContext(): string {
		return this.context;
	}

	async switchContext(name: string): Promise<void> {
		const known = this.simulation.contexts.map(({context}) => context.name);
		if (!known.includes(name)) {
			throw new Error(`There is no context "${name}" in the demo. Contexts: ${known.join(', ')}.`);
		}

		this.context = name;
		this.notifyIfChanged();
	}

	async namespaces(): Promise<string[]> {
		return this.simulation.namespacesIn(this.context);
	}

	watchModels(namespace: string | undefined, onChange: (models: Model[]) => void, onError: (error: SourceError) => void): Unsubscribe {
		const watcher: Watcher = {namespace, onChange, onError, seenChange: -1, seenContext: '', active: true};
		this.watchers.add(watcher);
		// First list on the next microtask: the caller has finished subscribing by then.
		queueMicrotask(() => {
			if (watcher.active) this.deliver(watcher);
		});
		return () => {
			watcher.active = false;
			this.watchers.delete(watcher);
		};
	}

	/** Tell watchers about changes since they last heard (called by the demo's pump and after every action). */
	notifyIfChanged(): void {
		for (const watcher of this.watchers) {
			if (watcher.seenChange !== this.simulation.changeCount || watcher.seenContext !== this.context) {
				this.deliver(watcher);
			}
		}
	}

	private deliver(watcher: Watcher): void {
		this.simulation.advanceTo(this.clock());
		watcher.seenChange = this.simulation.changeCount;
		watcher.seenContext = this.context;
		const models = this.simulation.modelsIn(this.context, watcher.namespace).map((model) => model.toModel());
		try {
			watcher.onChange(models);
		} catch (error) {
			// A listener's bug must not stop the simulation; report it where the screen shows source errors.
			watcher.onError({source: 'cluster', message: `the model list could not be shown: ${messageOf(error)}`});
		}
	}

	async setCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number): Promise<void> {
		await this.changeCanaryWeight(model, canary, weight, expectedWeight);
	}

	async promote(model: ModelRef, canary: string): Promise<void> {
		await this.promoteCanary(model, canary);
	}

	async rollback(model: ModelRef, canary: string): Promise<void> {
		await this.rollbackCanary(model, canary);
	}

	async switchTraffic(model: ModelRef, to: string): Promise<void> {
		await this.switchTo(model, to);
	}

	/** Planned from the simulation's model as it is now, with the objects the simulated write touches. */
	async plan(action: TrafficAction): Promise<ChangePlan> {
		const model = this.currentModel(action.model);
		const plan = planTraffic(model, action);
		return {...plan, writes: demoWrites(model, plan)};
	}

	/** What a rollout would write, from the simulation as it is now. */
	async planDelivery(spec: DeliverySpec): Promise<DeliveryPlan> {
		if (!this.deliveryPlanner) throw new PlanRefusal('this demo runs no rollouts');
		return this.deliveryPlanner.planDelivery(spec);
	}

	async act(action: TrafficAction): Promise<void> {
		await this.actPlanned(action);
	}

	/**
	 * Carries out a traffic action from its plan: refused (ConflictError) when the model no longer has the weights the
	 * plan was confirmed on — checked at once and again when written — and audited and reported in the plan's words.
	 */
	async actPlanned(action: TrafficAction): Promise<ActionOutcome> {
		const target = action.kind === 'switch' ? action.to : action.kind === 'rollout' ? action.command : action.canary;
		let plan: ChangePlan | undefined;
		return this.perform(action.kind, action.model, target, (apply) => {
			const model = this.currentModel(action.model);
			ensureActionHolds(model, action);
			// Planned at the first check; the write checks the model still has the weights planned from.
			plan ??= {...planTraffic(model, action), writes: []};
			ensurePlanHolds(model, expectedWeights(plan));
			plan = {...plan, writes: demoWrites(model, plan)};
			switch (action.kind) {
				case 'set-weight': {
					this.simulation.setCanaryWeight(this.context, action.model, action.canary, action.to, undefined, apply);
					break;
				}

				case 'promote': {
					this.simulation.promote(this.context, action.model, action.canary, apply);
					break;
				}

				case 'rollback': {
					this.simulation.rollback(this.context, action.model, action.canary, apply);
					break;
				}

				case 'switch': {
					this.simulation.switchTraffic(this.context, action.model, action.to, apply);
					break;
				}
			}

			return {before: planBefore(plan), after: planAfter(plan), message: planResult(plan)};
		});
	}

	private currentModel(ref: ModelRef): Model {
		this.simulation.advanceTo(this.clock());
		const state = this.simulation.findModel(this.context, ref);
		if (!state) {
			const known = this.simulation.modelsIn(this.context).map((candidate) => candidate.label);
			throw new PlanRefusal(`There is no model ${ref.namespace}/${ref.name} in context ${this.context}. Models here: ${known.join(', ')}.`);
		}

		return state.toModel();
	}

	async changeCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number): Promise<ActionOutcome> {
		return this.perform('set-weight', model, canary, (apply) => {
			const {before, after} = this.simulation.setCanaryWeight(this.context, model, canary, weight, expectedWeight, apply);
			const pods = this.simulation.findModel(this.context, model)?.spec.router === 'replicas' && after !== weight;
			return {
				before: `${before}%`,
				after: `${weight}%`,
				message: `canary ${canary}: ${before}% → ${weight}%${pods ? ` (the weight follows the pods as they become ready: ${after}% now)` : ''}`,
			};
		});
	}

	async promoteCanary(model: ModelRef, canary: string, expectedStable?: string): Promise<ActionOutcome> {
		return this.perform('promote', model, canary, (apply) => {
			const current = this.simulation.findModel(this.context, model)?.stable()?.name;
			if (expectedStable !== undefined && current !== undefined && current !== expectedStable) {
				throw new ConflictError(
					`The stable version of ${model.namespace}/${model.name} is ${current} now, not ${expectedStable} as you saw it. Look again and retry.`,
				);
			}

			const weight = this.simulation.findModel(this.context, model)?.version(canary)?.weight ?? 0;
			const {previousStable} = this.simulation.promote(this.context, model, canary, apply);
			return {
				before: `stable ${previousStable ?? 'none'}, canary ${canary} ${weight}%`,
				after: `stable ${canary} 100%`,
				message: `${canary} promoted: stable now, 100% of traffic${previousStable ? `; ${previousStable} removed` : ''}`,
			};
		});
	}

	async rollbackCanary(model: ModelRef, canary: string): Promise<ActionOutcome> {
		return this.perform('rollback', model, canary, (apply) => {
			const {before} = this.simulation.rollback(this.context, model, canary, apply);
			return {before: `${before}%`, after: '0%', message: `canary ${canary} rolled back: ${before}% → 0%`};
		});
	}

	async switchTo(model: ModelRef, to: string, expectedFrom?: string): Promise<ActionOutcome> {
		return this.perform('switch', model, to, (apply) => {
			const current = this.simulation.findModel(this.context, model)?.stable()?.name;
			if (expectedFrom !== undefined && current !== undefined && current !== expectedFrom) {
				throw new ConflictError(
					`${model.namespace}/${model.name} serves ${current} now, not ${expectedFrom} as you saw it. Look again and retry.`,
				);
			}

			const {from} = this.simulation.switchTraffic(this.context, model, to, apply);
			return {
				before: `${from ?? 'none'} 100%`,
				after: `${to} 100%`,
				message: `all traffic switched to ${to}${from ? `; ${from} kept at 0% to switch back` : ''}`,
			};
		});
	}

	/** Check, wait the simulated time, check and write again; audit every attempt. */
	private async perform(
		action: string,
		model: ModelRef,
		version: string,
		change: (apply: boolean) => {before: string; after: string; message: string},
	): Promise<ActionOutcome> {
		const target = `${model.namespace}/${model.name} ${version}`;
		let applied: {before: string; after: string; message: string};
		try {
			this.simulation.advanceTo(this.clock());
			change(false);
			await this.actionDelay();
			this.simulation.advanceTo(this.clock());
			applied = change(true);
		} catch (error) {
			this.audit.record({
				time: this.clock(),
				action,
				target,
				before: '',
				after: '',
				result: 'refused',
				message: messageOf(error),
			});
			throw error;
		}

		const {before, after, message} = applied;
		this.audit.record({time: this.clock(), action, target, before, after, result: 'ok', message});
		this.notifyIfChanged();
		return {message};
	}
}

/** What the simulated change writes: the router (or the replicas), and on a promotion the old stable, which leaves. */
function demoWrites(model: Model, plan: ChangePlan): PlannedObjectWrite[] {
	const changes = changedVersions(plan).map((version) => `${version.name} ${version.before}% → ${version.after}%`);
	if (changes.length === 0) return [];
	const writes: PlannedObjectWrite[] = [{object: model.routerObject ?? `the replicas of ${model.name}`, change: changes.join(', ')}];
	if (plan.action.kind === 'promote') {
		const stable = model.versions.find((version) => version.track === 'stable');
		if (stable)
			writes.push({
				object: stable.object ?? stable.name,
				change: `${stable.name} removed once the traffic has moved (the old stable leaves)`,
			});
	}

	return writes;
}
