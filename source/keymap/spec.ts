/**
 * What a command is: its id, keys, words for people, where it applies, and what it needs from the console to run.
 * The commands themselves are in commands/ (composed in commands.ts), one entry each with its handler.
 */
import type {DeliveryCommand} from '../domain/delivery.ts';
import type {Action, Model} from '../domain/types.ts';
import type {StoreAction} from '../state/actions.ts';
import type {AppState, LogFilter, Overlay} from '../state/state.ts';

export const Command = {
	HELP: 'app.help',
	PALETTE: 'app.palette',
	QUIT: 'app.quit',
	FILTER: 'fleet.filter',
	SORT: 'fleet.sort',
	UP: 'nav.up',
	DOWN: 'nav.down',
	TOP: 'nav.top',
	BOTTOM: 'nav.bottom',
	OPEN: 'nav.open',
	BACK: 'nav.back',
	WEIGHT_UP: 'canary.weightUp',
	WEIGHT_DOWN: 'canary.weightDown',
	WEIGHT_SET: 'canary.weightSet',
	PROMOTE: 'canary.promote',
	ROLLBACK: 'canary.rollback',
	SWITCH: 'canary.switch',
	ROLLOUT_STEP: 'rollout.promote',
	ROLLOUT_FULL: 'rollout.promoteFull',
	ROLLOUT_ABORT: 'rollout.abort',
	ROLLOUT_RETRY: 'rollout.retry',
	DELIVER: 'delivery.start',
	DELIVERY_PAUSE: 'delivery.pause',
	DELIVERY_ABORT: 'delivery.abort',
	SMOKE: 'test.smoke',
	LOAD: 'test.load',
	EXPLAIN: 'model.explain',
	LOG: 'view.log',
	AUDIT: 'view.audit',
	CONTEXT: 'cluster.context',
	NAMESPACE: 'cluster.namespace',
	LOG_PAUSE: 'log.pause',
	LOG_VERSION: 'log.version',
	LOG_STATUS: 'log.status',
	LOG_LATENCY: 'log.latency',
	LOG_LOOKUP: 'log.lookup',
	NEXT_FLAGGED: 'fleet.nextFlagged',
	DIALOG_ACCEPT: 'dialog.accept',
	DIALOG_YES: 'dialog.yes',
	DIALOG_CANCEL: 'dialog.cancel',
	DIALOG_UP: 'dialog.up',
	DIALOG_DOWN: 'dialog.down',
	DIALOG_ERASE: 'dialog.erase',
} as const;

export type CommandId = (typeof Command)[keyof typeof Command];

/**
 * Where a command applies. `global` works on every screen; `target` where a model is at hand (fleet, model); `list`
 * on the screens with rows to move through (fleet, log); the others only on their screen; `dialog` while a dialog
 * is open (a dialog takes every key first: in a dialog with a text field, printable keys are text).
 */
export type Scope = 'global' | 'fleet' | 'model' | 'log' | 'target' | 'list' | 'dialog';

export interface CommandSpec {
	id: CommandId;
	keys: string[];
	description: string;
	/** Short label for the footer. */
	hint: string;
	scope: Scope;
	/** Changes the cluster or loads a model: needs confirmation, gone in read-only mode, audited. */
	dangerous: boolean;
	/** Shown in the footer and help; hidden from the footer when false. */
	footer: boolean;
	/** Shown in the footer, ahead of the others, while this holds (an Argo Rollout's commands on a Rollout). */
	footerWhen?: (state: AppState) => boolean;
	/** Why the command does nothing right now, or undefined when it can run. */
	disabledReason?: (state: AppState) => string | undefined;
}

/** What a command's handler may do: the controller's side of the console, as narrow as the handlers need. */
export interface CommandHost {
	readonly state: AppState;
	dispatch(action: StoreAction): void;
	/** Open the confirmation of a change (nothing is done before the operator confirms). */
	askToConfirm(action: Action): void;
	execute(action: Action): Promise<void>;
	quit(): void;
	toast(severity: 'info' | 'success' | 'warning' | 'error', message: string): void;
	explain(): void;
	/** Put the predictions received so far on screen now rather than on the next tick. */
	flushLog(): void;
	loadAudit(): void;
	contextNames(): string[];
	setLogFilter(filter: LogFilter): void;
	readonly loadTest: {rps: number; durationSeconds: number; warmupSeconds: number};
	readonly keymap: {commands: readonly CommandSpec[]};
	run(id: CommandId): void;
	// Dialogs
	closeOverlay(): void;
	updateOverlay(overlay: Overlay): void;
	/** Change the text of the open dialog's field (typing, erasing). */
	editDialogText(edit: (text: string) => string): void;
	/** The confirmation dialog's change: carry it out. */
	confirm(): void;
	submitWeight(text: string): void;
	/** The rollout dialog (`d`) on a model; its fields; its enter (the plan, then the confirmation). */
	openDelivery(model: Model): void;
	moveDialogField(delta: 1 | -1): void;
	submitDelivery(): Promise<void>;
	/** Pause, resume or abort the model's rollout. */
	deliveryCommand(model: Model, command: DeliveryCommand): void;
	pick(option: string): Promise<void>;
	lookup(text: string): Promise<void>;
	setFilter(text: string): void;
	openModel(key: string): void;
	switchContext(name: string): Promise<void>;
	setNamespace(namespace: string | undefined): void;
}

/** A command with its handler: what registry entries are made of. */
export interface CommandDefinition extends Omit<CommandSpec, 'id'> {
	run(host: CommandHost): void;
}

/** In read-only mode (from the flag or the context's settings) dangerous commands do not exist. */
export function available(command: CommandSpec, state: AppState): boolean {
	return !(state.readOnly && command.dangerous);
}
