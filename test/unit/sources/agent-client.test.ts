import {describe, expect, it} from 'vitest';
import {describeRefusal, proxiedService} from '../../../source/adapters/agent-client.ts';

const proxied = 'https://127.0.0.1:6443/api/v1/namespaces/modeldeck/services/http:modeldeck-agent:http/proxy/';

/** A Kubernetes Status as kube-apiserver answers it. */
function status(code: number, reason: string, message: string): string {
	return JSON.stringify({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code});
}

describe('proxiedService', () => {
	it('reads the namespace and Service of every form of service-proxy id', () => {
		expect(proxiedService(proxied)).toEqual({namespace: 'modeldeck', service: 'modeldeck-agent'});
		expect(proxiedService('https://k:6443/api/v1/namespaces/ops/services/agent:8090/proxy')).toEqual({namespace: 'ops', service: 'agent'});
		expect(proxiedService('https://k:6443/api/v1/namespaces/ops/services/agent/proxy/')).toEqual({namespace: 'ops', service: 'agent'});
		expect(proxiedService('https://k:6443/api/v1/namespaces/ops/services/http%3Aagent%3Ahttp/proxy/')).toEqual({
			namespace: 'ops',
			service: 'agent',
		});
		// Behind a path prefix (e.g. Rancher's /k8s/clusters/ID).
		expect(proxiedService('https://r.example/k8s/clusters/c-1/api/v1/namespaces/ops/services/agent:http/proxy/')).toEqual({
			namespace: 'ops',
			service: 'agent',
		});
	});

	it('is undefined for a direct URL or a malformed one', () => {
		expect(proxiedService('http://192.0.2.7:8090/')).toBeUndefined();
		expect(proxiedService('http://agent.example/api/v1/namespaces/ops/services/agent')).toBeUndefined();
		expect(proxiedService('https://k/api/v1/namespaces/%E0%A4%A/services/agent/proxy/')).toBeUndefined();
	});
});

describe('describeRefusal', () => {
	it("keeps the agent's own refusals as the agent said them", () => {
		expect(describeRefusal(undefined, 403, JSON.stringify({error: 'forbidden: viewer may not patch httproutes'}), proxied)).toBe(
			'the agent refused: 403: forbidden: viewer may not patch httproutes',
		);
		expect(describeRefusal('the stream', 401, 'no token', proxied)).toBe('the agent refused the stream: 401: no token');
		expect(describeRefusal('v1/audit', 500, '', 'http://agent:8090/')).toBe('the agent refused v1/audit: 500: Internal Server Error');
	});

	it('says the API server refused the proxy, and which permission it takes, on a 403 Status', () => {
		const text = status(
			403,
			'Forbidden',
			'services "http:modeldeck-agent:http" is forbidden: User "viewer" cannot get resource "services/proxy" in API group "" in the namespace "modeldeck"',
		);
		expect(describeRefusal('the stream', 403, text, proxied)).toBe(
			'the API server\'s service proxy refused the stream: 403: your user needs "get" and "create" on services/proxy in namespace modeldeck ' +
				'(deploy/base/console-access.yaml grants them); it said: services "http:modeldeck-agent:http" is forbidden: User "viewer" cannot get resource "services/proxy" in API group "" in the namespace "modeldeck"',
		);
	});

	it('explains the 404 the proxy answers when the Service has no Endpoints object', () => {
		// kube-apiserver reports the missing Endpoints under the Service's name.
		const text = status(404, 'NotFound', 'services "modeldeck-agent" not found');
		expect(describeRefusal(undefined, 404, text, proxied)).toBe(
			"the API server's service proxy refused the action: 404: Service modeldeck/modeldeck-agent or its Endpoints object is missing " +
				'(the service proxy reads Endpoints, not EndpointSlices): is the agent deployed?; it said: services "modeldeck-agent" not found',
		);
	});

	it('tells no ready agent pod apart from an agent pod that cannot be reached', () => {
		const none = status(503, 'ServiceUnavailable', 'no endpoints available for service "http:modeldeck-agent:http"');
		expect(describeRefusal('v1/predictions', 503, none, proxied)).toMatch(
			/^the API server's service proxy refused v1\/predictions: 503: no ready agent pod behind Service modeldeck\/modeldeck-agent: is the agent running\?; it said: no endpoints available/,
		);
		const unreachable = status(
			503,
			'ServiceUnavailable',
			'error trying to reach service: dial tcp 10.0.0.9:8090: connect: connection refused',
		);
		expect(describeRefusal('the stream', 503, unreachable, proxied)).toBe(
			"the API server's service proxy refused the stream: 503: the API server could not connect to the agent pod; it said: error trying to reach service: dial tcp 10.0.0.9:8090: connect: connection refused",
		);
	});

	it('says what the API server said when there is nothing to add, and never fails on odd bodies', () => {
		expect(describeRefusal('the stream', 429, status(429, 'TooManyRequests', 'too many requests'), proxied)).toBe(
			"the API server's service proxy refused the stream: 429: too many requests",
		);
		expect(describeRefusal('the stream', 401, JSON.stringify({kind: 'Status'}), proxied)).toBe(
			"the API server's service proxy refused the stream: 401: the API server did not accept your credentials (log in again); it said: Unauthorized",
		);
		expect(describeRefusal('the stream', 502, '<html>bad gateway</html>', undefined)).toBe(
			'the agent refused the stream: 502: <html>bad gateway</html>',
		);
		expect(describeRefusal('the stream', 500, 'null', proxied)).toBe('the agent refused the stream: 500: null');
	});
});
