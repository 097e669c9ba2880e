/**
 * A ClusterPort that stands in until the real one has loaded. The Kubernetes client is big; importing it after
 * the first frame keeps start-up fast. Watches and actions made before it is ready wait for it.
 *
 * The first models may come before it: made from the lists sent at start-up (kube/early-lists.ts), for the watch of
 * the namespace those lists are of, unless the real watch has said something first.
 */
import type {DeliveryPlan, DeliverySpec} from '../domain/delivery.ts';
import {PlanRefusal, type ChangePlan, type TrafficAction} from '../domain/plan.ts';
import type {ClusterPort, SourceError} from '../domain/ports.ts';
import type {Context, Model, ModelRef, Unsubscribe} from '../domain/types.ts';

/** Models made before the real port loaded, for a watch of NAMESPACE (undefined: every namespace). */
export interface EarlyModels {
	namespace: string | undefined;
	/** Undefined when they could not be made (a list failed): the real watch then says why. */
	models: Promise<Model[] | undefined>;
}

export class LazyClusterPort implements ClusterPort {
	#real: ClusterPort | undefined;
	#failure: string | undefined;
	#ready!: Promise<ClusterPort>;
	#fallbackContext: string;
	readonly #fallbackContexts: Context[];
	readonly #load: (context?: string) => Promise<ClusterPort>;
	/** Handed to the first watch of their namespace only. */
	#early: EarlyModels | undefined;

	/**
	 * LOAD makes the real port, on CONTEXT when given (after a failed load, when the operator picks a context).
	 * FALLBACK_CONTEXT is the context in force and FALLBACK_CONTEXTS the kubeconfig's, as read before the client loads.
	 */
	constructor(
		load: (context?: string) => Promise<ClusterPort>,
		fallbackContext: string,
		fallbackContexts: Context[] = [],
		early?: EarlyModels,
	) {
		this.#load = load;
		this.#early = early;
		this.#fallbackContext = fallbackContext;
		this.#fallbackContexts = fallbackContexts;
		this.#start(undefined);
	}

	#start(context: string | undefined): void {
		this.#failure = undefined;
		this.#ready = this.#load(context).then(
			(real) => {
				this.#real = real;
				return real;
			},
			(error: unknown) => {
				this.#failure = error instanceof Error ? error.message : String(error);
				throw error;
			},
		);
		// The failure is reported through watchModels' onError; don't crash on an unhandled rejection.
		this.#ready.catch(() => undefined);
	}

	get label(): string {
		return this.#real?.label ?? this.#fallbackContext;
	}

	contexts(): Context[] {
		return this.#real?.contexts() ?? this.#fallbackContexts;
	}

	currentContext(): string {
		return this.#real?.currentContext() ?? this.#fallbackContext;
	}

	async switchContext(name: string): Promise<void> {
		if (!this.#real && this.#failure !== undefined) {
			// The source could not start on the context in force (a kubeconfig with no current-context, say): start
			// it again on the one the operator picked.
			this.#fallbackContext = name;
			this.#start(name);
			await this.#ready;
			return;
		}

		return (await this.#ready).switchContext(name);
	}

	async namespaces(): Promise<string[]> {
		return (await this.#ready).namespaces();
	}

	watchModels(
		namespace: string | undefined,
		onChange: (models: Model[]) => void,
		onError: (error: SourceError) => void,
		onAlive?: () => void,
	): Unsubscribe {
		let unsubscribe: Unsubscribe | undefined;
		let cancelled = false;
		/** The real watch has sent models: early ones would be older news. */
		let heard = false;
		const early = this.#early;
		this.#early = undefined;
		if (early && early.namespace === namespace) {
			void early.models.then((models) => {
				if (models && !heard && !cancelled) onChange(models);
			});
		}

		this.#ready.then(
			(real) => {
				if (cancelled) return;
				unsubscribe = real.watchModels(
					namespace,
					(models) => {
						heard = true;
						onChange(models);
					},
					onError,
					onAlive,
				);
			},
			() => onError({source: 'cluster', message: this.#failure ?? 'the Kubernetes source failed to start'}),
		);
		return () => {
			cancelled = true;
			unsubscribe?.();
		};
	}

	async setCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number): Promise<void> {
		return (await this.#ready).setCanaryWeight(model, canary, weight, expectedWeight);
	}

	async promote(model: ModelRef, canary: string): Promise<void> {
		return (await this.#ready).promote(model, canary);
	}

	async rollback(model: ModelRef, canary: string): Promise<void> {
		return (await this.#ready).rollback(model, canary);
	}

	async switchTraffic(model: ModelRef, to: string): Promise<void> {
		return (await this.#ready).switchTraffic(model, to);
	}

	async plan(action: TrafficAction): Promise<ChangePlan> {
		return (await this.#ready).plan(action);
	}

	async act(action: TrafficAction): Promise<void> {
		return (await this.#ready).act(action);
	}

	/** What a rollout would write, planned by the real port; refused, saying so, when that one cannot plan rollouts. */
	async planDelivery(spec: DeliverySpec): Promise<DeliveryPlan> {
		const real = await this.#ready;
		if (!real.planDelivery) {
			throw new PlanRefusal(`this cluster source (${real.label}) cannot plan a rollout: start one with modeldeck rollout from a shell`);
		}

		return real.planDelivery(spec);
	}
}
