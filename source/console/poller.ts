import {untilAligned} from '../domain/time.ts';

/**
 * One poller per source: runs a task every interval; on failure reports the error and tries again, backing off
 * (capped). Never overlaps runs — except that a run past its timeout is given up on: it counts as a failure and the
 * next one is scheduled, so a source that stops answering (a frozen connection) is reported within the interval plus
 * the timeout instead of never.
 */
export interface PollerOptions {
	intervalMs: number;
	/**
	 * Longest wait before a retry. Default two intervals: the console asks once an interval anyway, so backing off
	 * further saves nothing worth having, and a source that answers again shows so within two intervals.
	 */
	maxBackoffMs?: number;
	/**
	 * A run that has not settled after this long has failed ("no answer within …"); what it settles with later is
	 * ignored. Default 30 s. Sources have their own, shorter request timeouts: this one catches what they miss.
	 */
	timeoutMs?: number;
	run: () => Promise<void>;
	onError: (error: unknown) => void;
	onOk?: () => void;
	/**
	 * Run on multiples of the interval of this clock (as Prometheus aligns its scrapes) instead of an interval after
	 * the last run ended: runs then share their wake-up with other work due on the second. Failures still back off.
	 */
	alignTo?: () => number;
	setTimer?: (callback: () => void, ms: number) => unknown;
	clearTimer?: (handle: unknown) => void;
}

export function backoffDelay(failures: number, intervalMs: number, maxBackoffMs: number): number {
	if (failures <= 0) return intervalMs;
	return Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(failures, 16));
}

export class PollTimeoutError extends Error {
	override name = 'PollTimeoutError';
}

export class Poller {
	#failures = 0;
	#timer: unknown;
	#stopped = false;
	#running = false;
	readonly #options: Required<Omit<PollerOptions, 'onOk' | 'alignTo'>> & Pick<PollerOptions, 'onOk' | 'alignTo'>;

	constructor(options: PollerOptions) {
		this.#options = {
			maxBackoffMs: options.intervalMs * 2,
			timeoutMs: 30_000,
			setTimer: (callback, ms) => setTimeout(callback, ms),
			clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
			...options,
		};
	}

	get failures(): number {
		return this.#failures;
	}

	start(): void {
		this.#stopped = false;
		void this.tick();
	}

	/** Run now (e.g. after an action), unless a run is in flight. */
	poke(): void {
		if (this.#running || this.#stopped) return;
		this.#options.clearTimer(this.#timer);
		void this.tick();
	}

	stop(): void {
		this.#stopped = true;
		this.#options.clearTimer(this.#timer);
	}

	async tick(): Promise<void> {
		if (this.#stopped) return;
		this.#running = true;
		try {
			await this.#runWithin(this.#options.timeoutMs);
			this.#failures = 0;
			this.#options.onOk?.();
		} catch (error) {
			this.#failures++;
			this.#options.onError(error);
		} finally {
			this.#running = false;
		}

		if (this.#stopped) return;
		const {intervalMs, maxBackoffMs, alignTo} = this.#options;
		const delay =
			this.#failures === 0 && alignTo ? untilAligned(alignTo(), intervalMs) : backoffDelay(this.#failures, intervalMs, maxBackoffMs);
		const timer = this.#options.setTimer(() => void this.tick(), delay);
		(timer as {unref?: () => void} | undefined)?.unref?.();
		this.#timer = timer;
	}

	#runWithin(timeoutMs: number): Promise<void> {
		return new Promise<void>((resolve, reject) => {
			let settled = false;
			const settle = (error?: unknown) => {
				if (settled) return;
				settled = true;
				clearTimeout(deadline);
				if (error === undefined) resolve();
				else reject(error);
			};

			const deadline = setTimeout(() => settle(new PollTimeoutError(`no answer within ${formatSeconds(timeoutMs)}`)), timeoutMs);
			deadline.unref?.();
			Promise.resolve()
				.then(() => this.#options.run())
				.then(
					() => settle(),
					(error: unknown) => settle(error ?? new Error('the refresh failed')),
				);
		});
	}
}

function formatSeconds(ms: number): string {
	return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
