// deploy/base and deploy/example applied to the local control plane (server-side apply, as admin), then the agent's
// RBAC proved there both sufficient and minimal: access reviews for everything the agent's code calls (allowed) and for
// a list of things it must never do (denied), the complete set of rules the API server grants its service account
// compared with that list, and the real agent run with the Deployment's args and the service account's token doing
// real actions (weight, rollback) on the example model. Also: the objects are accepted (the HTTPRoute against its
// CRD), the pods pass the "restricted" Pod Security Standard the namespaces enforce, and the Deployments become ready.
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.mjs';
import {type KubeObject, applyObjects, kustomize} from './deploy-support.ts';
import {eventually} from './agent-support.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const agentNamespace = 'modeldeck';
const serviceAccount = 'modeldeck-agent';
const serviceAccountUser = `system:serviceaccount:${agentNamespace}:${serviceAccount}`;

// What `kubectl apply -k` would apply: the real kustomize's output, applied object for object as rendered.
const base = kustomize('deploy/base');
const example = kustomize('deploy/example');
const exampleNamespace = example.find((object) => object.kind === 'Namespace')!.metadata.name;

interface Permission {
	verb: string;
	group: string;
	resource: string;
	subresource?: string;
	/** '' = all namespaces (or cluster-scoped). */
	namespace: string;
}

/** `verb resource[.group][/subresource] [in NAMESPACE]`, e.g. `patch httproutes.gateway.networking.k8s.io in team-a`. */
function permission(text: string): Permission {
	const match = /^(\S+) ([a-z]+|\*)(?:\.([a-z0-9.-]+|\*))?(?:\/([a-z]+))? ?(?:in (\S+))?$/.exec(text);
	if (!match) throw new Error(`cannot read permission "${text}"`);
	const result: Permission = {verb: match[1]!, resource: match[2]!, group: match[3] ?? '', namespace: match[5] ?? ''};
	if (match[4]) result.subresource = match[4];
	return result;
}

function describePermission(entry: Permission): string {
	return `${entry.verb} ${entry.resource}${entry.group ? `.${entry.group}` : ''}${entry.subresource ? `/${entry.subresource}` : ''}${entry.namespace ? ` in ${entry.namespace}` : ' (all namespaces)'}`;
}

/**
 * What the agent's code calls, in every namespace (discovery watches all namespaces; actions and Events land in the
 * models' namespaces). The same list as deploy/base/rbac.yaml's ClusterRole.
 */
const clusterWide = [
	'list pods',
	'watch pods',
	'list services',
	'watch services',
	'list replicasets.apps',
	'watch replicasets.apps',
	'list horizontalpodautoscalers.autoscaling',
	'watch horizontalpodautoscalers.autoscaling',
	'list destinationrules.networking.istio.io',
	'watch destinationrules.networking.istio.io',
	'get deployments.apps',
	'list deployments.apps',
	'watch deployments.apps',
	'patch deployments.apps',
	'list httproutes.gateway.networking.k8s.io',
	'watch httproutes.gateway.networking.k8s.io',
	'patch httproutes.gateway.networking.k8s.io',
	'list virtualservices.networking.istio.io',
	'watch virtualservices.networking.istio.io',
	'patch virtualservices.networking.istio.io',
	'get inferenceservices.serving.kserve.io',
	'list inferenceservices.serving.kserve.io',
	'watch inferenceservices.serving.kserve.io',
	'patch inferenceservices.serving.kserve.io',
	'create events',
	'create tokenreviews.authentication.k8s.io',
	'create subjectaccessreviews.authorization.k8s.io',
];

/** Load-test Jobs, in the agent's own namespace only (the Role). */
const ownNamespace = ['create jobs.batch', 'get jobs.batch', 'delete jobs.batch', 'get pods/log'];

const needed: Permission[] = [
	...clusterWide.map(permission),
	...clusterWide.filter((text) => !/reviews/.test(text)).map((text) => permission(`${text} in team-a`)),
	...ownNamespace.map((text) => permission(`${text} in ${agentNamespace}`)),
];

/** What the agent must never be able to do. */
const forbidden: Permission[] = [
	// Secrets anywhere, its own namespace included.
	'get secrets',
	'list secrets',
	'watch secrets',
	'get secrets in team-a',
	'list secrets in modeldeck',
	// Changes other than JSON Patches of the objects it manages.
	'create deployments.apps in team-a',
	'update deployments.apps in team-a',
	'delete deployments.apps in team-a',
	'deletecollection deployments.apps in team-a',
	'patch deployments.apps/scale in team-a',
	'update httproutes.gateway.networking.k8s.io in team-a',
	'delete httproutes.gateway.networking.k8s.io in team-a',
	'update virtualservices.networking.istio.io in team-a',
	'update inferenceservices.serving.kserve.io in team-a',
	'patch inferenceservices.serving.kserve.io/status in team-a',
	'delete inferenceservices.serving.kserve.io in team-a',
	'patch destinationrules.networking.istio.io in team-a',
	'patch services in team-a',
	'patch replicasets.apps in team-a',
	'delete replicasets.apps in team-a',
	'patch events in team-a',
	'delete events in team-a',
	// Workloads and code execution.
	'create pods in team-a',
	'create pods in modeldeck',
	'delete pods in team-a',
	'create pods/exec in team-a',
	'create pods/portforward in team-a',
	'get pods/log in team-a',
	'create jobs.batch in team-a',
	'delete jobs.batch in team-a',
	'list jobs.batch in modeldeck',
	'update jobs.batch in modeldeck',
	'create cronjobs.batch in modeldeck',
	'create serviceaccounts/token in modeldeck',
	// Nodes and the cluster's own configuration.
	'patch nodes',
	'get nodes',
	'create customresourcedefinitions.apiextensions.k8s.io',
	'patch mutatingwebhookconfigurations.admissionregistration.k8s.io',
	// Privilege escalation.
	'escalate clusterroles.rbac.authorization.k8s.io',
	'bind clusterroles.rbac.authorization.k8s.io',
	'escalate roles.rbac.authorization.k8s.io in modeldeck',
	'bind roles.rbac.authorization.k8s.io in modeldeck',
	'create clusterrolebindings.rbac.authorization.k8s.io',
	'create rolebindings.rbac.authorization.k8s.io in modeldeck',
	'create roles.rbac.authorization.k8s.io in modeldeck',
	'impersonate users',
	'impersonate groups',
	'impersonate serviceaccounts',
	'create certificatesigningrequests.certificates.k8s.io',
	// Not used by the code (guard settings come from a mounted file; namespaces are not listed by the agent).
	'get configmaps in modeldeck',
	'list configmaps',
	'list namespaces',
	// No wildcard grants.
	'* *.*',
	'* *.* in team-a',
].map(permission);

let cluster: Cluster;
let admin: k8s.KubeConfig;
let agentConfig: k8s.KubeConfig;
let agentKubeconfigFile: string;
let scratch: string;
let agentProcess: ChildProcess | undefined;
let agentOutput = '';

function kubeConfigWithToken(token: string, namespace: string): k8s.KubeConfig {
	const config = new k8s.KubeConfig();
	config.loadFromOptions({
		clusters: [{name: 'local', server: cluster.server, caFile: cluster.caFile, skipTLSVerify: false}],
		users: [{name: 'user', token}],
		contexts: [{name: 'user', cluster: 'local', user: 'user', namespace}],
		currentContext: 'user',
	});
	return config;
}

function issued(request: k8s.AuthenticationV1TokenRequest): string {
	const token = request.status?.token;
	if (!token) throw new Error('the API server issued no service-account token');
	return token;
}

/** Server-side apply, as `kubectl apply --server-side` does, of the objects exactly as kustomize rendered them. */
async function apply(objects: KubeObject[]): Promise<void> {
	await applyObjects({server: cluster.server, caFile: cluster.caFile, token: cluster.tokens.admin}, objects);
}

function resourceAttributes(entry: Permission): k8s.V1ResourceAttributes {
	return {
		verb: entry.verb,
		group: entry.group,
		resource: entry.resource,
		...(entry.subresource ? {subresource: entry.subresource} : {}),
		...(entry.namespace ? {namespace: entry.namespace} : {}),
	};
}

/** Asked by the service account itself, with its own token. */
async function selfAllowed(entry: Permission): Promise<boolean> {
	const review = await agentConfig.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
		body: {spec: {resourceAttributes: resourceAttributes(entry)}},
	});
	return review.status?.allowed === true;
}

/** Asked by admin on the service account's behalf, as the agent asks about its callers. */
async function subjectAllowed(entry: Permission): Promise<boolean> {
	const review = await admin.makeApiClient(k8s.AuthorizationV1Api).createSubjectAccessReview({
		body: {
			spec: {
				user: serviceAccountUser,
				groups: ['system:serviceaccounts', `system:serviceaccounts:${agentNamespace}`, 'system:authenticated'],
				resourceAttributes: resourceAttributes(entry),
			},
		},
	});
	return review.status?.allowed === true;
}

/** Every (verb, resource) the API server would let a token do in a namespace, as `verb resource.group` strings. */
async function grantedRules(config: k8s.KubeConfig, namespace: string): Promise<Set<string>> {
	const review = await config.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectRulesReview({body: {spec: {namespace}}});
	const granted = new Set<string>();
	for (const rule of review.status?.resourceRules ?? []) {
		expect(rule.resourceNames ?? [], 'rules limited to names are not expected').toEqual([]);
		for (const verb of rule.verbs) {
			for (const group of rule.apiGroups ?? ['']) {
				for (const resource of rule.resources ?? []) granted.add(`${verb} ${resource}${group ? `.${group}` : ''}`);
			}
		}
	}

	return granted;
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

beforeAll(async () => {
	cluster = await startCluster();
	admin = new k8s.KubeConfig();
	admin.loadFromFile(cluster.kubeconfig);
	admin.setCurrentContext('admin');
	await apply(base);
	await apply(example);
	const token = await admin.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
		name: serviceAccount,
		namespace: agentNamespace,
		body: {spec: {audiences: [], expirationSeconds: 3600}},
	});
	agentConfig = kubeConfigWithToken(issued(token), agentNamespace);
	scratch = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-deploy-rbac-'));
	agentKubeconfigFile = path.join(scratch, 'kubeconfig');
	writeFileSync(agentKubeconfigFile, agentConfig.exportConfig());
});

afterAll(async () => {
	if (agentProcess?.pid && agentProcess.exitCode === null && agentProcess.signalCode === null) {
		const exited = new Promise((resolve) => agentProcess!.once('exit', resolve));
		process.kill(agentProcess.pid, 'SIGKILL');
		await exited;
	}

	await cluster?.stop();
	if (scratch) rmSync(scratch, {recursive: true, force: true});
});

describe('deploy/base and deploy/example on the control plane', () => {
	it('are accepted by the API server: every object exists as written', async () => {
		const api = k8s.KubernetesObjectApi.makeApiClient(admin);
		for (const object of [...base, ...example]) {
			const stored = await api.read({apiVersion: object.apiVersion, kind: object.kind, metadata: {name: object.metadata.name, ...(object.metadata.namespace ? {namespace: object.metadata.namespace} : {})}});
			expect(stored.metadata?.labels ?? {}, `${object.kind}/${object.metadata.name}`).toMatchObject(object.metadata.labels ?? {});
		}

		const route = (await api.read({apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: {name: 'fraud', namespace: exampleNamespace}})) as any;
		expect(route.metadata.annotations['modeldeck.dev/model']).toBe('fraud');
		expect(route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => `${backend.name}=${backend.weight}`)).toEqual(['fraud-v1=90', 'fraud-v2=10']);
	});

	it('has pod templates that pass the "restricted" Pod Security Standard their namespaces enforce', async () => {
		const core = admin.makeApiClient(k8s.CoreV1Api);
		for (const object of [...base, ...example].filter((candidate) => candidate.kind === 'Deployment')) {
			const namespace = await core.readNamespace({name: object.metadata.namespace!});
			expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
			const template = (object['spec'] as any).template;
			// A dry run of the pod the ReplicaSet would create: PodSecurity admission answers with every violation.
			await core.createNamespacedPod({
				namespace: object.metadata.namespace!,
				dryRun: 'All',
				body: {metadata: {generateName: `${object.metadata.name}-`, labels: template.metadata.labels}, spec: template.spec},
			});
		}
	});

	it('become ready: the agent and both versions of the example model', async () => {
		const apps = admin.makeApiClient(k8s.AppsV1Api);
		for (const object of [...base, ...example].filter((candidate) => candidate.kind === 'Deployment')) {
			const wanted = (object['spec'] as {replicas: number}).replicas;
			await eventually(`${object.metadata.name} ready`, 60_000, async () => {
				const deployment = await apps.readNamespacedDeployment({name: object.metadata.name, namespace: object.metadata.namespace!});
				return deployment.status?.readyReplicas === wanted;
			});
		}
	});
});

describe('the agent’s RBAC', () => {
	it('has no wildcard and no Secret in any rule', () => {
		for (const object of base.filter((candidate) => candidate.kind === 'ClusterRole' || candidate.kind === 'Role')) {
			const rules = object['rules'] as Array<{apiGroups: string[]; resources: string[]; verbs: string[]}>;
			for (const rule of rules) {
				expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
				expect(rule.resources).not.toContain('secrets');
			}
		}
	});

	it.each(needed.map((entry) => [describePermission(entry), entry] as const))('allows what the code needs: %s', async (_name, entry) => {
		expect(await selfAllowed(entry)).toBe(true);
		expect(await subjectAllowed(entry)).toBe(true);
	});

	it.each(forbidden.map((entry) => [describePermission(entry), entry] as const))('denies: %s', async (_name, entry) => {
		expect(await selfAllowed(entry)).toBe(false);
		expect(await subjectAllowed(entry)).toBe(false);
	});

	it('grants exactly the needed permissions, beyond what every authenticated user has', async () => {
		// A service account with no bindings of its own shows what every authenticated user may do (self reviews, ...).
		const core = admin.makeApiClient(k8s.CoreV1Api);
		await core.createNamespacedServiceAccount({namespace: agentNamespace, body: {metadata: {name: 'nobody'}}});
		const nobodyToken = await core.createNamespacedServiceAccountToken({name: 'nobody', namespace: agentNamespace, body: {spec: {audiences: [], expirationSeconds: 600}}});
		const nobody = kubeConfigWithToken(issued(nobodyToken), agentNamespace);
		const asText = (entry: Permission) => `${entry.verb} ${entry.resource}${entry.subresource ? `/${entry.subresource}` : ''}${entry.group ? `.${entry.group}` : ''}`;
		for (const namespace of ['team-a', agentNamespace]) {
			const everyone = await grantedRules(nobody, namespace);
			const granted = [...(await grantedRules(agentConfig, namespace))].filter((rule) => !everyone.has(rule)).sort();
			const expected = [
				...clusterWide.map((text) => asText(permission(text))),
				...(namespace === agentNamespace ? ownNamespace.map((text) => asText(permission(text))) : []),
			].sort();
			expect(granted, `in namespace ${namespace}`).toEqual(expected);
		}
	});
});

describe('the agent with its service account and the Deployment’s args', () => {
	let agentUrl: string;
	const modelRef = {namespace: exampleNamespace, name: 'fraud'};

	async function act(action: Record<string, unknown>): Promise<{status: number; progress: Array<{kind: string; message?: string}>}> {
		const response = await fetch(`${agentUrl}/v1/actions`, {
			method: 'POST',
			headers: {'content-type': 'application/json', authorization: `Bearer ${cluster.tokens.admin}`},
			body: JSON.stringify(action),
		});
		const text = await response.text();
		if (response.status !== 200) return {status: response.status, progress: [{kind: 'refused', message: text}]};
		return {status: 200, progress: text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as {kind: string; message?: string})};
	}

	async function routeWeights(): Promise<number[]> {
		const route = (await k8s.KubernetesObjectApi.makeApiClient(admin).read({
			apiVersion: 'gateway.networking.k8s.io/v1',
			kind: 'HTTPRoute',
			metadata: {name: 'fraud', namespace: exampleNamespace},
		})) as any;
		return route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);
	}

	beforeAll(async () => {
		const deployment = base.find((object) => object.kind === 'Deployment' && object.metadata.name === 'modeldeck-agent')!;
		const container = (deployment['spec'] as any).template.spec.containers[0] as {args: string[]};
		const guardConfig = base.find((object) => object.kind === 'ConfigMap' && object.metadata.name === 'modeldeck-agent-guard')!;
		writeFileSync(path.join(scratch, 'guard.yaml'), (guardConfig['data'] as Record<string, string>)['guard.yaml']!);
		const port = await freePort();
		agentUrl = `http://127.0.0.1:${port}`;
		expect(container.args[0]).toBe('agent');
		const args = container.args.slice(1).map((arg) => {
			if (arg.startsWith('--listen=')) return `--listen=127.0.0.1:${port}`;
			if (arg.startsWith('--db=')) return `--db=${path.join(scratch, 'modeldeck.db')}`;
			if (arg.startsWith('--guard-config=')) return `--guard-config=${path.join(scratch, 'guard.yaml')}`;
			return arg;
		});
		// In a pod the agent loads the mounted service-account token; here the same token comes in a kubeconfig.
		agentProcess = spawn(process.execPath, [path.join(repoRoot, 'source/agent/run.ts'), ...args, `--kubeconfig=${agentKubeconfigFile}`], {
			cwd: scratch,
			env: {...process.env, POD_NAMESPACE: agentNamespace, KUBECONFIG: ''},
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		agentProcess.stdout!.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
		agentProcess.stderr!.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
		await eventually(`the agent to be ready (output: ${agentOutput.slice(-800)})`, 30_000, async () => {
			if (agentProcess!.exitCode !== null) throw new Error(`the agent exited with ${agentProcess!.exitCode}: ${agentOutput}`);
			return (await fetch(`${agentUrl}/readyz`)).status === 200;
		});
	});

	it('sets the canary weight on the HTTPRoute and records an Event', async () => {
		// The agent knows the model once its watches have listed it; until then it answers 404.
		const result = await eventually('the agent to act on the example model', 30_000, async () => {
			const answer = await act({kind: 'set-weight', model: modelRef, canary: 'v2', from: 10, to: 30});
			return answer.status !== 404 && answer;
		});
		expect(result.status).toBe(200);
		expect(result.progress.at(-1)).toMatchObject({kind: 'done'});
		expect(await routeWeights()).toEqual([70, 30]);
		const events = await eventually('an Event from the agent', 15_000, async () => {
			const list = await admin.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({namespace: exampleNamespace});
			const mine = list.items.filter((event) => event.source?.component === 'modeldeck-agent');
			return mine.length > 0 && mine;
		});
		expect(events[0]!.involvedObject.kind).toBe('HTTPRoute');
	});

	it('rolls the canary back: traffic to 0% and the Deployment’s previous template restored', async () => {
		const apps = admin.makeApiClient(k8s.AppsV1Api);
		// A second revision of the canary, so that there is a template to roll back to.
		await apps.patchNamespacedDeployment(
			{name: 'fraud-v2', namespace: exampleNamespace, body: [{op: 'add', path: '/spec/template/metadata/annotations', value: {'example/revision': '2'}}]},
			k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
		);
		await eventually('two ReplicaSets of fraud-v2', 30_000, async () => {
			const sets = await apps.listNamespacedReplicaSet({namespace: exampleNamespace, labelSelector: 'modeldeck.dev/model=fraud,app.kubernetes.io/version=v2'});
			return sets.items.length === 2;
		});
		const result = await act({kind: 'rollback', model: modelRef, canary: 'v2'});
		expect(result.status).toBe(200);
		expect(result.progress.at(-1)).toMatchObject({kind: 'done'});
		expect(await routeWeights()).toEqual([100, 0]);
		const canary = await apps.readNamespacedDeployment({name: 'fraud-v2', namespace: exampleNamespace});
		expect(canary.spec?.template.metadata?.annotations?.['example/revision']).toBeUndefined();
	});

	it('never met a Forbidden answer from the API server', () => {
		// Without each line's timestamp: its milliseconds can be 403 (this test failed once on "23:49:05.403Z").
		const messages = agentOutput.replaceAll(/^\d{4}-\d\d-\d\dT[\d:.]+Z /gm, '');
		expect(messages).toContain('modeldeck agent listening on');
		expect(messages).not.toMatch(/forbidden|\b403\b|cannot (list|watch|get|patch|create)/i);
	});
});
