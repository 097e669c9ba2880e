/**
 * `modeldeck agent …`: the in-cluster agent (flags in, a running server out, stopped by SIGINT or SIGTERM), and
 * `modeldeck agent loadtest-worker …`, one worker of a load-test Job.
 */
import {existsSync} from 'node:fs';
import {homedir} from 'node:os';
import path from 'node:path';
import {flagReader, parseFlags} from '../flags/parse.ts';
import {agentFlags, agentUsage, loadtestWorkerFlags} from './flags.ts';
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

export {agentUsage} from './flags.ts';

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
	const parsed = parseFlags(argv, agentFlags, 'Run modeldeck agent --help for the list.');
	if ('errors' in parsed) throw new Error(parsed.errors.join('\n'));
	if (parsed.positionals.length > 0) {
		throw new Error(`modeldeck agent takes flags only, not "${parsed.positionals[0]}" (or: modeldeck agent loadtest-worker …)`);
	}

	const {text, on, list} = flagReader(parsed);
	if (on('help')) return {help: true};
	const listen = parseListen(text('listen') ?? '0.0.0.0:8090');
	if (!listen) throw new Error(`--listen must be HOST:PORT, e.g. 0.0.0.0:8090; got "${text('listen')}"`);
	const ingestListenText = text('ingest-listen');
	const ingestListen = ingestListenText === undefined ? undefined : parseListen(ingestListenText);
	if (ingestListenText !== undefined) {
		if (!ingestListen) throw new Error(`--ingest-listen must be HOST:PORT, e.g. 0.0.0.0:8091; got "${ingestListenText}"`);
		if (ingestListen.port === listen.port && ingestListen.port !== 0)
			throw new Error(`--ingest-listen needs a port of its own, not --listen's ${listen.port}`);
	}
	const allowIps = list('allow-ip');
	for (const cidr of allowIps) {
		const parsed = parseCidr(cidr);
		if (typeof parsed === 'string') throw new Error(`--allow-ip: ${parsed}`);
	}

	const alertFormat = text('alert-format');
	if (alertFormat !== undefined && alertFormat !== 'alertmanager' && alertFormat !== 'slack') {
		throw new Error(`--alert-format must be alertmanager or slack, got "${alertFormat}"`);
	}

	const alertWebhook = text('alert-webhook');
	if (alertWebhook !== undefined && !URL.canParse(alertWebhook)) {
		throw new Error(`--alert-webhook must be a URL, got "${alertWebhook}"`);
	}

	const flags: ParsedAgentFlags = {
		host: listen.host,
		port: listen.port,
		dbPath: text('db') ?? ':memory:',
		retentionHours: positive(text('retention-hours'), '--retention-hours', 24),
		// In memory every row costs RAM: keep fewer unless asked.
		retentionMaxRows: positive(
			text('retention-max-rows'),
			'--retention-max-rows',
			text('db') && text('db') !== ':memory:' ? 1_000_000 : 100_000,
			true,
		),
		joinTimeoutSeconds: positive(text('join-timeout-seconds'), '--join-timeout-seconds', 30),
		allowIps,
		maxBodyBytes: positive(text('max-body-bytes'), '--max-body-bytes', 1024 * 1024, true),
		resumeBufferEvents: positive(text('resume-buffer-events'), '--resume-buffer-events', defaultRingCapacity, true),
		guard: on('guard') || on('guard-dry-run'),
		guardDryRun: on('guard-dry-run'),
		modelPort: positive(text('model-port'), '--model-port', 80, true),
		namespace: text('namespace') ?? env['POD_NAMESPACE'] ?? 'modeldeck',
		loadtestMaxLocalRps: positive(text('loadtest-max-local-rps'), '--loadtest-max-local-rps', 2000),
		loadtestStartDelaySeconds: positive(text('loadtest-start-delay-seconds'), '--loadtest-start-delay-seconds', 30),
		noAuth: on('no-auth'),
	};
	const optional = {
		ingestHost: ingestListen?.host,
		ingestPort: ingestListen?.port,
		kubeconfig: text('kubeconfig'),
		context: text('context'),
		ingestToken: text('ingest-token') ?? env['MODELDECK_INGEST_TOKEN'],
		prometheus: text('prometheus'),
		guardConfig: text('guard-config'),
		registryConfig: text('registry-config'),
		alertWebhook: text('alert-webhook'),
		alertFormat: alertFormat as AlertFormat | undefined,
		loadtestImage: text('loadtest-image') ?? env['MODELDECK_IMAGE'],
		loadtestServiceAccount: text('loadtest-service-account'),
	};
	for (const [key, value] of Object.entries(optional)) {
		if (value !== undefined && value !== '') (flags as unknown as Record<string, unknown>)[key] = value;
	}

	if (text('retention-max-mb') !== undefined) flags.retentionMaxMb = positive(text('retention-max-mb'), '--retention-max-mb', 0);
	if (text('store-max-mb') !== undefined) flags.storeMaxMb = positive(text('store-max-mb'), '--store-max-mb', 0);
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
	let values: {url: string; body: string; rps?: string; duration?: string; warmup?: string; 'start-at'?: string; label?: string};
	try {
		const parsed = parseFlags(argv, loadtestWorkerFlags, 'Run modeldeck agent --help for the list.');
		if ('errors' in parsed) throw new Error(parsed.errors.join('\n'));
		const {text} = flagReader(parsed);
		const url = text('url');
		const body = text('body');
		if (!url || !URL.canParse(url)) throw new Error('--url must be the inference URL');
		if (!body) throw new Error('--body must be the request JSON');
		values = {url, body};
		for (const name of ['rps', 'duration', 'warmup', 'start-at', 'label'] as const) {
			const value = text(name);
			if (value !== undefined) values[name] = value;
		}
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
			const {createKubeCluster} = await import('../adapters/kube/index.ts');
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
			const {createPrometheusMetrics} = await import('../adapters/prometheus/index.ts');
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
