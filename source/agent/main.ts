/**
 * `modeldeck agent …`: the in-cluster agent (flags in, a running server out, stopped by SIGINT or SIGTERM), and
 * `modeldeck agent loadtest-worker …`, one worker of a load-test Job.
 */
import {existsSync} from 'node:fs';
import {homedir} from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import {runLoad} from './actions/load-generator.ts';
import {workerResult} from './actions/load-job.ts';
import type {AlertFormat} from './guard/alerts.ts';
import {GuardSettingsSource} from './guard/settings-file.ts';
import {readRegistrySettingsFile} from './registry/settings.ts';
import type {RegistrySettings} from './registry/settings.ts';
import type {KubeAgentClient} from './kube.ts';
import {startAgent} from './http/server.ts';
import type {AgentOptions} from './http/server.ts';
import {parseCidr} from './auth/ingest-access.ts';
import {defaultRingCapacity} from './stream/hub.ts';

export {startAgent} from './http/server.ts';
export type {AgentOptions, RunningAgent} from './http/server.ts';

export const agentUsage = `Usage: modeldeck agent [options]
       modeldeck agent loadtest-worker --url URL --body JSON --rps N --duration S [--warmup S] [--start-at TIME] [--label L]

Receives prediction logs from model servers, streams them to consoles, carries out authorised and audited
actions (canary weight, promote, rollback, smoke and load tests) and guards canaries.

Options:
  --listen HOST:PORT          Address to listen on (default 0.0.0.0:8090)
  --ingest-listen HOST:PORT   Serve POST /v1/logs here instead, and refuse it on --listen (so a NetworkPolicy
                              can confine ingest to model pods and still open the API to the API server)
  --kubeconfig FILE           Kubeconfig (default: in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config)
  --context NAME              Kubeconfig context
  --db PATH                   SQLite file for predictions and the audit trail (default: in memory, lost on restart)
  --retention-hours N         Keep predictions this long (default 24)
  --retention-max-rows N      Keep at most this many predictions (default 1000000; 100000 in memory)
  --retention-max-mb N        Keep the store's pages in use under N MB, deleting the oldest predictions (default: no limit)
  --store-max-mb N            Hard limit on the SQLite file: past it ingest answers 503 until retention frees pages
                              (default: none; set it below the volume's size with room for the write-ahead log)
  --join-timeout-seconds N    Wait this long for a request's response before storing it incomplete (default 30)
  --ingest-token TOKEN        Shared token loggers must send (or $MODELDECK_INGEST_TOKEN)
  --allow-ip CIDR             Accept logs only from these addresses (repeatable)
  --max-body-bytes N          Largest log POST (default 1048576)
  --resume-buffer-events N    Stream events kept for clients that resume (default 100000: 50 s at 2,000/s;
                              about 0.6 KB of memory each)
  --prometheus URL            Prometheus for the guard's metric history
  --guard                     Judge guarded canaries and roll back failing ones
  --guard-dry-run             Judge and report, but change nothing
  --guard-config FILE         Guard settings per model, JSON or YAML (a mounted ConfigMap)
  --registry-config FILE      Follow MLflow Model Registry aliases and roll out the versions they move to, JSON or
                              YAML (see docs/registry.md); also serves POST /v1/registry/webhook
  --alert-webhook URL         Post guard alerts there (Alertmanager API or Slack incoming webhook)
  --alert-format FORMAT       alertmanager or slack (default: slack for hooks.slack.com, else alertmanager)
  --model-port N              Port of model versions' Services (default 80)
  --namespace NS              The agent's own namespace, for load-test Jobs (default $POD_NAMESPACE or modeldeck)
  --loadtest-image IMAGE      Image of load-test workers (default $MODELDECK_IMAGE; without it tests run in the agent)
  --loadtest-max-local-rps N  Above this rate per version a load test runs as a Job (default 2000)
  --loadtest-service-account NAME
                              Service account of load-test Job pods (default: the namespace's default account)
  --loadtest-start-delay-seconds N
                              Seconds from creating a load-test Job to its workers' shared start (default 30)
  --no-auth                   LOCAL DEMOS ONLY: no token checks, everyone may do everything
  -h, --help                  Show this help
`;

export interface ParsedAgentFlags {
	host: string;
	port: number;
	ingestHost?: string;
	ingestPort?: number;
	kubeconfig?: string;
	context?: string;
	dbPath: string;
	resumeBufferEvents: number;
	retentionHours: number;
	retentionMaxRows: number;
	retentionMaxMb?: number;
	storeMaxMb?: number;
	joinTimeoutSeconds: number;
	ingestToken?: string;
	allowIps: string[];
	maxBodyBytes: number;
	prometheus?: string;
	guard: boolean;
	guardDryRun: boolean;
	guardConfig?: string;
	registryConfig?: string;
	alertWebhook?: string;
	alertFormat?: AlertFormat;
	modelPort: number;
	namespace: string;
	loadtestImage?: string;
	loadtestMaxLocalRps: number;
	loadtestServiceAccount?: string;
	loadtestStartDelaySeconds: number;
	noAuth: boolean;
}

/** Splits `HOST:PORT`, `[::1]:PORT` or `:PORT`. */
export function parseListen(value: string): {host: string; port: number} | undefined {
	const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
	if (!match) return undefined;
	const port = Number(match[3]);
	if (port > 65_535) return undefined;
	const host = match[1] ?? match[2] ?? '';
	return {host: host === '' ? '0.0.0.0' : host, port};
}

function positive(text: string | undefined, flag: string, fallback: number, integer = false): number {
	if (text === undefined) return fallback;
	const value = Number(text);
	if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
		throw new Error(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
	}

	return value;
}

export function parseAgentFlags(
	argv: string[],
	env: NodeJS.ProcessEnv = process.env,
): {help: true} | {help: false; flags: ParsedAgentFlags} {
	const {values} = parseArgs({
		args: argv,
		strict: true,
		allowPositionals: false,
		options: {
			listen: {type: 'string'},
			'ingest-listen': {type: 'string'},
			kubeconfig: {type: 'string'},
			context: {type: 'string'},
			db: {type: 'string'},
			'retention-hours': {type: 'string'},
			'retention-max-rows': {type: 'string'},
			'retention-max-mb': {type: 'string'},
			'store-max-mb': {type: 'string'},
			'join-timeout-seconds': {type: 'string'},
			'ingest-token': {type: 'string'},
			'allow-ip': {type: 'string', multiple: true},
			'max-body-bytes': {type: 'string'},
			'resume-buffer-events': {type: 'string'},
			prometheus: {type: 'string'},
			guard: {type: 'boolean'},
			'guard-dry-run': {type: 'boolean'},
			'guard-config': {type: 'string'},
			'registry-config': {type: 'string'},
			'alert-webhook': {type: 'string'},
			'alert-format': {type: 'string'},
			'model-port': {type: 'string'},
			namespace: {type: 'string'},
			'loadtest-image': {type: 'string'},
			'loadtest-max-local-rps': {type: 'string'},
			'loadtest-service-account': {type: 'string'},
			'loadtest-start-delay-seconds': {type: 'string'},
			'no-auth': {type: 'boolean'},
			help: {type: 'boolean', short: 'h'},
		},
	});
	if (values.help) return {help: true};
	const listen = parseListen(values.listen ?? '0.0.0.0:8090');
	if (!listen) throw new Error(`--listen must be HOST:PORT, e.g. 0.0.0.0:8090; got "${values.listen}"`);
	const ingestListen = values['ingest-listen'] === undefined ? undefined : parseListen(values['ingest-listen']);
	if (values['ingest-listen'] !== undefined) {
		if (!ingestListen) throw new Error(`--ingest-listen must be HOST:PORT, e.g. 0.0.0.0:8091; got "${values['ingest-listen']}"`);
		if (ingestListen.port === listen.port && ingestListen.port !== 0)
			throw new Error(`--ingest-listen needs a port of its own, not --listen's ${listen.port}`);
	}
	const allowIps = values['allow-ip'] ?? [];
	for (const cidr of allowIps) {
		const parsed = parseCidr(cidr);
		if (typeof parsed === 'string') throw new Error(`--allow-ip: ${parsed}`);
	}

	const alertFormat = values['alert-format'];
	if (alertFormat !== undefined && alertFormat !== 'alertmanager' && alertFormat !== 'slack') {
		throw new Error(`--alert-format must be alertmanager or slack, got "${alertFormat}"`);
	}

	if (values['alert-webhook'] !== undefined && !URL.canParse(values['alert-webhook'])) {
		throw new Error(`--alert-webhook must be a URL, got "${values['alert-webhook']}"`);
	}

	const flags: ParsedAgentFlags = {
		host: listen.host,
		port: listen.port,
		dbPath: values.db ?? ':memory:',
		retentionHours: positive(values['retention-hours'], '--retention-hours', 24),
		// In memory every row costs RAM: keep fewer unless asked.
		retentionMaxRows: positive(
			values['retention-max-rows'],
			'--retention-max-rows',
			values.db && values.db !== ':memory:' ? 1_000_000 : 100_000,
			true,
		),
		joinTimeoutSeconds: positive(values['join-timeout-seconds'], '--join-timeout-seconds', 30),
		allowIps,
		maxBodyBytes: positive(values['max-body-bytes'], '--max-body-bytes', 1024 * 1024, true),
		resumeBufferEvents: positive(values['resume-buffer-events'], '--resume-buffer-events', defaultRingCapacity, true),
		guard: values.guard === true || values['guard-dry-run'] === true,
		guardDryRun: values['guard-dry-run'] === true,
		modelPort: positive(values['model-port'], '--model-port', 80, true),
		namespace: values.namespace ?? env['POD_NAMESPACE'] ?? 'modeldeck',
		loadtestMaxLocalRps: positive(values['loadtest-max-local-rps'], '--loadtest-max-local-rps', 2000),
		loadtestStartDelaySeconds: positive(values['loadtest-start-delay-seconds'], '--loadtest-start-delay-seconds', 30),
		noAuth: values['no-auth'] === true,
	};
	const optional = {
		ingestHost: ingestListen?.host,
		ingestPort: ingestListen?.port,
		kubeconfig: values.kubeconfig,
		context: values.context,
		ingestToken: values['ingest-token'] ?? env['MODELDECK_INGEST_TOKEN'],
		prometheus: values.prometheus,
		guardConfig: values['guard-config'],
		registryConfig: values['registry-config'],
		alertWebhook: values['alert-webhook'],
		alertFormat: alertFormat as AlertFormat | undefined,
		loadtestImage: values['loadtest-image'] ?? env['MODELDECK_IMAGE'],
		loadtestServiceAccount: values['loadtest-service-account'],
	};
	for (const [key, value] of Object.entries(optional)) {
		if (value !== undefined && value !== '') (flags as unknown as Record<string, unknown>)[key] = value;
	}

	if (values['retention-max-mb'] !== undefined) flags.retentionMaxMb = positive(values['retention-max-mb'], '--retention-max-mb', 0);
	if (values['store-max-mb'] !== undefined) flags.storeMaxMb = positive(values['store-max-mb'], '--store-max-mb', 0);
	if (flags.retentionMaxMb !== undefined && flags.storeMaxMb !== undefined && flags.retentionMaxMb >= flags.storeMaxMb) {
		throw new Error(
			`--retention-max-mb (${flags.retentionMaxMb}) must be below --store-max-mb (${flags.storeMaxMb}), or retention never makes room`,
		);
	}

	if (flags.guard && !flags.prometheus) throw new Error('--guard needs --prometheus URL to read the canary’s metrics from');
	return {help: false, flags};
}

/** In a pod, or with a kubeconfig given or in its usual places. */
function kubernetesConfigured(flags: ParsedAgentFlags): boolean {
	return Boolean(
		flags.kubeconfig ||
			process.env['KUBECONFIG'] ||
			process.env['KUBERNETES_SERVICE_HOST'] ||
			existsSync(path.join(homedir(), '.kube', 'config')),
	);
}

function logLine(line: string): void {
	process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

/** `modeldeck agent loadtest-worker`: runs one share of a load test and prints its result as one JSON line. */
export async function runLoadtestWorker(argv: string[]): Promise<number> {
	let values;
	try {
		({values} = parseArgs({
			args: argv,
			strict: true,
			options: {
				url: {type: 'string'},
				body: {type: 'string'},
				rps: {type: 'string'},
				duration: {type: 'string'},
				warmup: {type: 'string'},
				'start-at': {type: 'string'},
				label: {type: 'string'},
			},
		}));
		if (!values.url || !URL.canParse(values.url)) throw new Error('--url must be the inference URL');
		if (!values.body) throw new Error('--body must be the request JSON');
		if (values['start-at'] !== undefined && Number.isNaN(Date.parse(values['start-at']))) {
			throw new Error(`--start-at must be a time such as 2026-03-01T03:00:00.000Z, got "${values['start-at']}"`);
		}
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n${agentUsage}`);
		return 2;
	}

	try {
		const [run] = await runLoad([{label: values.label ?? values.url, url: values.url, body: values.body}], {
			rps: positive(values.rps, '--rps', 10),
			durationSeconds: positive(values.duration, '--duration', 10),
			warmupSeconds: values.warmup === undefined ? 0 : Number(values.warmup),
			...(values['start-at'] === undefined ? {} : {startAt: Date.parse(values['start-at'])}),
		});
		const late =
			values['start-at'] === undefined ? 0 : run!.windowStart! - Number(values.warmup ?? 0) * 1000 - Date.parse(values['start-at']);
		if (late > 1000)
			process.stderr.write(`started ${(late / 1000).toFixed(1)} s after --start-at: this worker's window is later than the others'\n`);
		process.stdout.write(`${JSON.stringify(workerResult(run!))}\n`);
		return 0;
	} catch (error) {
		process.stderr.write(`load test worker failed: ${(error as Error).message}\n`);
		return 1;
	}
}

export async function runAgent(argv: string[]): Promise<number> {
	if (argv[0] === 'loadtest-worker') return runLoadtestWorker(argv.slice(1));
	let parsed;
	try {
		parsed = parseAgentFlags(argv);
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n\n${agentUsage}`);
		return 2;
	}

	if (parsed.help) {
		process.stdout.write(agentUsage);
		return 0;
	}

	const flags = parsed.flags;
	let guardSettings: GuardSettingsSource | undefined;
	if (flags.guardConfig) {
		// Re-read at every guard pass (a mounted ConfigMap changes in place); a bad file at start is an error.
		try {
			guardSettings = new GuardSettingsSource(flags.guardConfig, {log: logLine});
		} catch (error) {
			process.stderr.write(`--guard-config ${flags.guardConfig}: ${(error as Error).message}\n`);
			return 2;
		}
	}

	let registrySettings: RegistrySettings | undefined;
	if (flags.registryConfig) {
		try {
			registrySettings = readRegistrySettingsFile(flags.registryConfig);
		} catch (error) {
			process.stderr.write(`--registry-config: ${(error as Error).message}\n`);
			return 2;
		}
	}

	const options: AgentOptions = {
		host: flags.host,
		port: flags.port,
		dbPath: flags.dbPath,
		retention: {
			maxAgeMs: flags.retentionHours * 3600 * 1000,
			maxRows: flags.retentionMaxRows,
			...(flags.retentionMaxMb === undefined ? {} : {maxBytes: flags.retentionMaxMb * 1024 * 1024}),
		},
		...(flags.storeMaxMb === undefined ? {} : {storeMaxBytes: flags.storeMaxMb * 1024 * 1024}),
		joinTimeoutMs: flags.joinTimeoutSeconds * 1000,
		allowIps: flags.allowIps,
		maxBodyBytes: flags.maxBodyBytes,
		stream: {ringCapacity: flags.resumeBufferEvents},
		modelPort: flags.modelPort,
		maxLocalRps: flags.loadtestMaxLocalRps,
		noAuth: flags.noAuth,
		log: logLine,
	};
	if (flags.ingestToken) options.ingestToken = flags.ingestToken;
	if (flags.ingestPort !== undefined) {
		options.ingestPort = flags.ingestPort;
		if (flags.ingestHost) options.ingestHost = flags.ingestHost;
	}
	if (flags.alertWebhook) options.alertWebhook = flags.alertWebhook;
	if (registrySettings) options.registry = {settings: registrySettings};
	if (flags.alertFormat) options.alertFormat = flags.alertFormat;
	if (flags.dbPath === ':memory:') logLine('predictions are kept in memory only; pass --db PATH to keep them across restarts');

	try {
		let kube: KubeAgentClient | undefined;
		if (kubernetesConfigured(flags)) {
			// The Kubernetes client is large: loaded only when there is a cluster to talk to.
			const {KubeAgentClient, loadKubeConfig} = await import('./kube.ts');
			try {
				kube = new KubeAgentClient(
					loadKubeConfig({...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}), ...(flags.context ? {context: flags.context} : {})}),
				);
			} catch (error) {
				throw new Error(`cannot load Kubernetes credentials: ${(error as Error).message}`);
			}
		} else if (flags.noAuth) {
			logLine('no Kubernetes credentials found: ingest and stream only, no actions on the cluster');
		} else {
			throw new Error(
				'no Kubernetes credentials: run in a pod, or pass --kubeconfig FILE (or set KUBECONFIG); the agent needs them to check callers’ tokens',
			);
		}

		if (kube) {
			const {createKubeCluster} = await import('../sources/kube/index.ts');
			options.cluster = await createKubeCluster({
				...(flags.kubeconfig ? {kubeconfigPath: flags.kubeconfig} : {}),
				...(flags.context ? {context: flags.context} : {}),
				namespace: 'all',
			});
			options.events = kube;
			options.apiServerReachable = () => kube.reachable();
			if (!flags.noAuth) {
				const {KubeAccessReviewer} = await import('./auth/kube-reviewer.ts');
				options.reviewer = new KubeAccessReviewer(kube.config);
			}
			if (flags.loadtestImage) {
				const {KubeLoadJobRunner} = await import('./actions/load-job-runner.ts');
				options.jobRunner = new KubeLoadJobRunner(kube.config, {
					namespace: flags.namespace,
					image: flags.loadtestImage,
					...(flags.loadtestServiceAccount ? {serviceAccountName: flags.loadtestServiceAccount} : {}),
				});
				options.jobStartDelaySeconds = flags.loadtestStartDelaySeconds;
			}
			logLine(`Kubernetes API server ${kube.server}`);
		}

		if (flags.prometheus) {
			const {createPrometheusMetrics} = await import('../sources/prometheus/index.ts');
			options.metrics = createPrometheusMetrics({url: flags.prometheus});
		}

		if (flags.guard) {
			const {MannWhitneyJudge} = await import('../domain/judge.ts');
			options.judge = new MannWhitneyJudge();
			options.guard = {enabled: true, dryRun: flags.guardDryRun, ...(guardSettings ? {settingsFile: () => guardSettings.current()} : {})};
		}
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n`);
		return 1;
	}

	let agent;
	try {
		agent = await startAgent(options);
	} catch (error) {
		process.stderr.write(`cannot start the agent: ${(error as Error).message}\n`);
		return 1;
	}

	logLine(`modeldeck agent listening on ${flags.host}:${agent.port}${flags.noAuth ? ' (NO AUTH)' : ''}`);
	if (flags.ingestPort !== undefined) logLine(`ingest (POST /v1/logs) on ${flags.ingestHost}:${agent.ingestPort} only`);
	const signal = await new Promise<string>((resolve) => {
		process.once('SIGINT', () => resolve('SIGINT'));
		process.once('SIGTERM', () => resolve('SIGTERM'));
	});
	logLine(`${signal}: stopping`);
	await agent.close();
	return 0;
}
