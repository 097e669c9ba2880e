// `modeldeck rollout` against the local control plane, with real model servers per version and a real Prometheus for
// the judge. The example workflow's own command line (docs/github-actions-rollout.yml, its variables substituted) runs
// the rollout in the foreground (no agent in this cluster) and exits 0 once promoted, printing the final state as
// JSON; through an agent (--agent URL) a slow version is rolled back on the judge's verdict and --wait exits 1; bad
// input exits 2 with a message saying how to fix it.
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parse as parseYaml} from 'yaml';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {startAgent, type RunningAgent} from '../../source/agent/main.ts';
import {rolloutDependencies} from '../../source/agent/rollout-foreground.ts';
import {runRollout} from '../../source/commands/rollout.ts';
import type {DeliveryState} from '../../source/domain/delivery.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/index.ts';
import {defaultSettings} from '../../source/settings/settings.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {startModelServerProcess, type ModelServerProcess} from '../support/model-server-process.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';
import {repoRoot} from './agent-support.ts';

const namespace = 'team-a';
let cluster: Cluster | undefined;
let prometheus: {url: string; stop(): Promise<void>} | undefined;
let load: PacedLoad | undefined;
let agent: RunningAgent | undefined;
let api: TestApi;
const servers = new Map<string, ModelServerProcess>();

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	const route = httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]) as {
		metadata: {annotations: Record<string, string>};
	};
	route.metadata.annotations['modeldeck.dev/guard-thresholds'] = '{"p99LatencyMs": 400, "canaryMargin": 3}';
	await api.createAll([deployment({namespace, model: 'fraud', version: 'v1'}), service(namespace, 'fraud-v1', 'fraud', 'v1'), route]);
	await api.waitForRollouts(namespace);
	// Each version's server in a process of its own, answering in 30 ms (p99 well inside one histogram bucket, 25-50 ms,
	// so that a few late answers do not move it); v3 regresses: 600 ms.
	for (const version of ['v1', 'v2', 'v3']) {
		servers.set(version, await startModelServerProcess({model: 'fraud', version, namespace, latencyMs: version === 'v3' ? 600 : 30}));
	}

	prometheus = (await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: [...servers].map(([version, server]) => ({
			job: `fraud-${version}`,
			targets: [`127.0.0.1:${server.port}`],
			labels: {namespace},
		})),
	})) as {url: string; stop(): Promise<void>};
	await waitForTargets(prometheus.url, {targets: 3});
	load = startPacedLoad({urls: [...servers.values()].map((server) => server.url), model: 'fraud', rate: 20, limitMs: 170_000});
	// As the workflow does: the kubeconfig from the environment.
	process.env['KUBECONFIG'] = cluster.kubeconfig;
}, 300_000);

afterAll(async () => {
	await load?.stop();
	await agent?.close();
	await prometheus?.stop();
	for (const server of servers.values()) await server.close();
	await cluster?.stop();
});

async function rollout(argv: string[]): Promise<{code: number; stdout: string; stderr: string}> {
	const out = {stdout: '', stderr: ''};
	const stderr = {write: (chunk: string) => (out.stderr += chunk)};
	const code = await runRollout(
		argv,
		{stdin: process.stdin, stdout: {write: (chunk: string) => (out.stdout += chunk)}, stderr},
		{...rolloutDependencies(defaultSettings, stderr), pollMs: 500},
	);
	return {code, ...out};
}

/** The workflow's `modeldeck rollout` line, its shell variables substituted, as argv (without `modeldeck rollout`). */
function workflowCommand(variables: Record<string, string>): string[] {
	const workflow = parseYaml(readFileSync(path.join(repoRoot, 'docs/github-actions-rollout.yml'), 'utf8')) as {
		jobs: Record<string, {steps: Array<{run?: string}>}>;
	};
	const lines = Object.values(workflow.jobs)
		.flatMap((job) => job.steps)
		.flatMap((step) => (step.run ?? '').split('\n'))
		.filter((line) => line.trim().startsWith('modeldeck rollout'));
	expect(lines).toHaveLength(1);
	const command = lines[0]!.trim().replace(/\s+>\s*\S+$/, '');
	const words = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((match) =>
		(match[1] ?? match[2]!).replace(/\$\{?([A-Z_]+)\}?/g, (_, name: string) => {
			if (variables[name] === undefined) throw new Error(`the workflow's command uses $${name}, which the test does not set`);
			return variables[name]!;
		}),
	);
	expect(words.slice(0, 2)).toEqual(['modeldeck', 'rollout']);
	return words.slice(2);
}

async function weights(): Promise<Record<string, number>> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return Object.fromEntries(
		route.spec.rules[0].backendRefs.map((backend: {name: string; weight: number}) => [backend.name, backend.weight]),
	);
}

describe('modeldeck rollout', () => {
	it('bad input exits 2 with a message saying how to fix it', async () => {
		const result = await rollout(['fraud', '--image', 'registry.example/fraud', '-n', namespace]);
		expect(result.code).toBe(2);
		expect(result.stderr).toMatch(/has no tag to name the version by: add --version V/);
	});

	it('the example workflow`s command runs the rollout in the foreground without an agent, and exits 0 once promoted', async () => {
		const argv = workflowCommand({
			MODEL: 'fraud',
			NAMESPACE: namespace,
			IMAGE: 'registry.example/fraud:v2',
			STEPS: '50,100',
			PAUSE: '20s',
			PROMETHEUS_URL: prometheus!.url,
		});
		const result = await rollout(argv);
		expect(result.stderr).toMatch(/no modeldeck agent reachable: running the rollout here, in the foreground/);
		// The output says why when it did not promote.
		expect({code: result.code, output: result.code === 0 ? '' : result.stdout}).toEqual({code: 0, output: ''});
		const final = JSON.parse(result.stdout) as DeliveryState;
		expect(final).toMatchObject({phase: 'promoted', weight: 100, spec: {version: 'v2', steps: [50, 100], pauseSeconds: 20}});
		expect(final.events.map((event) => event.message)).toContain(
			'smoke test passed: skipped: the rollout runs outside the cluster, where its Services are out of reach (an agent in the cluster smoke-tests)',
		);
		expect(await weights()).toEqual({'fraud-v1': 0, 'fraud-v2': 100});
		// The audit trail of a foreground rollout is on stderr, one record per step.
		expect(result.stderr).toMatch(/audit: modeldeck rollout rollout start team-a\/fraud/);
		expect(result.stderr).toMatch(/audit: modeldeck rollout rollout promote team-a\/fraud/);
	});

	it('through an agent, a slow version is rolled back on the judge`s verdict and --wait exits 1', async () => {
		const admin = new KubeConfig();
		admin.loadFromFile(cluster!.kubeconfig);
		admin.setCurrentContext('admin');
		agent = await startAgent({
			reviewer: new KubeAccessReviewer(admin),
			cluster: await createKubeCluster({kubeconfigPath: cluster!.kubeconfig, context: 'admin', namespace: 'all'}),
			metrics: createPrometheusMetrics({url: prometheus!.url, scrapeIntervalSeconds: 1}),
			judge: new MannWhitneyJudge(),
			// A version without a server of its own (v5 below) is answered by v1's, as a copy of it would answer.
			resolveEndpoint: (target) => (servers.get(target.version) ?? servers.get('v1')!).url,
		});
		await api.waitFor('the agent to see the model', async () => agent!.core.findModel({namespace, name: 'fraud'}) !== undefined, 30_000);
		const result = await rollout([
			`${namespace}/fraud`,
			'--image',
			'registry.example/fraud:v3',
			'--steps',
			'50,100',
			'--pause',
			'20s',
			'--wait',
			'--agent',
			agent.url,
		]);
		expect(result.stderr).toMatch(/rollout team-a\/fraud@\d+ started: v3 .*\(the agent .* runs it\)/);
		expect(result.code).toBe(1);
		expect(result.stdout).toMatch(/judged fail at 50%: fail: .*p99 \d+ ms > 400 ms/);
		expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^team-a\/fraud v3: rolled back: judged fail at 50%/);
		expect(await weights()).toEqual({'fraud-v1': 0, 'fraud-v2': 100, 'fraud-v3': 0});
	});

	it('--abort through the agent rolls the rollout in progress back and --wait exits 0 once aborted', async () => {
		const started = await rollout([
			`${namespace}/fraud`,
			'--image',
			'registry.example/fraud:v5',
			'--steps',
			'5,100',
			'--pause',
			'10m',
			'--agent',
			agent!.url,
			'--output',
			'json',
		]);
		expect(started.code).toBe(0);
		expect(JSON.parse(started.stdout)).toMatchObject({spec: {version: 'v5'}});
		await api.waitFor('v5 at its first step', async () => (await weights())['fraud-v5'] === 5, 60_000);
		const aborted = await rollout(['fraud', '-n', namespace, '--abort', '--wait', '--agent', agent!.url]);
		expect(aborted.stderr).toMatch(/rollout team-a\/fraud@\d+: abort/);
		expect(aborted.code).toBe(0);
		expect(aborted.stdout).toMatch(/team-a\/fraud v5: aborted: aborted by admin/);
		expect(await weights()).toEqual({'fraud-v1': 0, 'fraud-v2': 100, 'fraud-v3': 0, 'fraud-v5': 0});
	});
});
