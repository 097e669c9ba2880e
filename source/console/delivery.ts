/**
 * Starting a rollout from the console (`d`) and pausing, resuming or aborting one: the dialog, the plan from the
 * cluster source (`ClusterPort.planDelivery`, a fresh read) shown in the confirmation, and the `deliver` action sent
 * to the agent, which runs the rollout so that it goes on when the console closes. The result is said from the plan
 * the operator confirmed.
 */
import type {DeliveryCommand, DeliveryPlan} from '../domain/delivery.ts';
import type {Sources} from '../domain/ports.ts';
import {modelKey, refOf, type Action, type ActionProgress, type Model} from '../domain/types.ts';
import type {StoreAction} from '../state/actions.ts';
import {actionTitle, localUser} from './confirmation.ts';
import {deliverySpecFromDialog, editDeliveryDialog, moveDeliveryField, openDeliveryDialog} from './delivery-form.ts';
import {deliveryConfirmationLines, deliveryStartedMessage} from '../state/delivery-lines.ts';
import {findModel} from '../state/selectors.ts';
import type {AppState, DeliveryDialog} from '../state/state.ts';
import type {Store} from './store.ts';

export interface DeliveryActionsOptions {
	store: Store;
	sources: () => Sources;
	now: () => number;
	toast: (severity: 'info' | 'success' | 'warning' | 'error', message: string) => void;
	/** Open the confirmation of an action that needs no plan (pause, resume, abort). */
	askToConfirm: (action: Action) => void;
	/** Carry out an action (through the agent): pause at once. */
	execute: (action: Action) => Promise<void>;
	/** Fresh entries for the audit view once something was done. */
	afterChange: () => void;
}

function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** Why the source cannot start a rollout, or undefined when it can. */
export function planDeliveryMissing(sources: Sources): string | undefined {
	return sources.cluster.planDelivery
		? undefined
		: `this cluster source (${sources.cluster.label}) cannot plan a rollout: start one with modeldeck rollout from a shell`;
}

export class DeliveryActions {
	readonly #options: DeliveryActionsOptions;
	#taskCounter = 0;
	/** The newest request for a plan: an older one that answers later must not open its dialog. */
	#planning = 0;

	constructor(options: DeliveryActionsOptions) {
		this.#options = options;
	}

	get #state(): AppState {
		return this.#options.store.getState();
	}

	#dispatch(action: StoreAction): void {
		this.#options.store.dispatch(action);
	}

	/** `d` on a model: the dialog, unless this source cannot plan a rollout at all (said, with what to do instead). */
	open(model: Model): void {
		const missing = planDeliveryMissing(this.#options.sources());
		if (missing) {
			this.#options.toast('warning', missing);
			return;
		}

		this.#dispatch({type: 'overlay/open', overlay: openDeliveryDialog(model, modelKey(model))});
	}

	#dialog(): {dialog: DeliveryDialog; model: Model} | undefined {
		const overlay = this.#state.overlay;
		if (overlay?.kind !== 'deliver') return undefined;
		const model = findModel(this.#state, overlay.model);
		if (!model) {
			this.#dispatch({type: 'overlay/close'});
			this.#options.toast('warning', `${overlay.model} is gone from the cluster; no rollout started`);
			return undefined;
		}

		return {dialog: overlay, model};
	}

	edit(edit: (text: string) => string): void {
		const open = this.#dialog();
		if (open) this.#dispatch({type: 'overlay/open', overlay: editDeliveryDialog(open.dialog, open.model, edit)});
	}

	move(delta: 1 | -1): void {
		const open = this.#dialog();
		if (open) this.#dispatch({type: 'overlay/open', overlay: moveDeliveryField(open.dialog, delta)});
	}

	/**
	 * Enter in the dialog: with every field right, the plan from a fresh read opens the confirmation; a plan refused
	 * (the version exists, no stable version, …) is said in the dialog, which stays open to fix it.
	 */
	async submit(): Promise<void> {
		const open = this.#dialog();
		if (!open) return;
		const {dialog, model} = open;
		const {spec, problems} = deliverySpecFromDialog(dialog, model, localUser(this.#state, model.cluster));
		if (problems.length > 0) {
			this.#dispatch({type: 'overlay/open', overlay: {...dialog, problems}});
			return;
		}

		const planDelivery = this.#options.sources().cluster.planDelivery;
		if (!planDelivery) {
			this.#dispatch({type: 'overlay/close'});
			this.#options.toast('warning', planDeliveryMissing(this.#options.sources())!);
			return;
		}

		const request = ++this.#planning;
		this.#dispatch({type: 'overlay/open', overlay: {...dialog, planning: true}});
		let plan: DeliveryPlan;
		try {
			plan = await planDelivery.call(this.#options.sources().cluster, spec);
		} catch (error) {
			if (request !== this.#planning || this.#state.overlay?.kind !== 'deliver') return;
			this.#dispatch({type: 'overlay/open', overlay: {...dialog, planning: false, problems: [`refused: ${describeError(error)}`]}});
			return;
		}

		if (request !== this.#planning || this.#state.overlay?.kind !== 'deliver') return;
		const action: Action = {kind: 'deliver', model: refOf(model), spec: plan.spec};
		this.#dispatch({
			type: 'overlay/open',
			overlay: {
				kind: 'confirm',
				action,
				title: actionTitle(action),
				summary: deliveryConfirmationLines(plan, this.#state.context),
				deliveryPlan: plan,
			},
		});
	}

	/** Pause at once (it only holds traffic where it is); resume and abort are confirmed first. */
	command(model: Model, command: DeliveryCommand): void {
		const action: Action = {kind: 'delivery', model: refOf(model), command};
		if (command === 'pause') void this.#options.execute(action);
		else this.#options.askToConfirm(action);
	}

	/** The confirmed rollout: sent to the agent; its result said from the plan confirmed. */
	async start(action: Extract<Action, {kind: 'deliver'}>, plan: DeliveryPlan): Promise<void> {
		const id = `delivery-${++this.#taskCounter}`;
		const title = actionTitle(action);
		this.#dispatch({type: 'task/start', id, action, title, now: this.#options.now()});
		const progress = (update: ActionProgress) => this.#dispatch({type: 'task/progress', id, progress: update, now: this.#options.now()});
		const agent = this.#options.sources().agent;
		let final: Extract<ActionProgress, {kind: 'done' | 'failed'}> | undefined;
		try {
			if (!agent || this.#state.health.agent.status !== 'ok') {
				final = {kind: 'failed', message: 'the agent is not connected: a rollout runs in the agent; nothing was started'};
			} else {
				for await (const update of agent.act(action)) {
					if (update.kind === 'done' || update.kind === 'failed') final = update;
					else progress(update);
				}
			}
		} catch (error) {
			final = {kind: 'failed', message: describeError(error)};
		}

		final ??= {kind: 'done', message: deliveryStartedMessage(plan)};
		if (final.kind === 'done') final = {kind: 'done', message: deliveryStartedMessage(plan)};
		progress(final);
		if (final.kind === 'failed') this.#options.toast('error', `${title} failed: ${final.message}`);
		else this.#options.toast('success', final.message);
		this.#options.afterChange();
	}
}
