/**
 * Predictions in: a POST parsed, its halves joined, the completed predictions committed to the store with the changes
 * among waiting halves, then streamed to consoles. Also the store's health as ingest sees it.
 */
import type {Prediction} from '../../domain/types.ts';
import type {AgentMetrics} from '../metrics.ts';
import {StoreWriteError} from '../store/write-failure.ts';
import type {AgentStore} from '../store/sqlite-store.ts';
import type {StreamHub} from '../stream/hub.ts';
import type {HalfChanges, Joiner, JoinerUndo} from './joiner.ts';
import {IngestError, parseIngest} from './parse.ts';
import type {IncomingHeaders} from './parse.ts';

export interface IngestResult {
	status: number;
	body: {accepted: number; ignored: number; predictions: number} | {error: string};
}

export interface IngestPipelineParts {
	store: AgentStore;
	hub: StreamHub;
	joiner: Joiner;
	metrics: AgentMetrics;
	log: (line: string) => void;
	now: () => number;
}

export class IngestPipeline {
	readonly #parts: IngestPipelineParts;

	constructor(parts: IngestPipelineParts) {
		this.#parts = parts;
	}

	/**
	 * Numbers predictions as the stream will, commits them (with the changes among waiting halves), then streams
	 * them. `now`: the store throws StoreWriteError when it cannot write (a request is waiting for the answer);
	 * `later`: for predictions no request waits for (a join timed out, the agent stops), which wait in memory for the
	 * next write that works, and consoles see at once either way. A prediction cannot have happened after the agent
	 * received it: a logger's clock ahead of the agent's would otherwise keep it at the top of every listing.
	 */
	storeThenStream(predictions: Prediction[], now: number, halves: HalfChanges | undefined, mode: 'now' | 'later'): void {
		const {store, hub, metrics} = this.#parts;
		for (const prediction of predictions) if (prediction.time > now) prediction.time = now;
		const first = hub.seq + 1;
		const rows = predictions.map((prediction, index) => ({seq: first + index, prediction}));
		if (mode === 'now') store.addPredictions(rows, now, halves);
		else store.addPredictionsLater(rows, now, halves);
		metrics.storeWritable.set(store.failure ? 0 : 1);
		for (const prediction of predictions) hub.publish({type: 'prediction', prediction}, prediction.namespace);
	}

	/** Asks a failed store to try a write again; logs the change. */
	storeHealth(): {ok: boolean; message: string} {
		const {store, metrics, log} = this.#parts;
		const before = store.failure;
		const failure = store.probe();
		metrics.storeWritable.set(failure ? 0 : 1);
		if (before && !failure) log(`store: writes work again (they had failed since ${new Date(before.since).toISOString()})`);
		return failure ? {ok: false, message: failure.message} : {ok: true, message: 'ready'};
	}

	/**
	 * Ingests one POST. Answers 200 only once every prediction it completed is committed to the store, and streams
	 * them only then; if the store cannot write, answers 503 with the cause and takes everything back (a half that
	 * found its partner waits again), so the logger's retry finds things as they were.
	 */
	ingest(headers: IncomingHeaders, body: Buffer): IngestResult {
		const {joiner, metrics, log} = this.#parts;
		const now = this.#parts.now();
		const undo: JoinerUndo = [];
		// Halves that begin or stop waiting are committed with the predictions: an acknowledged half survives a kill.
		const halves: HalfChanges = {put: [], removed: []};
		const duplicatesBefore = joiner.duplicates;
		try {
			const batch = parseIngest(headers, body, now);
			const completed: Prediction[] = [];
			for (const record of batch.records) {
				if (record.kind === 'prediction') completed.push(record.prediction);
				else completed.push(...joiner.add(record, now, undo, halves));
			}

			this.storeThenStream(completed, now, halves, 'now');
			metrics.ingested.inc({format: batch.format}, batch.records.length);
			const duplicates = joiner.duplicates - duplicatesBefore;
			if (duplicates > 0) metrics.duplicateHalves.inc(duplicates);
			return {status: 200, body: {accepted: batch.records.length, ignored: batch.ignored, predictions: completed.length}};
		} catch (error) {
			for (const step of undo.reverse()) step();
			if (error instanceof IngestError) {
				metrics.ingestRejected.inc({reason: error.status === 413 ? 'too-large' : error.status === 415 ? 'media-type' : 'invalid'});
				return {status: error.status, body: {error: error.message}};
			}

			if (error instanceof StoreWriteError) {
				metrics.ingestRejected.inc({reason: 'store'});
				metrics.storeWritable.set(0);
				log(`ingest: refused with 503: ${error.message}`);
				return {status: 503, body: {error: error.message}};
			}

			metrics.ingestRejected.inc({reason: 'internal'});
			log(`ingest: unexpected failure: ${(error as Error).stack ?? String(error)}`);
			return {status: 500, body: {error: `the agent failed to process the logs: ${(error as Error).message}`}};
		}
	}

	/** Timed-out halves become incomplete predictions, stored with their halves' removal in one transaction. */
	expireHalves(): void {
		const {joiner, metrics} = this.#parts;
		const now = this.#parts.now();
		const changes: HalfChanges = {put: [], removed: []};
		const expired = joiner.expire(now, changes);
		if (expired.length > 0) this.storeThenStream(expired, now, changes, 'later');

		metrics.pendingHalves.set(joiner.pendingCount);
	}
}
