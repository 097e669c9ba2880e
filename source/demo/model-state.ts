/** One simulated model: its versions, its demand over time and its weights. */
import type {DeliveryState} from '../domain/delivery.ts';
import type {Model} from '../domain/types.ts';
import {weightsFromReplicas} from '../domain/weights.ts';
import type {ModelSpec} from './fleet.ts';
import type {Random} from './random.ts';
import type {VersionState} from './version-state.ts';

export class ModelState {
	readonly spec: ModelSpec;
	readonly context: string;
	versions: VersionState[];
	revision = 1;
	/** The model's rollout, kept with it as the cluster keeps it in an annotation (demo/delivery-port.ts). */
	delivery: DeliveryState | undefined;
	private demandNoise = 0;
	private readonly demandPhase: number;

	constructor(spec: ModelSpec, context: string, versions: VersionState[], phase: number) {
		this.spec = spec;
		this.context = context;
		this.versions = versions;
		this.demandPhase = phase;
		if (spec.router === 'replicas') this.deriveWeightsFromReplicas();
	}

	get namespace(): string {
		return this.spec.namespace;
	}

	get name(): string {
		return this.spec.name;
	}

	get label(): string {
		return `${this.spec.namespace}/${this.spec.name}`;
	}

	/** Requests/s reaching the model: a slow 30-minute swing and a little autocorrelated noise. */
	demand(time: number, random: Random): number {
		this.demandNoise = 0.95 * this.demandNoise + 0.01 * random.normal();
		const swing = 0.12 * Math.sin((2 * Math.PI * time) / (30 * 60_000) + this.demandPhase);
		return Math.max(0, this.spec.baseRps * (1 + swing) * (1 + this.demandNoise));
	}

	version(name: string): VersionState | undefined {
		return this.versions.find((version) => version.name === name);
	}

	stable(): VersionState | undefined {
		return this.versions.find((version) => version.track === 'stable');
	}

	/** For the `replicas` router the weights are the shares of ready pods (as Argo Rollouts does). True on change. */
	deriveWeightsFromReplicas(): boolean {
		const weights = weightsFromReplicas(this.versions.map((version) => version.replicasReady));
		let changed = false;
		for (const [index, version] of this.versions.entries()) {
			const weight = weights[index]!;
			if (version.weight !== weight) {
				version.weight = weight;
				changed = true;
			}
		}

		return changed;
	}

	/** Keep the stable version first, then canaries in their original order. */
	sortVersions(): void {
		this.versions.sort((a, b) => (a.track === b.track ? 0 : a.track === 'stable' ? -1 : 1));
	}

	toModel(): Model {
		const model: Model = {
			namespace: this.spec.namespace,
			name: this.spec.name,
			router: this.spec.router,
			routerObject: this.spec.routerObject,
			runtime: this.spec.runtime,
			resourceVersion: String(this.revision),
			versions: this.versions.map((version) => version.toVersion()),
		};
		if (this.spec.warnings && this.spec.warnings.length > 0) model.warnings = [...this.spec.warnings];
		if (this.delivery) model.delivery = this.delivery;
		return model;
	}
}
