/**
 * The controller is what the UI talks to: it runs commands (their handlers are in keymap/commands.ts), answers dialogs
 * and carries out actions. The sources are started, refreshed and streamed by lifecycle.ts, metrics-refresh.ts and
 * prediction-stream.ts. The UI never calls a source itself.
 */
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import {ConflictError, type AuditEntry, type Sources} from '../domain/ports.ts';
import {modelKey, versionKey, type Action, type ActionProgress, type Model, type Prediction} from '../domain/types.ts';
import {parseWeight} from '../domain/weights.ts';
import {commandForKey, handlerOf, readOnlyReason, type CommandId, type Keymap} from '../keymap/registry.ts';
import type {CommandHost} from '../keymap/spec.ts';
import type {StoreAction} from './actions.ts';
import {Lifecycle} from './lifecycle.ts';
import type {Poller} from './poller.ts';
import {canaryOf, currentModel, findModel, requestIds, stableOf} from './selectors.ts';
import type {AppState, LogFilter} from './state.ts';
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
	#taskCounter = 0;
	/** Actions this console carried out straight against the cluster (no agent, or the agent unreachable): audited here. */
	#localAudit: AuditEntry[] = [];

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
			localAudit: () => this.#localAudit,
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
		this.#confirm(action);
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
		if (overlay?.kind !== 'confirm') return;
		this.closeOverlay();
		void this.execute(overlay.action);
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

		this.#confirm({kind: 'set-weight', model: ref(model), canary: overlay.canary, from: overlay.current, to: parsed.weight});
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
		if (overlay.purpose === 'context') await this.switchContext(option);
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

	// ---- actions ------------------------------------------------------------------------------------------

	/** Carry out an action through the agent when connected, else straight against the cluster. */
	async execute(action: Action): Promise<void> {
		const id = `task-${++this.#taskCounter}`;
		const title = actionTitle(action);
		const dispatch = this.#store.dispatch;
		dispatch({type: 'task/start', id, action, title, now: this.#now()});
		const progress = (update: ActionProgress) => dispatch({type: 'task/progress', id, progress: update, now: this.#now()});
		let final: Extract<ActionProgress, {kind: 'done' | 'failed'}> | undefined;
		const agent = this.#sources.agent;
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
		if (final.kind === 'failed') this.#toast('error', `${title} failed: ${final.message}`);
		else this.#toast('success', final.message);
		if (!viaAgent && isClusterAction(action)) {
			const entry: AuditEntry = {
				time: this.#now(),
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

		this.#metricsPoller?.poke();
	}

	async #direct(action: Action): Promise<Extract<ActionProgress, {kind: 'done' | 'failed'}>> {
		const {cluster} = this.#sources;
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

	#confirm(action: Action): void {
		const summary = confirmationLines(action, this.state);
		this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'confirm', action, summary, title: actionTitle(action)}});
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
			const merged = [...entries, ...this.#localAudit].sort((a, b) => b.time - a.time).slice(0, 200);
			this.#store.dispatch({type: 'audit/set', entries: merged});
		} catch (error) {
			this.#toast('warning', `audit log unavailable: ${describeError(error)}`);
		}
	}


}

function localUser(state: AppState): string {
	const user = state.contexts.find((context) => context.name === state.context)?.user;
	return user ? `${user}@${state.context}` : state.context;
}

function ref(model: Model): {namespace: string; name: string} {
	return {namespace: model.namespace, name: model.name};
}

function isClusterAction(action: Action): action is Extract<Action, {model: unknown}> {
	return 'model' in action;
}

export function actionTitle(action: Action): string {
	switch (action.kind) {
		case 'set-weight': {
			return `Shift ${action.model.name} canary weight`;
		}

		case 'promote': {
			return `Promote ${action.model.name} canary ${action.canary}`;
		}

		case 'rollback': {
			return `Roll back ${action.model.name} canary ${action.canary}`;
		}

		case 'switch': {
			return `Switch ${action.model.name} traffic to ${action.to}`;
		}

		case 'smoke-test': {
			return `Smoke test ${action.target.name} ${action.target.version}`;
		}

		case 'load-test': {
			return `Load test ${action.targets[0]?.name ?? ''} ${action.targets.map((target) => target.version).join(' vs ')}`;
		}
	}
}

function actionBefore(action: Action): string {
	return action.kind === 'set-weight' ? `${action.canary} ${action.from}%` : '';
}

function actionAfter(action: Action): string {
	switch (action.kind) {
		case 'set-weight': {
			return `${action.canary} ${action.to}%`;
		}

		case 'promote': {
			return `${action.canary} stable 100%`;
		}

		case 'rollback': {
			return `${action.canary} 0%`;
		}

		case 'switch': {
			return `${action.to} 100%`;
		}

		default: {
			return '';
		}
	}
}

/** Exactly what an action changes, line by line, for the confirmation dialog. */
/** How a change will be carried out, said before it is confirmed. */
function routeLine(state: AppState): string {
	const agent = state.health.agent;
	if (agent.status === 'ok') return 'through the agent, which checks your permission and audits it';
	const why = agent.status === 'absent' ? 'no agent' : `agent ${agent.status === 'connecting' ? 'not connected yet' : agent.status}`;
	return `${why}: straight to the cluster as ${localUser(state)}, audited in this console only`;
}

export function confirmationLines(action: Action, state: AppState): string[] {
	const lines = actionLines(action, state);
	return action.kind === 'smoke-test' || action.kind === 'load-test' ? lines : [...lines, routeLine(state)];
}

function actionLines(action: Action, state: AppState): string[] {
	const model = 'model' in action ? findModel(state, modelKey(action.model)) : undefined;
	const stable = model ? stableOf(model) : undefined;
	const context = `context ${state.context}${model ? `, namespace ${model.namespace}` : ''}`;
	switch (action.kind) {
		case 'set-weight': {
			const lines = [`canary ${action.canary}: ${action.from}% → ${action.to}%`];
			if (stable) lines.push(`stable ${stable.name}: ${stable.weight}% → ${Math.max(0, stable.weight + action.from - action.to)}%`);
			if (model?.routerObject) lines.push(`writes ${model.routerObject}`);
			lines.push(context);
			return lines;
		}

		case 'promote': {
			return [
				`canary ${action.canary} becomes stable with 100% of traffic`,
				`stable ${action.stable}: ${stable?.weight ?? 0}% → 0% (leaves traffic)`,
				context,
			];
		}

		case 'rollback': {
			const canary = model ? canaryOf(model) : undefined;
			return [
				`canary ${action.canary}: ${canary?.weight ?? '?'}% → 0%`,
				...(stable ? [`stable ${stable.name}: ${stable.weight}% → 100%`] : []),
				'a Deployment canary whose template changed gets its previous template back',
				context,
			];
		}

		case 'switch': {
			return [`all traffic: ${action.from} → ${action.to} in one write`, context];
		}

		case 'smoke-test': {
			return [`one request to ${action.target.name} ${action.target.version}`];
		}

		case 'load-test': {
			return [
				`${action.rps} requests/s to each of ${action.targets.map((target) => target.version).join(' and ')}`,
				`for ${action.durationSeconds} s after ${action.warmupSeconds ?? 0} s warm-up: real traffic to the model`,
				context,
			];
		}
	}
}

export {versionKey};
