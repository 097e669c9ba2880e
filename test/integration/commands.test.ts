/** `modeldeck status|weight|promote|rollback` against the local control plane: output, changes read back, exit codes. */
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type Cluster, startCluster} from '../../harness/cluster.ts';
import {runCommand} from '../../source/commands/index.ts';
import {TestApi} from '../fixtures/kube/api.ts';
import {fraudScenario} from '../fixtures/kube/scenarios.ts';
import {PtyTerminal} from '../support/terminal.ts';

let cluster: Cluster;
let api: TestApi;

async function run(name: 'status' | 'weight' | 'promote' | 'rollback', argv: string[]) {
	const out = {stdout: '', stderr: ''};
	const stdin = new PassThrough();
	stdin.end();
	const code = await runCommand(name, [...argv, '--kubeconfig', cluster.kubeconfig], {
		stdin,
		stdout: {write: (chunk: string) => (out.stdout += chunk)},
		stderr: {write: (chunk: string) => (out.stderr += chunk)},
	});
	return {code, ...out};
}

async function weights(namespace: string): Promise<number[]> {
	const route = await api.get('HTTPRoute', namespace, 'fraud');
	return route.spec.rules[0].backendRefs.map((backend: {weight: number}) => backend.weight);
}

beforeAll(async () => {
	cluster = await startCluster();
	api = new TestApi(cluster.kubeconfig);
	for (const namespace of ['team-a', 'team-b']) await api.createAll(fraudScenario(namespace).objects);
	await api.waitForRollouts('team-a');
	await api.waitForRollouts('team-b');
});

afterAll(async () => {
	await cluster?.stop();
});

describe('modeldeck status', () => {
	it('--json -A: the modeldeck.status/v1 document of every namespace', async () => {
		const result = await run('status', ['--json', '-A']);
		expect(result.stderr).toBe('');
		expect(result.code).toBe(0);
		const document = JSON.parse(result.stdout);
		expect(document.schema).toBe('modeldeck.status/v1');
		expect(document.context).toBe('admin');
		expect(Number.isNaN(Date.parse(document.generatedAt))).toBe(false);
		// No --prometheus, none in settings and none in the cluster: the document says there is no metrics source.
		expect(document.metricsSource).toBeNull();
		expect(document.models).toEqual([
			{
				name: 'fraud',
				namespace: 'team-a',
				router: 'httproute',
				discoveredBy: 'labels modeldeck.dev/model',
				versions: [
					{
						name: 'v1',
						track: 'stable',
						weight: 80,
						ready: 2,
						desired: 2,
						restarts: 0,
						image: 'registry.example/fraud:v1',
						metrics: null,
						flags: [],
					},
					{
						name: 'v2',
						track: 'canary',
						weight: 20,
						ready: 1,
						desired: 1,
						restarts: 0,
						image: 'registry.example/fraud:v2',
						metrics: null,
						flags: [],
					},
				],
				verdict: null,
			},
			expect.objectContaining({name: 'fraud', namespace: 'team-b'}),
		]);
	});

	it("a context's namespace by default; the table form", async () => {
		const result = await run('status', ['--context', 'viewer']);
		expect(result.code).toBe(0);
		const lines = result.stdout.split('\n');
		expect(lines[0]).toMatch(/^context viewer · \d{4}-/);
		expect(lines.slice(1, 4)).toEqual([
			'NAMESPACE  MODEL  ROUTER     VERSION  TRACK   WEIGHT  READY  RESTARTS  FLAGS',
			'team-a     fraud  httproute  v1       stable  80%     2/2    0         ok',
			'team-a     fraud  httproute  v2       canary  20%     1/1    0         ok',
		]);
		expect(result.stdout).not.toContain('team-b');
	});

	it('an unknown model, and an unreachable cluster, exit 1 with the reason', async () => {
		const unknown = await run('status', ['ghost', '-n', 'team-a']);
		expect(unknown).toMatchObject({
			code: 1,
			stdout: '',
			stderr: 'modeldeck status: no model ghost in namespace team-a (models: team-a/fraud)\n',
		});
		const file = `${cluster.kubeconfig}.unreachable`;
		writeFileSync(
			file,
			'apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: u}\ncurrent-context: gone\n',
		);
		const out = {stdout: '', stderr: ''};
		const stdin = new PassThrough();
		const code = await runCommand('status', ['--kubeconfig', file], {
			stdin,
			stdout: {write: (chunk: string) => (out.stdout += chunk)},
			stderr: {write: (chunk: string) => (out.stderr += chunk)},
		});
		expect(code).toBe(1);
		expect(out.stderr).toBe(
			'modeldeck status: cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED); is the cluster running and is this the right context?\n',
		);
	});
});

describe('modeldeck weight, promote, rollback', () => {
	it('without a terminal or --yes, or read-only: refused, nothing changed', async () => {
		const noTerminal = await run('weight', ['fraud', '40', '-n', 'team-a']);
		expect(noTerminal.code).toBe(1);
		expect(noTerminal.stderr).toBe(
			'modeldeck weight: refused: no terminal to confirm on (fraud: v1 80% → 60%, v2 20% → 40%); pass --yes to apply without confirmation\n',
		);
		const readOnly = await run('weight', ['fraud', '40', '-n', 'team-a', '--yes', '--read-only']);
		expect(readOnly).toMatchObject({code: 1, stderr: 'modeldeck weight: refused: read-only (--read-only); weight changes the cluster\n'});
		expect(await weights('team-a')).toEqual([80, 20]);
	});

	it('the operator shifts a weight in team-a; the viewer and the operator in team-b are refused', async () => {
		const operator = await run('weight', ['fraud', '30', '--context', 'operator', '--yes']);
		expect(operator).toMatchObject({code: 0, stderr: '', stdout: 'fraud: v1 80% → 70%, v2 20% → 30% — done\n'});
		expect(await weights('team-a')).toEqual([70, 30]);

		const viewer = await run('weight', ['fraud', '50', '--context', 'viewer', '--yes']);
		expect(viewer.code).toBe(1);
		expect(viewer.stderr).toBe(
			'modeldeck weight: forbidden: user viewer cannot patch httproutes in namespace team-a (ask a cluster admin for a Role granting patch on httproutes in team-a)\n',
		);
		const outside = await run('promote', ['team-b/fraud', '--context', 'operator', '--yes']);
		expect(outside.code).toBe(1);
		expect(outside.stderr).toMatch(/^modeldeck promote: forbidden: user operator cannot patch httproutes in namespace team-b/);
		expect(await weights('team-a')).toEqual([70, 30]);
		expect(await weights('team-b')).toEqual([80, 20]);
	});

	it('promote and rollback with --yes, read back', async () => {
		const promote = await run('promote', ['fraud', '-n', 'team-b', '-y']);
		expect(promote).toMatchObject({code: 0, stdout: 'fraud: v1 80% → 0%, v2 20% → 100% — done\n'});
		expect(await weights('team-b')).toEqual([0, 100]);
		expect((await api.get('Deployment', 'team-b', 'fraud-v1')).spec.replicas).toBe(0);

		const rollback = await run('rollback', ['team-a/fraud', '--context', 'operator', '--yes']);
		expect(rollback.code).toBe(0);
		expect(rollback.stdout).toBe('fraud: v1 70% → 100%, v2 30% → 0% — done\n');
		expect(await weights('team-a')).toEqual([100, 0]);
	});

	it('a change the API server never answers gives up at --timeout, says it may have been applied, and exits', async () => {
		// A TCP proxy in front of the API server that forwards until it is frozen; frozen, it accepts connections and
		// forwards nothing: the server of issue 14's probe, which accepts and never answers.
		let frozen = false;
		const sockets: net.Socket[] = [];
		const proxy = net.createServer((client) => {
			sockets.push(client);
			client.on('error', () => undefined);
			if (frozen) return;
			const upstream = net.connect(Number(new URL(cluster.server).port), '127.0.0.1');
			sockets.push(upstream);
			upstream.on('error', () => client.destroy());
			client.on('data', (chunk) => frozen || upstream.write(chunk));
			upstream.on('data', (chunk) => frozen || client.write(chunk));
			client.on('close', () => upstream.destroy());
			upstream.on('close', () => client.destroy());
		});
		await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		const kubeconfig = `${cluster.kubeconfig}.proxied`;
		writeFileSync(
			kubeconfig,
			readFileSync(cluster.kubeconfig, 'utf8').replaceAll(cluster.server, `https://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`),
		);
		const before = await weights('team-a');
		const terminal = PtyTerminal.spawn(
			process.execPath,
			[
				path.resolve('dist/cli.js'),
				'weight',
				'fraud',
				String(before[1] === 35 ? 36 : 35),
				'-n',
				'team-a',
				'--timeout',
				'3',
				'--kubeconfig',
				kubeconfig,
			],
			{env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'modeldeck-freeze-'))}},
		);
		try {
			await terminal.waitFor('Apply? [y/N]', 30_000);
			frozen = true;
			terminal.write('y\r');
			// The confirmation's time does not count: the change gets the whole 3 s, then the process ends.
			const exited = await Promise.race([terminal.exited, new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 15_000))]);
			expect(exited).toBe(1);
			expect(terminal.screen().replaceAll('\n', '')).toContain(
				'no answer from admin to the change within 3 s; it may or may not have been applied: check with modeldeck status team-a/fraud',
			);
		} finally {
			terminal.kill();
			for (const socket of sockets) socket.destroy();
			proxy.close();
		}
	});

	it('usage errors exit 2', async () => {
		const result = await run('weight', ['fraud', '-n', 'team-a']);
		expect(result.code).toBe(2);
		expect(result.stderr).toMatch(
			/^modeldeck weight: give the canary weight: a whole number from 0 to 100\n\nUsage: modeldeck weight MODEL PERCENT/,
		);
		const negative = await run('weight', ['fraud', '-5', '-n', 'team-a', '--yes']);
		expect(negative.code).toBe(2);
		expect(negative.stderr).toMatch(/^modeldeck weight: "-5" is not a weight: type a whole number from 0 to 100\n/);
		expect(await weights('team-a')).toEqual([100, 0]);
	});

	it('a --context the kubeconfig does not have exits 2 listing its contexts (it exited 1)', async () => {
		const result = await run('weight', ['fraud', '40', '-n', 'team-a', '--yes', '--context', 'nope']);
		expect(result).toMatchObject({
			code: 2,
			stderr:
				'modeldeck weight: context nope is not in the kubeconfig (contexts: admin, viewer, operator); pick one of them with --context NAME\n',
		});
	});

	it('settings with a top-level readOnly: the built CLI refuses weight --yes and the route is unchanged (it changed)', async () => {
		const configDirectory = mkdtempSync(path.join(tmpdir(), 'modeldeck-readonly-'));
		writeFileSync(path.join(configDirectory, 'config.json'), '{"readOnly": true}');
		const before = await weights('team-a');
		const result = spawnSync(
			process.execPath,
			[path.resolve('dist/cli.js'), 'weight', 'fraud', '40', '-n', 'team-a', '--yes', '--kubeconfig', cluster.kubeconfig],
			{
				env: {...process.env, MODELDECK_CONFIG_DIR: configDirectory},
				encoding: 'utf8',
				timeout: 60_000,
			},
		);
		expect(result.status).toBe(1);
		expect(result.stderr).toBe(
			`modeldeck weight: refused: read-only (readOnly in ${path.join(configDirectory, 'config.json')}); weight changes the cluster\n`,
		);
		expect(await weights('team-a')).toEqual(before);
	});
});
