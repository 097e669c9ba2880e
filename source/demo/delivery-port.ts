/**
 * DeliveryPort over the simulation: a rollout of the demo fleet creates a simulated version from the stable one with
 * the new image (its pods start, take traffic as the weights move, and are measured like every other version), and
 * keeps its state with the model as the cluster keeps it in an annotation. An image whose name says `slow` serves
 * five times slower, one that says `bad` fails a fifth of its requests: a demo can show a rollback.
 */
import type {DeliveryInput, DeliveryPlan, DeliveryPort, DeliverySpec, DeliveryState} from '../domain/delivery.ts';
import {isDeliveryActive} from '../domain/delivery.ts';
import {PlanRefusal} from '../domain/plan.ts';
import type {ModelRef} from '../domain/types.ts';
import type {VersionSpec} from './fleet.ts';
import type {FleetSimulation, ModelState, VersionState} from './simulation.ts';

/** How long the new version's pods take to become ready, ms. */
const POD_START_MS = 3000;

/** What the image's name makes of the new version: slower, failing, or as good as the stable one. */
export function demoImageBehaviour(image: string): 'slow' | 'bad' | 'good' {
	const name = image.toLowerCase();
	if (name.includes('slow')) return 'slow';
	if (name.includes('bad')) return 'bad';
	return 'good';
}

/** The new version's spec: the stable one's, with the new name, image and object, and the image's behaviour. */
export function deliveredVersionSpec(
	model: ModelState,
	stable: VersionState,
	spec: DeliverySpec,
	now: number,
	launchTime: number,
): VersionSpec {
	const behaviour = demoImageBehaviour(spec.image);
	const base = stable.spec;
	const object = `Deployment/${model.name}-${spec.version}`;
	return {
		...base,
		name: spec.version,
		track: 'canary',
		weight: 0,
		// The stable's template: as many pods (and its autoscaler), so that it can take all traffic at the last step.
		replicas: Math.max(1, stable.replicasDesired),
		image: spec.image,
		ageMs: launchTime - now,
		object,
		...(base.service ? {service: `Service/${model.name}-${spec.version}`} : {}),
		latency:
			behaviour === 'slow'
				? {...base.latency, medianMs: base.latency.medianMs * 5, tailProbability: Math.min(0.2, base.latency.tailProbability * 3)}
				: {...base.latency},
		errorRatio: behaviour === 'bad' ? Math.max(0.2, base.errorRatio) : base.errorRatio,
		stuck: undefined,
	};
}

/** The canaries taking traffic. */
function otherCanaries(model: ModelState): VersionState[] {
	return model.versions.filter((version) => version.track === 'canary' && version.weight > 0);
}

export interface DemoDeliveryPortOptions {
	simulation: FleetSimulation;
	clock: () => number;
	/** The context the console shows: a rollout starts there and stays there. */
	currentContext: () => string;
	/** Tell the console's watchers (the model list) about a change. */
	notify: () => void;
}

export class DemoDeliveryPort implements DeliveryPort {
	readonly #options: DemoDeliveryPortOptions;
	/** The context of each delivery, by id. */
	readonly #contexts = new Map<string, string>();

	constructor(options: DemoDeliveryPortOptions) {
		this.#options = options;
	}

	#context(state: DeliveryState): string {
		return this.#contexts.get(state.id) ?? this.#options.currentContext();
	}

	#model(context: string, ref: ModelRef): ModelState {
		const {simulation, clock} = this.#options;
		simulation.advanceTo(clock());
		const model = simulation.findModel(context, ref);
		if (!model) {
			const known = simulation.modelsIn(context).map((candidate) => candidate.label);
			throw new PlanRefusal(`There is no model ${ref.namespace}/${ref.name} in context ${context}. Models here: ${known.join(', ')}.`);
		}

		return model;
	}

	async planDelivery(spec: DeliverySpec): Promise<DeliveryPlan> {
		const model = this.#model(this.#options.currentContext(), spec.model);
		const stable = model.stable();
		if (!stable) throw new PlanRefusal(`${model.label} has no stable version to copy the new one from`);
		if (model.version(spec.version)) {
			throw new PlanRefusal(`${model.label} already has a version ${spec.version}: give the new one another name (--version)`);
		}

		if (isDeliveryActive(model.delivery)) {
			throw new PlanRefusal(`${model.label} already has a rollout in progress (${model.delivery.spec.version}): abort it first`);
		}

		const name = `${model.name}-${spec.version}`;
		const router = model.spec.router === 'replicas' ? `the replicas of ${model.name}` : model.spec.routerObject;
		return {
			spec,
			mode: 'weights',
			stable: stable.name,
			writes: [
				{object: `Deployment/${name}`, change: `created from ${stable.spec.object} with image ${spec.image}`},
				...(stable.spec.service ? [{object: `Service/${name}`, change: `created, selecting version ${spec.version}`}] : []),
				{object: router, change: `backend ${spec.version} added at 0%`},
				// One canary at a time: one taking traffic now gives it back to the stable version (and stays deployed).
				...otherCanaries(model).map((version) => ({
					object: router,
					change: `${version.name} ${version.weight}% → 0%: the rollout's version is the one canary`,
				})),
				{object: `${model.spec.routerObject}`, change: 'annotation modeldeck.dev/delivery keeps the rollout state'},
			],
		};
	}

	async create(state: DeliveryState): Promise<void> {
		const context = this.#context(state);
		this.#contexts.set(state.id, context);
		const {simulation, clock} = this.#options;
		const model = this.#model(context, state.spec.model);
		const stable = model.version(state.stable) ?? model.stable();
		if (!stable) throw new Error(`${model.label} has no stable version to copy ${state.spec.version} from`);
		for (const version of otherCanaries(model).filter((other) => other.name !== state.spec.version)) {
			simulation.setCanaryWeight(context, state.spec.model, version.name, 0, undefined, true);
		}

		simulation.addVersion(
			context,
			state.spec.model,
			deliveredVersionSpec(model, stable, state.spec, clock(), simulation.launchTime),
			POD_START_MS,
		);
		this.#options.notify();
	}

	async setOwnerImage(): Promise<void> {
		throw new Error("the demo's models are plain Deployments: no controller owns them");
	}

	async ready(state: DeliveryState): Promise<{ready: boolean; detail: string}> {
		const version = this.#model(this.#context(state), state.spec.model).version(state.spec.version);
		if (!version) return {ready: false, detail: `${state.spec.version} is not there`};
		const ready = version.replicasDesired > 0 && version.replicasReady >= version.replicasDesired;
		return {ready, detail: `${version.replicasReady}/${version.replicasDesired} pods ready`};
	}

	async setWeight(state: DeliveryState, weight: number): Promise<void> {
		const context = this.#context(state);
		this.#options.simulation.setCanaryWeight(context, state.spec.model, state.spec.version, weight, undefined, true);
		this.#options.notify();
	}

	async promote(state: DeliveryState): Promise<void> {
		const context = this.#context(state);
		const model = this.#model(context, state.spec.model);
		if (model.stable()?.name === state.spec.version) return;
		this.#options.simulation.promote(context, state.spec.model, state.spec.version, true);
		this.#options.notify();
	}

	async rollback(state: DeliveryState): Promise<void> {
		const context = this.#context(state);
		const model = this.#model(context, state.spec.model);
		if (model.version(state.spec.version)) {
			this.#options.simulation.rollback(context, state.spec.model, state.spec.version, true);
			this.#options.simulation.removeVersion(context, state.spec.model, state.spec.version);
		}

		this.#options.notify();
	}

	async observeOwner(): Promise<Extract<DeliveryInput, {kind: 'owner'}>> {
		throw new Error("the demo's models are plain Deployments: no controller to follow");
	}

	async ownerAbort(): Promise<void> {
		throw new Error("the demo's models are plain Deployments: no controller to abort through");
	}

	async save(state: DeliveryState): Promise<void> {
		const context = this.#context(state);
		this.#contexts.set(state.id, context);
		const model = this.#model(context, state.spec.model);
		model.delivery = state;
		this.#options.simulation.markChanged(model);
		this.#options.notify();
	}

	async load(): Promise<DeliveryState[]> {
		const {simulation} = this.#options;
		return simulation.contexts.flatMap(({context}) =>
			simulation.modelsIn(context.name).flatMap((model) => (model.delivery ? [model.delivery] : [])),
		);
	}
}
