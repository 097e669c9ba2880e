/**
 * The agent: wires ingest, store, stream, actions, security, audit, guard and metrics together. The HTTP and
 * WebSocket front ends (http/server.ts) call into it; everything here is independent of the transport.
 */
import {randomUUID} from 'node:crypto';
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import {planBefore, type ChangePlan} from '../domain/plan.ts';
import type {AuditEntry, ClusterPort, MetricsPort} from '../domain/ports.ts';
import {ConflictError, ForbiddenError} from '../domain/ports.ts';
import type {Action, ActionProgress, Model, ModelRef, Prediction, VersionRef} from '../domain/types.ts';
import {modelKey} from '../domain/types.ts';
import type {LoadJobRunner} from './actions/load-test.ts';
import {loadTest} from './actions/load-test.ts';
import {smokeTest} from './actions/smoke-test.ts';
import {planTrafficAction, runTrafficAction, trafficAuditTexts, weightsText} from './actions/traffic.ts';
import {describeAction} from './actions/validate.ts';
import {Auditor} from './audit.ts';
import {AgentDeliveries, deliveryPortOf} from './deliveries.ts';
import type {DeliveryPort} from '../domain/delivery.ts';
import type {EventRecorder} from './audit.ts';
import {actionModel, isActionPlanner, isTrafficAction, plannedPermissions, readPermission} from './auth/permissions.ts';
import type {ActionPlanner, PlannedChange} from './auth/permissions.ts';
import {allowAllReviewer, CachedReviewer, describeAttributes} from './auth/reviewer.ts';
import type {AccessReviewer, Identity, ResourceAttributes} from './auth/reviewer.ts';
import {CanaryGuard, guardUser} from './guard/guard.ts';
import type {GuardReport} from './guard/guard.ts';
import type {GuardAuditRecord} from './guard/rollback.ts';
import {alertFormatFor, postAlert} from './guard/alerts.ts';
import type {AlertFormat} from './guard/alerts.ts';
import type {GuardSettingsFile} from './guard/settings.ts';
import {Joiner} from './ingest/joiner.ts';
import type {HalfChanges, JoinerUndo} from './ingest/joiner.ts';
import {IngestError, parseIngest} from './ingest/parse.ts';
import type {IncomingHeaders} from './ingest/parse.ts';
import {modelObject, versionObject} from './kube-objects.ts';
import type {InvolvedObject} from './kube-objects.ts';
import {createAgentMetrics} from './metrics.ts';
import type {AgentMetrics} from './metrics.ts';
import {AgentStore, StoreWriteError} from './store/sqlite-store.ts';
import type {RetentionPolicy} from './store/sqlite-store.ts';
import {StreamHub} from './stream/hub.ts';
import type {HubOptions} from './stream/hub.ts';

export const agentVersion = '0.1.0';

export interface AgentCoreOptions {
	/** SQLite file, or `:memory:` (the default: predictions do not survive a restart). */
	dbPath?: string;
	/** Hard limit on the SQLite file (PRAGMA max_page_count): past it ingest answers 503. Default: none. */
	storeMaxBytes?: number;
	retention?: Partial<RetentionPolicy>;
	/**
	 * How often old predictions are deleted. Default 10 s: between two passes the table holds up to maxRows plus
	 * what arrived meanwhile (at 5,000/s, 60 s would be 300,000 more rows: 60% more file, or memory with `:memory:`).
	 */
	retentionIntervalMs?: number;
	/** How long a request or response half waits for its partner. Default 30 s. */
	joinTimeoutMs?: number;
	stream?: HubOptions;
	/**
	 * Who callers are and what they may do. Required unless `noAuth`. Wrapped in a 10-second cache of positive
	 * answers (`reviewCacheMs`).
	 */
	reviewer?: AccessReviewer;
	reviewCacheMs?: number;
	/** Local demos only: every caller may do everything. Loudly logged. */
	noAuth?: boolean;
	/** Carries out traffic actions, and tells the agent which models exist. */
	cluster?: ClusterPort;
	/**
	 * Says what each traffic action will write (authorised write by write) and reads models afresh (the audit's
	 * `after`). Default: the cluster, when it can (the Kubernetes source can).
	 */
	planner?: ActionPlanner;
	/** Kubernetes Events for the audit trail. */
	events?: EventRecorder;
	/** The API server's reachability, for /readyz. */
	apiServerReachable?: () => Promise<{ok: boolean; message: string}>;
	/** Where a version's OIP v2 server is. Default: its Service, `http://{service}.{namespace}.svc:{modelPort}`. */
	resolveEndpoint?: (target: VersionRef) => string | Promise<string>;
	/** Port of model Services for the default resolveEndpoint. Default 80. */
	modelPort?: number;
	/** Load tests above this rate per version run as a Job (when `jobRunner` is set). Default 2,000. */
	maxLocalRps?: number;
	jobRunner?: LoadJobRunner;
	/** Seconds from creating a load-test Job to its workers' shared start time. Default 30. */
	jobStartDelaySeconds?: number;
	metrics?: MetricsPort;
	judge?: CanaryJudge;
	guard?: {
		enabled: boolean;
		dryRun?: boolean;
		settingsFile?: () => GuardSettingsFile;
		/** The console's detectors the guard runs. Default: the robust z-score detector. */
		detectors?: readonly FlagDetector[];
		/** How often due models are checked. Default 5 s. */
		tickMs?: number;
	};
	/** Progressive deliveries (`deliver`): default, the cluster's own DeliveryPort when it has one (the Kubernetes source). */
	deliveryPort?: DeliveryPort;
	alertWebhook?: string;
	alertFormat?: AlertFormat;
	/** Told about everything worth a log line. Tokens never reach it. */
	log?: (line: string) => void;
	fetch?: typeof fetch;
	now?: () => number;
}

export interface IngestResult {
	status: number;
	body: {accepted: number; ignored: number; predictions: number} | {error: string};
}

/** A refusal before an action starts: the HTTP status and a message for people. */
export interface Refusal {
	status: number;
	message: string;
}

export class HttpProblem extends Error {
	override name = 'HttpProblem';
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.status = status;
	}
}

const reasons: Record<Action['kind'], string> = {
	'set-weight': 'ModeldeckSetWeight',
	promote: 'ModeldeckPromote',
	rollback: 'ModeldeckRollback',
	switch: 'ModeldeckSwitch',
	rollout: 'ModeldeckRolloutCommand',
	deliver: 'ModeldeckDeliver',
	delivery: 'ModeldeckDeliveryCommand',
	'smoke-test': 'ModeldeckSmokeTest',
	'load-test': 'ModeldeckLoadTest',
};

/**
 * `v1 stable 90%, v2 canary 10%`. With `previous`, the versions it had that `model` no longer lists are named too:
 * a promoted model's old stable, scaled to zero, is retired (the source lists it no more; its warning says so).
 */
function describeWeights(model: Model | undefined, previous?: Model): string {
	if (!model) return 'unknown';
	const listed = model.versions.map((version) => `${version.name} ${version.track} ${version.weight}%`);
	for (const version of previous?.versions ?? []) {
		if (model.versions.some((candidate) => candidate.name === version.name)) continue;
		const retired = model.warnings?.some((warning) => warning.startsWith(`${version.name} is retired`));
		listed.push(retired ? `${version.name} retired 0%` : `${version.name} gone`);
	}

	return listed.join(', ');
}

/** How long closing waits for aborted actions to clean up. */
const closeGraceMs = 20_000;

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
	readonly #models = new Map<string, Model>();
	/**
	 * The token behind each identity that `authenticate` returned, so that a long-lived caller (a WebSocket, whose
	 * identity is fixed when it connects) is reviewed again before each action and subscription. Held only in
	 * memory and only as long as the identity is; never logged.
	 */
	readonly #tokens = new WeakMap<Identity, string>();
	readonly #loadTests = new Set<string>();
	readonly #timers: NodeJS.Timeout[] = [];
	readonly #abort = new AbortController();
	/** Actions under way; closing aborts them and waits (bounded) for their clean-up, e.g. a load test's Job deleted. */
	readonly #running = new Set<Promise<void>>();
	readonly #retention: RetentionPolicy;
	readonly #log: (line: string) => void;
	#unwatch: (() => void) | undefined;
	#closed = false;
	#retaining = false;

	constructor(options: AgentCoreOptions) {
		this.#options = options;
		this.#log = options.log ?? (() => undefined);
		this.noAuth = options.noAuth === true;
		if (!this.noAuth && !options.reviewer)
			throw new Error('the agent needs an access reviewer (the Kubernetes API server) unless run with --no-auth');
		this.reviewer = this.noAuth ? allowAllReviewer : new CachedReviewer(options.reviewer!, options.reviewCacheMs ?? 10_000);
		this.metrics = createAgentMetrics();
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
		this.#retention = {maxAgeMs: 24 * 3600 * 1000, maxRows: 1_000_000, ...options.retention};

		if (options.cluster) {
			this.#unwatch = options.cluster.watchModels(
				undefined,
				(models) => {
					this.#models.clear();
					for (const model of models) this.#models.set(modelKey(model), model);
				},
				(error) => this.#log(`cluster: ${error.message}`),
			);
		}

		const expiry = setInterval(
			() => {
				// Timed-out halves become incomplete predictions, stored with their halves' removal in one transaction.
				const now = this.#now();
				const changes: HalfChanges = {put: [], removed: []};
				const expired = this.joiner.expire(now, changes);
				if (expired.length > 0) this.#storeThenStream(expired, now, changes, 'later');

				this.metrics.pendingHalves.set(this.joiner.pendingCount);
			},
			Math.min(1000, Math.max(10, (options.joinTimeoutMs ?? 30_000) / 4)),
		);
		const retention = setInterval(() => void this.#retain(), options.retentionIntervalMs ?? 10_000);
		this.#timers.push(expiry, retention);
		for (const timer of this.#timers) timer.unref();

		this.deliveries = this.#startDeliveries(options);

		if (options.guard?.enabled) {
			if (!options.metrics || !options.judge || !options.cluster) {
				throw new Error('the guard needs metrics (--prometheus URL), a canary judge and a cluster connection');
			}

			this.guard = new CanaryGuard({
				models: () => [...this.#models.values()],
				metrics: options.metrics,
				judge: options.judge,
				...(options.guard.settingsFile ? {settingsFile: options.guard.settingsFile} : {}),
				...(options.guard.detectors ? {detectors: options.guard.detectors} : {}),
				dryRun: options.guard.dryRun === true,
				cluster: options.cluster,
				audit: (record) => this.#guardAudit(record),
				readBack: async (model) => {
					const now = await this.#modelNow({kind: 'rollback', model, canary: ''});
					return typeof now === 'string' ? now : weightsText(now);
				},
				onReport: (report) => this.#guardReport(report),
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
			resolveEndpoint: (target) => this.#resolveEndpoint(target),
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

	/**
	 * The model as the cluster has it, for an action's before and after: read afresh when the cluster can, else the
	 * agent's view (which a ClusterPort without fresh reads updates as it changes). A message when it could not read.
	 */
	async #modelNow(action: Action): Promise<Model | string | undefined> {
		const ref = actionModel(action);
		const planner = this.#planner;
		if (!planner) return this.findModel(ref);
		try {
			return await planner.readModel(ref);
		} catch (error) {
			return `unknown (could not read ${ref.namespace}/${ref.name}: ${(error as Error).message})`;
		}
	}

	/** Deletes old predictions a chunk at a time, letting ingest and the stream run between chunks. */
	async #retain(): Promise<void> {
		if (this.#retaining || this.#closed) return;
		this.#retaining = true;
		let deleted = 0;
		try {
			for (const count of this.store.retainInChunks(this.#retention, this.#now())) {
				deleted += count;
				await new Promise<void>((resolve) => setImmediate(resolve));
				if (this.#closed) break;
			}
		} catch (error) {
			this.#log(`retention failed: ${(error as Error).message}`);
		} finally {
			this.#retaining = false;
		}

		if (deleted > 0) this.#log(`retention: deleted ${deleted} old predictions`);
		// A store that was full may take writes again now that pages were freed.
		if (this.store.failure) this.#storeHealth();
	}

	get models(): Model[] {
		return [...this.#models.values()];
	}

	findModel(ref: ModelRef): Model | undefined {
		return this.#models.get(modelKey(ref));
	}

	/** Replaces the agent's view of the models (tests, and agents without a cluster watch). */
	setModels(models: Model[]): void {
		this.#models.clear();
		for (const model of models) this.#models.set(modelKey(model), model);
	}

	// ---- ingest ---------------------------------------------------------------------------------------------------

	/**
	 * Numbers predictions as the stream will, commits them (with the changes among waiting halves), then streams
	 * them. `now`: the store throws StoreWriteError when it cannot write (a request is waiting for the answer);
	 * `later`: for predictions no request waits for (a join timed out, the agent stops), which wait in memory for the
	 * next write that works, and consoles see at once either way. A prediction cannot have happened after the agent
	 * received it: a logger's clock ahead of the agent's would otherwise keep it at the top of every listing.
	 */
	#storeThenStream(predictions: Prediction[], now: number, halves: HalfChanges | undefined, mode: 'now' | 'later'): void {
		for (const prediction of predictions) if (prediction.time > now) prediction.time = now;
		const first = this.hub.seq + 1;
		const rows = predictions.map((prediction, index) => ({seq: first + index, prediction}));
		if (mode === 'now') this.store.addPredictions(rows, now, halves);
		else this.store.addPredictionsLater(rows, now, halves);
		this.metrics.storeWritable.set(this.store.failure ? 0 : 1);
		for (const prediction of predictions) this.hub.publish({type: 'prediction', prediction}, prediction.namespace);
	}

	/** Asks a failed store to try a write again; logs the change. */
	#storeHealth(): {ok: boolean; message: string} {
		const before = this.store.failure;
		const failure = this.store.probe();
		this.metrics.storeWritable.set(failure ? 0 : 1);
		if (before && !failure) this.#log(`store: writes work again (they had failed since ${new Date(before.since).toISOString()})`);
		return failure ? {ok: false, message: failure.message} : {ok: true, message: 'ready'};
	}

	/**
	 * Ingests one POST. Answers 200 only once every prediction it completed is committed to the store, and streams
	 * them only then; if the store cannot write, answers 503 with the cause and takes everything back (a half that
	 * found its partner waits again), so the logger's retry finds things as they were.
	 */
	ingest(headers: IncomingHeaders, body: Buffer): IngestResult {
		const now = this.#now();
		const undo: JoinerUndo = [];
		// Halves that begin or stop waiting are committed with the predictions: an acknowledged half survives a kill.
		const halves: HalfChanges = {put: [], removed: []};
		const duplicatesBefore = this.joiner.duplicates;
		try {
			const batch = parseIngest(headers, body, now);
			const completed: Prediction[] = [];
			for (const record of batch.records) {
				if (record.kind === 'prediction') completed.push(record.prediction);
				else completed.push(...this.joiner.add(record, now, undo, halves));
			}

			this.#storeThenStream(completed, now, halves, 'now');
			this.metrics.ingested.inc({format: batch.format}, batch.records.length);
			const duplicates = this.joiner.duplicates - duplicatesBefore;
			if (duplicates > 0) this.metrics.duplicateHalves.inc(duplicates);
			return {status: 200, body: {accepted: batch.records.length, ignored: batch.ignored, predictions: completed.length}};
		} catch (error) {
			for (const step of undo.reverse()) step();
			if (error instanceof IngestError) {
				this.metrics.ingestRejected.inc({reason: error.status === 413 ? 'too-large' : error.status === 415 ? 'media-type' : 'invalid'});
				return {status: error.status, body: {error: error.message}};
			}

			if (error instanceof StoreWriteError) {
				this.metrics.ingestRejected.inc({reason: 'store'});
				this.metrics.storeWritable.set(0);
				this.#log(`ingest: refused with 503: ${error.message}`);
				return {status: 503, body: {error: error.message}};
			}

			this.metrics.ingestRejected.inc({reason: 'internal'});
			this.#log(`ingest: unexpected failure: ${(error as Error).stack ?? String(error)}`);
			return {status: 500, body: {error: `the agent failed to process the logs: ${(error as Error).message}`}};
		}
	}

	// ---- security -------------------------------------------------------------------------------------------------

	/** The caller behind a bearer token. Throws HttpProblem 401 (no or bad token) or 503 (could not ask). */
	async authenticate(token: string | undefined): Promise<Identity> {
		if (this.noAuth) return (await this.reviewer.authenticate(''))!;
		if (!token) {
			this.metrics.authFailures.inc({reason: 'unauthenticated'});
			throw new HttpProblem(
				401,
				'missing bearer token: send "Authorization: Bearer <your Kubernetes token>" (e.g. from kubectl create token, or your kubeconfig)',
			);
		}

		let identity: Identity | undefined;
		try {
			identity = await this.reviewer.authenticate(token);
		} catch (error) {
			this.metrics.authFailures.inc({reason: 'review-failed'});
			throw new HttpProblem(503, `could not check the token with the Kubernetes API server (TokenReview): ${(error as Error).message}`);
		}

		if (!identity) {
			this.metrics.authFailures.inc({reason: 'unauthenticated'});
			throw new HttpProblem(401, 'the Kubernetes API server did not accept the token (TokenReview): it is invalid or expired');
		}

		this.#tokens.set(identity, token);
		return identity;
	}

	/**
	 * Reviews the identity's token again (through the reviewer's cache, so at most once per `reviewCacheMs`): a
	 * token revoked since the caller connected stops working once the cache forgets it. The refusal, else the
	 * identity as the API server has it now.
	 */
	async #recheck(identity: Identity): Promise<Refusal | Identity> {
		const token = this.#tokens.get(identity);
		if (this.noAuth || token === undefined) return identity;
		try {
			return await this.authenticate(token);
		} catch (error) {
			const problem = error as HttpProblem;
			const message =
				problem.status === 401
					? `${identity.user}'s token is no longer accepted by the Kubernetes API server (TokenReview): it was revoked or expired since this connection was opened; reconnect with a valid token`
					: problem.message;
			return {status: problem.status ?? 503, message};
		}
	}

	/** Undefined when allowed; else the refusal. */
	async authorize(identity: Identity, permissions: ResourceAttributes[]): Promise<Refusal | undefined> {
		for (const permission of permissions) {
			let decision;
			try {
				decision = await this.reviewer.authorize(identity, permission);
			} catch (error) {
				this.metrics.authFailures.inc({reason: 'review-failed'});
				return {
					status: 503,
					message: `could not check permissions with the Kubernetes API server (SubjectAccessReview): ${(error as Error).message}`,
				};
			}

			if (!decision.allowed) {
				this.metrics.authFailures.inc({reason: 'forbidden'});
				return {
					status: 403,
					message: `forbidden: ${identity.user} may not ${describeAttributes(permission)}${decision.reason ? ` (${decision.reason})` : ''}`,
				};
			}
		}

		return undefined;
	}

	async authorizeRead(caller: Identity, namespace: string | undefined): Promise<Refusal | undefined> {
		const identity = await this.#recheck(caller);
		if ('status' in identity) return identity;
		const refusal = await this.authorize(identity, [readPermission(namespace)]);
		if (refusal?.status === 403 && namespace === undefined) {
			refusal.message += '; ask for one namespace (namespace=… or a filter with a namespace) if you can read only some';
		}

		return refusal;
	}

	// ---- reads ----------------------------------------------------------------------------------------------------

	predictions(query: Parameters<AgentStore['predictions']>[0]): Prediction[] {
		return this.store.predictions(query);
	}

	audit(limit: number, namespace?: string): AuditEntry[] {
		return this.store.audit(limit, namespace).map(({seq: _seq, namespace: _namespace, ...entry}) => entry);
	}

	// ---- actions --------------------------------------------------------------------------------------------------

	#resolveEndpoint(target: VersionRef): string | Promise<string> {
		if (this.#options.resolveEndpoint) return this.#options.resolveEndpoint(target);
		const version = this.findModel(target)?.versions.find((candidate) => candidate.name === target.version);
		if (!version) throw new Error(`version ${target.version} of ${target.namespace}/${target.name} is not in the cluster`);
		if (!version.service) throw new Error(`version ${target.version} has no Service the agent could send requests to`);
		return `http://${version.service}.${target.namespace}.svc:${this.#options.modelPort ?? 80}`;
	}

	#objectFor(action: Action): InvolvedObject | undefined {
		switch (action.kind) {
			case 'smoke-test':
				return versionObject(this.findModel(action.target), action.target);
			case 'load-test':
				return action.targets[0] ? versionObject(this.findModel(action.targets[0]), action.targets[0]) : undefined;
			default: {
				const model = this.findModel(action.model);
				return model ? modelObject(model) : undefined;
			}
		}
	}

	async #refuse(identity: Identity, action: Action, refusal: Refusal): Promise<Refusal> {
		const {action: what, target} = describeAction(action);
		const model = this.findModel(actionModel(action));
		const before = describeWeights(model);
		await this.auditor.record(
			{time: this.#now(), user: identity.user, action: what, target, before, after: before, result: 'refused', message: refusal.message},
			actionModel(action).namespace,
			this.#objectFor(action),
			'ModeldeckActionRefused',
		);
		this.metrics.actionDuration.observe({kind: action.kind, result: 'refused'}, 0);
		return refusal;
	}

	/**
	 * Checks and starts an action. Refusals (not found, forbidden, busy) come back before anything happens, so the
	 * HTTP front end can answer with their status; otherwise the progress stream, which ends with `done` or `failed`
	 * and is audited when it ends.
	 */
	async startAction(action: Action, caller: Identity): Promise<Refusal | {progress: AsyncIterable<ActionProgress>}> {
		const identity = await this.#recheck(caller);
		if ('status' in identity) return this.#refuse(caller, action, identity);
		// The writes authorised: a planned action is held to them.
		let within: PlannedChange[] | undefined;
		// Without auth there is nothing to check, and tests may point at versions no cluster knows.
		if (!this.noAuth) {
			const permissions = await plannedPermissions(action, (ref) => this.findModel(ref), this.#planner);
			if ('notFound' in permissions) return this.#refuse(identity, action, {status: 404, message: permissions.notFound});
			if ('invalid' in permissions) return this.#refuse(identity, action, {status: 400, message: permissions.invalid});
			if ('unavailable' in permissions) return this.#refuse(identity, action, {status: 503, message: permissions.unavailable});
			const refusal = await this.authorize(identity, permissions.permissions);
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
		const model = this.findModel(actionModel(action));
		const traffic = isTrafficAction(action);
		// A change is planned first: refused when it cannot be done or changes nothing; else recorded in its plan's words.
		const planning = traffic ? await planTrafficAction(this.#options.cluster!, action) : undefined;
		const plan = planning && 'plan' in planning ? planning.plan : undefined;
		const modelBefore = traffic && !plan ? await this.#modelNow(action) : model;
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
			this.metrics.actionDuration.observe({kind: action.kind, result}, (performance.now() - started) / 1000);
			// A planned change's `after` is its plan's once done; a failed one's is what the cluster has once it ended
			// (it may have written part of its plan); a test's is the weights it ran against.
			try {
				let after: string;
				if (plan) {
					const modelAfter = result === 'ok' ? undefined : await this.#modelNow(action);
					after = trafficAuditTexts(plan, result === 'ok', () =>
						typeof modelAfter === 'string' ? modelAfter : weightsText(modelAfter),
					).after;
				} else if (result === 'refused') {
					after = before;
				} else {
					const modelAfter = traffic ? await this.#modelNow(action) : undefined;
					after =
						typeof modelAfter === 'string'
							? modelAfter
							: traffic
								? describeWeights(modelAfter, typeof modelBefore === 'string' ? model : modelBefore)
								: before;
				}

				await this.auditor.record(
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
					result === 'refused' ? 'ModeldeckActionRefused' : reasons[action.kind],
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
		const planner = this.#planner;
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
			case 'delivery':
				if (!this.deliveries) yield {kind: 'failed', message: 'the agent has no cluster connection to roll out with'};
				else yield* this.deliveries.act(action, user);
				return;
			case 'smoke-test': {
				let base: string;
				try {
					base = await this.#resolveEndpoint(action.target);
				} catch (error) {
					yield failure(error);
					return;
				}

				yield* smokeTest(action.target, base, {signal: this.#abort.signal, ...(this.#options.fetch ? {fetch: this.#options.fetch} : {})});
				return;
			}

			case 'load-test':
				yield* loadTest(action, {
					resolveEndpoint: (target) => this.#resolveEndpoint(target),
					...(this.#options.maxLocalRps !== undefined ? {maxLocalRps: this.#options.maxLocalRps} : {}),
					...(this.#options.jobRunner ? {jobRunner: this.#options.jobRunner} : {}),
					...(this.#options.jobStartDelaySeconds !== undefined ? {jobStartDelaySeconds: this.#options.jobStartDelaySeconds} : {}),
					...(this.#options.fetch ? {fetch: this.#options.fetch} : {}),
					signal: this.#abort.signal,
				});
		}
	}

	// ---- guard ----------------------------------------------------------------------------------------------------

	async #guardAudit(record: GuardAuditRecord): Promise<void> {
		if (record.seconds !== undefined) this.metrics.actionDuration.observe({kind: 'rollback', result: record.entry.result}, record.seconds);
		await this.auditor.record(
			{time: this.#now(), user: guardUser, ...record.entry},
			record.model.namespace,
			modelObject(record.model),
			record.reason,
		);
	}

	#guardReport(report: GuardReport): void {
		const {verdict, action} = report;
		this.metrics.guardEvaluations.inc({result: verdict.result});
		const acted = action.kind !== 'none';
		const rolledBack = action.kind === 'rollback' && report.error === undefined;
		if (acted) {
			this.metrics.guardRollbacks.inc({
				namespace: report.model.namespace,
				model: report.model.name,
				dry_run: String(action.kind === 'would-rollback'),
			});
		}

		// Consoles hear about every verdict that is not a plain pass, and about the return to pass.
		if (!acted && verdict.result === 'pass' && (report.previousResult === undefined || report.previousResult === 'pass')) return;
		const count = `${report.state.consecutiveFailures}/${report.settings.consecutiveFailures}`;
		const message =
			action.kind === 'rollback'
				? report.error
					? `guard failed to roll back ${report.canary}: ${report.error}`
					: `guard rolled back ${report.canary}: ${action.reason}`
				: action.kind === 'would-rollback'
					? `DRY RUN: guard would roll back ${report.canary}: ${action.reason}`
					: `${report.canary} vs ${report.stable}: ${verdict.summary}${verdict.result === 'fail' ? ` (${count} failures)` : ''}`;
		this.hub.publish({type: 'guard', model: report.model, verdict: verdict.result, message, rolledBack}, report.model.namespace);
		this.#log(`guard: ${report.model.namespace}/${report.model.name}: ${message}`);
		if (acted && this.#options.alertWebhook) {
			const url = this.#options.alertWebhook;
			void postAlert(
				url,
				{
					model: report.model,
					canary: report.canary,
					stable: report.stable,
					rolledBack,
					dryRun: action.kind === 'would-rollback',
					reason: action.kind === 'rollback' && report.error ? `${action.reason}; the rollback failed: ${report.error}` : action.reason,
					time: this.#now(),
				},
				alertFormatFor(url, this.#options.alertFormat),
				this.#options.fetch,
			).then((problem) => {
				if (problem) this.#log(`guard: ${problem}`);
			});
		}
	}

	// ---- health ---------------------------------------------------------------------------------------------------

	async ready(): Promise<{ok: boolean; message: string}> {
		if (this.#closed || !this.store.isOpen) return {ok: false, message: 'the store is closed'};
		// Not ready while the store refuses writes (loggers would get 503); each probe tries a write again.
		if (this.store.failure) {
			const store = this.#storeHealth();
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
		this.#abort.abort();
		// Aborted actions clean up before the store closes under their audit (a pod gets 30 s after SIGTERM by default).
		if (this.#running.size > 0) {
			await Promise.race([Promise.allSettled([...this.#running]), new Promise((resolve) => setTimeout(resolve, closeGraceMs).unref())]);
		}

		for (const timer of this.#timers) clearInterval(timer);
		this.#unwatch?.();
		await this.guard?.stop();
		await this.deliveries?.close();
		// A store on disk keeps the halves still waiting, to be joined after the restart (a rolling update sends their
		// partners to the next agent); one in memory would lose them, so they are stored as incomplete instead.
		if (this.store.path === ':memory:') this.#storeThenStream(this.joiner.drain(), this.#now(), undefined, 'later');
		this.hub.close();
		this.store.close();
	}
}
