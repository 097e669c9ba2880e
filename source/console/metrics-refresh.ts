/**
 * The metrics refresh: figures of every version on the refresh interval, history when a new point is due, and the
 * analysis over them (flags, the canary judge, drift), the expensive part of which runs only every JUDGE_EVERY_MS.
 */
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import {type MetricsPort, SourceAbsentError} from '../domain/ports.ts';
import {refOf, type ModelRef, type Series} from '../domain/types.ts';
import {analyse, slowAnalysis, type SlowAnalysis} from '../domain/pipeline.ts';
import {Poller} from './poller.ts';
import type {AppState} from '../state/state.ts';
import type {Store} from './store.ts';

/** How often the canary judge weighs its window again (a new history point arrives every few seconds). */
const JUDGE_EVERY_MS = 30_000;

export interface MetricsRefreshOptions {
	store: Store;
	metrics: MetricsPort;
	now: () => number;
	detectors?: readonly FlagDetector[] | undefined;
	judge?: CanaryJudge | undefined;
	/** Minutes of history for charts and the judge. Default 10. */
	historyMinutes?: number | undefined;
	/** Recent outputs by version key for the drift test, or undefined when there are none. */
	outputs: () => Record<string, Array<number | string>> | undefined;
}

function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function ref(model: ModelRef): ModelRef {
	return refOf(model);
}

export class MetricsRefresh {
	readonly #store: Store;
	readonly #options: MetricsRefreshOptions;
	readonly #metrics: MetricsPort;
	readonly #now: () => number;
	readonly poller: Poller;
	#slow: SlowAnalysis | undefined;
	/** The end of the last history range fetched. */
	#historyEnd = 0;
	#judgedAt = 0;
	#modelsChanged = false;

	constructor(options: MetricsRefreshOptions) {
		this.#options = options;
		this.#store = options.store;
		this.#metrics = options.metrics;
		this.#now = options.now;
		this.poller = new Poller({
			intervalMs: this.state.refreshSeconds * 1000,
			// On the second, like the clock's tick and the demo's predictions: one wake-up a second in all.
			alignTo: this.#now,
			run: () => this.#refresh(),
			// A refresh marks the source ok itself (metrics/refreshed); one with nothing to ask (no models yet) proves
			// nothing about Prometheus and leaves its health as it was.
			// None configured and none found in the cluster is not a failure: the header says it is off, and why.
			onError: (error) =>
				this.#store.dispatch({
					type: error instanceof SourceAbsentError ? 'source/absent' : 'source/error',
					source: 'metrics',
					message: describeError(error),
					now: this.#now(),
				}),
		});
	}

	get state(): AppState {
		return this.#store.getState();
	}

	/** The models changed: history and the judge are due again at the next refresh. */
	modelsChanged(): void {
		this.#modelsChanged = true;
	}

	async #refresh(): Promise<void> {
		const metrics = this.#metrics;
		const targets = this.state.models.flatMap((model) =>
			model.versions.map((version) => ({
				...ref(model),
				version: version.name,
				...(model.runtime ? {runtime: model.runtime} : {}),
			})),
		);
		if (targets.length === 0) return;
		// The refresh is due on the second, with the clock's tick and the demo's predictions: let keys that arrived
		// meanwhile be handled (and drawn) before its work, rather than after all of it.
		await new Promise((resolve) => setImmediate(resolve));
		const now = this.#now();
		const windowSeconds = Math.max(30, this.state.refreshSeconds * 15);
		const historyMinutes = this.#options.historyMinutes ?? 10;
		const stepSeconds = Math.max(this.state.refreshSeconds, (historyMinutes * 60) / 120);
		// The range ends on a multiple of the step, as Grafana aligns its range queries: consecutive answers are
		// evaluated at the same instants (Prometheus caches them, the demo reuses its points) and charts do not shift
		// sideways between refreshes. History (and the analysis over it) is fetched only when a new point is due:
		// fetching and judging more often would redo the same work.
		const historyEnd = Math.floor(now / (stepSeconds * 1000)) * stepSeconds * 1000;
		const historyDue = this.#slow === undefined || historyEnd > this.#historyEnd || this.#modelsChanged;
		const [samples, history] = await Promise.all([
			metrics.sample(targets, windowSeconds),
			historyDue ? metrics.history(targets, {start: historyEnd - historyMinutes * 60_000, end: historyEnd, stepSeconds}) : undefined,
		]);
		const sampleRecord = Object.fromEntries(samples);
		const historyRecord: Record<string, Series> = history ? Object.fromEntries(history) : this.state.history;
		if (history) {
			this.#historyEnd = historyEnd;
			const modelsChanged = this.#modelsChanged;
			this.#modelsChanged = false;

			// The judge weighs the whole window (10 minutes) and the drift test the last 2,000 outputs: doing them again
			// every JUDGE_EVERY_MS is plenty, and the most expensive part of the analysis runs a sixth as often.
			const judgeDue = this.#slow === undefined || modelsChanged || now - this.#judgedAt >= JUDGE_EVERY_MS;
			if (judgeDue) this.#judgedAt = now;
			const judge = judgeDue ? this.#options.judge : undefined;
			const outputs = judgeDue ? this.#options.outputs() : undefined;
			// One model at a time, yielding between them, so that a key pressed meanwhile is handled at once.
			const slow: SlowAnalysis = {flags: {}, verdicts: {}, drift: {}};
			for (const model of this.state.models) {
				const part = slowAnalysis({
					models: [model],
					history: historyRecord,
					detectors: this.#options.detectors ?? [],
					...(judge ? {judge} : {}),
					...(this.#slow ? {earlierVerdicts: this.#slow.verdicts, earlierDrift: this.#slow.drift} : {}),
					judgeWindowSeconds: historyMinutes * 60,
					...(outputs ? {outputs} : {}),
					now,
				});
				Object.assign(slow.flags, part.flags);
				Object.assign(slow.verdicts, part.verdicts);
				Object.assign(slow.drift, part.drift);
				await new Promise((resolve) => setImmediate(resolve));
			}

			this.#slow = slow;
		}

		const result = analyse({
			models: this.state.models,
			samples: sampleRecord,
			history: historyRecord,
			thresholds: this.state.thresholds,
			detectors: [],
			judgeWindowSeconds: historyMinutes * 60,
			previous: this.state.flags,
			sampleWindowSeconds: windowSeconds,
			...(this.#slow ? {slow: this.#slow} : {}),
			now,
		});
		// One action, one frame: the first figures at once; later refreshes with the clock's next tick (a frame a
		// second in all, instead of one more per refresh).
		const found = metrics.found;
		const clusterProblems = metrics.problems
			? Object.fromEntries(metrics.problems().map((problem) => [problem.cluster ?? '', problem.message]))
			: undefined;
		const refreshed = {
			type: 'metrics/refreshed',
			samples: sampleRecord,
			...(history ? {history: historyRecord} : {}),
			...result,
			...(found ? {found} : {}),
			...(clusterProblems ? {clusterProblems} : {}),
			now,
		} as const;
		if (Object.keys(this.state.samples).length > 0) this.#store.defer(refreshed);
		else this.#store.dispatch(refreshed);
	}
}
