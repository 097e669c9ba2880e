/** What a delivery needs from the outside world (the Kubernetes adapter, the demo fleet), and who may start one. */
import type {DeliveryInput, DeliverySpec, DeliveryState} from './delivery.ts';

/**
 * The outside world of a delivery (the Kubernetes adapter, the demo fleet). Every method is idempotent: a runner that
 * restarts may repeat the effect it was carrying out.
 */
export interface DeliveryPort {
	/**
	 * What starting SPEC would write, from a fresh read: the mode (weights, or owner when a controller owns the model),
	 * the stable version, and every object created or changed (`Deployment/fraud-v13: created from fraud-v12 with image
	 * …`). Throws a PlanRefusal (domain/plan.ts) when it cannot be done (no stable version, the version exists, …).
	 */
	planDelivery(spec: DeliverySpec): Promise<DeliveryPlan>;
	create(state: DeliveryState): Promise<void>;
	setOwnerImage(state: DeliveryState): Promise<void>;
	/** `fatal`: it never will be (the controller created something else than planned); the delivery rolls back at once. */
	ready(state: DeliveryState): Promise<{ready: boolean; detail: string; fatal?: boolean}>;
	setWeight(state: DeliveryState, weight: number): Promise<void>;
	promote(state: DeliveryState): Promise<void>;
	rollback(state: DeliveryState): Promise<void>;
	observeOwner(state: DeliveryState): Promise<Extract<DeliveryInput, {kind: 'owner'}>>;
	ownerAbort(state: DeliveryState): Promise<void>;
	/** Keeps the state with the model (the annotation). */
	save(state: DeliveryState): Promise<void>;
	/** Every delivery state kept in the cluster (a runner resumes the active ones). */
	load(): Promise<DeliveryState[]>;
}

export interface DeliveryPlan {
	/**
	 * The spec the delivery runs with: the one asked for, or the adapter's where it must name the version itself (a
	 * KServe revision; the name asked for is then `versionLabel`).
	 */
	spec: DeliverySpec;
	mode: DeliveryState['mode'];
	stable: string;
	/** Every object written, with what changes: the confirmation, the audit record and the result come from these. */
	writes: Array<{object: string; change: string}>;
}

/** Lines of a delivery plan for the confirmation dialog, the audit record and the CLI. */
export function deliveryPlanLines(plan: DeliveryPlan): string[] {
	const {spec} = plan;
	const lines = [
		`new version ${spec.version} (${spec.image}) beside stable ${plan.stable}`,
		plan.mode === 'weights'
			? `steps ${spec.steps.join('% → ')}%, ${spec.pauseSeconds}s each, judged canary vs stable before each; a fail rolls back`
			: `the owning controller runs the canary; modeldeck follows it`,
	];
	for (const write of plan.writes) lines.push(`writes ${write.object}: ${write.change}`);
	return lines;
}

/** Starts deliveries: the agent's runner (used by the registry watcher, the HTTP API and the console's `d`). */
export interface DeliveryStarter {
	start(spec: DeliverySpec): Promise<{ok: true; state: DeliveryState} | {ok: false; message: string}>;
}
