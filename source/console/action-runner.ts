/**
 * The action path. A change is planned first, from a fresh read of the cluster (`ClusterPort.plan`): the dialog lists
 * the plan, a plan that changes nothing is refused, and a plan giving more traffic to a flagged or failing version
 * needs the model's name typed. The confirmed action carries the plan's weights, so that execution refuses when the
 * model no longer matches. It is carried out through the agent (which authorises and audits it) or, without one,
 * straight against the cluster with the operator's credentials and audited here; the audit record and the result
 * message are rendered from the same plan.
 */
import {
	isNoop,
	noopMessage,
	planAfter,
	planBefore,
	plannedAction,
	planResult,
	type ChangePlan,
	type TrafficAction,
} from '../domain/plan.ts';
import {ConflictError, type AuditEntry, type Sources} from '../domain/ports.ts';
import type {Action, ActionProgress, Model, Version} from '../domain/types.ts';
import {actionTitle, confirmationLines, dangerLines, dangersOf, localUser, planConfirmationLines} from './confirmation.ts';
import type {AppState, Overlay} from '../state/state.ts';
import type {Store} from './store.ts';

export interface ActionRunnerOptions {
	store: Store;
	sources: Sources;
	now: () => number;
	toast: (severity: 'info' | 'success' | 'warning' | 'error', message: string) => void;
	/** Where the console records actions when there is no agent to audit them. */
	recordAudit?: ((entry: AuditEntry) => void) | undefined;
	/** Called once an action ended, whatever its result: fresh figures are due. */
	afterChange: () => void;
}

function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

export function isTrafficAction(action: Action): action is TrafficAction {
	return (
		action.kind === 'set-weight' ||
		action.kind === 'promote' ||
		action.kind === 'rollback' ||
		action.kind === 'switch' ||
		action.kind === 'rollout'
	);
}

type ConfirmOverlay = Extract<Overlay, {kind: 'confirm'}>;

export class ActionRunner {
	readonly #options: ActionRunnerOptions;
	#taskCounter = 0;
	/** Actions this console carried out straight against the cluster (no agent, or the agent unreachable): audited here. */
	#localAudit: AuditEntry[] = [];
	/** The newest request for a plan: an older one that answers later must not open its dialog. */
	#planning = 0;

	constructor(options: ActionRunnerOptions) {
		this.#options = options;
	}

	get state(): AppState {
		return this.#options.store.getState();
	}

	/** The actions audited by this console, newest first. */
	get localAudit(): readonly AuditEntry[] {
		return this.#localAudit;
	}

	/**
	 * Open the confirmation dialog for an action. A change is planned first (the returned promise settles once the
	 * dialog is open or the change refused); a test changes nothing and is confirmed as it is.
	 */
	async ask(action: Action): Promise<void> {
		if (!isTrafficAction(action)) {
			this.#open({kind: 'confirm', action, summary: confirmationLines(action, this.state), title: actionTitle(action)});
			return;
		}

		const request = ++this.#planning;
		const title = actionTitle(action);
		let plan: ChangePlan;
		try {
			plan = await this.#options.sources.cluster.plan(action);
		} catch (error) {
			if (request !== this.#planning) return;
			if (this.state.overlay?.kind === 'weight-input') this.#options.store.dispatch({type: 'overlay/close'});
			this.#options.toast('warning', `${title}: refused: ${describeError(error)}`);
			return;
		}

		if (request !== this.#planning) return;
		if (isNoop(plan)) {
			// The typed weight is refused with the dialog it was typed in: nothing remains open that looks pending.
			if (this.state.overlay?.kind === 'weight-input') this.#options.store.dispatch({type: 'overlay/close'});
			this.#options.toast('warning', `${title}: refused: ${noopMessage(plan)}`);
			return;
		}

		const dangers = dangersOf(plan, this.state);
		this.#open({
			kind: 'confirm',
			action: plannedAction(plan),
			plan,
			summary: planConfirmationLines(plan, this.state),
			title,
			...(dangers.length > 0 ? {danger: {lines: dangerLines(dangers), confirmWith: plan.model.name, typed: ''}} : {}),
		});
	}

	#open(overlay: ConfirmOverlay): void {
		this.#options.store.dispatch({type: 'overlay/open', overlay});
	}

	/**
	 * The operator confirmed the dialog: carry out its action. Behind the danger gate, only once the model's name was
	 * typed; otherwise the dialog says what is needed and stays open.
	 */
	confirm(): void {
		const overlay = this.state.overlay;
		if (overlay?.kind !== 'confirm') return;
		if (overlay.danger && overlay.danger.typed.trim() !== overlay.danger.confirmWith) {
			const error = overlay.danger.typed
				? `"${overlay.danger.typed}" is not ${overlay.danger.confirmWith}: type the model's name exactly to go ahead, or esc to cancel`
				: `type ${overlay.danger.confirmWith} to go ahead despite the above, or esc to cancel`;
			this.#open({...overlay, danger: {...overlay.danger, error}});
			return;
		}

		this.#options.store.dispatch({type: 'overlay/close'});
		void this.execute(overlay.action, overlay.plan);
	}

	/** Text typed into the danger gate. */
	typeConfirmation(typed: string): void {
		const overlay = this.state.overlay;
		if (overlay?.kind !== 'confirm' || !overlay.danger) return;
		this.#open({...overlay, danger: {lines: overlay.danger.lines, confirmWith: overlay.danger.confirmWith, typed}});
	}

	/**
	 * Carry out an action through the agent when connected, else straight against the cluster. With its plan, the
	 * local audit record and the result message are the plan's.
	 */
	async execute(action: Action, plan?: ChangePlan): Promise<void> {
		const id = `task-${++this.#taskCounter}`;
		const title = actionTitle(action);
		const dispatch = this.#options.store.dispatch;
		dispatch({type: 'task/start', id, action, title, now: this.#options.now()});
		const progress = (update: ActionProgress) => dispatch({type: 'task/progress', id, progress: update, now: this.#options.now()});
		let final: Extract<ActionProgress, {kind: 'done' | 'failed'}> | undefined;
		const agent = this.#options.sources.agent;
		// Through the agent when it is connected; else straight to the cluster with the operator's own credentials,
		// audited in this console (the confirmation said which).
		const viaAgent = agent !== undefined && this.state.health.agent.status === 'ok';
		try {
			if (viaAgent) {
				for await (const update of agent.act(action)) {
					progress(update);
					if (update.kind === 'done' || update.kind === 'failed') final = update;
				}
			} else {
				const result = await this.#direct(action, plan);
				final = result;
				progress(result);
			}
		} catch (error) {
			const message = error instanceof ConflictError ? `conflict: ${error.message}` : describeError(error);
			final = {kind: 'failed', message};
			progress(final);
		}

		final ??= {kind: 'done', message: `${title}: done`};
		if (final.kind === 'failed') this.#options.toast('error', `${title} failed: ${final.message}`);
		else this.#options.toast('success', final.message);
		if (!viaAgent && isTrafficAction(action)) {
			const entry: AuditEntry = {
				time: this.#options.now(),
				// Without the agent nobody checks who the caller is: the kubeconfig user the context uses is the best
				// name the console has for the person acting (the API server checked that user's permission).
				user: localUser(this.state, action.model.cluster),
				action: action.kind,
				target: `${action.model.cluster ? `${action.model.cluster}:` : ''}${action.model.namespace}/${action.model.name}`,
				before: plan ? planBefore(plan) : '',
				// A failed change wrote nothing it was refused for; what it may have written partly is in its message.
				after: plan ? (final.kind === 'failed' ? planBefore(plan) : planAfter(plan)) : '',
				result: final.kind === 'failed' ? 'failed' : 'ok',
				message: final.message,
			};
			this.#localAudit = [entry, ...this.#localAudit].slice(0, 200);
			this.#options.recordAudit?.(entry);
			dispatch({type: 'audit/append', entry});
		}

		this.#options.afterChange();
	}

	async #direct(action: Action, plan: ChangePlan | undefined): Promise<Extract<ActionProgress, {kind: 'done' | 'failed'}>> {
		if (!isTrafficAction(action)) return {kind: 'failed', message: 'smoke and load tests need the modeldeck agent'};
		// Unplanned (a caller that skipped the dialog): planned now, so that the result still says what changed.
		const used = plan ?? (await this.#options.sources.cluster.plan(action));
		await this.#options.sources.cluster.act(plan ? action : plannedAction(used));
		return {kind: 'done', message: planResult(used)};
	}
}
