// deploy/base's NetworkPolicy judged by what it lets through, and the customisations deploy/README.md documents,
// each rendered by the real kustomize and accepted by the local control plane's API server:
// - the base policy: the agent's API port (the API server's service proxy, Prometheus) open to every source, its
//   ingest port to model pods only, nothing else open;
// - the README's patch that narrows the API port to the control plane's addresses (and Prometheus), and its example
//   overlay for another registry;
// - deploy/overlays/guard: the guard on, with Prometheus and a per-model settings ConfigMap mounted as the file the
//   agent reads, whose settings the agent's own parser reads.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {
	type ApiTarget,
	type KubeObject,
	applyObjects,
	findObject,
	kustomize,
	kustomizeBuildText,
	parseObjects,
	readObject,
	repoRoot,
} from './deploy-support.ts';
import {GuardSettingsSource} from '../../source/agent/guard/settings-file.ts';
import {parseGuardSettingsFile, resolveGuardSettings} from '../../source/agent/guard/settings.ts';
import {parseAgentFlags} from '../../source/agent/main.ts';
import type {Model} from '../../source/domain/types.ts';

const base = kustomize('deploy/base');
let cluster: Cluster;
let admin: k8s.KubeConfig;
let scratch: string;

let target: ApiTarget;

// ---- what a NetworkPolicy lets through --------------------------------------------------------------------------

interface Selector {
	matchLabels?: Record<string, string>;
	matchExpressions?: Array<{key: string; operator: string; values?: string[]}>;
}

interface Peer {
	podSelector?: Selector;
	namespaceSelector?: Selector;
	ipBlock?: {cidr: string; except?: string[]};
}

interface Policy {
	metadata: {namespace: string};
	spec: {
		podSelector: Selector;
		policyTypes?: string[];
		ingress?: Array<{ports?: Array<{port?: number | string; protocol?: string}>; from?: Peer[]}>;
	};
}

/** Who connects: a pod (its labels and its namespace's) or an address outside the pod network. */
type Source =
	| {pod: Record<string, string>; namespace: Record<string, string> & {'kubernetes.io/metadata.name': string}; ip: string}
	| {ip: string};

function selects(selector: Selector, labels: Record<string, string>): boolean {
	for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
	for (const expression of selector.matchExpressions ?? []) {
		const has = Object.hasOwn(labels, expression.key);
		const ok = {
			Exists: has,
			DoesNotExist: !has,
			In: has && (expression.values ?? []).includes(labels[expression.key]!),
			NotIn: !has || !(expression.values ?? []).includes(labels[expression.key]!),
		}[expression.operator];
		if (ok === undefined) throw new Error(`unknown selector operator ${expression.operator}`);
		if (!ok) return false;
	}

	return true;
}

function ipv4(address: string): number {
	const parts = address.split('.').map(Number);
	if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255))
		throw new Error(`not an IPv4 address: ${address}`);
	return parts.reduce((sum, part) => sum * 256 + part, 0);
}

function inCidr(address: string, cidr: string): boolean {
	const [network, bits] = cidr.split('/') as [string, string];
	const size = 2 ** (32 - Number(bits));
	return Math.floor(ipv4(address) / size) === Math.floor(ipv4(network) / size);
}

function peerAllows(peer: Peer, source: Source, policyNamespace: string): boolean {
	if (peer.ipBlock) return inCidr(source.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((cidr) => inCidr(source.ip, cidr));
	if (!('pod' in source)) return false;
	const namespaceOk = peer.namespaceSelector
		? selects(peer.namespaceSelector, source.namespace)
		: source.namespace['kubernetes.io/metadata.name'] === policyNamespace;
	return namespaceOk && selects(peer.podSelector ?? {}, source.pod);
}

/** Whether the policy lets `source` connect to the selected pods' `port` (named ports resolved by `portNames`). */
function allows(policy: Policy, source: Source, port: number, portNames: Record<string, number>): boolean {
	return (policy.spec.ingress ?? []).some((rule) => {
		const portOk =
			!rule.ports ||
			rule.ports.some(
				(entry) => entry.port === undefined || (typeof entry.port === 'string' ? portNames[entry.port] : entry.port) === port,
			);
		const fromOk = !rule.from || rule.from.length === 0 || rule.from.some((peer) => peerAllows(peer, source, policy.metadata.namespace));
		return portOk && fromOk;
	});
}

const pod = (labels: Record<string, string>, namespace: string, ip = '10.244.1.7'): Source => ({
	pod: labels,
	namespace: {'kubernetes.io/metadata.name': namespace},
	ip,
});
/** Sources as a cluster sees them. The API server is no pod: its proxy connects from the control plane's address. */
const sources = {
	apiServer: {ip: '10.0.0.10'},
	modelPod: pod({'modeldeck.dev/model': 'fraud', 'app.kubernetes.io/version': 'v2'}, 'team-a'),
	kservePredictor: pod({'serving.kserve.io/inferenceservice': 'fraud', component: 'predictor'}, 'team-b'),
	prometheus: pod({'app.kubernetes.io/name': 'prometheus'}, 'monitoring', '10.244.2.3'),
	otherPod: pod({app: 'web'}, 'team-a', '10.244.3.9'),
	agentNamespacePod: pod({app: 'debug'}, 'modeldeck', '10.244.3.10'),
	outside: {ip: '203.0.113.5'},
} satisfies Record<string, Source>;

/** The agent container's port numbers by name, and the two it listens on according to its args. */
function agentPorts(objects: KubeObject[]): {names: Record<string, number>; api: number; ingest: number} {
	const container = (findObject(objects, 'Deployment', 'modeldeck-agent')['spec'] as any).template.spec.containers[0] as {
		args: string[];
		ports: Array<{name: string; containerPort: number}>;
	};
	const names = Object.fromEntries(container.ports.map((entry) => [entry.name, entry.containerPort]));
	const listen = (flag: string) => {
		const arg = container.args.find((candidate) => candidate.startsWith(`${flag}=`));
		if (!arg) throw new Error(`the agent's args have no ${flag}`);
		return Number(arg.slice(arg.lastIndexOf(':') + 1));
	};

	return {names, api: listen('--listen'), ingest: listen('--ingest-listen')};
}

/** The agent's NetworkPolicy as the API server stores it. */
async function storedPolicy(): Promise<Policy> {
	return (await readObject(target, {
		apiVersion: 'networking.k8s.io/v1',
		kind: 'NetworkPolicy',
		metadata: {name: 'modeldeck-agent', namespace: 'modeldeck'},
	})) as unknown as Policy;
}

beforeAll(async () => {
	cluster = await startCluster();
	admin = new k8s.KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	target = {server: cluster.server, caFile: cluster.caFile, token: cluster.tokens.admin};
	scratch = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-deploy-overlays-'));
});

afterAll(async () => {
	await cluster?.stop();
	if (scratch) rmSync(scratch, {recursive: true, force: true});
});

describe('deploy/base’s NetworkPolicy', () => {
	let policy: Policy;
	const ports = agentPorts(base);

	beforeAll(async () => {
		await applyObjects(target, base);
		policy = await storedPolicy();
		// What was applied is what the API server keeps (it adds only defaults: protocol TCP).
		const rendered = findObject(base, 'NetworkPolicy', 'modeldeck-agent') as unknown as Policy;
		expect(policy.spec).toEqual(rendered.spec);
	});

	it('selects the agent’s pods and governs their ingress', () => {
		const template = (findObject(base, 'Deployment', 'modeldeck-agent')['spec'] as any).template;
		expect(selects(policy.spec.podSelector, template.metadata.labels)).toBe(true);
		expect(policy.spec.policyTypes).toEqual(['Ingress']);
		expect(ports.api).not.toBe(ports.ingest);
		expect(Object.values(ports.names).sort()).toEqual([ports.api, ports.ingest].sort());
	});

	it('lets the API server’s service proxy reach the API port — the port the console proxies to — but not the ingest port', () => {
		// The console proxies to the Service's port named http (source/adapters/agent-client/find-agent.ts).
		const service = findObject(base, 'Service', 'modeldeck-agent')['spec'] as {ports: Array<{name: string; targetPort: string | number}>};
		const proxied = service.ports.find((entry) => entry.name === 'http')!.targetPort;
		expect(typeof proxied === 'string' ? ports.names[proxied] : proxied).toBe(ports.api);
		expect(allows(policy, sources.apiServer, ports.api, ports.names)).toBe(true);
		expect(allows(policy, sources.apiServer, ports.ingest, ports.names)).toBe(false);
	});

	it('lets Prometheus scrape /metrics on the API port', () => {
		expect(allows(policy, sources.prometheus, ports.api, ports.names)).toBe(true);
	});

	it('lets only model pods and KServe predictors send prediction logs to the ingest port', () => {
		expect(allows(policy, sources.modelPod, ports.ingest, ports.names)).toBe(true);
		expect(allows(policy, sources.kservePredictor, ports.ingest, ports.names)).toBe(true);
		for (const source of [sources.apiServer, sources.prometheus, sources.otherPod, sources.agentNamespacePod, sources.outside]) {
			expect(allows(policy, source, ports.ingest, ports.names), JSON.stringify(source)).toBe(false);
		}
	});

	it('opens no other port, to anyone', () => {
		for (const source of Object.values(sources)) {
			for (const port of [22, 80, 443, 8080, 9090, ports.ingest + 1])
				expect(allows(policy, source, port, ports.names), `${JSON.stringify(source)} → ${port}`).toBe(false);
		}
	});
});

describe('deploy/README.md’s patch narrowing the API port to the control plane', () => {
	let policy: Policy;
	let objects: KubeObject[];

	beforeAll(async () => {
		const readme = readFileSync(path.join(repoRoot, 'deploy/README.md'), 'utf8');
		const section = readme.slice(readme.indexOf('### Narrowing the API port'));
		const block = /```yaml\n([\s\S]*?)```/.exec(section);
		if (!block) throw new Error('deploy/README.md has no yaml block under "### Narrowing the API port"');
		// As the README lays it out: my-cluster/ beside a checkout of modeldeck (here a link to this one).
		symlinkSync(repoRoot, path.join(scratch, 'modeldeck'));
		const overlay = path.join(scratch, 'my-cluster');
		mkdirSync(overlay);
		writeFileSync(path.join(overlay, 'kustomization.yaml'), block[1]!);
		objects = parseObjects(kustomizeBuildText(overlay), 'the README’s overlay');
		await applyObjects(
			target,
			objects.filter((object) => object.kind === 'NetworkPolicy'),
		);
		policy = await storedPolicy();
	});

	it('is accepted by the API server', () => {
		expect(policy.spec.ingress).toHaveLength(2);
	});

	it('keeps the API port open to the control plane’s addresses and Prometheus only', () => {
		const ports = agentPorts(objects);
		expect(allows(policy, sources.apiServer, ports.api, ports.names)).toBe(true);
		expect(allows(policy, sources.prometheus, ports.api, ports.names)).toBe(true);
		for (const source of [sources.otherPod, sources.outside, sources.modelPod])
			expect(allows(policy, source, ports.api, ports.names), JSON.stringify(source)).toBe(false);
	});

	it('leaves the ingest port as it was', () => {
		const ports = agentPorts(objects);
		expect(allows(policy, sources.modelPod, ports.ingest, ports.names)).toBe(true);
		expect(allows(policy, sources.apiServer, ports.ingest, ports.names)).toBe(false);
	});
});

describe('deploy/README.md’s example overlay (another registry)', () => {
	it('rewrites the agent’s image and the load-test workers’ image alike', () => {
		const readme = readFileSync(path.join(repoRoot, 'deploy/README.md'), 'utf8');
		const section = readme.slice(readme.indexOf('## Customising: an overlay'));
		const block = /```yaml\n([\s\S]*?)```/.exec(section);
		if (!block) throw new Error('deploy/README.md has no yaml block under "## Customising: an overlay"');
		// As the README lays it out: my-cluster/ beside deploy/ (here a link to this repository's).
		const root = path.join(scratch, 'registry');
		mkdirSync(path.join(root, 'my-cluster'), {recursive: true});
		symlinkSync(path.join(repoRoot, 'deploy'), path.join(root, 'deploy'));
		writeFileSync(path.join(root, 'my-cluster', 'kustomization.yaml'), block[1]!);
		const objects = parseObjects(kustomizeBuildText(path.join(root, 'my-cluster')), 'the README’s example overlay');
		const container = (findObject(objects, 'Deployment', 'modeldeck-agent')['spec'] as any).template.spec.containers[0] as {
			image: string;
			env: Array<{name: string; value?: string}>;
		};
		expect(container.image).toBe('registry.example.com/modeldeck:0.1.0');
		expect(container.env.find((entry) => entry.name === 'MODELDECK_IMAGE')?.value).toBe(container.image);
	});
});

describe('deploy/overlays/guard', () => {
	const overlay = kustomize('deploy/overlays/guard');
	const example = kustomize('deploy/example');
	const deployment = findObject(overlay, 'Deployment', 'modeldeck-agent');
	const pod = (deployment['spec'] as any).template.spec as {
		containers: Array<{args: string[]; volumeMounts: Array<{name: string; mountPath: string}>}>;
		volumes: Array<{name: string; configMap?: {name: string}}>;
	};
	const args = pod.containers[0]!.args;

	it('is deploy/base with the guard’s flags added, read as the agent reads them', () => {
		// Everything else as in base.
		const objects = overlay.map((object) => `${object.kind}/${object.metadata.name}`).sort();
		expect(objects).toEqual(base.map((object) => `${object.kind}/${object.metadata.name}`).sort());
		const baseArgs = (findObject(base, 'Deployment', 'modeldeck-agent')['spec'] as any).template.spec.containers[0].args as string[];
		expect(args.slice(0, baseArgs.length)).toEqual(baseArgs);
		expect(args.slice(baseArgs.length)).toEqual(['--guard', expect.stringMatching(/^--prometheus=http:\/\//)]);

		expect(args[0]).toBe('agent');
		const parsed = parseAgentFlags(args.slice(1), {POD_NAMESPACE: 'modeldeck'});
		if (parsed.help) throw new Error('--help in the args');
		expect(parsed.flags).toMatchObject({
			guard: true,
			guardDryRun: false,
			prometheus: 'http://prometheus-operated.monitoring.svc:9090',
			guardConfig: '/etc/modeldeck/guard/guard.yaml',
		});
	});

	it('mounts its per-model guard ConfigMap as the file --guard-config names', () => {
		const guardConfig = args.find((arg) => arg.startsWith('--guard-config='))!.slice('--guard-config='.length);
		const mount = pod.containers[0]!.volumeMounts.find((candidate) => guardConfig.startsWith(`${candidate.mountPath}/`));
		expect(mount, `a volume mounted above ${guardConfig}`).toBeDefined();
		const volume = pod.volumes.find((candidate) => candidate.name === mount!.name)!;
		const configMap = findObject(overlay, 'ConfigMap', volume.configMap!.name);
		expect(Object.keys(configMap['data'] as Record<string, string>)).toEqual([path.relative(mount!.mountPath, guardConfig)]);
		// The overlay's settings, not base's placeholder.
		expect((configMap['data'] as Record<string, string>)['guard.yaml']).toBe(
			readFileSync(path.join(repoRoot, 'deploy/overlays/guard/guard.yaml'), 'utf8'),
		);
	});

	it('has guard settings that the agent’s own parser reads, guarding the example model with its thresholds', () => {
		const text = (findObject(overlay, 'ConfigMap', 'modeldeck-agent-guard')['data'] as Record<string, string>)['guard.yaml']!;
		const file = parseGuardSettingsFile(text);
		// deploy/example's model, as the agent's Kubernetes source would name it (by its HTTPRoute's annotation).
		const route = findObject(example, 'HTTPRoute', 'fraud');
		const model: Model = {
			namespace: route.metadata.namespace!,
			name: route.metadata.annotations!['modeldeck.dev/model']!,
			router: 'httproute',
			versions: [],
			annotations: route.metadata.annotations!,
		};
		const resolved = resolveGuardSettings(model, file);
		expect(resolved.errors).toEqual([]);
		expect(resolved.settings).toMatchObject({enabled: true, intervalSeconds: 15, windowSeconds: 300, consecutiveFailures: 2});
		expect(resolved.settings.thresholds).toMatchObject({p99LatencyMs: 250, errorRatio: 0.01, canaryMargin: 0.2});
		// Any other model: off unless its annotation turns it on, with the default thresholds of the file.
		const other = resolveGuardSettings({namespace: 'team-a', name: 'churn', router: 'httproute', versions: []}, file).settings;
		expect(other).toMatchObject({enabled: false, intervalSeconds: 30, consecutiveFailures: 3});
		expect(other.thresholds).toMatchObject({p99LatencyMs: 500, errorRatio: 0.05});
		// And the agent starts with it: the settings file is read before anything else (a bad one stops the start).
		expect(() => new GuardSettingsSource(writeScratch('guard.yaml', text))).not.toThrow();
	});

	it('is accepted by the API server, and its Deployment’s pods by the "restricted" Pod Security Standard', async () => {
		const stored = await applyObjects(target, overlay);
		const storedDeployment = stored.find((object) => object.kind === 'Deployment')!;
		expect((storedDeployment['spec'] as any).template.spec.containers[0].args).toEqual(args);
		const storedConfigMap = await readObject(target, {
			apiVersion: 'v1',
			kind: 'ConfigMap',
			metadata: {name: 'modeldeck-agent-guard', namespace: 'modeldeck'},
		});
		expect(storedConfigMap['data']).toEqual(findObject(overlay, 'ConfigMap', 'modeldeck-agent-guard')['data']);
		const template = (deployment['spec'] as any).template;
		await admin.makeApiClient(k8s.CoreV1Api).createNamespacedPod({
			namespace: 'modeldeck',
			dryRun: 'All',
			body: {metadata: {generateName: 'modeldeck-agent-', labels: template.metadata.labels}, spec: template.spec},
		});
	});
});

/** Writes a file into the test's scratch directory and returns its path. */
function writeScratch(name: string, text: string): string {
	const file = path.join(scratch, name);
	writeFileSync(file, text);
	return file;
}
