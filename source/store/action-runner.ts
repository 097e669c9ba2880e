/**
 * The action path: a change is confirmed in a dialog, then carried out through the agent (which authorises and
 * audits it) or, without one, straight against the cluster with the operator's credentials and audited here.
 */
import {ConflictError, type AuditEntry, type Sources} from '../domain/ports.ts';
import type {Action, ActionProgress} from '../domain/types.ts';
import {actionAfter, actionBefore, actionTitle, confirmationLines, localUser} from './confirmation.ts';
import type {AppState} from './state.ts';
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

function isClusterAction(action: Action): action is Extract<Action, {model: unknown}> {
	return 'model' in action;
}

export class ActionRunner {
	readonly #options: ActionRunnerOptions;
	#taskCounter = 0;
	/** Actions this console carried out straight against the cluster (no agent, or the agent unreachable): audited here. */
	#localAudit: AuditEntry[] = [];

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

	/** The operator confirmed the dialog: carry out its action. */
	confirm(): void {
		const overlay = this.state.overlay;
		if (overlay?.kind !== 'confirm') return;
		this.#options.store.dispatch({type: 'overlay/close'});
		void this.execute(overlay.action);
	}

	/** Carry out an action through the agent when connected, else straight against the cluster. */
	async execute(action: Action): Promise<void> {
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
				const result = await this.#direct(action);
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
		if (!viaAgent && isClusterAction(action)) {
			const entry: AuditEntry = {
				time: this.#options.now(),
				// Without the agent nobody checks who the caller is: the kubeconfig user the context uses is the best
				// name the console has for the person acting (the API server checked that user's permission).
				user: localUser(this.state),
				action: action.kind,
				target: `${action.model.namespace}/${action.model.name}`,
				before: actionBefore(action),
				after: actionAfter(action),
				result: final.kind === 'failed' ? 'failed' : 'ok',
				message: final.message,
			};
			this.#localAudit = [entry, ...this.#localAudit].slice(0, 200);
			this.#options.recordAudit?.(entry);
			dispatch({type: 'audit/append', entry});
		}

		this.#options.afterChange();
	}

	async #direct(action: Action): Promise<Extract<ActionProgress, {kind: 'done' | 'failed'}>> {
		const {cluster} = this.#options.sources;
		switch (action.kind) {
			case 'set-weight': {
				await cluster.setCanaryWeight(action.model, action.canary, action.to, action.from);
				return {kind: 'done', message: `${action.model.name} canary ${action.canary}: ${action.from}% → ${action.to}%`};
			}

			case 'promote': {
				await cluster.promote(action.model, action.canary);
				return {kind: 'done', message: `${action.model.name}: ${action.canary} promoted to stable`};
			}

			case 'rollback': {
				await cluster.rollback(action.model, action.canary);
				return {kind: 'done', message: `${action.model.name}: canary ${action.canary} rolled back to 0%`};
			}

			case 'switch': {
				await cluster.switchTraffic(action.model, action.to);
				return {kind: 'done', message: `${action.model.name}: all traffic switched to ${action.to}`};
			}

			default: {
				return {kind: 'failed', message: 'smoke and load tests need the modeldeck agent'};
			}
		}
	}

	/** Open the confirmation dialog for an action. */
	ask(action: Action): void {
		const summary = confirmationLines(action, this.state);
		this.#options.store.dispatch({type: 'overlay/open', overlay: {kind: 'confirm', action, summary, title: actionTitle(action)}});
	}
}
