/**
 * Who is calling, and may they? The agent asks the Kubernetes API server (TokenReview, SubjectAccessReview) so that
 * the cluster's own RBAC decides. The reviewer is an interface so unit tests can fake it; a cache in front keeps
 * positive answers briefly so a busy console does not cost a review per request. Tokens are never logged or kept:
 * the cache is keyed by a hash.
 */
import {createHash} from 'node:crypto';

export interface Identity {
	user: string;
	groups: string[];
	uid?: string;
	extra?: Record<string, string[]>;
}

/** What an action reads or changes, in SubjectAccessReview terms. */
export interface ResourceAttributes {
	verb: string;
	/** API group, '' for core. */
	group: string;
	resource: string;
	subresource?: string;
	/** '' for all namespaces. */
	namespace: string;
	name?: string;
}

export interface AccessDecision {
	allowed: boolean;
	/** The authoriser's reason, when it gave one. */
	reason?: string;
}

export interface AccessReviewer {
	/** The identity behind a bearer token, or undefined when the token is not valid. Throws when it could not ask. */
	authenticate(token: string): Promise<Identity | undefined>;
	authorize(identity: Identity, attributes: ResourceAttributes): Promise<AccessDecision>;
}

export function describeAttributes(attributes: ResourceAttributes): string {
	const resource = `${attributes.resource}${attributes.subresource ? `/${attributes.subresource}` : ''}${attributes.group ? `.${attributes.group}` : ''}`;
	const name = attributes.name ? ` "${attributes.name}"` : '';
	const where = attributes.namespace ? `in namespace ${attributes.namespace}` : 'in all namespaces';
	return `${attributes.verb} ${resource}${name} ${where}`;
}

export function tokenHash(token: string): string {
	return createHash('sha256').update(token).digest('hex');
}

interface CacheEntry<T> {
	value: T;
	expires: number;
}

/** Keeps positive answers for `ttlMs` (default 10 s). Negative answers are always asked again. */
export class CachedReviewer implements AccessReviewer {
	readonly #inner: AccessReviewer;
	readonly #ttlMs: number;
	readonly #now: () => number;
	readonly #identities = new Map<string, CacheEntry<Identity>>();
	readonly #decisions = new Map<string, CacheEntry<AccessDecision>>();
	readonly #maxEntries = 10_000;

	constructor(inner: AccessReviewer, ttlMs = 10_000, now: () => number = Date.now) {
		this.#inner = inner;
		this.#ttlMs = ttlMs;
		this.#now = now;
	}

	async authenticate(token: string): Promise<Identity | undefined> {
		const key = tokenHash(token);
		const cached = this.#get(this.#identities, key);
		if (cached) return cached;
		const identity = await this.#inner.authenticate(token);
		if (identity) this.#set(this.#identities, key, identity);
		return identity;
	}

	async authorize(identity: Identity, attributes: ResourceAttributes): Promise<AccessDecision> {
		const key = JSON.stringify([identity.user, [...identity.groups].sort(), attributes]);
		const cached = this.#get(this.#decisions, key);
		if (cached) return cached;
		const decision = await this.#inner.authorize(identity, attributes);
		if (decision.allowed) this.#set(this.#decisions, key, decision);
		return decision;
	}

	#get<T>(cache: Map<string, CacheEntry<T>>, key: string): T | undefined {
		const entry = cache.get(key);
		if (!entry) return undefined;
		if (entry.expires <= this.#now()) {
			cache.delete(key);
			return undefined;
		}

		return entry.value;
	}

	#set<T>(cache: Map<string, CacheEntry<T>>, key: string, value: T): void {
		if (cache.size >= this.#maxEntries) cache.clear();
		cache.set(key, {value, expires: this.#now() + this.#ttlMs});
	}
}

/** For --no-auth: everyone is `anonymous-demo` and may do anything. Only for local demos. */
export const allowAllReviewer: AccessReviewer = {
	async authenticate() {
		return {user: 'anonymous (--no-auth)', groups: []};
	},
	async authorize() {
		return {allowed: true, reason: '--no-auth'};
	},
};
