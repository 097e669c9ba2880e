/**
 * Soak: the console's real sources and store against the local control plane (harness), a real Prometheus and the
 * agent for N minutes (default 30, `--minutes N`), with faults injected on a schedule through TCP proxies
 * (test/support/fault-proxy.ts), while predictions are posted to the agent. Reports:
 *
 * - crashes: the console or the agent process exiting before the end (expected 0);
 * - lost acknowledged predictions: posted and answered 200 by the agent, but neither delivered to the console's stream
 *   nor counted in a gap it was told of, and (checked for each) not found by the agent's lookup (expected 0);
 * - false ok / false stale seconds per source: the header said ok while its proxy held or refused everything (after
 *   refresh + timeout + grace), or stale/down while its proxy passed (after two refreshes + grace);
 * - RSS at start and end of each process (console, agent, Prometheus, etcd, kube-apiserver).
 *
 * Not part of `npm test`: `npm run soak -- --minutes 5`. The console runs in a child process of its own (this file
 * with `--role console`), so that its RSS is its own and a crash is seen as one.
 */
import {type ChildProcess, fork, spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {cpus, tmpdir, totalmem} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REFRESH_MS = 2000;
/** The sources' default request timeouts: Kubernetes heartbeat 5 s, Prometheus 10 s, agent dead after 10 s. */
const STALE_BOUND_MS: Record<SourceName, number> = {cluster: REFRESH_MS + 5000, metrics: REFRESH_MS + 10_000, agent: REFRESH_MS + 10_000};
const RECOVER_BOUND_MS = 2 * REFRESH_MS;
/** Allowance on top of each bound for a loaded 2-core machine. */
const GRACE_MS = 5000;
const SOURCES = ['cluster', 'metrics', 'agent'] as const;
type SourceName = (typeof SOURCES)[number];
type FaultMode = 'pass' | 'refuse' | 'freeze' | 'slow' | 'reset';

interface HealthSample {
	at: number;
	status: Record<SourceName, string>;
}

interface ConsoleReport {
	type: 'health' | 'received' | 'ready';
	health?: HealthSample;
	received?: string[];
	gapped?: number;
}

function argument(name: string, fallback: string): string {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

function rssMb(pid: number | undefined): number | undefined {
	if (!pid) return undefined;
	try {
		const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Math.round(Number(match[1]) / 102.4) / 10 : undefined;
	} catch {
		return undefined;
	}
}

// ---- the console, in its own process ---------------------------------------------------------------------------

async function runConsole(): Promise<void> {
	const {Store} = await import('../source/console/store.ts');
	const {Controller} = await import('../source/console/controller.ts');
	const {initialState} = await import('../source/state/state.ts');
	const {buildKeymap} = await import('../source/keymap/registry.ts');
	const {createKubeCluster} = await import('../source/adapters/kube/index.ts');
	const {createPrometheusMetrics} = await import('../source/adapters/prometheus/index.ts');
	const {createAgentClient} = await import('../source/adapters/agent-client.ts');
	const setup = JSON.parse(argument('setup', '{}')) as {kubeconfig: string; prometheus: string; agent: string};
	const cluster = await createKubeCluster({kubeconfigPath: setup.kubeconfig, namespace: 'team-a'});
	const metrics = createPrometheusMetrics({url: setup.prometheus});
	const agent = createAgentClient({url: setup.agent});
	// The stream's predictions, counted here too (the controller keeps only the last few hundred for the log).
	const received: string[] = [];
	let gapped = 0;
	const counted = {
		...agent,
		label: agent.label,
		predictions: (
			filter: Parameters<typeof agent.predictions>[0],
			fromSeq: number | undefined,
			onEvent: Parameters<typeof agent.predictions>[2],
		) =>
			agent.predictions(filter, fromSeq, (event) => {
				if (event.type === 'prediction') received.push(event.prediction.requestId);
				if (event.type === 'gap') gapped += event.dropped;
				onEvent(event);
			}),
		act: agent.act.bind(agent),
		lookup: agent.lookup.bind(agent),
		audit: agent.audit.bind(agent),
	};
	const store = new Store(
		initialState({
			demo: false,
			readOnly: true,
			context: cluster.currentContext(),
			namespace: 'team-a',
			weightStep: 10,
			refreshSeconds: REFRESH_MS / 1000,
			now: Date.now(),
		}),
	);
	const controller = new Controller({store, sources: {cluster, metrics, agent: counted, demo: false}, keymap: buildKeymap()});
	controller.start();
	process.send!({type: 'ready'} satisfies ConsoleReport);
	setInterval(() => {
		const {health} = store.getState();
		process.send!({
			type: 'health',
			health: {at: Date.now(), status: {cluster: health.cluster.status, metrics: health.metrics.status, agent: health.agent.status}},
		} satisfies ConsoleReport);
	}, 250);
	setInterval(() => {
		process.send!({type: 'received', received: received.splice(0), gapped} satisfies ConsoleReport);
	}, 1000);
	process.on('message', (message) => {
		if (message === 'stop') {
			controller.stop();
			process.send!({type: 'received', received: received.splice(0), gapped} satisfies ConsoleReport, () => process.exit(0));
		}
	});
}

// ---- the soak --------------------------------------------------------------------------------------------------

interface Step {
	/** Seconds from the start of the cycle. */
	at: number;
	source: SourceName | 'all';
	mode: FaultMode;
}

/**
 * One 60-second cycle: a fault on all sources at once, then on each alone; each held 30 s (longer than the slowest
 * source's stale bound plus the grace, so that a false ok can be seen), then passing again for 30 s.
 */
function cycle(index: number): Step[] {
	const modes: FaultMode[] = ['refuse', 'freeze', 'reset', 'slow'];
	const mode = modes[index % modes.length]!;
	const source = (['all', 'cluster', 'metrics', 'agent'] as const)[Math.floor(index / modes.length) % 4]!;
	return [
		{at: 15, source, mode},
		{at: 45, source, mode: 'pass'},
	];
}

async function runSoak(): Promise<void> {
	const minutes = Number(argument('minutes', '30'));
	if (!(minutes > 0)) throw new Error('--minutes must be a positive number, e.g. --minutes 5');
	const rate = Number(argument('rate', '50'));
	const {startCluster} = await import('../harness/cluster.ts');
	const {startPrometheus} = await import('../harness/prometheus.ts');
	const {startFaultProxy} = await import('../test/support/fault-proxy.ts');
	const {TestApi} = await import('../test/fixtures/kube/api.ts');
	const {fraudScenario} = await import('../test/fixtures/kube/scenarios.ts');
	const directory = mkdtempSync(path.join(tmpdir(), 'soak-'));
	const log = (line: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

	log('starting the control plane, Prometheus and the agent');
	const cluster = await startCluster();
	const api = new TestApi(cluster.kubeconfig);
	await api.createAll(fraudScenario('team-a').objects);
	await api.waitForRollouts('team-a');
	const agentPort = await freePort();
	const agent = spawn(
		process.execPath,
		[
			path.join(repoRoot, 'source/agent/run.ts'),
			'--listen',
			`127.0.0.1:${agentPort}`,
			'--db',
			path.join(directory, 'agent.db'),
			'--no-auth',
		],
		{
			cwd: repoRoot,
			stdio: ['ignore', 'ignore', 'pipe'],
		},
	);
	let agentOutput = '';
	agent.stderr!.on('data', (chunk: Buffer) => (agentOutput = (agentOutput + chunk.toString()).slice(-4000)));
	const agentUrl = `http://127.0.0.1:${agentPort}`;
	await waitFor('the agent', async () => (await fetch(`${agentUrl}/healthz`).catch(() => undefined))?.ok === true);
	const prometheus = await startPrometheus({scrapeTargets: [{job: 'agent', targets: [`127.0.0.1:${agentPort}`]}]});

	const proxies = {
		cluster: await startFaultProxy({port: Number(new URL(cluster.server).port)}),
		metrics: await startFaultProxy({port: prometheus.port}),
		agent: await startFaultProxy({port: agentPort}),
	};
	const kubeconfig = path.join(directory, 'kubeconfig');
	writeFileSync(
		kubeconfig,
		readFileSync(cluster.kubeconfig, 'utf8').replaceAll(cluster.server, `https://127.0.0.1:${proxies.cluster.port}`),
	);

	const consoleProcess: ChildProcess = fork(
		fileURLToPath(import.meta.url),
		['--role', 'console', '--setup', JSON.stringify({kubeconfig, prometheus: proxies.metrics.url, agent: proxies.agent.url})],
		{
			cwd: repoRoot,
			// The V8 flags of the modeldeck bin (package.json "start"), so that its RSS compares with bench/console.ts.
			execArgv: ['--max-semi-space-size=4', '--max-old-space-size=192'],
			stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
		},
	);
	let consoleOutput = '';
	consoleProcess.stderr!.on('data', (chunk: Buffer) => (consoleOutput = (consoleOutput + chunk.toString()).slice(-4000)));
	const samples: HealthSample[] = [];
	const delivered = new Set<string>();
	let gapped = 0;
	consoleProcess.on('message', (message: ConsoleReport) => {
		if (message.type === 'health' && message.health) samples.push(message.health);
		if (message.type === 'received') {
			for (const id of message.received ?? []) delivered.add(id);
			gapped = message.gapped ?? gapped;
		}
	});
	const crashes: string[] = [];
	let stopping = false;
	consoleProcess.on('exit', (code, signal) => {
		if (!stopping) crashes.push(`console exited (${code ?? signal}): ${consoleOutput.slice(-500)}`);
	});
	agent.on('exit', (code, signal) => {
		if (!stopping) crashes.push(`agent exited (${code ?? signal}): ${agentOutput.slice(-500)}`);
	});
	await waitFor(
		'the console to see every source ok',
		async () => {
			const last = samples.at(-1);
			return last !== undefined && SOURCES.every((source) => last.status[source] === 'ok');
		},
		120_000,
	);

	const processes = () => ({
		console: consoleProcess.pid,
		agent: agent.pid,
		prometheus: prometheus.pid,
		...Object.fromEntries(
			cluster.processes
				.filter((record) => record.name === 'etcd' || record.name === 'kube-apiserver')
				.map((record) => [record.name, record.pid]),
		),
	});
	const rssStart = Object.fromEntries(Object.entries(processes()).map(([name, pid]) => [name, rssMb(pid)]));

	// Predictions, posted straight to the agent (the faults are between the console and its sources).
	const acknowledged: string[] = [];
	let postFailures = 0;
	let sequence = 0;
	const poster = setInterval(() => {
		const batch = Array.from({length: Math.max(1, Math.round(rate / 10))}, () => {
			const requestId = `soak-${sequence++}`;
			return {requestId, model: 'fraud', namespace: 'team-a', version: sequence % 5 === 0 ? 'v2' : 'v1', latencyMs: 5 + (sequence % 17)};
		});
		fetch(`${agentUrl}/v1/logs`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(batch)}).then(
			async (response) => {
				await response.arrayBuffer();
				if (response.status === 200) acknowledged.push(...batch.map((item) => item.requestId));
				else postFailures++;
			},
			() => postFailures++,
		);
	}, 100);

	// The schedule, and what each source's header should say at each moment.
	const started = Date.now();
	const end = started + minutes * 60_000;
	const timeline: Array<{at: number; source: SourceName; mode: FaultMode}> = SOURCES.map((source) => ({at: started, source, mode: 'pass'}));
	log(`soaking for ${minutes} min (faults every minute, ${rate} predictions/s)`);
	for (let index = 0; Date.now() < end; index++) {
		const cycleStart = started + index * 60_000;
		for (const step of cycle(index)) {
			const due = cycleStart + step.at * 1000;
			if (due >= end) break;
			await sleep(Math.max(0, due - Date.now()));
			const targets = step.source === 'all' ? SOURCES : [step.source];
			for (const source of targets) {
				await proxies[source].set(step.mode, step.mode === 'slow' ? {delayMs: 200} : {});
				timeline.push({at: Date.now(), source, mode: step.mode});
			}

			log(`${step.source}: ${step.mode}`);
		}

		await sleep(Math.max(0, Math.min(end, cycleStart + 60_000) - Date.now()));
	}

	clearInterval(poster);
	for (const source of SOURCES) {
		await proxies[source].set('pass');
		timeline.push({at: Date.now(), source, mode: 'pass'});
	}

	// Let the console catch up with everything posted before judging what it received.
	await sleep(15_000);
	const rssEnd = Object.fromEntries(Object.entries(processes()).map(([name, pid]) => [name, rssMb(pid)]));
	stopping = true;
	const finalReport = new Promise<void>((resolve) => consoleProcess.once('exit', () => resolve()));
	consoleProcess.send('stop');
	await Promise.race([finalReport, sleep(5000)]);

	// Lost: acknowledged, not delivered, not covered by a gap — and not in the agent's store either.
	const undelivered = acknowledged.filter((id) => !delivered.has(id));
	const notFound: string[] = [];
	for (const id of undelivered) {
		const response = await fetch(`${agentUrl}/v1/predictions?requestId=${encodeURIComponent(id)}`).catch(() => undefined);
		const found = response?.ok ? ((await response.json()) as unknown[]) : [];
		if (found.length === 0) notFound.push(id);
	}

	const lostToStream = Math.max(0, undelivered.length - gapped);
	const verdict = judge(samples, timeline, started, end);
	const report = {
		minutes,
		started: new Date(started).toISOString(),
		machine: `${cpus().length} vCPUs (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
		crashes: crashes.length,
		crashDetails: crashes,
		predictions: {
			acknowledged: acknowledged.length,
			delivered: delivered.size,
			gapped,
			undelivered: undelivered.length,
			lostToStream,
			lostFromAgent: notFound.length,
			postFailures,
		},
		falseSeconds: verdict,
		faultSwitches: timeline.filter((entry) => entry.at > started).length,
		rssMb: Object.fromEntries(Object.keys(rssStart).map((name) => [name, {start: rssStart[name], end: rssEnd[name]}])),
	};
	process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

	agent.kill('SIGTERM');
	for (const proxy of Object.values(proxies)) await proxy.close();
	await prometheus.stop();
	await cluster.stop();
	rmSync(directory, {recursive: true, force: true});
	process.exit(crashes.length === 0 && notFound.length === 0 ? 0 : 1);
}

/**
 * Seconds the header was wrong, per source: ok while its proxy held or refused everything (counted from the fault +
 * the stale bound + grace), stale or down while it passed (counted from the restore + two refreshes + grace). Slow
 * and reset are neither: a slow source may be either, a reset one reconnects.
 */
function judge(samples: HealthSample[], timeline: Array<{at: number; source: SourceName; mode: FaultMode}>, from: number, to: number) {
	const result = {} as Record<SourceName, {falseOk: number; falseStale: number; judgedCutSeconds: number; judgedPassSeconds: number}>;
	for (const source of SOURCES) {
		const changes = timeline.filter((entry) => entry.source === source);
		let falseOk = 0;
		let falseStale = 0;
		// How much of the run each verdict covers: a judge that looked at nothing would also find nothing wrong.
		let judgedCut = 0;
		let judgedPass = 0;
		let previous: HealthSample | undefined;
		for (const sample of samples) {
			if (sample.at < from || sample.at > to) continue;
			const seconds = previous ? (sample.at - previous.at) / 1000 : 0;
			previous = sample;
			const current = changes.filter((entry) => entry.at <= sample.at).at(-1);
			if (!current) continue;
			const since = sample.at - current.at;
			const ok = sample.status[source] === 'ok';
			const cutOff = current.mode === 'refuse' || current.mode === 'freeze';
			if (cutOff && since > STALE_BOUND_MS[source] + GRACE_MS) {
				judgedCut += seconds;
				if (ok) falseOk += seconds;
			}

			// After a pass following a cut, allow the recovery bound (the agent's reconnect backoff, up to 4 s, on top).
			if ((current.mode === 'pass' || current.mode === 'reset') && since > RECOVER_BOUND_MS + GRACE_MS + (source === 'agent' ? 4000 : 0)) {
				judgedPass += seconds;
				if (!ok) falseStale += seconds;
			}
		}

		const tenths = (value: number) => Math.round(value * 10) / 10;
		result[source] = {
			falseOk: tenths(falseOk),
			falseStale: tenths(falseStale),
			judgedCutSeconds: tenths(judgedCut),
			judgedPassSeconds: tenths(judgedPass),
		};
	}

	return result;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(200);
	}
}

async function freePort(): Promise<number> {
	const net = await import('node:net');
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as {port: number};
			server.close(() => resolve(port));
		});
	});
}

if (argument('role', 'soak') === 'console') await runConsole();
else await runSoak();
