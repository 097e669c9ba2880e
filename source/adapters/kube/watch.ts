/**
 * Discovery through watches that survive errors.
 *
 * client-node's informer (ListWatch, what makeInformer builds) lists, then watches from the list's resourceVersion
 * and relists on 410 Gone, but it stops for good on any other error: an API server restart, a dropped connection, a
 * 403. Each `ResilientInformer` restarts its informer with exponential backoff (1 s doubling to 30 s) and reports
 * the problem once per episode, in words for people; the objects it had stay in its cache, so the screen keeps the
 * last known models (marked stale by the store) instead of going blank.
 *
 * Custom resources whose CRD is not installed answer 404: the informer is marked absent (its objects left out),
 * nothing is reported, and it checks again every minute in case the CRD is installed later.
 *
 * Health is more than "no error yet": a connection the network has frozen (accepted, never answered) raises no error
 * for as long as it stays open. So the source asks the API server a small question (GET /version) every heartbeat
 * with a short timeout, lists time out, and each watch asks for bookmarks and a server-side timeout and is given up
 * on when nothing (no event, no bookmark) arrives for longer than that. The console hears `onAlive` only while the
 * heartbeat is answered and every watch runs, and an error as soon as either stops.
 */
import {type KubeConfig, type KubernetesListObject, type KubernetesObject, ListWatch, Watch} from '@kubernetes/client-node';
import type {SourceError} from '../../domain/ports.ts';
import type {Model, Unsubscribe} from '../../domain/types.ts';
import {type ClusterSnapshot, buildModels} from './build-models.ts';
import type {Conventions} from './conventions.ts';
import {describeKubeError, statusOf} from './errors.ts';
import {type EarlyList, type EarlyLists, listQuery, requestKey} from './early-lists.ts';
import {KubeHttp, resourcePath} from './http.ts';
import type {KubeList} from './objects.ts';
import {traceStartup} from '../startup-trace.ts';
import {type WatchedKind, watchedKinds} from './watched-kinds.ts';

export {type WatchedKind, watchedKinds} from './watched-kinds.ts';

export interface BackoffPolicy {
	initialMs: number;
	maxMs: number;
	/** How often a kind whose CRD is missing is looked for again. */
	absentRecheckMs: number;
}

export const defaultBackoff: BackoffPolicy = {initialMs: 1000, maxMs: 30_000, absentRecheckMs: 60_000};

export interface HealthTiming {
	/** How often the API server is asked whether it answers. Default 2000 ms (the console's default refresh). */
	heartbeatMs: number;
	/** How long a heartbeat may take. Default 5000 ms. */
	requestTimeoutMs: number;
	/** How long a list may take. Default 30 s: a big namespace's pods are more than a heartbeat. */
	listTimeoutMs: number;
	/**
	 * The server ends each watch after this long (`timeoutSeconds`), sending a bookmark just before: a watch that
	 * stays silent for longer (plus the request timeout) is dead and is replaced. Default 50 s.
	 */
	watchTimeoutSeconds: number;
}

export const defaultHealthTiming: HealthTiming = {
	heartbeatMs: 2000,
	requestTimeoutMs: 5000,
	listTimeoutMs: 30_000,
	watchTimeoutSeconds: 50,
};

function isTimeoutError(error: unknown): boolean {
	return (error as {name?: unknown} | null)?.name === 'TimeoutError';
}

/** Our own request's deadline passed (AbortSignal.timeout aborts the request with an AbortError). */
function isAbort(error: unknown): boolean {
	const {name} = (error as {name?: unknown} | null) ?? {};
	return name === 'AbortError' || name === 'TimeoutError';
}

/** A 429 is said at the third in a row (after 1 s + 2 s of quiet backoff with the default policy). */
const quietThrottledAttempts = 3;

export function backoffDelay(attempt: number, policy: BackoffPolicy = defaultBackoff): number {
	return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * A Watch that tells when a watch request was accepted (the sign that a failing informer is healthy again), and that
 * drops a watch the informer no longer wants: ListWatch starts its watch after an awaited list without checking that
 * it was stopped meanwhile, and such a watch would keep the process alive until its 30 s inactivity timeout.
 */
class ObservedWatch extends Watch {
	private readonly onAccepted: () => void;
	private readonly onSilent: (error: unknown) => void;
	private readonly isStopped: () => boolean;
	private readonly timeoutSeconds: number;
	private readonly trim: ((object: unknown) => unknown) | undefined;

	constructor(
		config: KubeConfig,
		timing: HealthTiming,
		onAccepted: () => void,
		onSilent: (error: unknown) => void,
		isStopped: () => boolean,
		trim?: (object: unknown) => unknown,
	) {
		super(config);
		this.trim = trim;
		this.onAccepted = onAccepted;
		this.onSilent = onSilent;
		this.isStopped = isStopped;
		this.timeoutSeconds = timing.watchTimeoutSeconds;
		// client-node's Watch aborts a request silent for this long (connecting, or between lines) with a TimeoutError;
		// the field is private in its types but read on every watch (dist/watch.js), and there is no option for it.
		(this as unknown as {requestTimeoutMs: number}).requestTimeoutMs = timing.watchTimeoutSeconds * 1000 + timing.requestTimeoutMs;
	}

	override async watch(
		path: string,
		queryParams: Record<string, string | number | boolean | undefined>,
		callback: (phase: string, apiObject: any, watchObject?: any) => void,
		done: (error: any) => void,
	): Promise<AbortController> {
		if (this.isStopped()) {
			const controller = new AbortController();
			controller.abort();
			return controller;
		}

		let failedEarly = false;
		const query = {...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds};
		const {trim} = this;
		const events = trim
			? (phase: string, apiObject: any, watchObject?: any) =>
					callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? trim(apiObject) : apiObject, watchObject)
			: callback;
		const controller = await super.watch(path, query, events, (error) => {
			if (error) failedEarly = true;
			if (this.isStopped()) return;
			// ListWatch takes a timeout for a quiet resource and reconnects without a word; here it is a watch that went
			// silent past its own deadline and bookmark, which the screen must not go on calling live.
			if (isTimeoutError(error)) this.onSilent(error);
			done(error);
		});
		if (this.isStopped()) controller.abort();
		else if (!failedEarly) this.onAccepted();
		return controller;
	}
}

type InformerState = 'starting' | 'synced' | 'failing' | 'absent';

interface InformerEvents {
	changed(): void;
	failed(kind: WatchedKind, error: unknown): void;
	healthy(kind: WatchedKind): void;
}

export class ResilientInformer {
	state: InformerState = 'starting';
	/** Listed at least once — or, for an optional kind, found absent or failing: it no longer holds back the first list. */
	settled = false;
	private attempts = 0;
	/**
	 * 429s in a row. The API server asks to come back shortly: its watch cache is (re)initializing (just after a CRD is
	 * created or the server restarted) or API Priority and Fairness is shedding load. As client-go's reflector does, the
	 * first ones are retried quietly after a backoff; only one that lasts is said.
	 */
	private throttled = 0;
	/** The last failure was the network's (no answer, refused, reset), not a refusal by the API server. */
	unreachable = false;
	private stopped = false;
	private retryTimer: NodeJS.Timeout | undefined;
	private readonly informer: ListWatch<KubernetesObject>;
	readonly kind: WatchedKind;
	private readonly events: InformerEvents;
	private readonly policy: BackoffPolicy;

	constructor(
		kind: WatchedKind,
		kubeConfig: KubeConfig,
		http: KubeHttp,
		namespace: string | undefined,
		events: InformerEvents,
		policy: BackoffPolicy = defaultBackoff,
		timing: HealthTiming = defaultHealthTiming,
		early?: Promise<EarlyList | undefined>,
	) {
		this.kind = kind;
		this.events = events;
		this.policy = policy;
		const path = resourcePath(kind.type, namespace);
		// `resourceVersion=0`, as client-go's reflectors list: served from the API server's watch cache instead of a
		// quorum read of etcd, so a big namespace's first list costs the API server (and the first frame) far less. The
		// watch then starts from the list's resourceVersion, so nothing after it is missed.
		// The first list may have been sent before the Kubernetes client loaded (early-lists.ts): the informer takes its
		// answer, or asks again when it failed.
		let earlyResponse = early;
		const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
			const first = !this.settled;
			if (first) traceStartup(`list ${kind.type.plural} ${earlyResponse ? 'taken from the early lists' : 'sent'}`);
			const pending = earlyResponse;
			earlyResponse = undefined;
			// An early list comes parsed and trimmed already (early-lists.ts); any other is parsed and trimmed as it arrives.
			const early = await pending;
			const result = early ?? (await http.list<KubeList>(path, {query: listQuery(kind), timeoutMs: timing.listTimeoutMs}, kind.trim));
			this.healthyAgain();
			const items = (result?.items ?? []) as KubernetesObject[];
			if (first) traceStartup(`list ${kind.type.plural} parsed (${items.length})`);
			return {...result, items} as KubernetesListObject<KubernetesObject>;
		};

		const watch = new ObservedWatch(
			kubeConfig,
			timing,
			() => this.healthyAgain(),
			(error) => this.silent(error),
			() => this.stopped,
			kind.trim,
		);
		this.informer = new ListWatch(path, watch, list, false, kind.labelSelector, kind.fieldSelector);
		const changed = () => this.events.changed();
		this.informer.on('add', changed);
		this.informer.on('update', changed);
		this.informer.on('delete', changed);
		this.informer.on('error', (error: unknown) => this.fail(error));
	}

	start(): void {
		this.stopped = false;
		this.informer.start().catch((error: unknown) => this.fail(error));
	}

	stop(): void {
		this.stopped = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		this.retryTimer = undefined;
		void this.informer.stop();
	}

	objects(): readonly KubernetesObject[] {
		return this.state === 'absent' ? [] : this.informer.list();
	}

	/** The API server answers again: a watch that could not reach it tries now instead of at the end of its backoff. */
	retryNow(): void {
		if (this.stopped || !this.retryTimer || !this.unreachable) return;
		clearTimeout(this.retryTimer);
		this.retryTimer = undefined;
		this.start();
	}

	/** The watch went silent past its deadline; ListWatch is already replacing it (without a relist). */
	private silent(error: unknown): void {
		if (this.stopped) return;
		this.state = 'failing';
		this.unreachable = true;
		this.events.failed(this.kind, error);
		this.events.changed();
	}

	/** A 403 on this optional kind has been said (it is said once, not at every recheck). */
	private refusalSaid = false;

	private healthyAgain(): void {
		if (this.stopped) return;
		const previous = this.state;
		this.state = 'synced';
		this.unreachable = false;
		this.settled = true;
		this.attempts = 0;
		this.throttled = 0;
		if (previous === 'failing' || previous === 'absent') this.events.healthy(this.kind);
		// Reconnections every 30 s (the Watch's inactivity timeout) change nothing: recompute only on a transition.
		if (previous !== 'synced') this.events.changed();
	}

	private fail(error: unknown): void {
		if (this.stopped || this.retryTimer) return;
		const status = statusOf(error);
		let delay: number;
		if (status === 429 && ++this.throttled < quietThrottledAttempts) {
			// Asked to wait: nothing is wrong yet, and the last data stays as it was.
			delay = backoffDelay(this.throttled, this.policy);
		} else if (this.kind.optional && (status === 404 || status === 403)) {
			const previous = this.state;
			this.state = 'absent';
			delay = this.policy.absentRecheckMs;
			// Not installed (404), or not for this user to see (403, common for custom resources): the models of that kind
			// are left out, which a refusal says once — it is a standing limit, not a cluster going stale every retry.
			if (status === 403 && !this.refusalSaid) {
				this.refusalSaid = true;
				this.events.failed(this.kind, error);
			}

			// The API server answers again: that is a recovery like any other.
			if (previous === 'failing') this.events.healthy(this.kind);
		} else {
			this.state = 'failing';
			this.unreachable = statusOf(error) === undefined;
			this.attempts++;
			delay = backoffDelay(this.attempts, this.policy);
			this.events.failed(this.kind, error);
		}

		if (this.kind.optional) this.settled = true;
		this.events.changed();
		this.retryTimer = setTimeout(() => {
			this.retryTimer = undefined;
			if (!this.stopped) this.start();
		}, delay);
	}
}

export interface ModelWatchOptions {
	kubeConfig: KubeConfig;
	namespace: string | undefined;
	conventions: Conventions;
	onChange: (models: Model[]) => void;
	onError: (error: SourceError) => void;
	backoff?: BackoffPolicy;
	/** First lists sent before the Kubernetes client loaded, for this context and namespace (early-lists.ts). */
	earlyLists?: EarlyLists;
	/** Coalesces bursts of events (the first list of every kind) into one recomputation. Default 50 ms. */
	debounceMs?: number;
	/** A healthy moment: the heartbeat was answered and every watch runs. Called once a heartbeat while it lasts. */
	onAlive?: () => void;
	timing?: Partial<HealthTiming>;
}

/** Watches every kind discovery needs and calls `onChange` with the models whenever they change. */
export function watchModels(options: ModelWatchOptions): Unsubscribe {
	const http = new KubeHttp(options.kubeConfig);
	const debounceMs = options.debounceMs ?? 50;
	const timing: HealthTiming = {...defaultHealthTiming, ...options.timing};
	let heartbeatTimer: NodeJS.Timeout | undefined;
	/** The last heartbeat was answered in time. */
	let answering = false;
	let lastJson: string | undefined;
	let forceNext = false;
	let timer: NodeJS.Timeout | undefined;
	let stopped = false;
	let emitted = false;
	// Problems with optional kinds (a CRD, autoscalers) are said after the first list of models: the models come first,
	// and an error before them always means the models cannot be listed at all.
	const deferred = new Map<string, SourceError>();
	// One message per problem until everything is healthy again: ten informers failing for one reason say it once.
	// Only what was said: a message held back for an optional kind is still said when a kind the models need (or the
	// heartbeat) meets it — a refused token answers every kind alike, and whichever fails first must not silence it.
	const reported = new Set<string>();
	const say = (message: string, error: SourceError) => {
		if (reported.has(message)) return;
		reported.add(message);
		deferred.delete(message);
		options.onError(error);
	};

	const emit = () => {
		timer = undefined;
		if (stopped) return;
		if (!informers.every((informer) => informer.settled)) return;
		const snapshot: ClusterSnapshot = {};
		for (const informer of informers) {
			const list = (snapshot[informer.kind.key] ??= []) as unknown[];
			list.push(...informer.objects());
		}

		if (!emitted) traceStartup('every kind listed');
		const models = buildModels(snapshot, options.conventions);
		if (!emitted) traceStartup(`models built (${models.length})`);
		const json = JSON.stringify(models);
		if (json === lastJson && !forceNext) return;
		lastJson = json;
		forceNext = false;
		options.onChange(models);
		if (!emitted) {
			emitted = true;
			const held = [...deferred];
			deferred.clear();
			for (const [message, error] of held) if (!stopped) say(message, error);
		}
	};

	const events: InformerEvents = {
		changed() {
			if (!stopped && !timer) timer = setTimeout(emit, debounceMs);
		},
		failed(kind, error) {
			if (stopped) return;
			const message = isTimeoutError(error)
				? `the watch of ${kind.type.plural} got no event or bookmark from ${http.server} for ${timing.watchTimeoutSeconds + timing.requestTimeoutMs / 1000} s: the API server or the network to it is stuck`
				: describeKubeError(error, {
						verb: 'watch',
						resource: kind.type.plural,
						namespace: options.namespace,
						server: http.server,
						user: http.user,
					});
			const sourceError: SourceError = {source: 'cluster', message: `${message} — retrying`};
			if (kind.optional && !emitted) {
				if (!reported.has(message) && !deferred.has(message)) deferred.set(message, sourceError);
			} else say(message, sourceError);
		},
		healthy() {
			if (informers.some((informer) => informer.state === 'failing')) return;
			// Recovered: say so with a fresh list even if nothing changed, so the screen drops its stale mark.
			reported.clear();
			forceNext = true;
			events.changed();
		},
	};

	/**
	 * Everything the screen shows is current: the API server answers, every kind has been listed and no watch is down
	 * (an optional kind the API server refuses stays refused, said once, without holding the rest back).
	 */
	const healthy = () =>
		answering &&
		emitted &&
		informers.every((informer) => informer.settled) &&
		!informers.some((informer) => informer.state === 'failing' && (!informer.kind.optional || informer.unreachable));

	const heartbeat = async () => {
		heartbeatTimer = undefined;
		try {
			await http.get('/version', {timeoutMs: timing.requestTimeoutMs});
			if (stopped) return;
			answering = true;
			for (const informer of informers) informer.retryNow();
			if (healthy()) {
				reported.clear();
				options.onAlive?.();
			}
		} catch (error) {
			if (stopped) return;
			answering = false;
			const timedOut = isAbort(error);
			const message = timedOut
				? `the API server at ${http.server} did not answer within ${timing.requestTimeoutMs / 1000} s; is it overloaded, or the network to it down?`
				: describeKubeError(error, {verb: 'get', resource: 'version', server: http.server, user: http.user});
			say(message, {source: 'cluster', message: `${message} — retrying`, ...(timedOut ? {timedOut} : {})});
		} finally {
			if (!stopped) {
				heartbeatTimer = setTimeout(() => void heartbeat(), timing.heartbeatMs);
				heartbeatTimer.unref();
			}
		}
	};

	const informers = watchedKinds(options.conventions).map(
		(kind) =>
			new ResilientInformer(
				kind,
				options.kubeConfig,
				http,
				options.namespace,
				events,
				options.backoff,
				timing,
				options.earlyLists?.take(requestKey(resourcePath(kind.type, options.namespace), listQuery(kind))),
			),
	);
	options.earlyLists?.discard();
	for (const informer of informers) informer.start();
	void heartbeat();
	return () => {
		stopped = true;
		if (timer) clearTimeout(timer);
		if (heartbeatTimer) clearTimeout(heartbeatTimer);
		for (const informer of informers) informer.stop();
	};
}
