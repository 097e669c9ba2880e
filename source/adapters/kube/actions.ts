/**
 * Actions straight against the API server with the operator's own credentials. Each action reads the model afresh,
 * plans its writes (plans.ts, pure) and applies them as JSON Patches whose `test` ops make a concurrent change fail
 * instead of being overwritten. Failures are said for people: a ConflictError names what changed, a ForbiddenError
 * names the verb, resource and namespace the user lacks.
 */
import {type ChangePlan, ensureActionHolds, planTraffic, type TrafficAction} from '../../domain/plan.ts';
import {ConflictError} from '../../domain/ports.ts';
import {weightsFromReplicas} from '../../domain/weights.ts';
import type {ModelRef} from '../../domain/types.ts';
import {type ClusterSnapshot, type ModelAnalysis, analyseModels} from './build-models.ts';
import type {Conventions} from './conventions.ts';
import {actionError, isConflict, statusOf} from './errors.ts';
import {type KubeHttp, type ResourceType, resourcePath, resourceTypes} from './http.ts';
import {readFlaggerCanary, refuseControllerOwned} from './flagger-actions.ts';
import {selectorToQuery} from './labels.ts';
import type {Deployment, KubeList, ReplicaSet} from './objects.ts';
import {type PlannedWrite, PlanError, planPromote, planRollbackTraffic, planSetWeight, planSwitch, planTemplateUndo} from './plans.ts';
import {rolloutHashLabel} from './discovery/argo-rollouts.ts';
import {refuseDirectChange, refuseOwnedWrites} from './owned-writes.ts';
import {planRolloutCommand} from './rollout-plans.ts';

export type {TrafficAction} from '../../domain/plan.ts';

/** One write an action makes, in SubjectAccessReview terms, for whoever must authorise it first (the agent). */
export interface PlannedChange {
	verb: 'patch';
	group: string;
	resource: string;
	/** `status` for a write through the status subresource (Argo Rollouts' commands). */
	subresource?: string;
	namespace: string;
	name: string;
	/** `HTTPRoute/fraud`, `Deployment/fraud-v1`. */
	object: string;
	/** What it changes, for messages: `v2 10% → 100%`. */
	change: string;
}

/**
 * Limits an action to writes authorised beforehand (the agent authorises `plannedChanges`, then acts within them):
 * a plan that would write anything else, because the model changed in between, fails before writing anything.
 */
export interface Within {
	within?: PlannedChange[];
	/** The model as read a moment ago (the read the action's plan was checked against), instead of reading again. */
	analysis?: ModelAnalysis;
}

function changeKey(change: {group: string; resource: string; subresource?: string; namespace: string; name: string}): string {
	return `${change.group}/${change.resource}${change.subresource ? `/${change.subresource}` : ''}/${change.namespace}/${change.name}`;
}

export interface ActionOptions {
	conventions: Conventions;
	/** Keep the old stable's replicas after a promotion (default: scale it to zero). */
	promoteKeepsOldStable: boolean;
}

export class KubeActions {
	private readonly http: () => KubeHttp;
	private readonly options: ActionOptions;

	constructor(http: () => KubeHttp, options: ActionOptions) {
		this.http = http;
		this.options = options;
	}

	/** The model as the API server has it now, with what is needed to change it. */
	async read(ref: ModelRef): Promise<ModelAnalysis> {
		const http = this.http();
		const {namespace, name} = ref;
		const list = async <T>(type: ResourceType, optional: boolean, labelSelector?: string): Promise<T[]> => {
			try {
				const result = await http.get<KubeList>(resourcePath(type, namespace), {query: {labelSelector}});
				return (result?.items ?? []) as T[];
			} catch (error) {
				const status = statusOf(error);
				if (optional && (status === 404 || status === 403)) return [];
				throw actionError(error, {verb: 'list', resource: type.plural, namespace, server: http.server, user: http.user});
			}
		};

		const getInferenceService = async () => {
			try {
				return [await http.get(resourcePath(resourceTypes.inferenceServices, namespace, name))];
			} catch (error) {
				const status = statusOf(error);
				if (status === 404 || status === 403) return [];
				throw actionError(error, {verb: 'get', resource: 'inferenceservices', name, namespace, server: http.server, user: http.user});
			}
		};

		// Every Deployment of the namespace, not only the labelled ones: models are also found without modeldeck's labels
		// (routers' backends, name and version labels, KServe's RawDeployment), and discovery must see what the watch saw.
		const [
			deployments,
			services,
			autoscalers,
			httpRoutes,
			virtualServices,
			destinationRules,
			inferenceServices,
			trafficSplits,
			seldonModels,
			seldonExperiments,
			flagger,
			rollouts,
			analysisRuns,
			replicaSets,
			deliveries,
		] = await Promise.all([
			list(resourceTypes.deployments, false),
			list(resourceTypes.services, false),
			list(resourceTypes.autoscalers, true),
			list(resourceTypes.httpRoutes, true),
			list(resourceTypes.virtualServices, true),
			list(resourceTypes.destinationRules, true),
			getInferenceService(),
			list(resourceTypes.trafficSplits, true),
			list(resourceTypes.seldonModels, true),
			list(resourceTypes.seldonExperiments, true),
			readFlaggerCanary(http, namespace, name),
			// Argo Rollouts: the Rollouts (which own routers by naming them), their AnalysisRuns and ReplicaSets.
			list(resourceTypes.rollouts, true),
			list(resourceTypes.analysisRuns, true),
			list(resourceTypes.replicaSets, true, rolloutHashLabel),
			list(resourceTypes.deliveries, true),
		]);
		const snapshot = {
			deployments,
			services,
			autoscalers,
			httpRoutes,
			virtualServices,
			destinationRules,
			inferenceServices,
			trafficSplits,
			seldonModels,
			seldonExperiments,
			canaries: flagger.canaries,
			canaryEvents: flagger.events,
			rollouts,
			analysisRuns,
			replicaSets,
			deliveries,
		} as ClusterSnapshot;
		const analysis = analyseModels(snapshot, this.options.conventions).find(
			(candidate) => candidate.model.namespace === namespace && candidate.model.name === name,
		);
		if (!analysis) {
			throw new PlanError(
				`model ${name} not found in namespace ${namespace}: no Deployment labelled ${this.options.conventions.modelLabel}=${name}, no router annotated with it or reaching two Deployments, no InferenceService, Argo Rollouts Rollout, Flagger Canary, Seldon Experiment or Model named so, no Deployments labelled app.kubernetes.io/name=${name} with two versions`,
			);
		}

		return analysis;
	}

	/**
	 * Every write the action would make now, from a fresh read: the same plans its method applies (the undo of a
	 * rollback included), so that whoever authorises these writes authorises exactly what the action changes.
	 * Throws a PlanError when the action cannot be done.
	 */
	async plannedChanges(action: TrafficAction): Promise<PlannedChange[]> {
		return (await this.writesFor(action, await this.read(action.model))).map(plannedChange);
	}

	private async writesFor(action: TrafficAction, analysis: ModelAnalysis): Promise<PlannedWrite[]> {
		refuseControllerOwned(analysis, action.kind);
		refuseDirectChange(analysis, action);
		const writes = await this.unguardedWritesFor(action, analysis);
		refuseOwnedWrites(analysis, writes);
		return writes;
	}

	private async unguardedWritesFor(action: TrafficAction, analysis: ModelAnalysis): Promise<PlannedWrite[]> {
		switch (action.kind) {
			case 'rollout':
				return planRolloutCommand(analysis, action.command).writes;
			case 'set-weight':
				return planSetWeight(analysis, action.canary, action.to);
			case 'promote': {
				const plan = planPromote(analysis, action.canary, this.options.promoteKeepsOldStable);
				return [...plan.traffic, ...plan.scaleDown];
			}

			case 'switch':
				return planSwitch(analysis, action.to);
			case 'rollback': {
				const plan = await this.planRollback(action.model, action.canary, analysis);
				return [...plan.traffic, ...(plan.undo ? [plan.undo] : [])];
			}
		}
	}

	/**
	 * The change plan from one fresh read: every version's weight before → after (the domain's plan) and every object
	 * the action writes (this source's). Throws a PlanRefusal (or PlanError) when the action cannot be done.
	 */
	async plan(action: TrafficAction): Promise<ChangePlan> {
		const analysis = await this.read(action.model);
		refuseControllerOwned(analysis, action.kind);
		refuseDirectChange(analysis, action);
		const plan = planTraffic(analysis.model, action);
		const writes = await this.writesFor(action, analysis);
		const planned = {...plan, writes: writes.map((write) => ({object: write.object, change: write.change}))};
		if (action.kind === 'rollout') {
			// The controller moves the weights; the plan says where its steps take them.
			const {after} = planRolloutCommand(analysis, action.command);
			return {...planned, versions: planned.versions.map((version) => ({...version, after: after.get(version.name) ?? version.after}))};
		}

		return analysis.traffic.kind === 'replicas' ? withReplicaWeights(planned, analysis, writes) : planned;
	}

	/**
	 * Carries out a traffic action; with `within`, only if its plan writes nothing outside those changes. An action
	 * carrying `expected` (the weights of the plan the operator confirmed) is refused with a ConflictError, before
	 * anything is written, when the model no longer has exactly those weights.
	 */
	async act(action: TrafficAction, options: Within = {}): Promise<void> {
		const analysis = options.analysis ?? (await this.read(action.model));
		refuseControllerOwned(analysis, action.kind);
		ensureActionHolds(analysis.model, action);
		const held = {...options, analysis};
		switch (action.kind) {
			case 'set-weight':
				return this.setCanaryWeight(action.model, action.canary, action.to, action.from, held);
			case 'promote':
				return this.promote(action.model, action.canary, held);
			case 'rollback':
				return this.rollback(action.model, action.canary, held);
			case 'switch':
				return this.switchTraffic(action.model, action.to, held);
			case 'rollout':
				return this.rolloutCommand(action, held);
		}
	}

	/** An Argo Rollouts command, through the Rollout (and its status subresource) as the plugin does it. */
	async rolloutCommand(action: Extract<TrafficAction, {kind: 'rollout'}>, options: Within = {}): Promise<void> {
		const analysis = options.analysis ?? (await this.read(action.model));
		const writes = await this.writesFor(action, analysis);
		this.ensureWithin(writes, options);
		await this.apply(action.model, writes, {
			canary: analysis.model.versions.find((version) => version.track === 'canary')?.name ?? '',
			shown: undefined,
		});
	}

	/** Throws a ConflictError naming the first planned write that was not authorised. */
	private ensureWithin(writes: PlannedWrite[], options: Within): void {
		if (!options.within) return;
		const allowed = new Set(options.within.map(changeKey));
		const outside = writes.find((write) => !allowed.has(changeKey(plannedChange(write))));
		if (outside) {
			throw new ConflictError(
				`${outside.object} (${outside.change}) was not among the changes authorised a moment ago, so nothing was written`,
			);
		}
	}

	async setCanaryWeight(ref: ModelRef, canary: string, weight: number, expectedWeight?: number, options: Within = {}): Promise<void> {
		const analysis = options.analysis ?? (await this.read(ref));
		refuseControllerOwned(analysis, 'set-weight');
		const current = analysis.model.versions.find((version) => version.name === canary);
		if (current && expectedWeight !== undefined && current.weight !== expectedWeight) {
			throw new ConflictError(weightConflict(canary, current.weight, expectedWeight));
		}

		refuseDirectChange(analysis, {kind: 'set-weight', model: ref, canary, from: current?.weight ?? 0, to: weight});
		const writes = planSetWeight(analysis, canary, weight);
		refuseOwnedWrites(analysis, writes);
		this.ensureWithin(writes, options);
		await this.apply(ref, writes, {canary, shown: expectedWeight ?? current?.weight});
	}

	async promote(ref: ModelRef, canary: string, options: Within = {}): Promise<void> {
		const analysis = options.analysis ?? (await this.read(ref));
		refuseControllerOwned(analysis, 'promote');
		const shown = analysis.model.versions.find((version) => version.name === canary)?.weight;
		refuseDirectChange(analysis, {kind: 'promote', model: ref, canary, stable: '-'});
		const plan = planPromote(analysis, canary, this.options.promoteKeepsOldStable);
		refuseOwnedWrites(analysis, [...plan.traffic, ...plan.scaleDown]);
		this.ensureWithin([...plan.traffic, ...plan.scaleDown], options);
		await this.apply(ref, plan.traffic, {canary, shown});
		await this.apply(ref, plan.scaleDown, {canary, shown, done: plan.traffic});
	}

	async switchTraffic(ref: ModelRef, to: string, options: Within = {}): Promise<void> {
		const analysis = options.analysis ?? (await this.read(ref));
		refuseControllerOwned(analysis, 'switch');
		const shown = analysis.model.versions.find((version) => version.name === to)?.weight;
		refuseDirectChange(analysis, {kind: 'switch', model: ref, from: '-', to});
		const writes = planSwitch(analysis, to);
		refuseOwnedWrites(analysis, writes);
		this.ensureWithin(writes, options);
		await this.apply(ref, writes, {canary: to, shown});
	}

	/**
	 * Canary to 0%; then, when the canary's Deployment has an earlier revision, its previous template restored as
	 * `kubectl rollout undo` does. A model with a single version only gets its template restored.
	 */
	async rollback(ref: ModelRef, canary: string, options: Within = {}): Promise<void> {
		const {analysis, version, traffic, undo, deploymentName} = await this.planRollback(ref, canary, options.analysis);
		this.ensureWithin([...traffic, ...(undo ? [undo] : [])], options);
		await this.apply(ref, traffic, {canary, shown: version.weight});
		if (undo) await this.apply(ref, [undo], {canary, shown: version.weight, done: traffic});
		if (analysis.model.versions.length === 1 && !undo) {
			throw new PlanError(
				`nothing to roll back: ${canary} is the only version of ${ref.name}${deploymentName ? ` and Deployment ${deploymentName} has no earlier revision` : ''}`,
			);
		}
	}

	/**
	 * Both halves of a rollback, planned from one read. The undo's `test` guards the template, which the traffic
	 * half never changes (it patches a router, or the Deployment's replicas), so planning it first is safe.
	 */
	private async planRollback(ref: ModelRef, canary: string, read?: ModelAnalysis) {
		const analysis = read ?? (await this.read(ref));
		refuseControllerOwned(analysis, 'rollback');
		refuseDirectChange(analysis, {kind: 'rollback', model: ref, canary});
		const version = analysis.model.versions.find((candidate) => candidate.name === canary);
		if (!version) {
			throw new PlanError(
				`${ref.name} has no version ${canary} (versions: ${analysis.model.versions.map((candidate) => candidate.name).join(', ') || 'none'})`,
			);
		}

		if (version.track === 'stable' && analysis.model.versions.length > 1) {
			throw new PlanError(`${canary} is the stable version of ${ref.name}: roll back a canary instead`);
		}

		const traffic = planRollbackTraffic(analysis, canary);
		const deploymentName = analysis.deployments[canary];
		const undo = deploymentName ? await this.planUndo(ref.namespace, deploymentName) : undefined;
		refuseOwnedWrites(analysis, [...traffic, ...(undo ? [undo] : [])]);
		return {analysis, version, traffic, undo, deploymentName};
	}

	private async planUndo(namespace: string, deploymentName: string): Promise<PlannedWrite | undefined> {
		const http = this.http();
		const context = {namespace, server: http.server, user: http.user};
		let deployment: Deployment;
		try {
			deployment = await http.get<Deployment>(resourcePath(resourceTypes.deployments, namespace, deploymentName));
		} catch (error) {
			throw actionError(error, {...context, verb: 'get', resource: 'deployments', name: deploymentName});
		}

		let replicaSets: ReplicaSet[];
		try {
			const list = await http.get<KubeList<ReplicaSet>>(resourcePath(resourceTypes.replicaSets, namespace), {
				query: {labelSelector: selectorToQuery(deployment.spec?.selector) || undefined},
			});
			replicaSets = list?.items ?? [];
		} catch (error) {
			throw actionError(error, {...context, verb: 'list', resource: 'replicasets'});
		}

		return planTemplateUndo(deployment, replicaSets);
	}

	private async apply(
		ref: ModelRef,
		writes: PlannedWrite[],
		details: {canary: string; shown: number | undefined; done?: PlannedWrite[]},
	): Promise<void> {
		const http = this.http();
		const done = [...(details.done ?? [])];
		for (const write of writes) {
			try {
				await http.patch(
					`${resourcePath(write.type, write.namespace, write.name)}${write.subresource ? `/${write.subresource}` : ''}`,
					write.patch,
					'json',
				);
				done.push(write);
			} catch (error) {
				let failure = actionError(error, {
					verb: 'patch',
					resource: write.type.plural,
					name: write.name,
					namespace: write.namespace,
					server: http.server,
					user: http.user,
				});
				if (isConflict(error)) failure = await this.explainConflict(ref, write, details);
				if (done.length > 0) {
					const already = done.map((earlier) => `${earlier.object}: ${earlier.change}`).join('; ');
					failure.message = `${already} — done; but ${write.object} (${write.change}) failed: ${failure.message}`;
				}

				throw failure;
			}
		}
	}

	/** Re-read to say what changed: "canary v13 weight is now 30%, not 10% as shown — …". */
	private async explainConflict(
		ref: ModelRef,
		write: PlannedWrite,
		details: {canary: string; shown: number | undefined},
	): Promise<ConflictError> {
		const generic = new ConflictError(`${write.object} changed since it was read — someone else changed it; refresh and try again`);
		if (write.type === resourceTypes.deployments && write.patch.some((operation) => operation.path === '/spec/template')) return generic;
		try {
			const fresh = await this.read(ref);
			const now = fresh.model.versions.find((version) => version.name === details.canary)?.weight;
			if (now !== undefined && details.shown !== undefined && now !== details.shown) {
				return new ConflictError(weightConflict(details.canary, now, details.shown));
			}
		} catch {
			// The generic message is still true.
		}

		return generic;
	}
}

/**
 * Without a router a weight is a share of pods, and a share is rounded to whole pods: the plan says the weights the
 * planned replica counts give once they are ready (e.g. 30% of 4 pods is 1 pod, 25%), not the percentage asked for.
 */
function withReplicaWeights(plan: ChangePlan, analysis: ModelAnalysis, writes: PlannedWrite[]): ChangePlan {
	const versions = analysis.model.versions;
	const desired = new Map(versions.map((version) => [version.name, version.replicasDesired]));
	for (const write of writes) {
		const version = Object.entries(analysis.deployments).find(([, deployment]) => deployment === write.name)?.[0];
		const replicas = write.patch.find((operation) => operation.op === 'replace' && operation.path === '/spec/replicas')?.value;
		if (version && typeof replicas === 'number') desired.set(version, replicas);
	}

	// No pod to move (the share asked for rounds to today's pods): nothing changes, and the plan says so.
	if (writes.length === 0) return {...plan, versions: plan.versions.map((version) => ({...version, after: version.before}))};
	const shares = weightsFromReplicas(versions.map((version) => desired.get(version.name) ?? 0));
	const after = new Map(versions.map((version, index) => [version.name, shares[index] ?? 0]));
	return {...plan, versions: plan.versions.map((version) => ({...version, after: after.get(version.name) ?? version.after}))};
}

function plannedChange(write: PlannedWrite): PlannedChange {
	return {
		verb: 'patch',
		group: write.type.group,
		resource: write.type.plural,
		...(write.subresource ? {subresource: write.subresource} : {}),
		namespace: write.namespace,
		name: write.name,
		object: write.object,
		change: write.change,
	};
}

export function weightConflict(canary: string, now: number, shown: number): string {
	return `canary ${canary} weight is now ${now}%, not ${shown}% as shown — someone else changed it; refresh and try again`;
}
