import {describe, expect, it} from 'vitest';
import {ConflictError, ForbiddenError} from '../../../source/domain/ports.ts';
import {actionError, describeKubeError, isPatchTestFailure, KubeApiError} from '../../../source/adapters/kube/errors.ts';

const server = 'https://127.0.0.1:6443';

function apiError(status: number, message: string, reason = ''): KubeApiError {
	return new KubeApiError(
		status,
		JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code: status}),
		'PATCH',
		'/x',
	);
}

describe('describeKubeError', () => {
	it('names the user, verb, resource and namespace of a 403', () => {
		const error = apiError(
			403,
			'httproutes.gateway.networking.k8s.io "fraud" is forbidden: User "operator" cannot patch resource "httproutes" in API group "gateway.networking.k8s.io" in the namespace "team-b"',
			'Forbidden',
		);
		const message = describeKubeError(error, {verb: 'patch', resource: 'httproutes', name: 'fraud', namespace: 'team-b', server});
		expect(message).toBe(
			'forbidden: user operator cannot patch httproutes in namespace team-b (ask a cluster admin for a Role granting patch on httproutes in team-b)',
		);
	});

	it('falls back to the kubeconfig user and says cluster scope for an all-namespaces 403', () => {
		const message = describeKubeError(apiError(403, 'forbidden'), {verb: 'watch', resource: 'deployments', server, user: 'viewer'});
		expect(message).toContain('user viewer cannot watch deployments at cluster scope');
		expect(message).toContain('pick one namespace with -n');
	});

	it('says an expired token is expired', () => {
		const message = describeKubeError(Object.assign(new Error('Unauthorized'), {statusCode: 401}), {
			verb: 'watch',
			resource: 'pods',
			server,
		});
		expect(message).toBe(`token expired or invalid for ${server}; re-login or refresh the kubeconfig credentials`);
	});

	it('names the URL and cause of an unreachable server, through undici-style causes', () => {
		const refused = new TypeError('fetch failed', {
			cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), {code: 'ECONNREFUSED'}),
		});
		expect(describeKubeError(refused, {verb: 'list', resource: 'deployments', namespace: 'team-a', server})).toBe(
			`cannot reach the API server at ${server}: connection refused (ECONNREFUSED); is the cluster running and is this the right context?`,
		);
		const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND kube.example'), {code: 'ENOTFOUND'});
		expect(describeKubeError(notFound, {verb: 'list', resource: 'pods', server: 'https://kube.example'})).toContain(
			'host not found (ENOTFOUND)',
		);
	});

	it('says a certificate problem is one', () => {
		const error = Object.assign(new Error('self-signed certificate'), {code: 'DEPTH_ZERO_SELF_SIGNED_CERT'});
		expect(describeKubeError(error, {verb: 'list', resource: 'pods', server})).toContain('TLS failure talking to');
	});

	it('says a timeout is one', () => {
		const error = Object.assign(new Error('The operation was aborted'), {name: 'AbortError', code: 'ABORT_ERR'});
		expect(describeKubeError(error, {verb: 'get', resource: 'pods', server})).toBe(
			`the API server at ${server} did not answer in time; is it overloaded or unreachable?`,
		);
	});

	it('tells a missing object from a missing resource type', () => {
		expect(
			describeKubeError(apiError(404, 'not found'), {verb: 'get', resource: 'deployments', name: 'fraud-v13', namespace: 'team-a', server}),
		).toBe('deployments/fraud-v13 not found in namespace team-a; it may have been deleted — refresh');
		expect(
			describeKubeError(apiError(404, 'the server could not find the requested resource'), {verb: 'list', resource: 'httproutes', server}),
		).toBe(`${server} does not serve httproutes (is its CRD installed?)`);
	});

	it('quotes the API server for invalid changes and server errors', () => {
		const invalid = apiError(422, 'Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1', 'Invalid');
		expect(describeKubeError(invalid, {verb: 'patch', resource: 'deployments', name: 'x', namespace: 'a', server})).toContain(
			'spec.replicas: Invalid value: -1',
		);
		expect(describeKubeError(apiError(503, 'etcd unavailable'), {verb: 'list', resource: 'pods', server})).toContain('answered 503');
	});

	it('recognises a failed JSON Patch test op, and nothing else, as a conflict', () => {
		// What kube-apiserver 1.34 answers to a failed test op (captured from the local control plane).
		const failedTest = new KubeApiError(
			422,
			'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server rejected our request due to an error in our request","reason":"Invalid","details":{},"code":422}',
			'PATCH',
			'/x',
		);
		expect(isPatchTestFailure(failedTest)).toBe(true);
		const invalid = new KubeApiError(
			422,
			JSON.stringify({
				kind: 'Status',
				message: 'the server rejected our request due to an error in our request',
				reason: 'Invalid',
				details: {causes: [{reason: 'FieldValueInvalid', field: 'spec.replicas'}]},
				code: 422,
			}),
			'PATCH',
			'/x',
		);
		expect(isPatchTestFailure(invalid)).toBe(false);
		const testing = apiError(422, 'testing value /spec/rules/0/backendRefs/1/weight failed: test failed');
		expect(isPatchTestFailure(testing)).toBe(true);
		expect(describeKubeError(failedTest, {verb: 'patch', resource: 'httproutes', name: 'fraud', namespace: 'team-a'})).toBe(
			'httproutes/fraud changed since it was read; refresh and try again',
		);
		expect(actionError(testing, {verb: 'patch', resource: 'httproutes', name: 'fraud', namespace: 'team-a'})).toBeInstanceOf(ConflictError);
		expect(actionError(apiError(409, 'the object has been modified'), {verb: 'patch', resource: 'deployments'})).toBeInstanceOf(
			ConflictError,
		);
		expect(actionError(apiError(403, 'nope'), {verb: 'patch', resource: 'deployments'})).toBeInstanceOf(ForbiddenError);
		expect(actionError(apiError(500, 'boom'), {verb: 'patch', resource: 'deployments'})).not.toBeInstanceOf(ConflictError);
	});

	it('never throws on odd errors', () => {
		for (const odd of [undefined, null, 42, 'text', {}, {code: {}}, {statusCode: 'x'}, new Error('')]) {
			expect(typeof describeKubeError(odd, {verb: 'get', resource: 'pods'})).toBe('string');
		}
	});
});
