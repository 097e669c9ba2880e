/**
 * Which Prometheus to use when none is configured: a pure choice among the Services a cluster has, by the labels
 * the usual installations give them. discover.ts lists the Services; this decides, so that the choice is tested over
 * any list of Services without a cluster.
 *
 * In order of preference:
 * 1. kube-prometheus-stack: `<release>-kube-prometheus-prometheus`, labelled `app=kube-prometheus-stack-prometheus`
 *    (it selects the stack's one Prometheus);
 * 2. the Prometheus Operator: `prometheus-operated`, labelled `operated-prometheus=true` (headless, one per namespace,
 *    over every Prometheus the operator runs there);
 * 3. the prometheus-community chart: `prometheus-server`, labelled `app.kubernetes.io/name=prometheus` with
 *    `app.kubernetes.io/component=server`, or `app=prometheus,component=server` in its older releases;
 * 4. any Service labelled `app.kubernetes.io/name=prometheus`.
 * Ties go to the namespace, then the name, in code-point order: the same cluster always gives the same choice.
 */

/** The few fields of a Service the choice reads. */
export interface ServiceSummary {
	namespace: string;
	name: string;
	labels: Record<string, string>;
	ports: Array<{name?: string; port: number; appProtocol?: string}>;
}

interface Rule {
	/** How it was found, as the header says it. */
	how: string;
	/** The label selector discover.ts lists Services with. */
	selector: string;
	matches(labels: Record<string, string>): boolean;
}

/** The rules, most preferred first. */
export const PROMETHEUS_RULES: readonly Rule[] = [
	{
		how: 'kube-prometheus-stack',
		selector: 'app=kube-prometheus-stack-prometheus',
		matches: (labels) => labels['app'] === 'kube-prometheus-stack-prometheus',
	},
	{how: 'Prometheus Operator', selector: 'operated-prometheus=true', matches: (labels) => labels['operated-prometheus'] === 'true'},
	{
		how: 'prometheus-community chart',
		selector: 'app.kubernetes.io/name=prometheus,app.kubernetes.io/component=server',
		matches: (labels) => labels['app.kubernetes.io/name'] === 'prometheus' && labels['app.kubernetes.io/component'] === 'server',
	},
	{
		how: 'prometheus-community chart',
		selector: 'app=prometheus,component=server',
		matches: (labels) => labels['app'] === 'prometheus' && labels['component'] === 'server',
	},
	{
		how: 'label app.kubernetes.io/name=prometheus',
		selector: 'app.kubernetes.io/name=prometheus',
		matches: (labels) => labels['app.kubernetes.io/name'] === 'prometheus',
	},
];

/** The rank of a Service with these labels (lower is better; the chart's two label sets rank alike), or -1. */
export function prometheusRank(labels: Record<string, string>): number {
	const rule = PROMETHEUS_RULES.find((candidate) => candidate.matches(labels));
	return rule ? PROMETHEUS_RULES.findIndex((candidate) => candidate.how === rule.how) : -1;
}

/** What was looked for, for the screen that says none was found. */
export const LOOKED_FOR =
	'Services of kube-prometheus-stack (app=kube-prometheus-stack-prometheus), the Prometheus Operator (prometheus-operated, operated-prometheus=true), ' +
	'the prometheus-community chart (prometheus-server) or labelled app.kubernetes.io/name=prometheus';

/** How to point at one instead. */
export const POINT_AT_ONE =
	'--prometheus URL points at one, as do prometheusUrl or contexts.<context>.prometheusService ("namespace/service:port") in settings';

export interface PrometheusCandidate {
	namespace: string;
	service: string;
	/** The Service port as the proxy path names it: its name, else its number. */
	port: string;
	scheme: 'http' | 'https';
	how: string;
}

export interface PrometheusChoice extends PrometheusCandidate {
	/** The other candidates, best first. */
	others: PrometheusCandidate[];
	/** For the header: `monitoring/prometheus-operated (found: Prometheus Operator)`, naming the others when there are some. */
	description: string;
}

/** Port names Prometheus's installations give its web port. */
const WEB_PORT_NAMES = ['web', 'http-web', 'http', 'https-web', 'https'];

function webPort(ports: ServiceSummary['ports']): ServiceSummary['ports'][number] | undefined {
	for (const name of WEB_PORT_NAMES) {
		const port = ports.find((candidate) => candidate.name === name);
		if (port) return port;
	}

	return ports.find((candidate) => candidate.port === 9090) ?? ports[0];
}

function candidate(service: ServiceSummary): {rank: number; candidate: PrometheusCandidate} | undefined {
	const rank = prometheusRank(service.labels);
	if (rank < 0) return undefined;
	const port = webPort(service.ports);
	// A Service without ports cannot be proxied to.
	if (!port) return undefined;
	const https = port.appProtocol === 'https' || /^https(-|$)/.test(port.name ?? '') || port.port === 443;
	return {
		rank,
		candidate: {
			namespace: service.namespace,
			service: service.name,
			port: port.name || String(port.port),
			scheme: https ? 'https' : 'http',
			how: PROMETHEUS_RULES[rank]!.how,
		},
	};
}

function compare(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

/** The Prometheus to use among these Services, or undefined when none looks like one. Duplicates count once. */
export function choosePrometheus(services: readonly ServiceSummary[]): PrometheusChoice | undefined {
	const seen = new Map<string, {rank: number; candidate: PrometheusCandidate}>();
	for (const service of services) {
		const found = candidate(service);
		if (!found) continue;
		const key = `${service.namespace}/${service.name}`;
		const earlier = seen.get(key);
		// The same Service listed twice (once per selector) is one candidate; a stale copy never wins over the better rank.
		if (
			!earlier ||
			found.rank < earlier.rank ||
			(found.rank === earlier.rank && compare(JSON.stringify(found.candidate), JSON.stringify(earlier.candidate)) < 0)
		) {
			seen.set(key, found);
		}
	}

	const ranked = [...seen.values()].sort(
		(a, b) => a.rank - b.rank || compare(a.candidate.namespace, b.candidate.namespace) || compare(a.candidate.service, b.candidate.service),
	);
	const [best, ...rest] = ranked.map((entry) => entry.candidate);
	if (!best) return undefined;
	const others = rest.map((other) => `${other.namespace}/${other.service}`);
	const more =
		others.length === 0 ? '' : `; also ${others.slice(0, 3).join(', ')}${others.length > 3 ? ` and ${others.length - 3} more` : ''}`;
	return {...best, others: rest, description: `${best.namespace}/${best.service} (found: ${best.how}${more})`};
}

/** A Service as the API server sends it, read defensively: anything missing or odd is left out. */
export function serviceSummary(object: unknown): ServiceSummary | undefined {
	if (typeof object !== 'object' || object === null) return undefined;
	const {metadata, spec} = object as {metadata?: unknown; spec?: unknown};
	if (typeof metadata !== 'object' || metadata === null) return undefined;
	const {name, namespace, labels} = metadata as {name?: unknown; namespace?: unknown; labels?: unknown};
	if (typeof name !== 'string' || typeof namespace !== 'string' || name === '' || namespace === '') return undefined;
	const cleanLabels: Record<string, string> = {};
	if (typeof labels === 'object' && labels !== null) {
		for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') cleanLabels[key] = value;
	}

	const rawPorts = typeof spec === 'object' && spec !== null ? (spec as {ports?: unknown}).ports : undefined;
	const ports: ServiceSummary['ports'] = [];
	for (const port of Array.isArray(rawPorts) ? rawPorts : []) {
		if (typeof port !== 'object' || port === null) continue;
		const {name: portName, port: number, appProtocol} = port as {name?: unknown; port?: unknown; appProtocol?: unknown};
		if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65_535) continue;
		ports.push({
			port: number,
			...(typeof portName === 'string' && portName !== '' ? {name: portName} : {}),
			...(typeof appProtocol === 'string' ? {appProtocol} : {}),
		});
	}

	return {namespace, name, labels: cleanLabels, ports};
}
