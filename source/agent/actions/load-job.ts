/**
 * Large load tests run as a Kubernetes Job of N workers, each the agent's own image running
 * `modeldeck agent loadtest-worker …` at rps/N and printing one JSON line of results, the histogram included; the
 * agent reads the workers' output and merges the histograms (HdrHistograms add exactly, so merged percentiles are
 * the percentiles of all requests). Building the Job and merging are pure; see load-job-runner.ts for the I/O.
 */
import type {V1Job} from '@kubernetes/client-node';
import * as hdr from 'hdr-histogram-js';
import type {LoadTestResult, VersionRef} from '../../domain/types.ts';
import {createLatencyHistogram, percentileMs} from './load-generator.ts';
import type {LoadRun} from './load-generator.ts';

/** What a worker prints: one line of JSON. */
export interface WorkerResult {
	kind: 'modeldeck-loadtest-worker-result';
	label: string;
	requests: number;
	errors: number;
	sentInWindow: number;
	measuredSeconds: number;
	/** Epoch ms of the start and end of the worker's measured window (after its warm-up). */
	windowStart?: number;
	windowEnd?: number;
	/** The latency histogram (µs), HdrHistogram's compressed base64 encoding. */
	histogram: string;
	errorSamples: string[];
}

export function workerResult(run: LoadRun): WorkerResult {
	return {
		kind: 'modeldeck-loadtest-worker-result',
		label: run.label,
		requests: run.requests,
		errors: run.errors,
		sentInWindow: run.sentInWindow,
		measuredSeconds: run.measuredSeconds,
		...(run.windowStart === undefined ? {} : {windowStart: run.windowStart}),
		...(run.windowEnd === undefined ? {} : {windowEnd: run.windowEnd}),
		histogram: hdr.encodeIntoCompressedBase64(run.histogram),
		errorSamples: run.errorSamples,
	};
}

/** Finds the worker's result line in its output (logs may hold other lines). */
export function parseWorkerOutput(output: string): WorkerResult | string {
	const lines = output
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line.startsWith('{'));
	for (const line of lines.reverse()) {
		try {
			const parsed = JSON.parse(line) as Partial<WorkerResult>;
			if (parsed.kind === 'modeldeck-loadtest-worker-result' && typeof parsed.histogram === 'string') return parsed as WorkerResult;
		} catch {
			// Not the result line.
		}
	}

	return 'the worker printed no result line';
}

/**
 * Adds the workers' runs of one target into one run. The merged rate is every request sent in a window over the
 * span from the earliest window's start to the latest window's end: with the shared start time the windows are the
 * same interval and this is the sum of the workers' rates; a worker that started late widens the span instead of
 * being counted as if it had run alongside the others.
 */
export function mergeWorkerResults(results: WorkerResult[]): LoadRun {
	const histogram = createLatencyHistogram();
	let requests = 0;
	let errors = 0;
	let sentInWindow = 0;
	let measuredSeconds = 0;
	let windowStart: number | undefined;
	let windowEnd: number | undefined;
	let allWindows = results.length > 0;
	const errorSamples: string[] = [];
	for (const result of results) {
		const decoded = hdr.decodeFromCompressedBase64(result.histogram);
		histogram.add(decoded);
		decoded.destroy();
		requests += result.requests;
		errors += result.errors;
		sentInWindow += result.sentInWindow;
		measuredSeconds = Math.max(measuredSeconds, result.measuredSeconds);
		if (result.windowStart === undefined || result.windowEnd === undefined) allWindows = false;
		else {
			windowStart = Math.min(windowStart ?? result.windowStart, result.windowStart);
			windowEnd = Math.max(windowEnd ?? result.windowEnd, result.windowEnd);
		}

		for (const sample of result.errorSamples) if (errorSamples.length < 5 && !errorSamples.includes(sample)) errorSamples.push(sample);
	}

	const run: LoadRun = {label: results[0]?.label ?? '', histogram, requests, errors, sentInWindow, measuredSeconds, errorSamples};
	if (allWindows && windowStart !== undefined && windowEnd !== undefined && windowEnd > windowStart) {
		run.windowStart = windowStart;
		run.windowEnd = windowEnd;
		run.measuredSeconds = (windowEnd - windowStart) / 1000;
	}

	return run;
}

export function toLoadTestResult(target: VersionRef, run: LoadRun): LoadTestResult {
	return {
		target,
		requests: run.requests,
		errors: run.errors,
		achievedRps: run.measuredSeconds > 0 ? run.sentInWindow / run.measuredSeconds : 0,
		p50Ms: percentileMs(run.histogram, 50),
		p95Ms: percentileMs(run.histogram, 95),
		p99Ms: percentileMs(run.histogram, 99),
		maxMs: run.histogram.totalCount === 0 ? 0 : run.histogram.maxValue / 1000,
	};
}

export interface LoadJobSpec {
	/** Job name; must be a DNS label. */
	name: string;
	/** Where the Job runs: the agent's namespace. */
	namespace: string;
	/** The agent's image (the worker is the same program). */
	image: string;
	workers: number;
	target: VersionRef;
	/** Inference URL the workers POST to. */
	url: string;
	/** Request body the workers send. */
	body: string;
	/** Total arrival rate; each worker sends rps / workers. */
	rps: number;
	durationSeconds: number;
	warmupSeconds: number;
	/** Epoch ms every worker starts its schedule at (its warm-up first), so that their windows overlap. */
	startAt?: number;
	/** Seconds from the Job's creation to `startAt`: part of the Job's deadline. */
	startDelaySeconds?: number;
	serviceAccountName?: string;
	/** Id of the load test, as a label to find the Job and its pods. */
	loadTestId: string;
}

export const loadTestLabel = 'modeldeck.dev/load-test';

/** Arguments after the image's entrypoint (`modeldeck`). */
export function workerArgs(
	spec: Pick<LoadJobSpec, 'target' | 'url' | 'body' | 'durationSeconds' | 'warmupSeconds' | 'startAt'>,
	rpsPerWorker: number,
): string[] {
	return [
		'agent',
		'loadtest-worker',
		'--url',
		spec.url,
		'--body',
		spec.body,
		'--rps',
		String(rpsPerWorker),
		'--duration',
		String(spec.durationSeconds),
		'--warmup',
		String(spec.warmupSeconds),
		...(spec.startAt === undefined ? [] : ['--start-at', new Date(spec.startAt).toISOString()]),
		'--label',
		`${spec.target.namespace}/${spec.target.name}/${spec.target.version}`,
	];
}

export function buildLoadTestJob(spec: LoadJobSpec): V1Job {
	if (!Number.isInteger(spec.workers) || spec.workers < 1) throw new RangeError(`workers must be a positive integer, got ${spec.workers}`);
	const labels = {
		'app.kubernetes.io/name': 'modeldeck-loadtest',
		'app.kubernetes.io/managed-by': 'modeldeck-agent',
		[loadTestLabel]: spec.loadTestId,
	};
	return {
		apiVersion: 'batch/v1',
		kind: 'Job',
		metadata: {name: spec.name, namespace: spec.namespace, labels},
		spec: {
			parallelism: spec.workers,
			completions: spec.workers,
			completionMode: 'Indexed',
			backoffLimit: 0,
			ttlSecondsAfterFinished: 600,
			// The wait for the shared start, warm-up, duration, plus time to start pods and drain answers; a stuck Job ends by itself.
			activeDeadlineSeconds: Math.ceil((spec.startDelaySeconds ?? 0) + spec.warmupSeconds + spec.durationSeconds + 300),
			template: {
				metadata: {labels},
				spec: {
					restartPolicy: 'Never',
					automountServiceAccountToken: false,
					...(spec.serviceAccountName ? {serviceAccountName: spec.serviceAccountName} : {}),
					securityContext: {runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}},
					containers: [
						{
							name: 'worker',
							image: spec.image,
							args: workerArgs(spec, spec.rps / spec.workers),
							resources: {requests: {cpu: '500m', memory: '128Mi'}, limits: {cpu: '1', memory: '256Mi'}},
							securityContext: {
								allowPrivilegeEscalation: false,
								readOnlyRootFilesystem: true,
								capabilities: {drop: ['ALL']},
							},
						},
					],
				},
			},
		},
	};
}

/** Workers needed so that none is asked for more than `maxRpsPerWorker`. */
export function workersFor(rps: number, maxRpsPerWorker: number): number {
	return Math.max(1, Math.ceil(rps / maxRpsPerWorker));
}
