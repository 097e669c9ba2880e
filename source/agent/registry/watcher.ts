/**
 * The registry watcher: follows aliases of MLflow registered models (`fraud-detector@champion`) and, when one moves
 * to a new version, starts a rollout of it through the agent's DeliveryStarter, once.
 *
 * - It polls every `mlflow.pollSeconds`, and a webhook (webhook.ts) makes it look at once.
 * - What it handled last is kept per alias and model in the agent's store (`RegistryMemory`, the SQLite `meta`
 *   table): a restarted agent does not start the same version again. The first time it looks at an alias it only
 *   notes the version there (a version already there when the watcher started is not rolled out); an alias not set
 *   yet counts as "none", so setting it starts a rollout.
 * - A version the starter refuses (`{ok: false}`: the version exists, a rollout is already running…) is audited and
 *   not tried again; moving the alias again tries again. A starter that throws, an unreachable registry, a missing
 *   model, alias or tag are problems: logged, counted, audited once per distinct message, and retried at every poll.
 */
import type {DeliveryStarter} from '../../domain/delivery.ts';
import type {AuditEntry} from '../../domain/ports.ts';
import {modelKey} from '../../domain/types.ts';
import {deliverySpecFor} from './mapping.ts';
import type {RegistryModelVersion} from './mapping.ts';
import {RegistryError} from './mlflow-client.ts';
import type {RegistryErrorKind} from './mlflow-client.ts';
import type {FollowedAlias, RegistrySettings} from './settings.ts';

/** A few small values kept across restarts (the agent's store). */
export interface RegistryMemory {
	get(key: string): string | undefined;
	set(key: string, value: string): void;
}

export function memoryInMap(map = new Map<string, string>()): RegistryMemory {
	return {get: (key) => map.get(key), set: (key, value) => void map.set(key, value)};
}

export interface RegistryClient {
	aliasVersion(name: string, alias: string): Promise<RegistryModelVersion>;
}

export type ProblemKind = RegistryErrorKind | 'mapping' | 'starter' | 'memory';

export interface RegistryWatcherMetrics {
	polls(result: 'ok' | 'error'): void;
	problem(kind: ProblemKind): void;
	started(result: 'ok' | 'refused'): void;
}

export interface RegistryWatcherOptions {
	settings: RegistrySettings;
	client: RegistryClient;
	starter: DeliveryStarter;
	memory: RegistryMemory;
	audit?: (entry: AuditEntry, namespace: string) => Promise<void> | void;
	metrics?: RegistryWatcherMetrics;
	log?: (line: string) => void;
	now?: () => number;
}

/** What one look at an alias did. */
export type CheckOutcome =
	| {kind: 'unchanged'; version: string}
	| {kind: 'noted'; version: string}
	| {kind: 'started'; version: string; id: string}
	| {kind: 'refused'; version: string; message: string}
	| {kind: 'problem'; problem: ProblemKind; message: string};

export interface CheckResult {
	follow: FollowedAlias;
	outcome: CheckOutcome;
}

/** The memory's key for one followed alias and the model it deploys to. */
export function memoryKey(follow: FollowedAlias): string {
	return `registry:mlflow:${follow.registeredModel}@${follow.alias}->${modelKey(follow.model)}`;
}

/** The memory's value for "the alias was not set when last looked at". */
const none = '';

export class RegistryWatcher {
	readonly settings: RegistrySettings;
	readonly #options: RegistryWatcherOptions;
	readonly #log: (line: string) => void;
	readonly #now: () => number;
	/** Per followed alias: the check under way, so that a poll and a webhook never start the same version twice. */
	readonly #chains = new Map<string, Promise<unknown>>();
	/** Per followed alias: the problem last reported, so that each is audited once rather than at every poll. */
	readonly #problems = new Map<string, string>();
	#timer: NodeJS.Timeout | undefined;
	#closed = false;

	constructor(options: RegistryWatcherOptions) {
		this.settings = options.settings;
		this.#options = options;
		this.#log = options.log ?? (() => undefined);
		this.#now = options.now ?? Date.now;
	}

	/** Looks at once, then every `pollSeconds` (when 0: only when a webhook says so). */
	start(): void {
		const seconds = this.settings.mlflow.pollSeconds;
		const aliases = this.settings.follow.map((follow) => `${follow.registeredModel}@${follow.alias} → ${modelKey(follow.model)}`);
		this.#log(
			`registry: following ${aliases.join(', ')} in MLflow at ${this.settings.mlflow.url}${seconds > 0 ? `, every ${seconds}s` : ' (webhooks only)'}`,
		);
		if (seconds <= 0) {
			// Webhooks only: one look now, so that the first event finds what the aliases pointed at before it.
			void this.checkAll();
			return;
		}

		const poll = (): void => {
			if (this.#closed) return;
			void this.checkAll().finally(() => {
				if (!this.#closed) this.#timer = setTimeout(poll, seconds * 1000).unref();
			});
		};

		poll();
	}

	close(): void {
		this.#closed = true;
		if (this.#timer) clearTimeout(this.#timer);
	}

	/** Looks at every followed alias now. Never rejects. */
	async checkAll(): Promise<CheckResult[]> {
		return Promise.all(this.settings.follow.map(async (follow) => ({follow, outcome: await this.check(follow)})));
	}

	/** The followed aliases an event about ALIAS of registered model NAME concerns (none: not followed). */
	following(name: string, alias: string): FollowedAlias[] {
		return this.settings.follow.filter((follow) => follow.registeredModel === name && follow.alias === alias);
	}

	/** Looks at FOLLOW's alias now, after any look under way. Never rejects. */
	check(follow: FollowedAlias): Promise<CheckOutcome> {
		const key = memoryKey(follow);
		const previous = this.#chains.get(key) ?? Promise.resolve();
		const next = previous.then(async () => {
			const outcome = await this.#check(follow);
			if (outcome.kind !== 'problem') this.#recovered(follow);
			return outcome;
		});
		this.#chains.set(
			key,
			next.catch(() => undefined),
		);
		return next;
	}

	async #check(follow: FollowedAlias): Promise<CheckOutcome> {
		const key = memoryKey(follow);
		const where = `${follow.registeredModel}@${follow.alias}`;
		let last: string | undefined;
		try {
			last = this.#options.memory.get(key);
		} catch (error) {
			return this.#problem(
				follow,
				'memory',
				`the agent's store cannot be read (${(error as Error).message}); trying again at the next poll`,
			);
		}

		let version: RegistryModelVersion;
		try {
			version = await this.#options.client.aliasVersion(follow.registeredModel, follow.alias);
			this.#options.metrics?.polls('ok');
		} catch (error) {
			const kind = error instanceof RegistryError ? error.kind : 'bad-answer';
			if (kind === 'alias-missing') {
				this.#options.metrics?.polls('ok');
				if (last === undefined) this.#remember(key, none);
				return this.#problem(follow, kind, (error as Error).message, last === undefined || last === none ? 'info' : 'problem');
			}

			this.#options.metrics?.polls('error');
			return this.#problem(follow, kind, `${(error as Error).message}; trying again at the next poll`);
		}

		if (last === version.version) return {kind: 'unchanged', version: version.version};
		if (last === undefined) {
			this.#remember(key, version.version);
			this.#log(
				`registry: ${where} is at version ${version.version} when first looked at: noted, not rolled out; modeldeck rolls out the versions it moves to from now on`,
			);
			return {kind: 'noted', version: version.version};
		}

		const mapped = deliverySpecFor(follow, version);
		if ('error' in mapped) return this.#problem(follow, 'mapping', `${mapped.error}; trying again at the next poll`);
		const {spec} = mapped;
		let started: Awaited<ReturnType<DeliveryStarter['start']>>;
		try {
			started = await this.#options.starter.start(spec);
		} catch (error) {
			return this.#problem(
				follow,
				'starter',
				`the rollout of version ${version.version} to ${modelKey(follow.model)} could not be started (${(error as Error).message}); trying again at the next poll`,
			);
		}

		this.#remember(key, version.version);
		const before = last === none ? 'alias not set' : `version ${last}`;
		if (started.ok) {
			this.#options.metrics?.started('ok');
			await this.#audit(follow, {
				action: 'deliver',
				before,
				after: `version ${version.version}: ${spec.version} (${spec.image})`,
				result: 'ok',
				message: `${spec.requestedBy}: started the rollout of ${spec.version} (${spec.image}), steps ${spec.steps.join(', ')}% (delivery ${started.state.id})`,
			});
			return {kind: 'started', version: version.version, id: started.state.id};
		}

		this.#options.metrics?.started('refused');
		await this.#audit(follow, {
			action: 'deliver',
			before,
			after: `version ${version.version}: ${spec.version} (${spec.image})`,
			result: 'refused',
			message: `${spec.requestedBy}: the rollout was refused: ${started.message}; move the alias again to try again`,
		});
		return {kind: 'refused', version: version.version, message: started.message};
	}

	#remember(key: string, value: string): void {
		try {
			this.#options.memory.set(key, value);
		} catch (error) {
			this.#log(`registry: could not keep "${key}" = "${value}" in the agent's store: ${(error as Error).message}`);
		}
	}

	async #audit(follow: FollowedAlias, entry: Omit<AuditEntry, 'time' | 'user' | 'target'>): Promise<void> {
		const full: AuditEntry = {
			time: this.#now(),
			user: `mlflow ${follow.registeredModel}@${follow.alias}`,
			target: modelKey(follow.model),
			...entry,
		};
		this.#log(`registry: ${full.user} ${full.action} ${full.target}: ${full.result}: ${full.message}`);
		try {
			await this.#options.audit?.(full, follow.model.namespace);
		} catch (error) {
			this.#log(`registry: could not audit: ${(error as Error).message}`);
		}
	}

	async #problem(follow: FollowedAlias, kind: ProblemKind, message: string, level: 'problem' | 'info' = 'problem'): Promise<CheckOutcome> {
		const key = memoryKey(follow);
		if (level === 'problem') this.#options.metrics?.problem(kind);
		if (this.#problems.get(key) !== message) {
			this.#problems.set(key, message);
			if (level === 'info') this.#log(`registry: ${message}`);
			else
				await this.#audit(follow, {
					action: 'registry-watch',
					before: '',
					after: '',
					result: 'failed',
					message,
				});
		}

		return {kind: 'problem', problem: kind, message};
	}

	#recovered(follow: FollowedAlias): void {
		const key = memoryKey(follow);
		const was = this.#problems.get(key);
		if (was === undefined) return;
		this.#problems.delete(key);
		this.#log(`registry: ${follow.registeredModel}@${follow.alias} answers again (the last problem was: ${was})`);
	}
}
