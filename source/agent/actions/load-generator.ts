/**
 * An open-model load generator: requests are scheduled at a constant arrival rate by their intended start time,
 * whatever the target's speed, and each latency is measured from the intended start. A slow target therefore shows
 * as the queueing delay its users would see, not as fewer requests (coordinated omission, corrected by
 * construction). Latencies go into an HdrHistogram in microseconds. The warm-up's requests are sent but not
 * recorded.
 */
import http from 'node:http';
import https from 'node:https';
import {performance} from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import type {Histogram} from 'hdr-histogram-js';

export interface LoadTarget {
	/** Shown in progress and results, e.g. `team-a/fraud/v2`. */
	label: string;
	/** Full URL the requests are POSTed to. */
	url: string;
	/** Request body (JSON). */
	body: string;
	headers?: Record<string, string>;
}

export interface LoadOptions {
	/** Arrival rate per target, requests per second. */
	rps: number;
	durationSeconds: number;
	warmupSeconds?: number;
	/** Requests waiting for an answer, per target, before new ones are counted as errors instead of sent. Default 10,000. */
	maxInFlight?: number;
	/** Per-request timeout, from the request's intended start. Default 30 s. */
	timeoutMs?: number;
	/**
	 * Connections per target. Default: one per request in flight (up to `maxInFlight`), so a slow target never
	 * delays sending. With fewer, requests wait for a free connection, and that wait is part of their latency.
	 */
	connections?: number;
	signal?: AbortSignal;
	/**
	 * Epoch ms to start the schedule at (the warm-up first), so that workers in different pods share one window.
	 * Default: now. A time already past starts now.
	 */
	startAt?: number;
	/** Called about once a second with the figures so far. */
	onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
	elapsedSeconds: number;
	totalSeconds: number;
	warmingUp: boolean;
	targets: {label: string; sent: number; completed: number; errors: number; p99Ms: number | null}[];
}

export interface LoadRun {
	label: string;
	/** Recorded latencies (successful requests after the warm-up), in microseconds. */
	histogram: Histogram;
	/** Requests whose intended start fell in the measured window. */
	requests: number;
	errors: number;
	/** Requests actually started during the measured window. */
	sentInWindow: number;
	measuredSeconds: number;
	/** Epoch ms of the measured window's start and end (after the warm-up). */
	windowStart?: number;
	windowEnd?: number;
	/** First few error messages, for the report. */
	errorSamples: string[];
}

export function createLatencyHistogram(): Histogram {
	return hdr.build({lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3});
}

interface TargetState {
	target: LoadTarget;
	url: URL;
	bodyBytes: Buffer;
	agent: http.Agent;
	next: number;
	/** Which target this is: spreads targets within an interval so their requests do not all leave at the same instant. */
	position: number;
	index: number;
	inFlight: number;
	sent: number;
	completed: number;
	run: LoadRun;
}

/**
 * When each target's requests are due. Boundaries are decided on times relative to the start, never on absolute
 * ones: `start + 2500` and `(start + 500) + 2000` can differ in the last bit, which once let a 2 s window at 10 rps
 * count 21 requests. A nanosecond's tolerance keeps a request due exactly on a boundary on the right side of it.
 */
export function arrivalSchedule(plan: {start: number; rps: number; warmupMs: number; durationMs: number; targets: number}): {
	/** When the target's index-th request is due (performance.now() time). */
	at: (index: number, position: number) => number;
	/** Whether that request falls in the measured window (after the warm-up). */
	recorded: (index: number, position: number) => boolean;
	/** Whether that request is to be sent at all (before the end). */
	due: (index: number, position: number) => boolean;
} {
	const intervalMs = 1000 / plan.rps;
	const slackMs = 1e-6;
	const windowOffset = plan.warmupMs - slackMs;
	const endOffset = plan.warmupMs + plan.durationMs - slackMs;
	const offset = (index: number, position: number): number => index * intervalMs + (intervalMs * position) / Math.max(1, plan.targets);
	return {
		at: (index, position) => plan.start + offset(index, position),
		recorded: (index, position) => offset(index, position) >= windowOffset,
		due: (index, position) => offset(index, position) < endOffset,
	};
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLoad(targets: LoadTarget[], options: LoadOptions): Promise<LoadRun[]> {
	if (!(options.rps > 0) || !Number.isFinite(options.rps)) throw new RangeError('rps must be a positive number');
	if (!(options.durationSeconds > 0)) throw new RangeError('durationSeconds must be positive');
	const warmupMs = Math.max(0, options.warmupSeconds ?? 0) * 1000;
	const durationMs = options.durationSeconds * 1000;
	const maxInFlight = options.maxInFlight ?? 10_000;
	const timeoutMs = options.timeoutMs ?? 30_000;
	// performance.now() is monotonic; the shared start time is wall-clock: converted once, here.
	const wallOffset = Date.now() - performance.now();
	const start = performance.now() + Math.max(20, options.startAt === undefined ? 0 : options.startAt - Date.now());
	const windowStart = start + warmupMs;
	const end = windowStart + durationMs;
	const schedule = arrivalSchedule({start, rps: options.rps, warmupMs, durationMs, targets: targets.length});

	const states: TargetState[] = targets.map((target, position) => {
		const url = new URL(target.url);
		const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
		return {
			target,
			position,
			url,
			bodyBytes: Buffer.from(target.body),
			agent: new Agent({keepAlive: true, maxSockets: options.connections ?? maxInFlight}),
			next: schedule.at(0, position),
			index: 0,
			inFlight: 0,
			sent: 0,
			completed: 0,
			run: {
				label: target.label,
				histogram: createLatencyHistogram(),
				requests: 0,
				errors: 0,
				sentInWindow: 0,
				measuredSeconds: options.durationSeconds,
				windowStart: Math.round(windowStart + wallOffset),
				windowEnd: Math.round(end + wallOffset),
				errorSamples: [],
			},
		};
	});

	const fail = (state: TargetState, recorded: boolean, message: string): void => {
		if (!recorded) return;
		state.run.errors++;
		if (state.run.errorSamples.length < 5 && !state.run.errorSamples.includes(message)) state.run.errorSamples.push(message);
	};

	const fire = (state: TargetState, intended: number): void => {
		const recorded = schedule.recorded(state.index, state.position);
		if (recorded) state.run.requests++;
		if (state.inFlight >= maxInFlight) {
			fail(state, recorded, `more than ${maxInFlight} requests waiting: the target cannot keep up`);
			return;
		}

		const now = performance.now();
		if (now >= windowStart && now < end) state.run.sentInWindow++;
		state.inFlight++;
		state.sent++;
		let settled = false;
		const settle = (error: string | undefined): void => {
			if (settled) return;
			settled = true;
			state.inFlight--;
			state.completed++;
			if (error !== undefined) fail(state, recorded, error);
			else if (recorded) state.run.histogram.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000)));
		};

		const request = (state.url.protocol === 'https:' ? https : http).request(state.url, {
			method: 'POST',
			agent: state.agent,
			headers: {'content-type': 'application/json', 'content-length': state.bodyBytes.length, ...state.target.headers},
		});
		// One sweep a second enforces the timeout: a timer per request costs more CPU than the request itself.
		const entry = {request, intended, settle};
		outstanding.add(entry);
		request.on('response', (response) => {
			response.on('error', (error) => settle(error.message));
			response.on('end', () => settle(response.statusCode === 200 ? undefined : `HTTP ${response.statusCode}`));
			// An answer cut short ends with 'close' and no 'end': an error, never a lost request.
			response.on('close', () => settle(response.complete ? undefined : 'the connection closed before the answer was complete'));
			response.resume();
		});
		request.on('error', (error) => settle(error.message));
		request.on('close', () => outstanding.delete(entry));
		request.end(state.bodyBytes);
	};

	const outstanding = new Set<{request: http.ClientRequest; intended: number; settle: (error: string) => void}>();
	const sweeper = setInterval(
		() => {
			const cutoff = performance.now() - timeoutMs;
			for (const entry of outstanding) {
				if (entry.intended < cutoff) entry.request.destroy(new Error(`no answer within ${timeoutMs} ms`));
			}
		},
		Math.min(1000, timeoutMs),
	);

	let lastProgress = start;
	const progress = (now: number): void => {
		if (!options.onProgress || now - lastProgress < 1000) return;
		lastProgress = now;
		options.onProgress({
			elapsedSeconds: Math.max(0, (now - start) / 1000),
			totalSeconds: (end - start) / 1000,
			warmingUp: now < windowStart,
			targets: states.map((state) => ({
				label: state.target.label,
				sent: state.sent,
				completed: state.completed,
				errors: state.run.errors,
				p99Ms: state.run.histogram.totalCount > 0 ? percentileMs(state.run.histogram, 99) : null,
			})),
		});
	};

	try {
		while (!options.signal?.aborted) {
			const now = performance.now();
			let pending = false;
			for (const state of states) {
				while (state.next <= now && schedule.due(state.index, state.position)) {
					fire(state, state.next);
					state.index++;
					state.next = schedule.at(state.index, state.position);
				}

				if (schedule.due(state.index, state.position)) pending = true;
			}

			progress(now);
			if (!pending) break;
			const nextDue = Math.min(...states.filter((state) => schedule.due(state.index, state.position)).map((state) => state.next));
			// Never spin: a request due in under a millisecond waits for the next timer and leaves up to ~1 ms late,
			// which its latency (measured from the intended start) includes, and the arrival rate is unchanged.
			await sleep(Math.max(1, Math.ceil(nextDue - performance.now())));
		}

		// Wait for the answers still outstanding (each bounded by the request timeout).
		const deadline = performance.now() + timeoutMs + 1000;
		while (states.some((state) => state.inFlight > 0) && performance.now() < deadline && !options.signal?.aborted) {
			progress(performance.now());
			await sleep(10);
		}
	} finally {
		clearInterval(sweeper);
		// What is still unanswered (the test was cancelled, or the wait ran out) is an error, counted now: the results
		// returned hold every request of the window, answered or not.
		const why = options.signal?.aborted ? 'cancelled before the answer came' : 'no answer before the test ended';
		for (const entry of outstanding) {
			entry.settle(why);
			entry.request.destroy();
		}

		outstanding.clear();
		for (const state of states) state.agent.destroy();
	}

	return states.map((state) => state.run);
}

/**
 * A percentile in ms, never above the largest value recorded: HdrHistogram answers with the top of the percentile's
 * bucket (up to 0.1% above the values in it), so a p99 of few requests could otherwise show above their max.
 */
export function percentileMs(histogram: Histogram, percentile: number): number {
	return histogram.totalCount === 0 ? 0 : Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue) / 1000;
}
