import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {
	choosePrometheus,
	PROMETHEUS_RULES,
	prometheusRank,
	type ServiceSummary,
	serviceSummary,
} from '../../../source/adapters/prometheus/choose-prometheus.ts';

/** Services as the usual installations create them (labels and ports as their charts and operator write them). */
const stack: ServiceSummary = {
	namespace: 'monitoring',
	name: 'kps-kube-prometheus-prometheus',
	labels: {
		app: 'kube-prometheus-stack-prometheus',
		release: 'kps',
		'self-monitor': 'true',
		'app.kubernetes.io/part-of': 'kube-prometheus-stack',
	},
	ports: [
		{name: 'http-web', port: 9090},
		{name: 'reloader-web', port: 8080, appProtocol: 'http'},
	],
};
const operated: ServiceSummary = {
	namespace: 'monitoring',
	name: 'prometheus-operated',
	labels: {'operated-prometheus': 'true', 'managed-by': 'prometheus-operator'},
	ports: [{name: 'web', port: 9090}],
};
const chart: ServiceSummary = {
	namespace: 'prometheus',
	name: 'prometheus-server',
	labels: {'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/component': 'server', 'app.kubernetes.io/instance': 'prometheus'},
	ports: [{name: 'http', port: 80}],
};
const oldChart: ServiceSummary = {
	namespace: 'metrics',
	name: 'prom-server',
	labels: {app: 'prometheus', component: 'server', release: 'prom'},
	ports: [{name: 'http', port: 80}],
};
const labelled: ServiceSummary = {
	namespace: 'monitoring',
	name: 'prometheus-k8s',
	labels: {'app.kubernetes.io/name': 'prometheus'},
	ports: [{name: 'web', port: 9090}],
};
const alertmanager: ServiceSummary = {
	namespace: 'monitoring',
	name: 'alertmanager-operated',
	labels: {'operated-alertmanager': 'true'},
	ports: [{name: 'web', port: 9093}],
};

describe('choosePrometheus: the usual installations', () => {
	it('prefers kube-prometheus-stack, then the operator, then the chart, then the label, and names the others', () => {
		const all = [labelled, oldChart, chart, operated, stack, alertmanager];
		expect(choosePrometheus(all)).toMatchObject({
			namespace: 'monitoring',
			service: 'kps-kube-prometheus-prometheus',
			port: 'http-web',
			scheme: 'http',
			how: 'kube-prometheus-stack',
			description:
				'monitoring/kps-kube-prometheus-prometheus (found: kube-prometheus-stack; also monitoring/prometheus-operated, metrics/prom-server, prometheus/prometheus-server and 1 more)',
		});
		expect(choosePrometheus([operated, chart])?.description).toBe(
			'monitoring/prometheus-operated (found: Prometheus Operator; also prometheus/prometheus-server)',
		);
		expect(choosePrometheus([operated])).toMatchObject({
			service: 'prometheus-operated',
			port: 'web',
			description: 'monitoring/prometheus-operated (found: Prometheus Operator)',
		});
		expect(choosePrometheus([chart, labelled])).toMatchObject({
			service: 'prometheus-server',
			port: 'http',
			how: 'prometheus-community chart',
		});
		expect(choosePrometheus([oldChart])).toMatchObject({service: 'prom-server', how: 'prometheus-community chart'});
		expect(choosePrometheus([labelled])).toMatchObject({service: 'prometheus-k8s', how: 'label app.kubernetes.io/name=prometheus'});
	});

	it('finds nothing in a cluster without Prometheus', () => {
		expect(choosePrometheus([])).toBeUndefined();
		expect(choosePrometheus([alertmanager, {namespace: 'a', name: 'prometheus', labels: {}, ports: [{port: 9090}]}])).toBeUndefined();
	});

	it('picks the port by its name, else 9090, else the first; says https when the port does', () => {
		expect(choosePrometheus([{...labelled, ports: [{name: 'metrics', port: 8080}, {port: 9090}]}])?.port).toBe('9090');
		expect(choosePrometheus([{...labelled, ports: [{name: 'metrics', port: 8080}]}])?.port).toBe('metrics');
		expect(choosePrometheus([{...labelled, ports: [{name: 'https', port: 443}]}])).toMatchObject({port: 'https', scheme: 'https'});
		expect(choosePrometheus([{...labelled, ports: []}])).toBeUndefined();
	});
});

const labelValue = fc.constantFrom('prometheus', 'server', 'true', 'kube-prometheus-stack-prometheus', 'alertmanager', 'x', '');
const labelKey = fc.constantFrom(
	'app',
	'component',
	'app.kubernetes.io/name',
	'app.kubernetes.io/component',
	'operated-prometheus',
	'release',
);
const dnsName = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
const serviceArbitrary: fc.Arbitrary<ServiceSummary> = fc.record({
	namespace: fc.constantFrom('monitoring', 'prometheus', 'default', 'team-a'),
	name: fc.oneof(dnsName, fc.constantFrom('prometheus-operated', 'prometheus-server', 'kps-kube-prometheus-prometheus')),
	labels: fc.dictionary(labelKey, labelValue, {maxKeys: 4}),
	ports: fc.array(
		fc.record(
			{
				name: fc.option(fc.constantFrom('web', 'http-web', 'http', 'https', 'metrics', 'grpc'), {nil: undefined}),
				port: fc.integer({min: 1, max: 65_535}),
			},
			{requiredKeys: ['port']},
		),
		{maxLength: 3},
	),
});

function rankOf(service: ServiceSummary): number {
	return prometheusRank(service.labels);
}

describe('choosePrometheus: any list of Services', () => {
	it('gives the same choice whatever the order of the list', () => {
		fc.assert(
			fc.property(
				fc
					.array(serviceArbitrary, {maxLength: 12})
					.chain((services) => fc.tuple(fc.constant(services), fc.shuffledSubarray(services, {minLength: services.length}))),
				([services, shuffled]) => {
					expect(choosePrometheus(shuffled)).toEqual(choosePrometheus(services));
				},
			),
		);
	});

	it('chooses a listed Service with ports that a rule matches, and none better ranked exists; none only when none matches', () => {
		fc.assert(
			fc.property(fc.array(serviceArbitrary, {maxLength: 12}), (services) => {
				const eligible = services.filter((service) => rankOf(service) >= 0 && service.ports.length > 0);
				const choice = choosePrometheus(services);
				if (eligible.length === 0) {
					expect(choice).toBeUndefined();
					return;
				}

				expect(choice).toBeDefined();
				const chosen = eligible.filter((service) => service.namespace === choice!.namespace && service.name === choice!.service);
				expect(chosen.length).toBeGreaterThan(0);
				const best = Math.min(...eligible.map(rankOf));
				expect(Math.min(...chosen.map(rankOf))).toBe(best);
				expect(choice!.how).toBe(PROMETHEUS_RULES[best]!.how);
				// The port is one of the chosen Service's, by name or number.
				expect(chosen.some((service) => service.ports.some((port) => (port.name || String(port.port)) === choice!.port))).toBe(true);
				// Every other eligible Service is named once among the others.
				const distinct = new Set(eligible.map((service) => `${service.namespace}/${service.name}`));
				expect(choice!.others.length).toBe(distinct.size - 1);
				expect(choice!.description.startsWith(`${choice!.namespace}/${choice!.service} (found: ${choice!.how}`)).toBe(true);
			}),
		);
	});
});

describe('serviceSummary: Services as the API server sends them, or anything else', () => {
	it('reads a real Service', () => {
		expect(
			serviceSummary({
				apiVersion: 'v1',
				kind: 'Service',
				metadata: {name: 'prometheus-operated', namespace: 'monitoring', labels: {'operated-prometheus': 'true'}},
				spec: {clusterIP: 'None', ports: [{name: 'web', port: 9090, protocol: 'TCP', targetPort: 'web'}]},
			}),
		).toEqual({
			namespace: 'monitoring',
			name: 'prometheus-operated',
			labels: {'operated-prometheus': 'true'},
			ports: [{name: 'web', port: 9090}],
		});
	});

	it('never throws, and keeps only well-formed fields', () => {
		fc.assert(
			fc.property(fc.anything(), (value) => {
				const summary = serviceSummary(value);
				if (!summary) return;
				expect(typeof summary.name).toBe('string');
				expect(Object.values(summary.labels).every((label) => typeof label === 'string')).toBe(true);
				expect(summary.ports.every((port) => Number.isInteger(port.port) && port.port >= 1 && port.port <= 65_535)).toBe(true);
				choosePrometheus([summary]);
			}),
		);
		fc.assert(
			fc.property(
				fc.record({
					metadata: fc.record({name: fc.oneof(dnsName, fc.anything()), namespace: fc.oneof(dnsName, fc.anything()), labels: fc.anything()}),
					spec: fc.record({ports: fc.anything()}),
				}),
				(value) => {
					const summary = serviceSummary(value);
					if (summary) expect(choosePrometheus([summary, summary])?.others ?? []).toEqual([]);
				},
			),
		);
	});
});
