/**
 * Watches recover after the API server is stopped and started again. The harness has no restart hook, so this test
 * stops the kube-apiserver it started (by PID) and starts the same binary with the same arguments, then stops that
 * process by PID at the end; etcd keeps the state in between.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {closeSync, openSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {createKubeCluster} from '../../source/adapters/kube/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {type Recorder, record, weightsOf} from '../fixtures/kube/watch-helpers.ts';

let cluster: Cluster;
let api: TestApi;
let recorder: Recorder | undefined;
let restarted: ChildProcess | undefined;

function alive(pid: number): boolean {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
	} catch {
		return false;
	}
}

async function stopPid(pid: number): Promise<void> {
	try {
		process.kill(pid, 'SIGTERM');
	} catch {
		return;
	}

	const deadline = Date.now() + 10_000;
	while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
	if (alive(pid)) process.kill(pid, 'SIGKILL');
	while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	const scenario = fraudScenario('team-a');
	await api.createAll(scenario.objects);
	await api.waitForRollouts('team-a');
});

afterAll(async () => {
	recorder?.stop();
	if (restarted?.pid) await stopPid(restarted.pid);
	await cluster?.stop();
});

it('watches report the outage, keep the last models, and pick up changes once the API server is back', async () => {
	const port = await createKubeCluster({kubeconfigPath: cluster.kubeconfig, backoff: {initialMs: 200, maxMs: 2000, absentRecheckMs: 5000}});
	recorder = record(port, 'team-a');
	await recorder.until('the fraud model', (models) => weightsOf(models, 'team-a', 'fraud')?.v2 === 'canary 20');

	const apiserver = cluster.processes.find((process) => process.name === 'kube-apiserver')!;
	const argv = readFileSync(`/proc/${apiserver.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
	await stopPid(apiserver.pid);

	const unreachable = new RegExp(
		`^cannot reach the API server at ${cluster.server}: (connection refused \\(ECONNREFUSED\\)|connection reset \\(ECONNRESET\\)|connection closed \\(UND_ERR_SOCKET\\)).* — retrying$`,
	);
	const outage = await recorder.untilError('the outage to be reported', (error) => unreachable.test(error.message));
	expect(outage.source).toBe('cluster');
	// The last models stay for the screen to show as stale.
	expect(weightsOf(recorder.models!, 'team-a', 'fraud')).toEqual({v1: 'stable 80', v2: 'canary 20'});
	// Ten kinds failing for one reason say it once.
	expect(recorder.errors.filter((error) => error.message === outage.message)).toHaveLength(1);

	const log = openSync(path.join(cluster.dir, 'logs', 'kube-apiserver-restarted.log'), 'a');
	restarted = spawn(argv[0]!, argv.slice(1), {cwd: cluster.dir, stdio: ['ignore', log, log]});
	closeSync(log);
	const changesBefore = recorder.changes;
	await api.waitFor(
		'the API server to serve HTTPRoutes again',
		async () => Boolean(await api.http.get('/apis/gateway.networking.k8s.io/v1/namespaces/team-a/httproutes')),
		120_000,
	);
	// Recovered: a fresh list arrives even though nothing changed, so the screen can drop its stale mark.
	await api.waitFor('a fresh list after recovery', async () => recorder!.changes > changesBefore, 60_000);

	await api.patch(
		'HTTPRoute',
		'team-a',
		'fraud',
		[
			{op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 55},
			{op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 45},
		],
		'json',
	);
	const models = await recorder.until(
		'the change made after the restart',
		(list) => weightsOf(list, 'team-a', 'fraud')?.v2 === 'canary 45',
		60_000,
	);
	expect(weightsOf(models, 'team-a', 'fraud')).toEqual({v1: 'stable 55', v2: 'canary 45'});
});
