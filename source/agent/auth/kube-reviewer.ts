/** The AccessReviewer that asks the Kubernetes API server, with the agent's own credentials. */
import {AuthenticationV1Api, AuthorizationV1Api} from '@kubernetes/client-node';
import type {KubeConfig} from '@kubernetes/client-node';
import type {AccessDecision, AccessReviewer, Identity, ResourceAttributes} from './reviewer.ts';

export class KubeAccessReviewer implements AccessReviewer {
	readonly #authentication: AuthenticationV1Api;
	readonly #authorization: AuthorizationV1Api;

	constructor(kubeConfig: KubeConfig) {
		this.#authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
		this.#authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
	}

	async authenticate(token: string): Promise<Identity | undefined> {
		const review = await this.#authentication.createTokenReview({
			body: {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: {token}},
		});
		const status = review.status;
		if (!status?.authenticated || !status.user?.username) return undefined;
		const identity: Identity = {user: status.user.username, groups: status.user.groups ?? []};
		if (status.user.uid) identity.uid = status.user.uid;
		if (status.user.extra) identity.extra = status.user.extra;
		return identity;
	}

	async authorize(identity: Identity, attributes: ResourceAttributes): Promise<AccessDecision> {
		const review = await this.#authorization.createSubjectAccessReview({
			body: {
				apiVersion: 'authorization.k8s.io/v1',
				kind: 'SubjectAccessReview',
				spec: {
					user: identity.user,
					groups: identity.groups,
					...(identity.uid ? {uid: identity.uid} : {}),
					...(identity.extra ? {extra: identity.extra} : {}),
					resourceAttributes: {
						verb: attributes.verb,
						group: attributes.group,
						resource: attributes.resource,
						...(attributes.subresource ? {subresource: attributes.subresource} : {}),
						namespace: attributes.namespace,
						...(attributes.name ? {name: attributes.name} : {}),
					},
				},
			},
		});
		const decision: AccessDecision = {allowed: review.status?.allowed === true};
		const reason = review.status?.reason ?? review.status?.evaluationError;
		if (reason) decision.reason = reason;
		return decision;
	}
}
