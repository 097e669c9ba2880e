/**
 * The agent's view of the models: kept up to date by the cluster's watch, and read afresh for an action's before and
 * after when the cluster can.
 */
import type {ClusterPort} from '../domain/ports.ts';
import type {Action, Model, ModelRef} from '../domain/types.ts';
import {modelKey} from '../domain/types.ts';
import {actionModel} from './auth/permissions.ts';
import type {ActionPlanner} from './auth/permissions.ts';

export class ModelView {
	readonly #models = new Map<string, Model>();
	readonly #planner: () => ActionPlanner | undefined;

	constructor(planner: () => ActionPlanner | undefined) {
		this.#planner = planner;
	}

	/** Follows the cluster's models; the function returned stops it. */
	watch(cluster: ClusterPort, log: (line: string) => void): () => void {
		return cluster.watchModels(
			undefined,
			(models) => {
				this.#models.clear();
				for (const model of models) this.#models.set(modelKey(model), model);
			},
			(error) => log(`cluster: ${error.message}`),
		);
	}

	get models(): Model[] {
		return [...this.#models.values()];
	}

	find(ref: ModelRef): Model | undefined {
		return this.#models.get(modelKey(ref));
	}

	/** Replaces the view (tests, and agents without a cluster watch). */
	set(models: Model[]): void {
		this.#models.clear();
		for (const model of models) this.#models.set(modelKey(model), model);
	}

	/**
	 * The model as the cluster has it, for an action's before and after: read afresh when the cluster can, else the
	 * agent's view (which a ClusterPort without fresh reads updates as it changes). A message when it could not read.
	 */
	async now(action: Action): Promise<Model | string | undefined> {
		const ref = actionModel(action);
		const planner = this.#planner();
		if (!planner) return this.find(ref);
		try {
			return await planner.readModel(ref);
		} catch (error) {
			return `unknown (could not read ${ref.namespace}/${ref.name}: ${(error as Error).message})`;
		}
	}
}
