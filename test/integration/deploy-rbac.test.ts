// deploy/base and deploy/example applied to the local control plane (server-side apply, as admin), then the agent's
// RBAC proved there both sufficient and minimal: access reviews for everything the agent's code calls (allowed) and for
// a list of things it must never do (denied), the complete set of rules the API server grants its service account
// compared with that list, and the real agent run with the Deployment's args and env and its in-cluster credentials
// (the service account's token and the CA at the pod's mount path, KUBERNETES_SERVICE_HOST/PORT, no kubeconfig) doing
// real actions on the example model: weight, rollback, a load test run as a Kubernetes Job of workers, promote (with the
// old stable scaled to zero); and the agent's Job runner, with that token, deleting a cancelled test's Job. Also: the
// objects are accepted (the HTTPRoute against its CRD), the pods pass the "restricted" Pod Security Standard the
// namespaces enforce, and the Deployments become ready.
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {type KubeObject, applyObjects, kustomize, startServiceNetwork} from './deploy-support.ts';
import {eventually} from './agent-support.ts';
import {JobPodRuntime} from './job-pod-runtime.ts';
import {prepareTargets} from '../../source/agent/actions/load-test.ts';
import {KubeLoadJobRunner} from '../../source/agent/actions/load-job-runner.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/main.ts';

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
	'get services',
	'list services',
	'watch services',
	'create services',
	'list replicasets.apps',
	'watch replicasets.apps',
	'list horizontalpodautoscalers.autoscaling',
	'watch horizontalpodautoscalers.autoscaling',
	'list destinationrules.networking.istio.io',
	'watch destinationrules.networking.istio.io',
	'patch destinationrules.networking.istio.io',
	'get deployments.apps',
	'list deployments.apps',
	'watch deployments.apps',
	'patch deployments.apps',
	'create deployments.apps',
	'get httproutes.gateway.networking.k8s.io',
	'list httproutes.gateway.networking.k8s.io',
	'watch httproutes.gateway.networking.k8s.io',
	'patch httproutes.gateway.networking.k8s.io',
	'get virtualservices.networking.istio.io',
	'list virtualservices.networking.istio.io',
	'watch virtualservices.networking.istio.io',
	'patch virtualservices.networking.istio.io',
	'get inferenceservices.serving.kserve.io',
	'list inferenceservices.serving.kserve.io',
	'watch inferenceservices.serving.kserve.io',
	'patch inferenceservices.serving.kserve.io',
	'list deliveries.modeldeck.dev',
	'watch deliveries.modeldeck.dev',
	'create deliveries.modeldeck.dev',
	'patch deliveries.modeldeck.dev',
	'list trafficsplits.split.smi-spec.io',
	'watch trafficsplits.split.smi-spec.io',
	'patch trafficsplits.split.smi-spec.io',
	'list experiments.mlops.seldon.io',
	'watch experiments.mlops.seldon.io',
	'patch experiments.mlops.seldon.io',
	'list models.mlops.seldon.io',
	'watch models.mlops.seldon.io',
	'get canaries.flagger.app',
	'list canaries.flagger.app',
	'watch canaries.flagger.app',
	'get rollouts.argoproj.io',
	'list rollouts.argoproj.io',
	'watch rollouts.argoproj.io',
	'patch rollouts.argoproj.io',
	'patch rollouts.argoproj.io/status',
	'list analysisruns.argoproj.io',
	'watch analysisruns.argoproj.io',
	'create events',
	'list events',
	'watch events',
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
	// Changes other than JSON Patches of the objects it manages (and a rollout's new Deployment and Service).
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
	'update deliveries.modeldeck.dev in team-a',
	'delete deliveries.modeldeck.dev in team-a',
	'update rollouts.argoproj.io in team-a',
	'delete rollouts.argoproj.io in team-a',
	'patch analysisruns.argoproj.io in team-a',
	'patch services in team-a',
	'delete services in team-a',
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
/** What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount: the token, the cluster's CA, the namespace. */
let serviceAccountFiles: string;
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

/** A service account with no bindings of its own: what every authenticated user may do (self reviews, ...). */
async function nobodyConfig(): Promise<k8s.KubeConfig> {
	const core = admin.makeApiClient(k8s.CoreV1Api);
	await core.createNamespacedServiceAccount({namespace: agentNamespace, body: {metadata: {name: 'nobody'}}}).catch((error: unknown) => {
		if ((error as {code?: number}).code !== 409) throw error;
	});
	const token = await core.createNamespacedServiceAccountToken({
		name: 'nobody',
		namespace: agentNamespace,
		body: {spec: {audiences: [], expirationSeconds: 600}},
	});
	return kubeConfigWithToken(issued(token), agentNamespace);
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
	serviceAccountFiles = path.join(scratch, 'serviceaccount');
	mkdirSync(serviceAccountFiles);
	writeFileSync(path.join(serviceAccountFiles, 'token'), issued(token));
	writeFileSync(path.join(serviceAccountFiles, 'ca.crt'), readFileSync(cluster.caFile));
	writeFileSync(path.join(serviceAccountFiles, 'namespace'), agentNamespace);
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
			const stored = await api.read({
				apiVersion: object.apiVersion,
				kind: object.kind,
				metadata: {name: object.metadata.name, ...(object.metadata.namespace ? {namespace: object.metadata.namespace} : {})},
			});
			expect(stored.metadata?.labels ?? {}, `${object.kind}/${object.metadata.name}`).toMatchObject(object.metadata.labels ?? {});
		}

		const route = (await api.read({
			apiVersion: 'gateway.networking.k8s.io/v1',
			kind: 'HTTPRoute',
			metadata: {name: 'fraud', namespace: exampleNamespace},
		})) as any;
		expect(route.metadata.annotations['modeldeck.dev/model']).toBe('fraud');
		expect(route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => `${backend.name}=${backend.weight}`)).toEqual([
			'fraud-v1=90',
			'fraud-v2=10',
		]);
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

	it('grants nothing to the load-test workers’ service account, beyond what every authenticated user has', async () => {
		const core = admin.makeApiClient(k8s.CoreV1Api);
		const workerToken = await core.createNamespacedServiceAccountToken({
			name: 'modeldeck-loadtest',
			namespace: agentNamespace,
			body: {spec: {audiences: [], expirationSeconds: 600}},
		});
		const workers = kubeConfigWithToken(issued(workerToken), agentNamespace);
		const nobody = await nobodyConfig();
		for (const namespace of ['team-a', agentNamespace]) {
			const everyone = await grantedRules(nobody, namespace);
			expect(
				[...(await grantedRules(workers, namespace))].filter((rule) => !everyone.has(rule)),
				`in namespace ${namespace}`,
			).toEqual([]);
		}

		const account = await core.readNamespacedServiceAccount({name: 'modeldeck-loadtest', namespace: agentNamespace});
		expect(account.automountServiceAccountToken).toBe(false);
	});

	it('grants exactly the needed permissions, beyond what every authenticated user has', async () => {
		const nobody = await nobodyConfig();
		const asText = (entry: Permission) =>
			`${entry.verb} ${entry.resource}${entry.subresource ? `/${entry.subresource}` : ''}${entry.group ? `.${entry.group}` : ''}`;
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
	const maxLocalRps = 10;
	const modelServers: Record<string, RunningModelServer> = {};
	let network: Awaited<ReturnType<typeof startServiceNetwork>>;

	afterAll(async () => {
		await network?.close();
		for (const server of Object.values(modelServers)) await server.close();
	});

	async function act(action: Record<string, unknown>): Promise<{status: number; progress: Array<{kind: string; message?: string}>}> {
		const response = await fetch(`${agentUrl}/v1/actions`, {
			method: 'POST',
			headers: {'content-type': 'application/json', authorization: `Bearer ${cluster.tokens.admin}`},
			body: JSON.stringify(action),
		});
		const text = await response.text();
		if (response.status !== 200) return {status: response.status, progress: [{kind: 'refused', message: text}]};
		return {
			status: 200,
			progress: text
				.split('\n')
				.filter(Boolean)
				.map((line) => JSON.parse(line) as {kind: string; message?: string}),
		};
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
		// The example's two versions as real model servers, behind their Services' names.
		for (const version of ['v1', 'v2'])
			modelServers[version] = await startModelServer({model: 'fraud', modelVersion: version, host: '127.0.0.1', port: 0});
		network = await startServiceNetwork({
			[`fraud-v1.${exampleNamespace}`]: modelServers['v1']!.url,
			[`fraud-v2.${exampleNamespace}`]: modelServers['v2']!.url,
		});
		const deployment = base.find((object) => object.kind === 'Deployment' && object.metadata.name === 'modeldeck-agent')!;
		const container = (deployment['spec'] as any).template.spec.containers[0] as {
			args: string[];
			env: Array<{name: string; value?: string; valueFrom?: {fieldRef?: {fieldPath: string}}}>;
		};
		// The Deployment's env, as the kubelet fills it in.
		const env: Record<string, string> = {};
		for (const entry of container.env) {
			if (entry.value !== undefined) env[entry.name] = entry.value;
			else if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[entry.name] = agentNamespace;
			else throw new Error(`the agent's env ${entry.name} comes from something this test does not fill in`);
		}

		expect(env['MODELDECK_IMAGE'], 'load-test Jobs need the image').toBeTruthy();
		const guardConfig = base.find((object) => object.kind === 'ConfigMap' && object.metadata.name === 'modeldeck-agent-guard')!;
		writeFileSync(path.join(scratch, 'guard.yaml'), (guardConfig['data'] as Record<string, string>)['guard.yaml']!);
		const port = await freePort();
		const ingestPort = await freePort();
		agentUrl = `http://127.0.0.1:${port}`;
		expect(container.args[0]).toBe('agent');
		const args = container.args.slice(1).map((arg) => {
			if (arg.startsWith('--listen=')) return `--listen=127.0.0.1:${port}`;
			if (arg.startsWith('--ingest-listen=')) return `--ingest-listen=127.0.0.1:${ingestPort}`;
			if (arg.startsWith('--db=')) return `--db=${path.join(scratch, 'modeldeck.db')}`;
			if (arg.startsWith('--guard-config=')) return `--guard-config=${path.join(scratch, 'guard.yaml')}`;
			return arg;
		});
		// Two flags added: a load test above 10 requests/s per version (not 2,000) runs as a Job, so a small one does,
		// and its workers start 3 s after the Job is created (not 30 s: kwok's pods start at once).
		const testArgs = [`--loadtest-max-local-rps=${maxLocalRps}`, '--loadtest-start-delay-seconds=3'];
		// Credentials as in a pod: no kubeconfig, the API server named by KUBERNETES_SERVICE_HOST/PORT, and the
		// service account's files at /var/run/secrets/kubernetes.io/serviceaccount — put there in a mount namespace of
		// the agent's own (a tmpfs over /run, which /var/run links to), so the machine's /run is untouched.
		const apiServer = new URL(cluster.server);
		const mountServiceAccount =
			'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && cp "$0"/* /run/secrets/kubernetes.io/serviceaccount/ && exec "$@"';
		agentProcess = spawn(
			'unshare',
			[
				'--mount',
				'--propagation',
				'private',
				'sh',
				'-c',
				mountServiceAccount,
				serviceAccountFiles,
				process.execPath,
				path.join(repoRoot, 'source/agent/run.ts'),
				...args,
				...testArgs,
			],
			{
				cwd: scratch,
				// No kubeconfig to fall back on: KUBECONFIG empty and a HOME without ~/.kube.
				env: {
					...process.env,
					...env,
					...network.env,
					KUBECONFIG: '',
					HOME: scratch,
					KUBERNETES_SERVICE_HOST: apiServer.hostname,
					KUBERNETES_SERVICE_PORT: apiServer.port,
				},
				stdio: ['ignore', 'pipe', 'pipe'],
			},
		);
		agentProcess.stdout!.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
		agentProcess.stderr!.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
		await eventually(`the agent to be ready (output: ${agentOutput.slice(-800)})`, 30_000, async () => {
			if (agentProcess!.exitCode !== null) {
				throw new Error(
					`the agent exited with ${agentProcess!.exitCode} (this test needs root for unshare and mount, as in CI): ${agentOutput}`,
				);
			}
			return (await fetch(`${agentUrl}/readyz`).catch(() => undefined))?.status === 200;
		});
		// It found the API server through the in-cluster configuration, not a kubeconfig.
		expect(agentOutput).toContain(`Kubernetes API server https://${apiServer.host}`);
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
			{
				name: 'fraud-v2',
				namespace: exampleNamespace,
				body: [{op: 'add', path: '/spec/template/metadata/annotations', value: {'example/revision': '2'}}],
			},
			k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
		);
		await eventually('two ReplicaSets of fraud-v2', 30_000, async () => {
			const sets = await apps.listNamespacedReplicaSet({
				namespace: exampleNamespace,
				labelSelector: 'modeldeck.dev/model=fraud,app.kubernetes.io/version=v2',
			});
			return sets.items.length === 2;
		});
		const result = await act({kind: 'rollback', model: modelRef, canary: 'v2'});
		expect(result.status).toBe(200);
		expect(result.progress.at(-1)).toMatchObject({kind: 'done'});
		expect(await routeWeights()).toEqual([100, 0]);
		const canary = await apps.readNamespacedDeployment({name: 'fraud-v2', namespace: exampleNamespace});
		expect(canary.spec?.template.metadata?.annotations?.['example/revision']).toBeUndefined();
	});

	it('runs a load test big enough to be a Kubernetes Job: creates the Job, polls it, lists its pods, reads their logs', async () => {
		const runtime = new JobPodRuntime(admin, {
			namespace: agentNamespace,
			logDir: scratch,
			services: {[`fraud-v2.${exampleNamespace}`]: modelServers['v2']!.url},
		});
		await runtime.start('app.kubernetes.io/managed-by=modeldeck-agent');
		const served = async () =>
			(await (await fetch(`${modelServers['v2']!.url}/metrics`)).text()).match(
				/^modeldeck_inference_requests_total\{[^}]*code="200"[^}]*\} (\d+)/m,
			)?.[1];
		const before = Number((await served()) ?? 0);
		const rps = 2 * maxLocalRps;
		const result = await act({kind: 'load-test', targets: [{...modelRef, version: 'v2'}], rps, durationSeconds: 2, warmupSeconds: 0.5});
		await runtime.stop();
		expect(runtime.failures).toEqual([]);
		expect(result.status).toBe(200);
		const messages = result.progress.map((progress) => progress.message ?? progress.kind);
		expect(result.progress.at(-1), messages.join('\n')).toMatchObject({kind: 'done'});
		expect(
			messages.filter((message) =>
				message.startsWith(`running as a Kubernetes Job: 2 workers per version at ${(rps / 2).toFixed(1)} rps each`),
			),
			messages.join('\n'),
		).toHaveLength(1);
		const created = messages.map((message) => /\bv2: created Job modeldeck\/(\S+) with 2 workers$/.exec(message)).find(Boolean);
		expect(created, messages.join('\n')).toBeTruthy();

		// The Job the agent created with its token, in its own namespace, under the "restricted" Pod Security Standard.
		const job = await admin.makeApiClient(k8s.BatchV1Api).readNamespacedJob({name: created![1]!, namespace: agentNamespace});
		expect(job.status?.succeeded).toBe(2);
		// Its workers run as the load-test account deploy/base ships (the API server admits no pod of an account that
		// does not exist), which may do nothing (see 'grants nothing to the load-test workers').
		expect(job.spec?.template.spec?.serviceAccountName).toBe('modeldeck-loadtest');
		expect(job.spec?.template.spec?.containers[0]?.image).toBe(
			(base.find((object) => object.kind === 'Deployment')!['spec'] as any).template.spec.containers[0].image,
		);
		expect(runtime.ran.map((ran) => ran.exitCode)).toEqual([0, 0]);
		// The result merged from both workers' logs (pods listed, pods/log read); their requests reached the canary's
		// server: 2 s at 20 rps, plus the warm-up's.
		const loadResult = result.progress.find((progress) => progress.kind === 'load-result') as unknown as {
			results: Array<{requests: number; errors: number}>;
		};
		expect(loadResult.results[0]).toMatchObject({requests: 40, errors: 0});
		expect(Number(await served()) - before).toBeGreaterThanOrEqual(40);
		// The agent read the model's metadata through the Service's name, as in a pod.
		expect(network.tunnelled).toContain(`fraud-v2.${exampleNamespace}.svc:80`);
	});

	it('deletes a cancelled load test’s Job with the same token (the agent’s Job runner)', async () => {
		// The agent cancels a test's Job when it stops; here its runner is driven directly, with the agent's token.
		const runner = new KubeLoadJobRunner(agentConfig, {namespace: agentNamespace, image: 'ghcr.io/modeldeck/modeldeck:0.1.0', pollMs: 200});
		const prepared = await prepareTargets([{...modelRef, version: 'v2'}], {resolveEndpoint: () => modelServers['v2']!.url});
		if (typeof prepared === 'string') throw new Error(prepared);
		const cancel = new AbortController();
		let jobName: string | undefined;
		const run = runner.run(
			prepared[0]!,
			{rps: 20, workers: 2, durationSeconds: 60, warmupSeconds: 0},
			(message: string) => {
				jobName ??= /^created Job modeldeck\/(\S+) with/.exec(message)?.[1];
				if (/running/.test(message)) cancel.abort();
			},
			cancel.signal,
		);
		await expect(run).rejects.toThrow('cancelled');
		expect(jobName).toBeDefined();
		const batch = admin.makeApiClient(k8s.BatchV1Api);
		await eventually(`Job ${jobName} to be deleted`, 15_000, async () => {
			try {
				const job = await batch.readNamespacedJob({name: jobName!, namespace: agentNamespace});
				// Deleted in the background: it may linger with a deletionTimestamp while its pods go.
				return job.metadata?.deletionTimestamp !== undefined;
			} catch (error) {
				return (error as {code?: number}).code === 404;
			}
		});
	});

	it('promotes the canary: all traffic to v2 and the old stable scaled to zero', async () => {
		const apps = admin.makeApiClient(k8s.AppsV1Api);
		expect((await apps.readNamespacedDeployment({name: 'fraud-v1', namespace: exampleNamespace})).spec?.replicas).toBe(3);
		const result = await act({kind: 'promote', model: modelRef, canary: 'v2', stable: 'v1'});
		expect(result.status, JSON.stringify(result.progress)).toBe(200);
		expect(result.progress.at(-1), JSON.stringify(result.progress)).toMatchObject({kind: 'done'});
		expect(await routeWeights()).toEqual([0, 100]);
		expect((await apps.readNamespacedDeployment({name: 'fraud-v1', namespace: exampleNamespace})).spec?.replicas).toBe(0);
		expect((await apps.readNamespacedDeployment({name: 'fraud-v2', namespace: exampleNamespace})).spec?.replicas).toBe(1);
	});

	it('never met a Forbidden answer from the API server', () => {
		// Without each line's timestamp: its milliseconds can be 403 (this test failed once on "23:49:05.403Z").
		const messages = agentOutput.replaceAll(/^\d{4}-\d\d-\d\dT[\d:.]+Z /gm, '');
		expect(messages).toContain('modeldeck agent listening on');
		expect(messages).not.toMatch(/forbidden|\b403\b|cannot (list|watch|get|patch|create)/i);
	});
});
