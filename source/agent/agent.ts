/**
 * The agent: wires ingest, store, stream, actions, security, audit, guard and metrics together. The HTTP and
 * WebSocket front ends (http/server.ts) call into it; everything here is independent of the transport.
 */
import {randomUUID} from 'node:crypto';
import type {AuditEntry} from '../domain/ports.ts';
import type {Action, ActionProgress, Model, ModelRef, Prediction} from '../domain/types.ts';
import {ActionRunner} from './actions/runner.ts';
import {weightsText} from './actions/traffic.ts';
import {Auditor} from './audit.ts';
import {AgentDeliveries, deliveryPortOf} from './deliveries.ts';
import {Callers} from './auth/callers.ts';
import {isActionPlanner} from './auth/permissions.ts';
import type {ActionPlanner} from './auth/permissions.ts';
import {allowAllReviewer, CachedReviewer} from './auth/reviewer.ts';
import type {AccessReviewer, Identity, ResourceAttributes} from './auth/reviewer.ts';
import {CanaryGuard} from './guard/guard.ts';
import {GuardReporter} from './guard/reporting.ts';
import {Joiner} from './ingest/joiner.ts';
import {IngestPipeline} from './ingest/pipeline.ts';
import type {IngestResult} from './ingest/pipeline.ts';
import type {IncomingHeaders} from './ingest/parse.ts';
import {createAgentMetrics} from './metrics.ts';
import type {AgentMetrics} from './metrics.ts';
import {ModelView} from './model-view.ts';
import type {AgentCoreOptions} from './options.ts';
import type {Refusal} from './refusal.ts';
import {Retention} from './store/retention.ts';
import {AgentStore} from './store/sqlite-store.ts';
import {StreamHub} from './stream/hub.ts';

export const agentVersion = '0.1.0';

export class AgentCore {
	readonly instance = randomUUID();
	readonly store: AgentStore;
	readonly hub: StreamHub;
	readonly metrics: AgentMetrics;
	readonly joiner: Joiner;
	readonly auditor: Auditor;
	readonly reviewer: AccessReviewer;
	readonly noAuth: boolean;
	readonly guard: CanaryGuard | undefined;
	/** Runs progressive deliveries; the DeliveryStarter for others (the registry watcher). Undefined without a cluster. */
	readonly deliveries: AgentDeliveries | undefined;
	readonly #options: AgentCoreOptions;
	readonly #view: ModelView;
	readonly #callers: Callers;
	readonly #ingest: IngestPipeline;
	readonly #actions: ActionRunner;
	readonly #timers: NodeJS.Timeout[] = [];
	readonly #log: (line: string) => void;
	#unwatch: (() => void) | undefined;
	#closed = false;

	constructor(options: AgentCoreOptions) {
		this.#options = options;
		this.#log = options.log ?? (() => undefined);
		this.noAuth = options.noAuth === true;
		if (!this.noAuth && !options.reviewer)
			throw new Error('the agent needs an access reviewer (the Kubernetes API server) unless run with --no-auth');
		this.reviewer = this.noAuth ? allowAllReviewer : new CachedReviewer(options.reviewer!, options.reviewCacheMs ?? 10_000);
		this.metrics = createAgentMetrics();
		this.#callers = new Callers(this.reviewer, this.noAuth, this.metrics);
		this.#view = new ModelView(() => this.#planner);
		this.store = new AgentStore({
			path: options.dbPath ?? ':memory:',
			...(options.storeMaxBytes === undefined ? {} : {maxFileBytes: options.storeMaxBytes}),
			now: () => this.#now(),
		});
		this.hub = new StreamHub({
			...options.stream,
			startSeq: this.store.lastSeq,
			// Every number handed out (guard and audit events too) is committed, so none is reused after a kill.
			onSeq: (seq) => this.store.noteSeq(seq),
			onDropped: (count) => this.metrics.dropped.inc(count),
		});
		this.joiner = new Joiner({timeoutMs: options.joinTimeoutMs ?? 30_000});
		// Halves acknowledged before a stop or a kill wait for their partners again.
		for (const {half, receivedAt} of this.store.pendingHalves()) this.joiner.restore(half, receivedAt);
		this.auditor = new Auditor(this.store, this.hub, options.events, this.#log);
		const now = () => this.#now();
		this.#ingest = new IngestPipeline({store: this.store, hub: this.hub, joiner: this.joiner, metrics: this.metrics, log: this.#log, now});
		const retention = new Retention({
			store: this.store,
			policy: {maxAgeMs: 24 * 3600 * 1000, maxRows: 1_000_000, ...options.retention},
			now,
			log: this.#log,
			closed: () => this.#closed,
			storeHealth: () => this.#ingest.storeHealth(),
		});
		this.#actions = new ActionRunner({
			options,
			noAuth: this.noAuth,
			callers: this.#callers,
			view: this.#view,
			auditor: this.auditor,
			metrics: this.metrics,
			planner: () => this.#planner,
			deliveries: () => this.deliveries,
			now,
		});

		if (options.cluster) this.#unwatch = this.#view.watch(options.cluster, this.#log);

		const expiry = setInterval(() => this.#ingest.expireHalves(), Math.min(1000, Math.max(10, (options.joinTimeoutMs ?? 30_000) / 4)));
		const retaining = setInterval(() => void retention.run(), options.retentionIntervalMs ?? 10_000);
		this.#timers.push(expiry, retaining);
		for (const timer of this.#timers) timer.unref();

		this.deliveries = this.#startDeliveries(options);

		if (options.guard?.enabled) {
			if (!options.metrics || !options.judge || !options.cluster) {
				throw new Error('the guard needs metrics (--prometheus URL), a canary judge and a cluster connection');
			}

			const reporter = new GuardReporter({options, metrics: this.metrics, auditor: this.auditor, hub: this.hub, log: this.#log, now});
			this.guard = new CanaryGuard({
				models: () => this.#view.models,
				metrics: options.metrics,
				judge: options.judge,
				...(options.guard.settingsFile ? {settingsFile: options.guard.settingsFile} : {}),
				...(options.guard.detectors ? {detectors: options.guard.detectors} : {}),
				dryRun: options.guard.dryRun === true,
				cluster: options.cluster,
				audit: (record) => reporter.audit(record),
				readBack: async (model) => {
					const now = await this.#view.now({kind: 'rollback', model, canary: ''});
					return typeof now === 'string' ? now : weightsText(now);
				},
				onReport: (report) => reporter.report(report),
				onError: (message) => this.#log(message),
				now: () => this.#now(),
			});
			this.guard.start(options.guard.tickMs ?? 5000);
			this.#log(`guard: on${options.guard.dryRun ? ' (DRY RUN: it reports what it would do and changes nothing)' : ''}`);
		}
	}

	#now(): number {
		return (this.#options.now ?? Date.now)();
	}

	#startDeliveries(options: AgentCoreOptions): AgentDeliveries | undefined {
		const port = options.deliveryPort ?? deliveryPortOf(options.cluster);
		if (!port) return undefined;
		const deliveries = new AgentDeliveries({
			port,
			findModel: (ref) => this.findModel(ref),
			...(options.metrics ? {metrics: options.metrics} : {}),
			...(options.judge ? {judge: options.judge} : {}),
			...(options.guard?.settingsFile ? {settingsFile: options.guard.settingsFile} : {}),
			resolveEndpoint: (target) => this.#actions.resolveEndpoint(target),
			...(options.fetch ? {fetch: options.fetch} : {}),
			audit: async (entry, namespace) => this.auditor.record(entry, namespace, undefined, 'ModeldeckDelivery'),
			log: this.#log,
			...(options.now ? {now: options.now} : {}),
		});
		void deliveries.begin();
		return deliveries;
	}

	get #planner(): ActionPlanner | undefined {
		return this.#options.planner ?? (isActionPlanner(this.#options.cluster) ? this.#options.cluster : undefined);
	}

	get models(): Model[] {
		return this.#view.models;
	}

	findModel(ref: ModelRef): Model | undefined {
		return this.#view.find(ref);
	}

	/** Replaces the agent's view of the models (tests, and agents without a cluster watch). */
	setModels(models: Model[]): void {
		this.#view.set(models);
	}

	// ---- ingest ---------------------------------------------------------------------------------------------------

	/** Ingests one POST: see IngestPipeline.ingest (200 once committed, 503 with everything taken back). */
	ingest(headers: IncomingHeaders, body: Buffer): IngestResult {
		return this.#ingest.ingest(headers, body);
	}

	// ---- security -------------------------------------------------------------------------------------------------

	/** The caller behind a bearer token. Throws HttpProblem 401 (no or bad token) or 503 (could not ask). */
	authenticate(token: string | undefined): Promise<Identity> {
		return this.#callers.authenticate(token);
	}

	/** Undefined when allowed; else the refusal. */
	authorize(identity: Identity, permissions: ResourceAttributes[]): Promise<Refusal | undefined> {
		return this.#callers.authorize(identity, permissions);
	}

	authorizeRead(caller: Identity, namespace: string | undefined): Promise<Refusal | undefined> {
		return this.#callers.authorizeRead(caller, namespace);
	}

	// ---- reads ----------------------------------------------------------------------------------------------------

	predictions(query: Parameters<AgentStore['predictions']>[0]): Prediction[] {
		return this.store.predictions(query);
	}

	audit(limit: number, namespace?: string): AuditEntry[] {
		return this.store.audit(limit, namespace).map(({seq: _seq, namespace: _namespace, ...entry}) => entry);
	}

	// ---- actions --------------------------------------------------------------------------------------------------

	/**
	 * Checks and starts an action. Refusals (not found, forbidden, busy) come back before anything happens, so the
	 * HTTP front end can answer with their status; otherwise the progress stream, which ends with `done` or `failed`
	 * and is audited when it ends.
	 */
	startAction(action: Action, caller: Identity): Promise<Refusal | {progress: AsyncIterable<ActionProgress>}> {
		return this.#actions.startAction(action, caller);
	}

	// ---- health ---------------------------------------------------------------------------------------------------

	async ready(): Promise<{ok: boolean; message: string}> {
		if (this.#closed || !this.store.isOpen) return {ok: false, message: 'the store is closed'};
		// Not ready while the store refuses writes (loggers would get 503); each probe tries a write again.
		if (this.store.failure) {
			const store = this.#ingest.storeHealth();
			if (!store.ok) return store;
		}

		if (this.#options.apiServerReachable) {
			const apiServer = await this.#options.apiServerReachable();
			if (!apiServer.ok) return apiServer;
		}

		return {ok: true, message: 'ready'};
	}

	subscriberCountChanged(): void {
		this.metrics.clients.set(this.hub.subscriberCount);
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		const settling = this.#actions.abort();
		// Aborted actions clean up before the store closes under their audit (a pod gets 30 s after SIGTERM by default).
		if (settling) await settling;

		for (const timer of this.#timers) clearInterval(timer);
		this.#unwatch?.();
		await this.guard?.stop();
		await this.deliveries?.close();
		// A store on disk keeps the halves still waiting, to be joined after the restart (a rolling update sends their
		// partners to the next agent); one in memory would lose them, so they are stored as incomplete instead.
		if (this.store.path === ':memory:') this.#ingest.storeThenStream(this.joiner.drain(), this.#now(), undefined, 'later');
		this.hub.close();
		this.store.close();
	}
}
