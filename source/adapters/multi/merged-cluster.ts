/**
 * Several clusters shown at once: one ClusterPort per kubeconfig context, merged. Every model is tagged with its
 * context (`Model.cluster`), so its keys are the context's own; every action goes to the port of its model's context,
 * which gets the model without the tag (as it would alone), and the plan comes back tagged so that the confirmation,
 * the audit and the result name the context. Each context's watch fails on its own: its error and its healthy
 * moments name the context, and its last models stay in the merged list (marked stale by the store).
 */
import {PlanRefusal, type ChangePlan, type TrafficAction} from '../../domain/plan.ts';
import type {ClusterPort, SourceError} from '../../domain/ports.ts';
import type {Context, Model, ModelRef, Unsubscribe} from '../../domain/types.ts';

export interface ClusterMember {
	context: string;
	port: ClusterPort;
}

export interface MergedClusterOptions {
	/** One port per context, in the order shown; each is on its own context already. */
	members: ClusterMember[];
	/** Why changes in a context are refused (read-only in settings), or undefined. */
	readOnly?: (context: string) => string | undefined;
}

/** Every context's models, each tagged with its context, in the members' order. */
export function mergeModels(lists: ReadonlyArray<readonly [context: string, models: readonly Model[]]>): Model[] {
	return lists.flatMap(([context, models]) => models.map((model) => ({...model, cluster: context})));
}

/** The ref as the context's own port knows it: without the cluster tag. */
export function untagged<T extends ModelRef>(ref: T): Omit<T, 'cluster'> {
	const {cluster: _cluster, ...rest} = ref;
	return rest;
}

function untaggedAction(action: TrafficAction): TrafficAction {
	return {...action, model: untagged(action.model)};
}

/** The plan of a context's port, tagged with that context (its model and its action). */
export function taggedPlan(plan: ChangePlan, context: string): ChangePlan {
	return {...plan, model: {...plan.model, cluster: context}, action: {...plan.action, model: {...plan.action.model, cluster: context}}};
}

export class MergedClusterPort implements ClusterPort {
	readonly #members: ClusterMember[];
	readonly #readOnly: (context: string) => string | undefined;

	constructor(options: MergedClusterOptions) {
		if (options.members.length === 0) throw new Error('no contexts to show');
		this.#members = options.members;
		this.#readOnly = options.readOnly ?? (() => undefined);
	}

	get label(): string {
		return this.shownContexts().join(',');
	}

	shownContexts(): string[] {
		return this.#members.map((member) => member.context);
	}

	contexts(): Context[] {
		const seen = new Map<string, Context>();
		for (const member of this.#members)
			for (const context of member.port.contexts()) if (!seen.has(context.name)) seen.set(context.name, context);
		return [...seen.values()];
	}

	currentContext(): string {
		return this.label;
	}

	async switchContext(name: string): Promise<void> {
		throw new Error(`several contexts are shown at once (${this.label}); to work in ${name} alone, start modeldeck with --context ${name}`);
	}

	async namespaces(): Promise<string[]> {
		const answers = await Promise.allSettled(this.#members.map((member) => member.port.namespaces()));
		const fulfilled = answers.flatMap((answer) => (answer.status === 'fulfilled' ? answer.value : []));
		const failed = answers.find((answer) => answer.status === 'rejected');
		if (fulfilled.length === 0 && failed) throw failed.reason;
		return [...new Set(fulfilled)].sort();
	}

	watchModels(
		namespace: string | undefined,
		onChange: (models: Model[]) => void,
		onError: (error: SourceError) => void,
		onAlive?: (cluster?: string) => void,
	): Unsubscribe {
		const latest = new Map<string, Model[]>();
		let stopped = false;
		const emit = () => {
			if (stopped) return;
			onChange(
				mergeModels(
					this.#members
						.filter((member) => latest.has(member.context))
						.map((member) => [member.context, latest.get(member.context)!] as const),
				),
			);
		};

		const unsubscribes = this.#members.map((member) =>
			member.port.watchModels(
				namespace,
				(models) => {
					latest.set(member.context, models);
					emit();
					// Models arriving from a context are an answer from it.
					if (!stopped) onAlive?.(member.context);
				},
				(error) => {
					if (!stopped) onError({...error, cluster: member.context, message: error.message});
				},
				() => {
					if (!stopped) onAlive?.(member.context);
				},
			),
		);
		return () => {
			stopped = true;
			for (const unsubscribe of unsubscribes) unsubscribe();
		};
	}

	/** The member a ref's cluster names; a ref without one, or with an unknown one, is refused (never guessed). */
	#member(ref: ModelRef): ClusterMember {
		if (ref.cluster === undefined) {
			throw new PlanRefusal(`${ref.name} names no context, and ${this.label} are shown: say which (the model's row has it)`);
		}

		const member = this.#members.find((candidate) => candidate.context === ref.cluster);
		if (!member) throw new PlanRefusal(`context ${ref.cluster} is not among those shown (${this.label})`);
		return member;
	}

	/** The member for a change, refused when its context is read-only. */
	#writable(ref: ModelRef): ClusterMember {
		const member = this.#member(ref);
		const reason = this.#readOnly(member.context);
		if (reason) throw new PlanRefusal(`context ${member.context} is read-only (${reason}): nothing is changed there`);
		return member;
	}

	async setCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number): Promise<void> {
		return this.#writable(model).port.setCanaryWeight(untagged(model), canary, weight, expectedWeight);
	}

	async promote(model: ModelRef, canary: string): Promise<void> {
		return this.#writable(model).port.promote(untagged(model), canary);
	}

	async rollback(model: ModelRef, canary: string): Promise<void> {
		return this.#writable(model).port.rollback(untagged(model), canary);
	}

	async switchTraffic(model: ModelRef, to: string): Promise<void> {
		return this.#writable(model).port.switchTraffic(untagged(model), to);
	}

	async plan(action: TrafficAction): Promise<ChangePlan> {
		const member = this.#writable(action.model);
		return taggedPlan(await member.port.plan(untaggedAction(action)), member.context);
	}

	async act(action: TrafficAction): Promise<void> {
		return this.#writable(action.model).port.act(untaggedAction(action));
	}
}
