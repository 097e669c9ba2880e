/**
 * The load-test action: one version, or two side by side at the same arrival rate each, with progress every second
 * and percentiles per version at the end. Runs in the agent up to `maxLocalRps` per version; above that, when the
 * agent runs in a cluster, as a Job of workers whose histograms are merged.
 */
import type {Action, ActionProgress, LoadTestResult, VersionRef} from '../../domain/types.ts';
import {AsyncChannel} from '../async-channel.ts';
import {runLoad} from './load-generator.ts';
import type {LoadProgress, LoadRun} from './load-generator.ts';
import {toLoadTestResult, workersFor} from './load-job.ts';
import {buildInferenceRequest, parseModelMetadata} from './oip.ts';

type LoadTestAction = Extract<Action, {kind: 'load-test'}>;

export interface PreparedTarget {
	target: VersionRef;
	/** Inference URL. */
	url: string;
	/** Request body, built from the model's metadata. */
	body: string;
}

export interface LoadJobPlan {
	/** Total arrival rate; each worker sends rps / workers. */
	rps: number;
	workers: number;
	durationSeconds: number;
	warmupSeconds: number;
	/**
	 * Epoch ms every worker starts at (warm-up first): one shared schedule, so the windows overlap. Default: 30 s
	 * after the Job is created.
	 */
	startAt?: number;
}

/** Runs a large test as a Kubernetes Job; see load-job-runner.ts. */
export interface LoadJobRunner {
	run(target: PreparedTarget, plan: LoadJobPlan, onMessage: (message: string) => void, signal?: AbortSignal): Promise<LoadRun>;
}

export interface LoadTestContext {
	resolveEndpoint: (target: VersionRef) => string | Promise<string>;
	/** Above this rate per version the test runs as a Job (when a job runner is configured). Default 2,000. */
	maxLocalRps?: number;
	jobRunner?: LoadJobRunner;
	/** Seconds from creating a Job to its workers' shared start time: room to schedule and start the pods. Default 30. */
	jobStartDelaySeconds?: number;
	fetch?: typeof fetch;
	signal?: AbortSignal;
}

export function versionLabel(target: VersionRef): string {
	return `${target.namespace}/${target.name}/${target.version}`;
}

/** Reads each target's metadata and builds the request every load-test request sends. */
export async function prepareTargets(targets: VersionRef[], context: LoadTestContext): Promise<PreparedTarget[] | string> {
	const fetchImpl = context.fetch ?? fetch;
	const prepared: PreparedTarget[] = [];
	for (const target of targets) {
		let base: string;
		try {
			base = (await context.resolveEndpoint(target)).replace(/\/+$/, '');
		} catch (error) {
			return `cannot find the endpoint of ${versionLabel(target)}: ${(error as Error).message}`;
		}

		const modelPath = `${base}/v2/models/${encodeURIComponent(target.name)}`;
		try {
			const response = await fetchImpl(modelPath, {signal: AbortSignal.timeout(10_000)});
			const text = await response.text();
			if (response.status !== 200)
				return `${versionLabel(target)}: GET ${modelPath} answered HTTP ${response.status}: ${text.slice(0, 120)}`;
			const metadata = parseModelMetadata(JSON.parse(text) as unknown);
			if (typeof metadata === 'string') return `${versionLabel(target)}: ${metadata}`;
			const request = buildInferenceRequest(metadata);
			if (typeof request === 'string') return `${versionLabel(target)}: ${request}`;
			prepared.push({target, url: `${modelPath}/infer`, body: JSON.stringify(request)});
		} catch (error) {
			return `${versionLabel(target)}: cannot read its metadata at ${modelPath}: ${(error as Error).message}`;
		}
	}

	return prepared;
}

function formatMs(ms: number | null): string {
	if (ms === null) return '–';
	return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

function progressMessage(progress: LoadProgress, rps: number): string {
	const phase = progress.warmingUp ? ' (warm-up)' : '';
	const perTarget = progress.targets
		.map(
			(target) =>
				`${target.label.split('/').at(-1)}: ${target.completed}/${target.sent} answered, ${target.errors} errors, p99 ${formatMs(target.p99Ms)} ms`,
		)
		.join(' · ');
	return `${Math.floor(progress.elapsedSeconds)}/${Math.round(progress.totalSeconds)} s${phase} at ${rps} rps · ${perTarget}`;
}

function summary(results: LoadTestResult[]): string {
	return results
		.map(
			(result) =>
				`${result.target.version}: ${result.achievedRps.toFixed(1)} rps, p50 ${formatMs(result.p50Ms)} ms, p99 ${formatMs(result.p99Ms)} ms, ${result.errors} errors of ${result.requests}`,
		)
		.join('; ');
}

export async function* loadTest(action: LoadTestAction, context: LoadTestContext): AsyncGenerator<ActionProgress> {
	const warmupSeconds = action.warmupSeconds ?? Math.min(10, Math.ceil(action.durationSeconds / 5));
	yield {kind: 'progress', fraction: 0, message: `preparing: reading the metadata of ${action.targets.map(versionLabel).join(' and ')}`};
	const prepared = await prepareTargets(action.targets, context);
	if (typeof prepared === 'string') {
		yield {kind: 'failed', message: prepared};
		return;
	}

	const maxLocalRps = context.maxLocalRps ?? 2000;
	const channel = new AsyncChannel<ActionProgress>();
	const totalSeconds = warmupSeconds + action.durationSeconds;
	let runs: Promise<LoadRun[]>;
	let ticker: NodeJS.Timeout | undefined;
	if (context.jobRunner && action.rps > maxLocalRps) {
		const workers = workersFor(action.rps, maxLocalRps);
		const startAt = Date.now() + (context.jobStartDelaySeconds ?? 30) * 1000;
		const endAt = startAt + totalSeconds * 1000;
		const latest = new Map<string, string>(prepared.map((target) => [target.target.version, 'creating the Job']));
		channel.push({
			kind: 'progress',
			fraction: 0,
			message: `running as a Kubernetes Job: ${workers} workers per version at ${(action.rps / workers).toFixed(1)} rps each, all starting at ${new Date(startAt).toISOString()}`,
		});
		// Every second, what is known: where the shared schedule is, and each Job's newest status.
		const tick = () => {
			const now = Date.now();
			const when =
				now < startAt
					? `workers start in ${Math.ceil((startAt - now) / 1000)} s`
					: now < endAt
						? `${Math.floor((now - startAt) / 1000)}/${Math.round(totalSeconds)} s${now < startAt + warmupSeconds * 1000 ? ' (warm-up)' : ''} at ${action.rps} rps`
						: 'collecting the workers’ results';
			const fraction = Math.min(0.99, Math.max(0, (now - startAt) / 1000 / totalSeconds));
			channel.push({
				kind: 'progress',
				fraction,
				message: `${when} · ${[...latest].map(([version, message]) => `${version}: ${message}`).join(' · ')}`,
			});
		};

		ticker = setInterval(tick, 1000);
		runs = Promise.all(
			prepared.map((target) =>
				context.jobRunner!.run(
					target,
					{rps: action.rps, workers, durationSeconds: action.durationSeconds, warmupSeconds, startAt},
					(message) => latest.set(target.target.version, message),
					context.signal,
				),
			),
		);
	} else {
		runs = runLoad(
			prepared.map((target) => ({label: versionLabel(target.target), url: target.url, body: target.body})),
			{
				rps: action.rps,
				durationSeconds: action.durationSeconds,
				warmupSeconds,
				...(context.signal ? {signal: context.signal} : {}),
				onProgress: (progress) =>
					channel.push({
						kind: 'progress',
						fraction: Math.min(0.99, progress.elapsedSeconds / progress.totalSeconds),
						message: progressMessage(progress, action.rps),
					}),
			},
		);
	}

	runs.then(
		() => {
			clearInterval(ticker);
			channel.close();
		},
		(error: unknown) => {
			clearInterval(ticker);
			channel.close(error);
		},
	);
	try {
		for await (const progress of channel) yield progress;
	} catch (error) {
		yield {kind: 'failed', message: `load test failed: ${(error as Error).message}`};
		return;
	}

	const finished = await runs;
	const results = finished.map((run, index) => toLoadTestResult(prepared[index]!.target, run));
	for (const run of finished) run.histogram.destroy();
	yield {kind: 'load-result', results};
	if (context.signal?.aborted) {
		yield {kind: 'failed', message: `load test cancelled; partial results: ${summary(results)}`};
		return;
	}

	yield {kind: 'done', message: `load test finished: ${summary(results)}`};
}
