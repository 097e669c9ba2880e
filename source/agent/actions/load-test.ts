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

/** Runs a large test as a Kubernetes Job; see load-job-runner.ts. */
export interface LoadJobRunner {
	run(
		target: PreparedTarget,
		plan: {rps: number; workers: number; durationSeconds: number; warmupSeconds: number},
		onMessage: (message: string) => void,
		signal?: AbortSignal,
	): Promise<LoadRun>;
}

export interface LoadTestContext {
	resolveEndpoint: (target: VersionRef) => string | Promise<string>;
	/** Above this rate per version the test runs as a Job (when a job runner is configured). Default 2,000. */
	maxLocalRps?: number;
	jobRunner?: LoadJobRunner;
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
			if (response.status !== 200) return `${versionLabel(target)}: GET ${modelPath} answered HTTP ${response.status}: ${text.slice(0, 120)}`;
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
		.map((target) => `${target.label.split('/').at(-1)}: ${target.completed}/${target.sent} answered, ${target.errors} errors, p99 ${formatMs(target.p99Ms)} ms`)
		.join(' · ');
	return `${Math.floor(progress.elapsedSeconds)}/${Math.round(progress.totalSeconds)} s${phase} at ${rps} rps · ${perTarget}`;
}

function summary(results: LoadTestResult[]): string {
	return results
		.map((result) => `${result.target.version}: ${result.achievedRps.toFixed(1)} rps, p50 ${formatMs(result.p50Ms)} ms, p99 ${formatMs(result.p99Ms)} ms, ${result.errors} errors of ${result.requests}`)
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
	if (context.jobRunner && action.rps > maxLocalRps) {
		const workers = workersFor(action.rps, maxLocalRps);
		const started = Date.now();
		channel.push({kind: 'progress', fraction: 0, message: `running as a Kubernetes Job: ${workers} workers per version at ${(action.rps / workers).toFixed(1)} rps each`});
		runs = Promise.all(
			prepared.map((target) =>
				context.jobRunner!.run(target, {rps: action.rps, workers, durationSeconds: action.durationSeconds, warmupSeconds}, (message) => {
					const fraction = Math.min(0.99, (Date.now() - started) / 1000 / totalSeconds);
					channel.push({kind: 'progress', fraction, message: `${target.target.version}: ${message}`});
				}, context.signal),
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
					channel.push({kind: 'progress', fraction: Math.min(0.99, progress.elapsedSeconds / progress.totalSeconds), message: progressMessage(progress, action.rps)}),
			},
		);
	}

	runs.then(
		() => channel.close(),
		(error: unknown) => channel.close(error),
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
