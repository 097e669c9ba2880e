/**
 * Who a caller is and what it may do: its bearer token reviewed with the Kubernetes API server (TokenReview), its
 * permissions checked (SubjectAccessReview), and a long-lived caller's token reviewed again before each use.
 */
import type {AgentMetrics} from '../metrics.ts';
import {HttpProblem, type Refusal} from '../refusal.ts';
import {readPermission} from './permissions.ts';
import {describeAttributes} from './reviewer.ts';
import type {AccessReviewer, Identity, ResourceAttributes} from './reviewer.ts';

export class Callers {
	readonly #reviewer: AccessReviewer;
	readonly #noAuth: boolean;
	readonly #metrics: AgentMetrics;
	/**
	 * The token behind each identity that `authenticate` returned, so that a long-lived caller (a WebSocket, whose
	 * identity is fixed when it connects) is reviewed again before each action and subscription. Held only in
	 * memory and only as long as the identity is; never logged.
	 */
	readonly #tokens = new WeakMap<Identity, string>();

	constructor(reviewer: AccessReviewer, noAuth: boolean, metrics: AgentMetrics) {
		this.#reviewer = reviewer;
		this.#noAuth = noAuth;
		this.#metrics = metrics;
	}

	/** The caller behind a bearer token. Throws HttpProblem 401 (no or bad token) or 503 (could not ask). */
	async authenticate(token: string | undefined): Promise<Identity> {
		if (this.#noAuth) return (await this.#reviewer.authenticate(''))!;
		if (!token) {
			this.#metrics.authFailures.inc({reason: 'unauthenticated'});
			throw new HttpProblem(
				401,
				'missing bearer token: send "Authorization: Bearer <your Kubernetes token>" (e.g. from kubectl create token, or your kubeconfig)',
			);
		}

		let identity: Identity | undefined;
		try {
			identity = await this.#reviewer.authenticate(token);
		} catch (error) {
			this.#metrics.authFailures.inc({reason: 'review-failed'});
			throw new HttpProblem(503, `could not check the token with the Kubernetes API server (TokenReview): ${(error as Error).message}`);
		}

		if (!identity) {
			this.#metrics.authFailures.inc({reason: 'unauthenticated'});
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
	async recheck(identity: Identity): Promise<Refusal | Identity> {
		const token = this.#tokens.get(identity);
		if (this.#noAuth || token === undefined) return identity;
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
				decision = await this.#reviewer.authorize(identity, permission);
			} catch (error) {
				this.#metrics.authFailures.inc({reason: 'review-failed'});
				return {
					status: 503,
					message: `could not check permissions with the Kubernetes API server (SubjectAccessReview): ${(error as Error).message}`,
				};
			}

			if (!decision.allowed) {
				this.#metrics.authFailures.inc({reason: 'forbidden'});
				return {
					status: 403,
					message: `forbidden: ${identity.user} may not ${describeAttributes(permission)}${decision.reason ? ` (${decision.reason})` : ''}`,
				};
			}
		}

		return undefined;
	}

	async authorizeRead(caller: Identity, namespace: string | undefined): Promise<Refusal | undefined> {
		const identity = await this.recheck(caller);
		if ('status' in identity) return identity;
		const refusal = await this.authorize(identity, [readPermission(namespace)]);
		if (refusal?.status === 403 && namespace === undefined) {
			refusal.message += '; ask for one namespace (namespace=… or a filter with a namespace) if you can read only some';
		}

		return refusal;
	}
}
