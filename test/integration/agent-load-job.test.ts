// The agent's large load test end to end on the real control plane: the agent's Job runner creates the Job through
// the API server, the Job controller creates the pods, the scheduler binds them to kwok's nodes, the pods run and
// succeed, the runner reads each pod's log through the API server's pods/log (served by kwok's "kubelet" from the
// file the pod's log lives in) and merges the workers' histograms.
//
// The one stand-in is the container runtime: nothing here runs containers, so the test plays it. For each of the
// Job's pods it runs the pod's own container args (the agent's image has the modeldeck CLI as its entrypoint; here
// `modeldeck agent …` is `node source/agent/run.ts …` from this checkout) on the host against a real model server,
// writes the output in the CRI log format to a file, points kwok at it with a kwok.x-k8s.io Logs object, and only
// then tells kwok how the container exited (the harness's exit-code annotation), which ends the pod.
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {BatchV1Api, CoreV1Api} from '@kubernetes/client-node';
import type {KubeConfig} from '@kubernetes/client-node';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startCluster} from '../../harness/cluster.ts';
import type {Cluster} from '../../harness/cluster.ts';
import {loadTestLabel, parseWorkerOutput, toLoadTestResult} from '../../source/agent/actions/load-job.ts';
import type {WorkerResult} from '../../source/agent/actions/load-job.ts';
import {KubeLoadJobRunner} from '../../source/agent/actions/load-job-runner.ts';
import {prepareTargets} from '../../source/agent/actions/load-test.ts';
import {KubeAccessReviewer} from '../../source/agent/auth/kube-reviewer.ts';
import {KubeAgentClient, loadKubeConfig} from '../../source/agent/kube.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import type {ActionProgress} from '../../source/domain/types.ts';
import {startModelServer} from '../../source/model-server/main.ts';
import type {RunningModelServer} from '../../source/model-server/main.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {deployment, httpRoute, service} from '../fixtures/kube/manifests.ts';
import {eventually} from './agent-support.ts';
import {JobPodRuntime} from './job-pod-runtime.ts';

const namespace = 'team-a';

let cluster: Cluster | undefined;
let server: RunningModelServer | undefined;
let runtime: JobPodRuntime | undefined;
let logDir: string | undefined;

beforeAll(async () => {
	cluster = await startCluster();
	server = await startModelServer({model: 'fraud', modelVersion: 'v1', host: '127.0.0.1', port: 0});
	logDir = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-pod-logs-'));
});

afterAll(async () => {
	await runtime?.stop();
	await server?.close();
	await cluster?.stop();
	if (logDir) rmSync(logDir, {recursive: true, force: true});
});

/** An agent as admin whose load tests above 10 rps per version run as Jobs of workers in `namespace`. */
async function startJobAgent(
	config: KubeConfig,
	options: {jobStartDelaySeconds: number; dbPath?: string; pollMs?: number},
): Promise<RunningAgent> {
	return startAgent({
		reviewer: new KubeAccessReviewer(config),
		cluster: await createKubeCluster({kubeconfigPath: cluster!.kubeconfig, context: 'admin', namespace: 'all'}),
		events: new KubeAgentClient(config),
		resolveEndpoint: () => server!.url,
		...(options.dbPath ? {dbPath: options.dbPath} : {}),
		maxLocalRps: 10,
		jobRunner: new KubeLoadJobRunner(config, {
			namespace,
			image: 'registry.example/modeldeck:test',
			serviceAccountName: 'modeldeck-loadtest',
			...(options.pollMs ? {pollMs: options.pollMs} : {}),
		}),
		jobStartDelaySeconds: options.jobStartDelaySeconds,
	});
}

/** The model server's count of answered inference requests with this HTTP code. */
async function servedRequests(url: string, code: string): Promise<number> {
	const text = await (await fetch(`${url}/metrics`)).text();
	const line = text
		.split('\n')
		.find((candidate) => candidate.startsWith('modeldeck_inference_requests_total{') && candidate.includes(`code="${code}"`));
	if (!line) throw new Error(`no modeldeck_inference_requests_total{code="${code}"} in the model server's metrics`);
	return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('a load test run as a Kubernetes Job of workers', () => {
	it('creates the Job through the API server, runs its pods, reads their logs through the API server and merges them', async () => {
		const config = loadKubeConfig({kubeconfig: cluster!.kubeconfig, context: 'admin'});
		// What the agent builds with --loadtest-image; a shorter poll than the agent's 1 s keeps the test short.
		const runner = new KubeLoadJobRunner(config, {namespace, image: 'registry.example/modeldeck:test', pollMs: 250});
		const target = {namespace, name: 'fraud', version: 'v1'};
		const prepared = await prepareTargets([target], {resolveEndpoint: () => server!.url});
		if (typeof prepared === 'string') throw new Error(prepared);

		runtime = new JobPodRuntime(config, {namespace, logDir: logDir!});
		await runtime.start(`app.kubernetes.io/managed-by=modeldeck-agent,${loadTestLabel}`);
		const plan = {rps: 20, workers: 2, durationSeconds: 2, warmupSeconds: 0.5, startAt: Date.now() + 10_000};
		const messages: string[] = [];
		const run = await runner.run(prepared[0]!, plan, (message) => messages.push(message));
		await runtime.stop();
		expect(runtime.failures).toEqual([]);

		// The Job, as the agent created it, and the Job controller's view of it.
		const created = /^created Job team-a\/(\S+) with 2 workers$/.exec(messages[0] ?? '');
		expect(created, messages.join('\n')).not.toBeNull();
		const jobName = created![1]!;
		const batch = config.makeApiClient(BatchV1Api);
		const job = await eventually('the Job to be marked Complete', 20_000, async () => {
			const current = await batch.readNamespacedJob({name: jobName, namespace});
			return current.status?.conditions?.some((condition) => condition.type === 'Complete' && condition.status === 'True') && current;
		});
		expect(job.spec).toMatchObject({parallelism: 2, completions: 2, completionMode: 'Indexed'});
		expect(job.status).toMatchObject({succeeded: 2});
		expect(job.status?.failed ?? 0).toBe(0);

		// Its two pods ran the Job's own container args, once each, one per completion index, and exited 0.
		const pods = await config.makeApiClient(CoreV1Api).listNamespacedPod({namespace, labelSelector: `job-name=${jobName}`});
		expect(pods.items.map((pod) => pod.status?.phase)).toEqual(['Succeeded', 'Succeeded']);
		expect(runtime.ran.map((ran) => ran.pod).sort()).toEqual(pods.items.map((pod) => pod.metadata!.name!).sort());
		expect(runtime.ran.map((ran) => ran.completionIndex).sort()).toEqual(['0', '1']);
		const jobArgs = job.spec?.template.spec?.containers[0]?.args;
		expect(jobArgs).toEqual(
			expect.arrayContaining([
				'agent',
				'loadtest-worker',
				'--rps',
				'10',
				'--duration',
				'2',
				'--warmup',
				'0.5',
				'--start-at',
				new Date(plan.startAt).toISOString(),
			]),
		);
		for (const ran of runtime.ran) {
			expect(ran.args).toEqual(jobArgs);
			expect(ran.exitCode).toBe(0);
		}

		// The runner's progress: created, polled until both were done, merged.
		expect(messages.at(-1)).toBe('merged the results of 2 workers');
		const polls = messages.slice(1, -1);
		expect(polls.length).toBeGreaterThan(0);
		for (const poll of polls) expect(poll).toMatch(new RegExp(`^Job ${jobName}: \\d+ running, \\d+ done, 0 failed of 2$`));
		expect(polls.at(-1)).toMatch(/ 2 done, 0 failed of 2$/);

		// The merged run is the sum of what the workers printed.
		const workers = runtime.ran.map((ran) => parseWorkerOutput(ran.stdout));
		for (const worker of workers) expect(typeof worker).toBe('object');
		const results = workers as WorkerResult[];
		const summary = toLoadTestResult(target, run);
		expect(run.requests).toBe(results.reduce((sum, result) => sum + result.requests, 0));
		expect(run.histogram.totalCount).toBe(run.requests - run.errors);
		expect(summary.errors).toBe(0);
		// Each worker's schedule: 10 rps for 2 s after the warm-up.
		expect(results.map((result) => result.requests)).toEqual([20, 20]);
		expect(summary.requests).toBe(40);
		expect(summary.p50Ms).toBeGreaterThan(0);
		expect(summary.p50Ms).toBeLessThanOrEqual(summary.p95Ms);
		expect(summary.p95Ms).toBeLessThanOrEqual(summary.p99Ms);
		expect(summary.p99Ms).toBeLessThanOrEqual(summary.maxMs);

		// The model server answered exactly those, plus the warm-up's, which are sent but not counted: 0.5 s at 10 rps
		// is 5 requests per worker.
		const warmupRequests = plan.workers * Math.ceil(plan.warmupSeconds * (plan.rps / plan.workers));
		expect(await servedRequests(server!.url, '200')).toBe(summary.requests + warmupRequests);
		expect(await servedRequests(server!.url, '500')).toBe(0);
	});

	it('runs a load test above the local limit as a Job when asked through POST /v1/actions, with a shared start and progress every second', async () => {
		const config = loadKubeConfig({kubeconfig: cluster!.kubeconfig, context: 'admin'});
		const api = new TestApi(cluster!.kubeconfig);
		await api.createAll([
			deployment({namespace, model: 'fraud', version: 'v1'}),
			service(namespace, 'fraud-v1', 'fraud', 'v1'),
			httpRoute(namespace, 'fraud', 'fraud', [{service: 'fraud-v1', weight: 100}]),
		]);
		await config
			.makeApiClient(CoreV1Api)
			.createNamespacedServiceAccount({namespace, body: {metadata: {name: 'modeldeck-loadtest', namespace}}});
		await api.waitForRollouts(namespace);
		const before = await servedRequests(server!.url, '200');

		let agent: RunningAgent | undefined;
		runtime = new JobPodRuntime(config, {namespace, logDir: logDir!});
		await runtime.start(`app.kubernetes.io/managed-by=modeldeck-agent,${loadTestLabel}`);
		try {
			// 20 rps is above this agent's local limit of 10: two workers of 10 rps each.
			agent = await startJobAgent(config, {jobStartDelaySeconds: 15});
			await eventually('the agent to see the model', 20_000, () => agent!.core.findModel({namespace, name: 'fraud'}));
			const response = await fetch(`${agent.url}/v1/actions`, {
				method: 'POST',
				headers: {authorization: `Bearer ${cluster!.tokens.operator}`, 'content-type': 'application/json'},
				body: JSON.stringify({
					kind: 'load-test',
					targets: [{namespace, name: 'fraud', version: 'v1'}],
					rps: 20,
					durationSeconds: 2,
					warmupSeconds: 0.5,
				}),
			});
			const lines = (await response.text())
				.trim()
				.split('\n')
				.map((line) => JSON.parse(line) as ActionProgress);
			expect(response.status, JSON.stringify(lines)).toBe(200);
			await runtime.stop();
			expect(runtime.failures).toEqual([]);
			expect(lines.at(-1), JSON.stringify(lines)).toMatchObject({
				kind: 'done',
				message: expect.stringMatching(/^load test finished: v1: /),
			});

			// The plan: two workers, one start time for both, announced before they run.
			const messages = lines.flatMap((line) => (line.kind === 'progress' ? [line.message] : []));
			const plan = messages
				.map((message) => /^running as a Kubernetes Job: 2 workers per version at 10\.0 rps each, all starting at (\S+)$/.exec(message))
				.find(Boolean);
			expect(plan, messages.join('\n')).toBeTruthy();
			const startAt = plan![1]!;

			// The Job carries that start time and the workers' service account; both pods ran its args.
			const jobs = await config.makeApiClient(BatchV1Api).listNamespacedJob({namespace, labelSelector: loadTestLabel});
			const job = jobs.items.find((candidate) => candidate.spec?.template.spec?.serviceAccountName === 'modeldeck-loadtest');
			expect(job, 'the Job with the service account').toBeDefined();
			const args = job!.spec!.template.spec!.containers[0]!.args!;
			expect(args.slice(args.indexOf('--start-at'), args.indexOf('--start-at') + 2)).toEqual(['--start-at', startAt]);
			const ran = runtime.ran.filter((container) => container.args.includes(startAt));
			expect(ran).toHaveLength(2);

			// Their measured windows are the same interval: the shared start, after the warm-up, for the duration.
			const results = ran.map((container) => parseWorkerOutput(container.stdout) as WorkerResult);
			for (const result of results) {
				expect(result.windowStart! - (Date.parse(startAt) + 500)).toBeLessThan(50);
				expect(result.windowStart! - (Date.parse(startAt) + 500)).toBeGreaterThan(-50);
				expect(result.windowEnd! - result.windowStart!).toBe(2000);
			}

			// Progress came from a ticker while the Job ran: the wait for the start, the run, and the Job's status.
			expect(messages.some((message) => /^workers start in \d+ s · v1: /.test(message))).toBe(true);
			expect(
				messages.some((message) =>
					/^\d\/3 s( \(warm-up\))? at 20 rps · v1: Job modeldeck-loadtest-fraud-\S+: \d running, \d done, 0 failed of 2$/.test(message),
				),
			).toBe(true);

			// The merged result: both workers' requests, at the rate of both together over the shared window.
			const result = lines.find((line) => line.kind === 'load-result');
			expect(result).toBeDefined();
			const [merged] = (result as Extract<ActionProgress, {kind: 'load-result'}>).results;
			expect(merged).toMatchObject({target: {namespace, name: 'fraud', version: 'v1'}, requests: 40, errors: 0});
			expect(merged!.achievedRps).toBeGreaterThan(18);
			expect(merged!.achievedRps).toBeLessThan(22);
			const warmupRequests = 2 * Math.ceil(0.5 * 10);
			expect((await servedRequests(server!.url, '200')) - before).toBe(40 + warmupRequests);

			const audit = await eventually('the load test in the audit trail', 10_000, () =>
				agent!.core.store.audit(5, namespace).find((entry) => entry.action.startsWith('load-test 20 rps')),
			);
			expect(audit).toMatchObject({user: 'operator', result: 'ok'});
		} finally {
			await runtime.stop();
			await agent?.close();
		}
	});

	it('stopping the agent during a load test run as a Job deletes the Job and audits the test as cancelled', async () => {
		const config = loadKubeConfig({kubeconfig: cluster!.kubeconfig, context: 'admin'});
		const batch = config.makeApiClient(BatchV1Api);
		const database = path.join(logDir!, 'stop-agent.db');
		let agent: RunningAgent | undefined;
		let closed = false;
		try {
			// Nothing runs the pods here: the workers would wait a minute, and the agent is stopped before.
			agent = await startJobAgent(config, {jobStartDelaySeconds: 60, dbPath: database, pollMs: 200});
			await eventually('the agent to see the model', 20_000, () => agent!.core.findModel({namespace, name: 'fraud'}));
			const response = fetch(`${agent.url}/v1/actions`, {
				method: 'POST',
				headers: {authorization: `Bearer ${cluster!.tokens.operator}`, 'content-type': 'application/json'},
				body: JSON.stringify({
					kind: 'load-test',
					targets: [{namespace, name: 'fraud', version: 'v1'}],
					rps: 30,
					durationSeconds: 30,
					warmupSeconds: 1,
				}),
			})
				.then((answer) => answer.text())
				.catch(() => 'cut');
			const jobs = async () =>
				(await batch.listNamespacedJob({namespace, labelSelector: loadTestLabel})).items.filter((job) => job.spec?.parallelism === 3);
			const [job] = await eventually('the Job of 3 workers', 20_000, async () => {
				const found = await jobs();
				return found.length > 0 && found;
			});

			// What SIGTERM does in the pod: the agent closes, and the Job it started is deleted before it exits.
			await agent.close();
			closed = true;
			await response;
			const current = await batch
				.readNamespacedJob({name: job!.metadata!.name!, namespace})
				.catch((error: {code?: number}) => (error.code === 404 ? undefined : Promise.reject(error)));
			expect(
				current === undefined || Boolean(current.metadata?.deletionTimestamp),
				`Job ${job!.metadata!.name} still there, not being deleted`,
			).toBe(true);

			// The audit, read from the agent's store after it stopped: the test, by the operator, failed as cancelled.
			const {AgentStore} = await import('../../source/agent/store/sqlite-store.ts');
			const store = new AgentStore({path: database});
			try {
				expect(store.audit(5, namespace).find((entry) => entry.action.startsWith('load-test 30 rps'))).toMatchObject({
					user: 'operator',
					result: 'failed',
					message: expect.stringMatching(/cancel/),
				});
			} finally {
				store.close();
			}
		} finally {
			if (!closed) await agent?.close();
		}
	});
});
