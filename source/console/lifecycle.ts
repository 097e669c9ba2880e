/**
 * The console's life: starting and stopping every source (the cluster watch, the metrics refresh, the prediction
 * stream), the once-a-second tick, and switching context or namespace, which restarts the watch and the agent.
 */
import type {AuditEntry, Sources} from '../domain/ports.ts';
import {untilAligned} from '../domain/time.ts';
import {MetricsRefresh} from './metrics-refresh.ts';
import {PredictionStream} from './prediction-stream.ts';
import type {AppState} from '../state/state.ts';
import {markAlive} from './health.ts';
import type {Store} from './store.ts';
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';

const TICK_MS = 1000;
const FIRST_METRICS_DELAY_MS = 120;

function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

export interface LifecycleOptions {
	store: Store;
	sources: Sources;
	now: () => number;
	detectors?: readonly FlagDetector[] | undefined;
	judge?: CanaryJudge | undefined;
	historyMinutes?: number | undefined;
	/** Why a context is read-only, or undefined; checked again on every context switch. */
	readOnlyForContext?: ((context: string) => string | undefined) | undefined;
	toast: (severity: 'info' | 'success' | 'warning' | 'error', message: string) => void;
	/** The agent answered: its audit trail can be loaded. */
	onAgentConnected: () => void;
	/** The actions this console audited itself, shown again when the agent changes. */
	localAudit: () => AuditEntry[];
}

export class Lifecycle {
	readonly #store: Store;
	readonly #options: LifecycleOptions;
	readonly #sources: Sources;
	readonly #now: () => number;
	readonly metrics: MetricsRefresh | undefined;
	readonly stream: PredictionStream;
	#unwatch: (() => void) | undefined;
	#timers: NodeJS.Timeout[] = [];
	#tickTimer: NodeJS.Timeout | undefined;
	#firstPokeScheduled = false;

	constructor(options: LifecycleOptions) {
		this.#options = options;
		this.#store = options.store;
		this.#sources = options.sources;
		this.#now = options.now;
		this.stream = new PredictionStream({
			store: options.store,
			agent: () => this.#sources.agent,
			now: options.now,
			toast: options.toast,
			onConnected: options.onAgentConnected,
		});
		this.metrics = this.#sources.metrics
			? new MetricsRefresh({
					store: options.store,
					metrics: this.#sources.metrics,
					now: options.now,
					detectors: options.detectors,
					judge: options.judge,
					historyMinutes: options.historyMinutes,
					outputs: () => this.stream.keptOutputs(),
				})
			: undefined;
	}

	get state(): AppState {
		return this.#store.getState();
	}

	start(): void {
		const {cluster} = this.#sources;
		this.#store.dispatch({type: 'cluster/contexts', contexts: cluster.contexts(), current: cluster.currentContext()});
		this.#watch();
		void this.#loadNamespaces();
		this.metrics?.poller.start();
		this.stream.start();
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
					this.stream.flush();
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
		this.stream.stop();
		this.metrics?.poller.stop();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers = [];
		clearTimeout(this.#tickTimer);
		this.#tickTimer = undefined;
	}

	async switchContext(name: string): Promise<void> {
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
			this.#switchMetrics(name);
			this.#watch();
			void this.#loadNamespaces();
			this.#options.toast('info', `context ${name}`);
		} catch (error) {
			this.#options.toast('error', `cannot switch to ${name}: ${describeError(error)}`);
			this.#watch();
		}
	}

	/** Each context has its own Prometheus (configured for it, or found in it): the metrics source looks again. */
	#switchMetrics(context: string): void {
		const metrics = this.#sources.metrics;
		if (!metrics?.switchContext) return;
		metrics.switchContext(context);
		this.#store.dispatch({type: 'source/connecting', source: 'metrics', now: this.#now()});
	}

	/** Each context has its own agent: end the old one's stream and audit, and find the new context's. */
	#switchAgent(context: string): void {
		const agent = this.#sources.agent;
		if (!agent?.switchContext) return;
		this.stream.reset();
		agent.switchContext(context);
		this.#store.batch(() => {
			this.#store.dispatch({type: 'source/connecting', source: 'agent', now: this.#now()});
			this.#store.dispatch({type: 'log/set', entries: [], received: this.stream.received, ratePerSecond: 0});
			this.#store.dispatch({type: 'audit/set', entries: [...this.#options.localAudit()]});
		});
		this.stream.start();
	}

	setNamespace(namespace: string | undefined): void {
		this.#store.dispatch({type: 'namespace/set', namespace});
		this.#unwatch?.();
		this.#watch();
	}

	#watch(): void {
		const dispatch = this.#store.dispatch;
		this.#unwatch = this.#sources.cluster.watchModels(
			this.state.namespace,
			(models) => {
				dispatch({type: 'cluster/models', models, now: this.#now()});
				this.metrics?.modelsChanged();
				dispatch({type: 'source/ok', source: 'cluster', now: this.#now()});
				// The first models arrived: fetch their figures — a moment later, so the table is on screen first.
				if (Object.keys(this.state.samples).length === 0 && !this.#firstPokeScheduled) {
					this.#firstPokeScheduled = true;
					const timer = setTimeout(() => this.metrics?.poller.poke(), FIRST_METRICS_DELAY_MS);
					timer.unref();
					this.#timers.push(timer);
				}
			},
			(error) => dispatch({type: 'source/error', source: 'cluster', message: error.message, now: this.#now(), cluster: error.cluster}),
			(cluster) => markAlive(this.#store, 'cluster', this.#now(), cluster),
		);
	}

	async #loadNamespaces(): Promise<void> {
		try {
			const namespaces = await this.#sources.cluster.namespaces();
			this.#store.dispatch({type: 'cluster/namespaces', namespaces});
		} catch (error) {
			this.#store.dispatch({type: 'source/error', source: 'cluster', message: describeError(error), now: this.#now()});
		}
	}
}
