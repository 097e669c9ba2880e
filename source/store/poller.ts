import {untilAligned} from '../domain/time.ts';

/**
 * One poller per source: runs a task every interval; on failure waits with exponential backoff (capped), reports
 * the error and keeps trying. Never overlaps runs.
 */
export interface PollerOptions {
	intervalMs: number;
	maxBackoffMs?: number;
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

export class Poller {
	#failures = 0;
	#timer: unknown;
	#stopped = false;
	#running = false;
	readonly #options: Required<Omit<PollerOptions, 'onOk' | 'alignTo'>> & Pick<PollerOptions, 'onOk' | 'alignTo'>;

	constructor(options: PollerOptions) {
		this.#options = {
			maxBackoffMs: 30_000,
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
			await this.#options.run();
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
}
