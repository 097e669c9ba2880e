/**
 * The controller owns the sources and every side effect: watches, pollers, the prediction stream, and the
 * execution of commands. The UI calls its methods; it never calls a source itself.
 */
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import {ConflictError, type AgentEvent, type AuditEntry, type SourceName, type Sources} from '../domain/ports.ts';
import {modelKey, versionKey, type Action, type ActionProgress, type Model, type Prediction, type Series} from '../domain/types.ts';
import {untilAligned} from '../domain/time.ts';
import {parseWeight, stepWeight} from '../domain/weights.ts';
import {Command, commandForKey, type CommandId, type Keymap} from '../keymap/registry.ts';
import {analyse, slowAnalysis, type SlowAnalysis} from './analysis.ts';
import {Poller} from './poller.ts';
import {canaryOf, currentModel, currentRow, findModel, logVersions, stableOf, versionsInOrder} from './selectors.ts';
import {LOG_CAPACITY, type AppState, type LogFilter} from './state.ts';
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

const TICK_MS = 1000;
const FIRST_METRICS_DELAY_MS = 120;
/** How often the canary judge weighs its window again (a new history point arrives every few seconds). */
const JUDGE_EVERY_MS = 30_000;
/** Outputs kept per version for the drift test: enough for a stable PSI, small enough to stay cheap. */
const OUTPUTS_KEPT = 2000;
const latencySteps = [undefined, 50, 100, 250, 500, 1000] as const;

function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

export class Controller {
	readonly #store: Store;
	readonly #options: ControllerOptions;
	readonly #now: () => number;
	#sources: Sources;
	#unwatch: (() => void) | undefined;
	#unstream: (() => void) | undefined;
	#metricsPoller: Poller | undefined;
	#timers: NodeJS.Timeout[] = [];
	#tickTimer: NodeJS.Timeout | undefined;
	#recent: Prediction[] = [];
	#received = 0;
	#rateWindow: Array<{time: number; count: number}> = [];
	#taskCounter = 0;
	/** Actions this console carried out straight against the cluster (no agent, or the agent unreachable): audited here. */
	#localAudit: AuditEntry[] = [];
	#lastSeq: number | undefined;
	#firstPokeScheduled = false;
	#slow: SlowAnalysis | undefined;
	/** The end of the last history range fetched. */
	#historyEnd = 0;
	#judgedAt = 0;
	#modelsChanged = false;
	/**
	 * Recent outputs per version, for prediction drift (bounded): namespace → model → version, so that recording
	 * one of a thousand predictions a second builds no key string.
	 */
	#outputs = new Map<string, Map<string, Map<string, Array<number | string>>>>();

	constructor(options: ControllerOptions) {
		this.#store = options.store;
		this.#options = options;
		this.#sources = options.sources;
		this.#now = options.now ?? Date.now;
	}

	get state(): AppState {
		return this.#store.getState();
	}

	start(): void {
		const {cluster} = this.#sources;
		this.#store.dispatch({type: 'cluster/contexts', contexts: cluster.contexts(), current: cluster.currentContext()});
		this.#watch();
		void this.#loadNamespaces();
		if (this.#sources.metrics) {
			this.#metricsPoller = new Poller({
				intervalMs: this.state.refreshSeconds * 1000,
				// On the second, like the clock's tick and the demo's predictions: one wake-up a second in all.
				alignTo: this.#now,
				run: () => this.#refreshMetrics(),
				// A refresh marks the source ok itself (metrics/refreshed); one with nothing to ask (no models yet) proves
				// nothing about Prometheus and leaves its health as it was.
				onError: (error) =>
					this.#store.dispatch({type: 'source/error', source: 'metrics', message: describeError(error), now: this.#now()}),
			});
			this.#metricsPoller.start();
		}

		if (this.#sources.agent) this.#stream();
		this.#scheduleTick();
	}

	/**
	 * One timer for the clock, toasts and the log tail: at most one frame a second when nothing else happens. It fires
	 * on the second, so the clock on screen is right, and in the same wake-up as other once-a-second work due then
	 * (the demo makes its predictions on the second): every wake-up costs CPU of its own.
	 */
	#scheduleTick(): void {
		const now = this.#now();
		this.#tickTimer = setTimeout(
			() => {
				const now = this.#now();
				this.#store.batch(() => {
					this.#flushLog();
					this.#store.dispatch({type: 'tick', now});
				});
				if (this.#tickTimer !== undefined) this.#scheduleTick();
			},
			untilAligned(now, TICK_MS),
		);
		this.#tickTimer.unref();
	}

	stop(): void {
		this.#unwatch?.();
		this.#unstream?.();
		this.#metricsPoller?.stop();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers = [];
		clearTimeout(this.#tickTimer);
		this.#tickTimer = undefined;
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
		if (spec?.dangerous && this.state.readOnly) {
			this.#toast('warning', `read-only (${this.state.readOnlyReason ?? 'settings'}): ${spec.description.toLowerCase()} is not available`);
			return;
		}

		if (!spec) {
			this.#toast('warning', this.state.readOnly ? 'read-only: that command is not available' : `unknown command ${id}`);
			return;
		}

		const reason = spec.disabledReason?.(this.state);
		if (reason) {
			this.#toast('warning', reason);
			return;
		}

		const dispatch = this.#store.dispatch;
		switch (id) {
			case Command.HELP: {
				dispatch({type: 'overlay/open', overlay: {kind: 'help'}});
				return;
			}

			case Command.PALETTE: {
				dispatch({type: 'overlay/open', overlay: {kind: 'palette', query: '', index: 0}});
				return;
			}

			case Command.QUIT: {
				dispatch({type: 'quit'});
				this.#options.onQuit?.();
				return;
			}

			case Command.UP: {
				dispatch({type: 'nav/move', delta: -1});
				return;
			}

			case Command.DOWN: {
				dispatch({type: 'nav/move', delta: 1});
				return;
			}

			case Command.TOP: {
				dispatch({type: 'nav/top'});
				return;
			}

			case Command.BOTTOM: {
				dispatch({type: 'nav/bottom'});
				return;
			}

			case Command.OPEN: {
				const row = currentRow(this.state);
				if (row) dispatch({type: 'view/set', view: {screen: 'model', model: row.modelKey}});
				return;
			}

			case Command.BACK: {
				if (this.state.view.screen !== 'fleet') dispatch({type: 'view/set', view: {screen: 'fleet'}});
				else if (this.state.filter) dispatch({type: 'filter/set', text: ''});
				return;
			}

			case Command.FILTER: {
				dispatch({type: 'overlay/open', overlay: {kind: 'filter', text: this.state.filter}});
				return;
			}

			case Command.SORT: {
				dispatch({type: 'sort/cycle'});
				return;
			}

			case Command.WEIGHT_UP:
			case Command.WEIGHT_DOWN: {
				const model = currentModel(this.state)!;
				const canary = canaryOf(model)!;
				const to = stepWeight(canary.weight, this.state.weightStep, id === Command.WEIGHT_UP ? 1 : -1);
				this.#confirm({kind: 'set-weight', model: ref(model), canary: canary.name, from: canary.weight, to});
				return;
			}

			case Command.WEIGHT_SET: {
				const model = currentModel(this.state)!;
				const canary = canaryOf(model)!;
				dispatch({
					type: 'overlay/open',
					overlay: {kind: 'weight-input', model: modelKey(model), canary: canary.name, current: canary.weight, text: ''},
				});
				return;
			}

			case Command.PROMOTE: {
				const model = currentModel(this.state)!;
				this.#confirm({kind: 'promote', model: ref(model), canary: canaryOf(model)!.name, stable: stableOf(model)?.name ?? '-'});
				return;
			}

			case Command.ROLLBACK: {
				const model = currentModel(this.state)!;
				this.#confirm({kind: 'rollback', model: ref(model), canary: canaryOf(model)!.name});
				return;
			}

			case Command.SWITCH: {
				const model = currentModel(this.state)!;
				const current = [...model.versions].sort((a, b) => b.weight - a.weight)[0]!;
				const other = model.versions.find((version) => version !== current)!;
				this.#confirm({kind: 'switch', model: ref(model), from: current.name, to: other.name});
				return;
			}

			case Command.SMOKE: {
				// Every version at once, so that their checks show side by side.
				const model = currentModel(this.state)!;
				for (const version of versionsInOrder(model)) void this.execute({kind: 'smoke-test', target: {...ref(model), version: version.name}});
				return;
			}

			case Command.LOAD: {
				const model = currentModel(this.state)!;
				const settings = this.#options.loadTest ?? {rps: 50, durationSeconds: 30, warmupSeconds: 5};
				const targets = [stableOf(model), canaryOf(model)]
					.filter((version) => version !== undefined)
					.map((version) => ({...ref(model), version: version.name}));
				this.#confirm({kind: 'load-test', targets, ...settings});
				return;
			}

			case Command.EXPLAIN: {
				this.#explain();
				return;
			}

			case Command.LOG: {
				dispatch({type: 'view/set', view: {screen: 'log'}});
				this.#flushLog(true);
				return;
			}

			case Command.AUDIT: {
				dispatch({type: 'view/set', view: {screen: 'audit'}});
				void this.#loadAudit();
				return;
			}

			case Command.CONTEXT: {
				const options = this.#sources.cluster.contexts().map((context) => context.name);
				const index = Math.max(0, options.indexOf(this.state.context));
				dispatch({type: 'overlay/open', overlay: {kind: 'pick', purpose: 'context', options, index}});
				return;
			}

			case Command.NAMESPACE: {
				const options = ['all namespaces', ...this.state.namespaces];
				const index = Math.max(0, options.indexOf(this.state.namespace ?? 'all namespaces'));
				dispatch({type: 'overlay/open', overlay: {kind: 'pick', purpose: 'namespace', options, index}});
				return;
			}

			case Command.LOG_PAUSE: {
				dispatch({type: 'log/toggle-pause'});
				if (!this.state.log.paused) this.#flushLog(true);
				return;
			}

			case Command.LOG_VERSION: {
				const versions = [undefined, ...logVersions(this.state)];
				const index = versions.indexOf(this.state.log.filter.version);
				this.#setLogFilter({...this.state.log.filter, version: versions[(index + 1) % versions.length]});
				return;
			}

			case Command.LOG_STATUS: {
				const statuses = [undefined, 'error', 'ok'] as const;
				const index = statuses.indexOf(this.state.log.filter.status);
				this.#setLogFilter({...this.state.log.filter, status: statuses[(index + 1) % statuses.length]});
				return;
			}

			case Command.LOG_LATENCY: {
				const index = latencySteps.indexOf(this.state.log.filter.minLatencyMs as (typeof latencySteps)[number]);
				this.#setLogFilter({...this.state.log.filter, minLatencyMs: latencySteps[(index + 1) % latencySteps.length]});
				return;
			}

			case Command.LOG_LOOKUP: {
				dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text: ''}});
				return;
			}
		}
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

	/** Replace the open overlay (text typed into a dialog, a moved cursor). */
	updateOverlay(overlay: NonNullable<AppState['overlay']>): void {
		this.#store.dispatch({type: 'overlay/open', overlay});
	}

	openModel(key: string): void {
		this.#store.dispatch({type: 'view/set', view: {screen: 'model', model: key}});
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
		if (name === this.state.context) return;
		try {
			this.#unwatch?.();
			await this.#sources.cluster.switchContext(name);
			const readOnlyReason = this.#options.readOnlyForContext
				? this.#options.readOnlyForContext(name)
				: this.state.readOnly
					? (this.state.readOnlyReason ?? 'read-only')
					: undefined;
			this.#store.dispatch({type: 'context/set', context: name, readOnlyReason});
			this.#switchAgent(name);
			this.#watch();
			void this.#loadNamespaces();
			this.#toast('info', `context ${name}`);
		} catch (error) {
			this.#toast('error', `cannot switch to ${name}: ${describeError(error)}`);
			this.#watch();
		}
	}

	/** Each context has its own agent: end the old one's stream and audit, and find the new context's. */
	#switchAgent(context: string): void {
		const agent = this.#sources.agent;
		if (!agent?.switchContext) return;
		this.#unstream?.();
		this.#unstream = undefined;
		this.#lastSeq = undefined;
		this.#recent = [];
		this.#outputs.clear();
		agent.switchContext(context);
		this.#store.batch(() => {
			this.#store.dispatch({type: 'source/connecting', source: 'agent', now: this.#now()});
			this.#store.dispatch({type: 'log/set', entries: [], received: this.#received, ratePerSecond: 0});
			this.#store.dispatch({type: 'audit/set', entries: [...this.#localAudit]});
		});
		this.#stream();
	}

	setNamespace(namespace: string | undefined): void {
		this.#store.dispatch({type: 'namespace/set', namespace});
		this.#unwatch?.();
		this.#watch();
	}

	async lookup(requestId: string): Promise<void> {
		const agent = this.#sources.agent;
		const text = requestId.trim();
		if (!agent) return;
		if (!text) {
			this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, error: 'type a request id'}});
			return;
		}

		this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, searching: true}});
		try {
			const results = await agent.lookup(text);
			this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, results}});
		} catch (error) {
			this.#store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text, error: describeError(error)}});
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

	#watch(): void {
		const dispatch = this.#store.dispatch;
		this.#unwatch = this.#sources.cluster.watchModels(
			this.state.namespace,
			(models) => {
				dispatch({type: 'cluster/models', models, now: this.#now()});
				this.#modelsChanged = true;
				dispatch({type: 'source/ok', source: 'cluster', now: this.#now()});
				// The first models arrived: fetch their figures — a moment later, so the table is on screen first.
				if (Object.keys(this.state.samples).length === 0 && !this.#firstPokeScheduled) {
					this.#firstPokeScheduled = true;
					const timer = setTimeout(() => this.#metricsPoller?.poke(), FIRST_METRICS_DELAY_MS);
					timer.unref();
					this.#timers.push(timer);
				}
			},
			(error) => dispatch({type: 'source/error', source: 'cluster', message: error.message, now: this.#now()}),
			() => this.#alive('cluster'),
		);
	}

	/** A healthy moment: drawn at once when it ends a problem, otherwise with the clock's next tick. */
	#alive(source: SourceName): void {
		const action = {type: 'source/ok', source, now: this.#now()} as const;
		if (this.state.health[source].status === 'ok') this.#store.defer(action);
		else this.#store.dispatch(action);
	}

	async #loadNamespaces(): Promise<void> {
		try {
			const namespaces = await this.#sources.cluster.namespaces();
			this.#store.dispatch({type: 'cluster/namespaces', namespaces});
		} catch (error) {
			this.#store.dispatch({type: 'source/error', source: 'cluster', message: describeError(error), now: this.#now()});
		}
	}

	async #refreshMetrics(): Promise<void> {
		const metrics = this.#sources.metrics!;
		const targets = this.state.models.flatMap((model) =>
			model.versions.map((version) => ({
				...ref(model),
				version: version.name,
				...(model.runtime ? {runtime: model.runtime} : {}),
			})),
		);
		if (targets.length === 0) return;
		// The refresh is due on the second, with the clock's tick and the demo's predictions: let keys that arrived
		// meanwhile be handled (and drawn) before its work, rather than after all of it.
		await new Promise((resolve) => setImmediate(resolve));
		const now = this.#now();
		const windowSeconds = Math.max(30, this.state.refreshSeconds * 15);
		const historyMinutes = this.#options.historyMinutes ?? 10;
		const stepSeconds = Math.max(this.state.refreshSeconds, (historyMinutes * 60) / 120);
		// The range ends on a multiple of the step, as Grafana aligns its range queries: consecutive answers are
		// evaluated at the same instants (Prometheus caches them, the demo reuses its points) and charts do not shift
		// sideways between refreshes. History (and the analysis over it) is fetched only when a new point is due:
		// fetching and judging more often would redo the same work.
		const historyEnd = Math.floor(now / (stepSeconds * 1000)) * stepSeconds * 1000;
		const historyDue = this.#slow === undefined || historyEnd > this.#historyEnd || this.#modelsChanged;
		const [samples, history] = await Promise.all([
			metrics.sample(targets, windowSeconds),
			historyDue ? metrics.history(targets, {start: historyEnd - historyMinutes * 60_000, end: historyEnd, stepSeconds}) : undefined,
		]);
		const sampleRecord = Object.fromEntries(samples);
		const historyRecord: Record<string, Series> = history ? Object.fromEntries(history) : this.state.history;
		if (history) {
			this.#historyEnd = historyEnd;
			const modelsChanged = this.#modelsChanged;
			this.#modelsChanged = false;

			// The judge weighs the whole window (10 minutes) and the drift test the last 2,000 outputs: doing them again
			// every JUDGE_EVERY_MS is plenty, and the most expensive part of the analysis runs a sixth as often.
			const judgeDue = this.#slow === undefined || modelsChanged || now - this.#judgedAt >= JUDGE_EVERY_MS;
			if (judgeDue) this.#judgedAt = now;
			const judge = judgeDue ? this.#options.judge : undefined;
			const outputs = judgeDue ? this.#keptOutputs() : undefined;
			// One model at a time, yielding between them, so that a key pressed meanwhile is handled at once.
			const slow: SlowAnalysis = {flags: {}, verdicts: {}, drift: {}};
			for (const model of this.state.models) {
				const part = slowAnalysis({
					models: [model],
					history: historyRecord,
					detectors: this.#options.detectors ?? [],
					...(judge ? {judge} : {}),
					...(this.#slow ? {earlierVerdicts: this.#slow.verdicts, earlierDrift: this.#slow.drift} : {}),
					judgeWindowSeconds: historyMinutes * 60,
					...(outputs ? {outputs} : {}),
					now,
				});
				Object.assign(slow.flags, part.flags);
				Object.assign(slow.verdicts, part.verdicts);
				Object.assign(slow.drift, part.drift);
				await new Promise((resolve) => setImmediate(resolve));
			}

			this.#slow = slow;
		}

		const result = analyse({
			models: this.state.models,
			samples: sampleRecord,
			history: historyRecord,
			thresholds: this.state.thresholds,
			detectors: [],
			judgeWindowSeconds: historyMinutes * 60,
			previous: this.state.flags,
			...(this.#slow ? {slow: this.#slow} : {}),
			now,
		});
		// One action, one frame: the first figures at once; later refreshes with the clock's next tick (a frame a
		// second in all, instead of one more per refresh).
		const refreshed = {type: 'metrics/refreshed', samples: sampleRecord, ...(history ? {history: historyRecord} : {}), ...result, now} as const;
		if (Object.keys(this.state.samples).length > 0) this.#store.defer(refreshed);
		else this.#store.dispatch(refreshed);
	}

	#stream(): void {
		const agent = this.#sources.agent!;
		const dispatch = this.#store.dispatch;
		this.#unstream = agent.predictions({}, this.#lastSeq, (event: AgentEvent) => {
			switch (event.type) {
				case 'prediction': {
					this.#lastSeq = event.seq;
					this.#received++;
					this.#recent.push(event.prediction);
					this.#recordOutput(event.prediction);
					if (this.#recent.length > LOG_CAPACITY * 2) this.#recent.splice(0, this.#recent.length - LOG_CAPACITY);
					return;
				}

				case 'gap': {
					dispatch({type: 'log/gap', dropped: event.dropped});
					return;
				}

				case 'audit': {
					dispatch({type: 'audit/append', entry: event.entry});
					return;
				}

				case 'guard': {
					this.#toast(event.rolledBack ? 'error' : 'warning', `guard: ${event.model.name}: ${event.message}`);
					return;
				}

				case 'alive': {
					this.#alive('agent');
					return;
				}

				case 'connection': {
					if (event.connected) {
						dispatch({type: 'source/ok', source: 'agent', now: this.#now()});
						void this.#loadAudit();
					} else if (event.absent) {
						dispatch({type: 'source/absent', source: 'agent', message: event.reason ?? 'no agent', now: this.#now()});
					} else {
						dispatch({
							type: 'source/error',
							source: 'agent',
							message: event.reason ?? 'disconnected',
							now: this.#now(),
						});
					}
				}
			}
		});
	}

	#recordOutput(prediction: Prediction): void {
		if (prediction.status !== 'ok' || prediction.output === undefined) return;
		let models = this.#outputs.get(prediction.namespace);
		if (!models) this.#outputs.set(prediction.namespace, (models = new Map()));
		let versions = models.get(prediction.model);
		if (!versions) models.set(prediction.model, (versions = new Map()));
		let outputs = versions.get(prediction.version);
		if (!outputs) versions.set(prediction.version, (outputs = []));
		outputs.push(prediction.output);
		if (outputs.length > OUTPUTS_KEPT * 2) outputs.splice(0, outputs.length - OUTPUTS_KEPT);
	}

	/** The recent outputs by version key, for the drift statistics. */
	#keptOutputs(): Record<string, Array<number | string>> | undefined {
		if (this.#outputs.size === 0) return undefined;
		const kept: Record<string, Array<number | string>> = {};
		for (const [namespace, models] of this.#outputs) {
			for (const [name, versions] of models) {
				for (const [version, outputs] of versions) kept[versionKey({namespace, name, version})] = outputs.slice(-OUTPUTS_KEPT);
			}
		}

		return kept;
	}

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

	#flushLog(force = false): void {
		const now = this.#now();
		this.#rateWindow.push({time: now, count: this.#received});
		while (this.#rateWindow.length > 2 && now - this.#rateWindow[0]!.time > 5000) this.#rateWindow.shift();
		if (!force && this.state.view.screen !== 'log') return;
		const first = this.#rateWindow[0]!;
		const seconds = (now - first.time) / 1000;
		const ratePerSecond = seconds > 0 ? (this.#received - first.count) / seconds : 0;
		if (this.#recent.length > LOG_CAPACITY) this.#recent.splice(0, this.#recent.length - LOG_CAPACITY);
		this.#store.dispatch({type: 'log/set', entries: [...this.#recent], received: this.#received, ratePerSecond});
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
