/**
 * Actions: checked (found, permitted, not busy) and refused before anything happens, else carried out as a stream of
 * progress and audited when they end. Closing aborts the actions under way and waits, bounded, for their clean-up.
 */
import {planBefore, type ChangePlan} from '../../domain/plan.ts';
import type {AuditEntry} from '../../domain/ports.ts';
import {ConflictError, ForbiddenError} from '../../domain/ports.ts';
import type {Action, ActionProgress, VersionRef} from '../../domain/types.ts';
import {modelKey} from '../../domain/types.ts';
import type {Auditor} from '../audit.ts';
import type {AgentDeliveries} from '../deliveries.ts';
import type {Callers} from '../auth/callers.ts';
import {actionModel, isTrafficAction, plannedPermissions} from '../auth/permissions.ts';
import type {ActionPlanner, PlannedChange} from '../auth/permissions.ts';
import type {Identity} from '../auth/reviewer.ts';
import {modelObject, versionObject} from '../kube-objects.ts';
import type {InvolvedObject} from '../kube-objects.ts';
import type {AgentMetrics} from '../metrics.ts';
import type {ModelView} from '../model-view.ts';
import type {AgentCoreOptions} from '../options.ts';
import type {Refusal} from '../refusal.ts';
import {auditReasons, describeWeights} from './describe.ts';
import {loadTest} from './load-test.ts';
import {smokeTest} from './smoke-test.ts';
import {planTrafficAction, runTrafficAction, trafficAuditTexts, weightsText} from './traffic.ts';
import {describeAction} from './validate.ts';

/** How long closing waits for aborted actions to clean up. */
const closeGraceMs = 20_000;

export interface ActionRunnerParts {
	options: AgentCoreOptions;
	noAuth: boolean;
	callers: Callers;
	view: ModelView;
	auditor: Auditor;
	metrics: AgentMetrics;
	planner: () => ActionPlanner | undefined;
	/** Progressive deliveries (the `deliver` and `delivery` actions); undefined without a cluster. */
	deliveries: () => AgentDeliveries | undefined;
	now: () => number;
}

export class ActionRunner {
	readonly #options: AgentCoreOptions;
	readonly #noAuth: boolean;
	readonly #callers: Callers;
	readonly #view: ModelView;
	readonly #auditor: Auditor;
	readonly #metrics: AgentMetrics;
	readonly #planner: () => ActionPlanner | undefined;
	readonly #deliveries: () => AgentDeliveries | undefined;
	readonly #now: () => number;
	readonly #loadTests = new Set<string>();
	readonly #abort = new AbortController();
	/** Actions under way; closing aborts them and waits (bounded) for their clean-up, e.g. a load test's Job deleted. */
	readonly #running = new Set<Promise<void>>();

	constructor(parts: ActionRunnerParts) {
		this.#options = parts.options;
		this.#noAuth = parts.noAuth;
		this.#callers = parts.callers;
		this.#view = parts.view;
		this.#auditor = parts.auditor;
		this.#metrics = parts.metrics;
		this.#planner = parts.planner;
		this.#deliveries = parts.deliveries;
		this.#now = parts.now;
	}

	/** The URL of a version's Service, as smoke tests, load tests and deliveries reach it. */
	resolveEndpoint(target: VersionRef): string | Promise<string> {
		if (this.#options.resolveEndpoint) return this.#options.resolveEndpoint(target);
		const version = this.#view.find(target)?.versions.find((candidate) => candidate.name === target.version);
		if (!version) throw new Error(`version ${target.version} of ${target.namespace}/${target.name} is not in the cluster`);
		if (!version.service) throw new Error(`version ${target.version} has no Service the agent could send requests to`);
		return `http://${version.service}.${target.namespace}.svc:${this.#options.modelPort ?? 80}`;
	}

	#objectFor(action: Action): InvolvedObject | undefined {
		switch (action.kind) {
			case 'smoke-test':
				return versionObject(this.#view.find(action.target), action.target);
			case 'load-test':
				return action.targets[0] ? versionObject(this.#view.find(action.targets[0]), action.targets[0]) : undefined;
			default: {
				const model = this.#view.find(action.model);
				return model ? modelObject(model) : undefined;
			}
		}
	}

	async #refuse(identity: Identity, action: Action, refusal: Refusal): Promise<Refusal> {
		const {action: what, target} = describeAction(action);
		const model = this.#view.find(actionModel(action));
		const before = describeWeights(model);
		await this.#auditor.record(
			{time: this.#now(), user: identity.user, action: what, target, before, after: before, result: 'refused', message: refusal.message},
			actionModel(action).namespace,
			this.#objectFor(action),
			'ModeldeckActionRefused',
		);
		this.#metrics.actionDuration.observe({kind: action.kind, result: 'refused'}, 0);
		return refusal;
	}

	/**
	 * Checks and starts an action. Refusals (not found, forbidden, busy) come back before anything happens, so the
	 * HTTP front end can answer with their status; otherwise the progress stream, which ends with `done` or `failed`
	 * and is audited when it ends.
	 */
	async startAction(action: Action, caller: Identity): Promise<Refusal | {progress: AsyncIterable<ActionProgress>}> {
		const identity = await this.#callers.recheck(caller);
		if ('status' in identity) return this.#refuse(caller, action, identity);
		// The writes authorised: a planned action is held to them.
		let within: PlannedChange[] | undefined;
		// Without auth there is nothing to check, and tests may point at versions no cluster knows.
		if (!this.#noAuth) {
			const permissions = await plannedPermissions(action, (ref) => this.#view.find(ref), this.#planner());
			if ('notFound' in permissions) return this.#refuse(identity, action, {status: 404, message: permissions.notFound});
			if ('invalid' in permissions) return this.#refuse(identity, action, {status: 400, message: permissions.invalid});
			if ('unavailable' in permissions) return this.#refuse(identity, action, {status: 503, message: permissions.unavailable});
			const refusal = await this.#callers.authorize(identity, permissions.permissions);
			if (refusal) return this.#refuse(identity, action, refusal);
			within = permissions.within;
		}
		if (action.kind !== 'smoke-test' && action.kind !== 'load-test' && !this.#options.cluster) {
			return this.#refuse(identity, action, {status: 503, message: 'the agent has no cluster connection to change traffic with'});
		}

		let lockKey: string | undefined;
		if (action.kind === 'load-test') {
			lockKey = modelKey(actionModel(action));
			if (this.#loadTests.has(lockKey)) {
				return this.#refuse(identity, action, {
					status: 409,
					message: `a load test of ${lockKey} is already running; wait for it to finish`,
				});
			}

			this.#loadTests.add(lockKey);
		}

		return {progress: this.#run(action, identity, lockKey, within)};
	}

	async *#run(
		action: Action,
		identity: Identity,
		lockKey: string | undefined,
		within: PlannedChange[] | undefined,
	): AsyncGenerator<ActionProgress> {
		const started = performance.now();
		let finished!: () => void;
		const running = new Promise<void>((resolve) => (finished = resolve));
		this.#running.add(running);
		const {action: what, target} = describeAction(action);
		const model = this.#view.find(actionModel(action));
		const traffic = isTrafficAction(action);
		// A change is planned first: refused when it cannot be done or changes nothing; else recorded in its plan's words.
		const planning = traffic ? await planTrafficAction(this.#options.cluster!, action) : undefined;
		const plan = planning && 'plan' in planning ? planning.plan : undefined;
		const modelBefore = traffic && !plan ? await this.#view.now(action) : model;
		const before = plan ? planBefore(plan) : typeof modelBefore === 'string' ? modelBefore : describeWeights(modelBefore);
		let last: ActionProgress | undefined;
		let result: AuditEntry['result'] = 'failed';
		try {
			if (planning && 'refused' in planning) {
				result = 'refused';
				last = {kind: 'failed', message: `refused: ${planning.refused}`};
				yield last;
			} else {
				for await (const progress of this.#execute(action, within, plan, identity.user)) {
					last = progress;
					yield progress;
				}

				result = last?.kind === 'done' ? 'ok' : 'failed';
			}
		} catch (error) {
			last = {kind: 'failed', message: (error as Error).message};
			yield last;
		} finally {
			if (lockKey) this.#loadTests.delete(lockKey);
			const message = last?.kind === 'done' || last?.kind === 'failed' ? last.message : 'the caller went away before the action finished';
			this.#metrics.actionDuration.observe({kind: action.kind, result}, (performance.now() - started) / 1000);
			// A planned change's `after` is its plan's once done; a failed one's is what the cluster has once it ended
			// (it may have written part of its plan); a test's is the weights it ran against.
			try {
				let after: string;
				if (plan) {
					const modelAfter = result === 'ok' ? undefined : await this.#view.now(action);
					after = trafficAuditTexts(plan, result === 'ok', () =>
						typeof modelAfter === 'string' ? modelAfter : weightsText(modelAfter),
					).after;
				} else if (result === 'refused') {
					after = before;
				} else {
					const modelAfter = traffic ? await this.#view.now(action) : undefined;
					after =
						typeof modelAfter === 'string'
							? modelAfter
							: traffic
								? describeWeights(modelAfter, typeof modelBefore === 'string' ? model : modelBefore)
								: before;
				}

				await this.#auditor.record(
					{
						time: this.#now(),
						user: identity.user,
						action: what,
						target,
						before,
						after,
						result,
						message,
					},
					actionModel(action).namespace,
					this.#objectFor(action),
					result === 'refused' ? 'ModeldeckActionRefused' : auditReasons[action.kind],
				);
			} finally {
				this.#running.delete(running);
				finished();
			}
		}
	}

	async *#execute(
		action: Action,
		within: PlannedChange[] | undefined,
		plan: ChangePlan | undefined,
		user: string,
	): AsyncGenerator<ActionProgress> {
		const cluster = this.#options.cluster;
		// An authorised plan is carried out within its writes: a model changed since fails instead of writing more.
		const planner = this.#planner();
		const failure = (error: unknown): ActionProgress => {
			const message = (error as Error).message ?? String(error);
			if (error instanceof ConflictError)
				return {kind: 'failed', message: `conflict: ${message} (someone changed it meanwhile; look again and retry)`};
			if (error instanceof ForbiddenError) return {kind: 'failed', message: `the agent's service account may not do this: ${message}`};
			return {kind: 'failed', message};
		};

		switch (action.kind) {
			case 'set-weight':
			case 'promote':
			case 'rollback':
			case 'switch':
			case 'rollout':
				yield* runTrafficAction(plan!, () => (planner && within ? planner.actWithin(action, within) : cluster!.act(action)));
				return;
			case 'deliver':
			case 'delivery': {
				const deliveries = this.#deliveries();
				if (!deliveries) yield {kind: 'failed', message: 'the agent has no cluster connection to roll out with'};
				else yield* deliveries.act(action, user);
				return;
			}
			case 'smoke-test': {
				let base: string;
				try {
					base = await this.resolveEndpoint(action.target);
				} catch (error) {
					yield failure(error);
					return;
				}

				yield* smokeTest(action.target, base, {signal: this.#abort.signal, ...(this.#options.fetch ? {fetch: this.#options.fetch} : {})});
				return;
			}

			case 'load-test':
				yield* loadTest(action, {
					resolveEndpoint: (target) => this.resolveEndpoint(target),
					...(this.#options.maxLocalRps !== undefined ? {maxLocalRps: this.#options.maxLocalRps} : {}),
					...(this.#options.jobRunner ? {jobRunner: this.#options.jobRunner} : {}),
					...(this.#options.jobStartDelaySeconds !== undefined ? {jobStartDelaySeconds: this.#options.jobStartDelaySeconds} : {}),
					...(this.#options.fetch ? {fetch: this.#options.fetch} : {}),
					signal: this.#abort.signal,
				});
		}
	}

	/**
	 * Aborts the actions under way; while any is still running, a promise that settles once they cleaned up or
	 * closeGraceMs passed (the caller waits for it before closing the store under their audit).
	 */
	abort(): Promise<unknown> | undefined {
		this.#abort.abort();
		if (this.#running.size === 0) return undefined;
		return Promise.race([Promise.allSettled([...this.#running]), new Promise((resolve) => setTimeout(resolve, closeGraceMs).unref())]);
	}
}
