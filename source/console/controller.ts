/**
 * The controller is what the UI talks to: it runs commands (their handlers are in keymap/commands/), answers dialogs
 * and carries out actions. The sources are started, refreshed and streamed by lifecycle.ts, metrics-refresh.ts and
 * prediction-stream.ts. The UI never calls a source itself.
 */
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import type {AuditEntry, Sources} from '../domain/ports.ts';
import {modelKey, refOf, versionKey, type Action, type Model, type ModelRef, type Prediction} from '../domain/types.ts';
import {parseWeight} from '../domain/weights.ts';
import {commandForKey, handlerOf, readOnlyReason, type CommandId, type Keymap} from '../keymap/registry.ts';
import type {CommandHost} from '../keymap/spec.ts';
import type {StoreAction} from '../state/actions.ts';
import {ActionRunner} from './action-runner.ts';
import {DeliveryActions} from './delivery.ts';
import type {DeliveryCommand} from '../domain/delivery.ts';
import {Lifecycle} from './lifecycle.ts';
import type {Poller} from './poller.ts';
import {canaryOf, currentModel, findModel, requestIds, stableOf} from '../state/selectors.ts';
import type {AppState, LogFilter} from '../state/state.ts';
import type {Store} from './store.ts';

export interface ControllerOptions {
	store: Store;
	sources: Sources;
	keymap: Keymap;
	detectors?: readonly FlagDetector[];
	judge?: CanaryJudge;
	now?: () => number;
	/** Minutes of history for charts and the judge. Default 10. */
	historyMinutes?: number;
	/** Load test defaults used by `t`. */
	loadTest?: {rps: number; durationSeconds: number; warmupSeconds: number};
	/** Where the console records actions when there is no agent to audit them. */
	recordAudit?: (entry: AuditEntry) => void;
	/** Why a context is read-only, or undefined; checked again on every context switch. */
	readOnlyForContext?: (context: string) => string | undefined;
	/** Called when the app should exit. */
	onQuit?: () => void;
}

function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

export class Controller implements CommandHost {
	readonly #store: Store;
	readonly #options: ControllerOptions;
	readonly #now: () => number;
	#sources: Sources;
	readonly #lifecycle: Lifecycle;
	/** Confirmations, plans and their execution; audits what this console did straight against the cluster. */
	readonly #actions: ActionRunner;
	/** Rollouts of new versions (`d`) and their pause, resume and abort. */
	readonly #deliveries: DeliveryActions;

	constructor(options: ControllerOptions) {
		this.#store = options.store;
		this.#options = options;
		this.#sources = options.sources;
		this.#now = options.now ?? Date.now;
		this.#lifecycle = new Lifecycle({
			store: options.store,
			sources: options.sources,
			now: this.#now,
			detectors: options.detectors,
			judge: options.judge,
			historyMinutes: options.historyMinutes,
			readOnlyForContext: options.readOnlyForContext,
			toast: (severity, message) => this.#toast(severity, message),
			onAgentConnected: () => void this.#loadAudit(),
			localAudit: () => [...this.#actions.localAudit],
		});
		this.#actions = new ActionRunner({
			store: this.#store,
			sources: this.#sources,
			now: this.#now,
			toast: (severity, message) => this.#toast(severity, message),
			recordAudit: options.recordAudit,
			afterChange: () => this.#metricsPoller?.poke(),
		});
		this.#deliveries = new DeliveryActions({
			store: this.#store,
			sources: () => this.#sources,
			now: this.#now,
			toast: (severity, message) => this.#toast(severity, message),
			askToConfirm: (action) => this.askToConfirm(action),
			execute: (action) => this.execute(action),
			afterChange: () => void this.#loadAudit(),
		});
	}

	/** The metrics refresh's poller: an action pokes it so that its effect shows at once. */
	get #metricsPoller(): Poller | undefined {
		return this.#lifecycle.metrics?.poller;
	}

	start(): void {
		this.#lifecycle.start();
	}

	stop(): void {
		this.#lifecycle.stop();
	}

	get state(): AppState {
		return this.#store.getState();
	}

	// ---- keys ---------------------------------------------------------------------------------------------

	/** Handle a key on the current screen (overlays are handled by their components). Returns true if used. */
	handleKey(key: string): boolean {
		const command = commandForKey(this.#options.keymap, key, this.state);
		if (!command) return false;
		this.run(command.id);
		return true;
	}

	/** Run a command by id: from a key or from the palette. Says why when it is disabled. */
	run(id: CommandId): void {
		const spec = this.#options.keymap.commands.find((command) => command.id === id);
		if (!spec) {
			this.#toast('warning', `unknown command ${id}`);
			return;
		}

		const reason = readOnlyReason(spec, this.state) ?? spec.disabledReason?.(this.state);
		if (reason) {
			this.#toast('warning', reason);
			return;
		}

		handlerOf(id)(this);
	}

	// ---- what command handlers may do (CommandHost) -------------------------------------------------------

	readonly dispatch = (action: StoreAction): void => this.#store.dispatch(action);

	askToConfirm(action: Action): void {
		void this.#actions.ask(action);
	}

	quit(): void {
		this.#store.dispatch({type: 'quit'});
		this.#options.onQuit?.();
	}

	explain(): void {
		this.#explain();
	}

	toast(severity: 'info' | 'success' | 'warning' | 'error', message: string): void {
		this.#toast(severity, message);
	}

	flushLog(): void {
		this.#lifecycle.stream.flush(true);
	}

	loadAudit(): void {
		void this.#loadAudit();
	}

	contextNames(): string[] {
		return this.#sources.cluster.contexts().map((context) => context.name);
	}

	setLogFilter(filter: LogFilter): void {
		this.#setLogFilter(filter);
	}

	get keymap(): Keymap {
		return this.#options.keymap;
	}

	get loadTest(): {rps: number; durationSeconds: number; warmupSeconds: number} {
		return this.#options.loadTest ?? {rps: 50, durationSeconds: 30, warmupSeconds: 5};
	}

	// ---- overlays -----------------------------------------------------------------------------------------

	closeOverlay(): void {
		this.#store.dispatch({type: 'overlay/close'});
	}

	/** The operator confirmed the dialog: carry out its action. */
	confirm(): void {
		const overlay = this.state.overlay;
		if (overlay?.kind === 'confirm' && overlay.action.kind === 'deliver' && overlay.deliveryPlan) {
			this.closeOverlay();
			void this.#deliveries.start(overlay.action, overlay.deliveryPlan);
			return;
		}

		this.#actions.confirm();
	}

	openDelivery(model: Model): void {
		this.#deliveries.open(model);
	}

	deliveryCommand(model: Model, command: DeliveryCommand): void {
		this.#deliveries.command(model, command);
	}

	submitDelivery(): Promise<void> {
		return this.#deliveries.submit();
	}

	/** The next or previous field of a dialog with several (the rollout's). */
	moveDialogField(delta: 1 | -1): void {
		this.#deliveries.move(delta);
	}

	/** Text typed into a confirmation's danger gate. */
	typeConfirmation(text: string): void {
		this.#actions.typeConfirmation(text);
	}

	submitWeight(text: string): void {
		const overlay = this.state.overlay;
		if (overlay?.kind !== 'weight-input') return;
		const parsed = parseWeight(text);
		if ('error' in parsed) {
			this.#store.dispatch({type: 'overlay/open', overlay: {...overlay, text, error: parsed.error}});
			return;
		}

		const model = findModel(this.state, overlay.model);
		if (!model) {
			this.closeOverlay();
			this.#toast('error', 'that model is gone');
			return;
		}

		void this.#actions.ask({kind: 'set-weight', model: ref(model), canary: overlay.canary, from: overlay.current, to: parsed.weight});
	}

	setFilter(text: string): void {
		this.#store.dispatch({type: 'filter/set', text});
	}

	/** Change the text field of the open dialog: the weight, the filter (applied as it is typed), the id, the query. */
	editDialogText(edit: (text: string) => string): void {
		const overlay = this.state.overlay;
		switch (overlay?.kind) {
			case 'weight-input': {
				// What is wrong is said as it is typed (the same words Enter would refuse it with).
				const {error: _error, ...rest} = overlay;
				const text = edit(overlay.text);
				const parsed = parseWeight(text);
				this.updateOverlay({...rest, text, ...(text.trim() !== '' && 'error' in parsed ? {error: parsed.error} : {})});
				return;
			}

			case 'filter': {
				const text = edit(overlay.text);
				this.setFilter(text);
				this.updateOverlay({...overlay, text});
				return;
			}

			case 'lookup': {
				this.updateOverlay({kind: 'lookup', text: edit(overlay.text)});
				return;
			}

			case 'palette': {
				this.updateOverlay({kind: 'palette', query: edit(overlay.query), index: 0});
				return;
			}

			case 'deliver': {
				this.#deliveries.edit(edit);
				return;
			}

			case 'confirm': {
				// The danger gate's field: the model's name, typed as the deliberate second step.
				if (overlay.danger) this.typeConfirmation(edit(overlay.danger.typed));
				return;
			}

			default:
		}
	}

	/** Replace the open overlay (text typed into a dialog, a moved cursor). */
	updateOverlay(overlay: NonNullable<AppState['overlay']>): void {
		this.#store.dispatch({type: 'overlay/open', overlay});
	}

	openModel(key: string): void {
		this.#store.dispatch({type: 'view/open', view: {screen: 'model', model: key}});
	}

	async pick(option: string): Promise<void> {
		const overlay = this.state.overlay;
		if (overlay?.kind !== 'pick') return;
		this.closeOverlay();
		if (overlay.purpose === 'switch') {
			const model = this.state.models.find((candidate) => modelKey(candidate) === overlay.model);
			if (!model) {
				this.#toast('warning', `${overlay.model} is gone from the cluster; nothing switched (look again)`);
				return;
			}

			const from = [...model.versions].sort((a, b) => b.weight - a.weight)[0]!.name;
			this.askToConfirm({kind: 'switch', model: refOf(model), from, to: option});
		} else if (overlay.purpose === 'context') await this.switchContext(option);
		else this.setNamespace(option === 'all namespaces' ? undefined : option);
	}

	async switchContext(name: string): Promise<void> {
		this.closeOverlay();
		await this.#lifecycle.switchContext(name);
	}

	setNamespace(namespace: string | undefined): void {
		this.#lifecycle.setNamespace(namespace);
	}

	/**
	 * Find predictions whose request id starts with the text (the log shows ids cut): the agent's stored history, which
	 * answers by prefix, and the log on screen, filtered here too since an older agent answers exact ids only. One
	 * request opens at once; several are listed to pick from.
	 */
	async lookup(requestId: string): Promise<void> {
		const agent = this.#sources.agent;
		const text = requestId.trim();
		if (!agent) return;
		if (!text) {
			this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, error: 'type a request id, or its first characters'}});
			return;
		}

		this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, searching: true}});
		const stillAsked = () => {
			const overlay = this.state.overlay;
			return overlay?.kind === 'lookup' && overlay.text === text;
		};

		try {
			const found = await agent.lookup(text);
			if (!stillAsked()) return;
			const prefix = text.toLowerCase();
			const matches = (prediction: Prediction) => prediction.requestId.toLowerCase().startsWith(prefix);
			const seen = new Set<string>();
			const results = [...found, ...this.state.log.entries]
				.filter((prediction) => {
					const key = `${prediction.requestId}\u0000${prediction.version}\u0000${prediction.time}`;
					if (!matches(prediction) || seen.has(key)) return false;
					seen.add(key);
					return true;
				})
				.sort((a, b) => b.time - a.time);
			const ids = requestIds(results);
			if (ids.length === 1) this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'prediction', predictions: results}});
			else this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, results, index: 0}});
		} catch (error) {
			if (stillAsked()) this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, error: describeError(error)}});
		}
	}

	/** Carry out an action through the agent when connected, else straight against the cluster. */
	execute(action: Action): Promise<void> {
		return this.#actions.execute(action);
	}

	#explain(): void {
		const model = currentModel(this.state);
		const metrics = this.#sources.metrics;
		if (!model) return;
		const lines: string[] = [];
		if (!metrics) {
			lines.push('No metrics source: start with --prometheus URL or set prometheusUrl in settings.');
		} else {
			for (const version of model.versions) {
				const target = {...ref(model), version: version.name, ...(model.runtime ? {runtime: model.runtime} : {})};
				lines.push(`${version.track} ${version.name}:`);
				for (const metric of ['rps', 'errorRatio', 'p50Ms', 'p95Ms', 'p99Ms', 'cpuCores', 'memoryBytes'] as const) {
					lines.push(`${metric}: ${metrics.explain(target, metric)}`);
				}
			}
		}

		this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'explain', title: `Queries behind ${model.name}`, lines}});
	}

	#setLogFilter(filter: LogFilter): void {
		const clean: LogFilter = {};
		if (filter.version) clean.version = filter.version;
		if (filter.status) clean.status = filter.status;
		if (filter.minLatencyMs !== undefined) clean.minLatencyMs = filter.minLatencyMs;
		this.#store.dispatch({type: 'log/filter', filter: clean});
	}

	#toast(severity: 'info' | 'success' | 'warning' | 'error', message: string): void {
		this.#store.dispatch({type: 'toast/add', toast: {severity, message, time: this.#now()}});
	}

	// ---- sources ------------------------------------------------------------------------------------------

	async #loadAudit(): Promise<void> {
		const agent = this.#sources.agent;
		if (!agent) return;
		try {
			const entries = await agent.audit(100);
			// The agent's entries and this console's direct actions (made while the agent was absent or down), newest first.
			const merged = [...entries, ...this.#actions.localAudit].sort((a, b) => b.time - a.time).slice(0, 200);
			this.#store.dispatch({type: 'audit/set', entries: merged});
		} catch (error) {
			this.#toast('warning', `audit log unavailable: ${describeError(error)}`);
		}
	}
}

function ref(model: Model): ModelRef {
	return refOf(model);
}

export {versionKey};
export {actionTitle} from './confirmation.ts';
