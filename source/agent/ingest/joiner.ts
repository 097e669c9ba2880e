/**
 * Joins the request and response halves that loggers send separately into one prediction. A half whose partner
 * does not arrive within the timeout is kept as an incomplete prediction (latency unknown), so nothing logged is
 * lost; the number of halves waiting is bounded, the oldest leaving first as incomplete.
 */
import type {Prediction} from '../../domain/types.ts';
import type {LogHalf} from './parse.ts';

export interface JoinerOptions {
	/** How long a half waits for its partner. Default 30 s. */
	timeoutMs?: number;
	/** Most halves waiting at once. Default 100,000. */
	maxPending?: number;
	/**
	 * How long the ids of joined pairs are remembered, so that a logger's retry of a half that already found its
	 * partner is recognised and ignored rather than kept as a second, incomplete prediction. Default: timeoutMs.
	 * At most maxPending ids are remembered.
	 */
	rememberJoinedMs?: number;
}

interface Pending {
	half: LogHalf;
	receivedAt: number;
}

/** Changes to undo, newest last: `add` records how to take back what it did when the caller cannot keep it. */
export type JoinerUndo = (() => void)[];

/**
 * What changed among the waiting halves, for a store that keeps them across restarts: halves that began waiting,
 * and join keys that stopped (joined, pushed out, timed out). A key both added and removed within one journal is in
 * neither.
 */
export interface HalfChanges {
	put: Array<{half: LogHalf; receivedAt: number}>;
	removed: string[];
}

function journalRemove(changes: HalfChanges | undefined, key: string): void {
	if (!changes) return;
	const index = changes.put.findIndex((entry) => entry.half.joinKey === key);
	if (index === -1) changes.removed.push(key);
	else changes.put.splice(index, 1);
}

export class Joiner {
	readonly timeoutMs: number;
	readonly maxPending: number;
	readonly rememberJoinedMs: number;
	readonly #pending = new Map<string, Pending>();
	/** Join keys of pairs already joined, with when, oldest first. */
	readonly #joined = new Map<string, number>();
	#duplicates = 0;

	constructor(options: JoinerOptions = {}) {
		this.timeoutMs = options.timeoutMs ?? 30_000;
		this.maxPending = options.maxPending ?? 100_000;
		this.rememberJoinedMs = options.rememberJoinedMs ?? this.timeoutMs;
	}

	get pendingCount(): number {
		return this.#pending.size;
	}

	/** Halves ignored as repeats so far: a half already waiting, or one whose pair was already joined. */
	get duplicates(): number {
		return this.#duplicates;
	}

	/**
	 * Adds a half. Returns the predictions it completes: the joined one when its partner was waiting, and any
	 * incomplete ones pushed out because too many were waiting. With `undo`, records how to take all of it back
	 * (run the functions newest first), for a caller whose predictions could not be stored: the logger will send
	 * the half again and it must then find its partner as before.
	 */
	add(half: LogHalf, now: number, undo?: JoinerUndo, changes?: HalfChanges): Prediction[] {
		this.#forget(now);
		const waiting = this.#pending.get(half.joinKey);
		if (waiting && waiting.half.direction !== half.direction) {
			this.#pending.delete(half.joinKey);
			journalRemove(changes, half.joinKey);
			const joinedBefore = this.#joined.get(half.joinKey);
			this.#joined.delete(half.joinKey);
			this.#joined.set(half.joinKey, now);
			while (this.#joined.size > this.maxPending) this.#joined.delete(this.#joined.keys().next().value!);
			undo?.push(() => {
				this.#joined.delete(half.joinKey);
				if (joinedBefore !== undefined) this.#joined.set(half.joinKey, joinedBefore);
				// Back at the end of the line: it may expire up to one timeout late, never early.
				this.#pending.set(half.joinKey, waiting);
			});
			const [request, response] = half.direction === 'request' ? [half, waiting.half] : [waiting.half, half];
			return [joinHalves(request, response)];
		}

		const completed: Prediction[] = [];
		if (waiting || this.#joined.has(half.joinKey)) {
			// The same half twice (a logger retry): the first one already waits, keep it and its place in line; or
			// its pair was joined already, and the prediction is stored.
			this.#duplicates++;
			undo?.push(() => this.#duplicates--);
			return completed;
		}

		this.#pending.set(half.joinKey, {half, receivedAt: now});
		changes?.put.push({half, receivedAt: now});
		undo?.push(() => this.#pending.delete(half.joinKey));
		while (this.#pending.size > this.maxPending) {
			const oldest = this.#pending.entries().next().value;
			if (!oldest) break;
			this.#pending.delete(oldest[0]);
			journalRemove(changes, oldest[0]);
			undo?.push(() => this.#pending.set(oldest[0], oldest[1]));
			completed.push(incomplete(oldest[1].half, 'the agent had too many unanswered requests waiting'));
		}

		return completed;
	}

	/** Drops remembered joined ids older than rememberJoinedMs. */
	#forget(now: number): void {
		for (const [key, joinedAt] of this.#joined) {
			if (now - joinedAt < this.rememberJoinedMs) break;
			this.#joined.delete(key);
		}
	}

	/**
	 * A half that was waiting when the agent stopped, read back from the store: it waits again, with the time it was
	 * received (so it still times out when it would have). Restore oldest first, before any `add`.
	 */
	restore(half: LogHalf, receivedAt: number): void {
		this.#pending.set(half.joinKey, {half, receivedAt});
	}

	/** Halves that waited longer than the timeout, as incomplete predictions. */
	expire(now: number, changes?: HalfChanges): Prediction[] {
		this.#forget(now);
		const expired: Prediction[] = [];
		for (const [key, pending] of this.#pending) {
			// Insertion order is arrival order, so the first one still in time ends the scan.
			if (now - pending.receivedAt < this.timeoutMs) break;
			this.#pending.delete(key);
			journalRemove(changes, key);
			expired.push(
				incomplete(
					pending.half,
					`no ${pending.half.direction === 'request' ? 'response' : 'request'} logged within ${Math.round(this.timeoutMs / 1000)} s`,
				),
			);
		}

		return expired;
	}

	/** Everything still waiting, as incomplete predictions (on shutdown). */
	drain(): Prediction[] {
		const rest = [...this.#pending.values()].map((pending) => incomplete(pending.half, 'the agent stopped before its partner arrived'));
		this.#pending.clear();
		return rest;
	}
}

export function joinHalves(request: LogHalf, response: LogHalf): Prediction {
	const prediction: Prediction = {
		requestId: request.requestId,
		namespace: request.namespace,
		model: request.model,
		version: request.version === 'unknown' ? response.version : request.version,
		time: request.time,
		latencyMs: Math.max(0, response.time - request.time),
		status: response.status ?? 'ok',
		inputSummary: request.summary,
		outputSummary: response.summary,
	};
	if (response.code !== undefined) prediction.code = response.code;
	if (response.output !== undefined) prediction.output = response.output;
	return prediction;
}

/**
 * A half without its partner. A request without a response counts as an error: KServe's logger sends no response
 * when the model failed, so a missing response most often means a failed request.
 */
export function incomplete(half: LogHalf, why: string): Prediction {
	const isRequest = half.direction === 'request';
	const prediction: Prediction = {
		requestId: half.requestId,
		namespace: half.namespace,
		model: half.model,
		version: half.version,
		time: half.time,
		latencyMs: null,
		status: isRequest ? 'error' : (half.status ?? 'ok'),
		inputSummary: isRequest ? half.summary : `(${why})`,
		outputSummary: isRequest ? `(${why})` : half.summary,
	};
	if (half.code !== undefined) prediction.code = half.code;
	if (half.output !== undefined) prediction.output = half.output;
	return prediction;
}
