/**
 * The agent's store: prediction metadata (for tracing a request id back to its version and outcome) and the audit
 * trail, in embedded SQLite (node:sqlite, no native addon).
 *
 * Durability: every write is committed before the call returns. Ingest writes the predictions one request completed
 * in one transaction and answers the logger only after the commit, so a prediction the agent acknowledged survives
 * the process being killed (WAL with synchronous=NORMAL: a commit is in the write-ahead log before it returns;
 * only a power loss may take the last transactions). The last sequence number the stream handed out is committed
 * with them (and by noteSeq for events that are not predictions), so numbers are never reused after a restart.
 *
 * Failures: a write that SQLite refuses (disk full, read-only volume, I/O error) throws a StoreWriteError whose
 * message names the file, the cause and what to do; the store remembers it (`failure`) until a write succeeds again.
 *
 * Old rows go by age of receipt, by count and by size, a few thousand per transaction (retainInChunks), so that
 * the write-ahead log stays small and whoever drives the deletion can let ingest and the stream run in between.
 */
import {DatabaseSync} from 'node:sqlite';
import type {AuditEntry} from '../../domain/ports.ts';
import type {Prediction} from '../../domain/types.ts';
import type {HalfChanges} from '../ingest/joiner.ts';
import type {LogHalf} from '../ingest/parse.ts';
import {maxQueryLimit, predictionQuerySql, type PredictionQuery} from './prediction-query.ts';
import {retentionChunkRows, type RetentionPolicy} from './retention-policy.ts';
import {type Row, rowToPrediction, schema} from './schema.ts';
import {describeWriteFailure, type StoreFailure, StoreWriteError} from './write-failure.ts';

export interface StoredAudit extends AuditEntry {
	seq: number;
	namespace: string;
}

/**
 * After a checkpoint the write-ahead log is cut back to this size. Without a limit it keeps the size of the largest
 * transaction ever written (SQLite reuses the file rather than shrinking it).
 */
const walSizeLimitBytes = 16 * 1024 * 1024;

/**
 * Predictions made outside a request (join timeouts, shutdown) kept in memory while the store cannot write. About
 * 1 KB each on V8's heap, which the deployment caps (deploy/base: --max-old-space-size=128): 20,000 is ~20 MiB.
 */
const maxBacklogRows = 20_000;

export interface StoreOptions {
	/** File path, or `:memory:`. */
	path: string;
	/**
	 * A hard limit on the database's size: SQLite refuses writes that would grow it past this (PRAGMA
	 * max_page_count), so the store never fills its volume; ingest then answers 503 until retention frees pages.
	 * Default: none (the volume's size).
	 */
	maxFileBytes?: number;
	/** The agent's clock. */
	now?: () => number;
}

export class AgentStore {
	readonly path: string;
	readonly maxFileBytes: number | undefined;
	readonly #db: DatabaseSync;
	readonly #now: () => number;
	#lastSeq = 0;
	#persistedSeq = 0;
	#open = true;
	#failure: StoreFailure | undefined;
	/** Predictions that arrived outside a request while writes failed; written first by the next write. */
	#backlog: Row[] = [];
	#backlogDropped = 0;
	/** Roughly how many bytes the last failed write held: the probe writes twice that. */
	#failedBytes = 0;
	readonly #insertPrediction;
	readonly #putHalf;
	readonly #removeHalf;
	readonly #insertAudit;
	readonly #setMeta;
	readonly #deleteOlderThan;
	readonly #firstReceivedSince;
	readonly #deleteOldest;
	readonly #countPredictions;
	readonly #pageCount;
	readonly #freelistCount;
	readonly #pageSize: number;

	constructor(options: StoreOptions) {
		this.path = options.path;
		this.#now = options.now ?? Date.now;
		this.#db = new DatabaseSync(options.path);
		if (options.path !== ':memory:') this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = ${walSizeLimitBytes};`);
		this.#db.exec('PRAGMA synchronous = NORMAL;');
		this.#db.exec(schema);
		// Added after the first release: the time the agent received a prediction (retention by age goes by it).
		const columns = this.#db
			.prepare('PRAGMA table_info(predictions)')
			.all()
			.map((column) => String(column['name']));
		if (!columns.includes('received')) this.#db.exec('ALTER TABLE predictions ADD COLUMN received INTEGER');
		this.#pageSize = Number(this.#db.prepare('PRAGMA page_size').get()?.['page_size'] ?? 4096);
		if (options.maxFileBytes !== undefined) {
			this.maxFileBytes = options.maxFileBytes;
			this.#db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxFileBytes / this.#pageSize))}`);
		}

		this.#insertPrediction = this.#db.prepare(
			`INSERT OR REPLACE INTO predictions (seq, request_id, namespace, model, version, time, latency_ms, status, code, input_summary, output_summary, output, received)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		);
		this.#putHalf = this.#db.prepare('INSERT OR REPLACE INTO pending_halves (join_key, half, received_at) VALUES (?, ?, ?)');
		this.#removeHalf = this.#db.prepare('DELETE FROM pending_halves WHERE join_key = ?');
		this.#insertAudit = this.#db.prepare(
			'INSERT INTO audit (seq, time, namespace, user, action, target, before, after, result, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
		);
		this.#setMeta = this.#db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
		// Sequence numbers grow with receipt, so the rows received before a time are the ones below the first seq
		// received at or after it: found by walking the table from its oldest row, which stops at once when few go.
		this.#firstReceivedSince = this.#db.prepare('SELECT seq FROM predictions WHERE COALESCE(received, time) >= ? ORDER BY seq LIMIT 1');
		this.#deleteOlderThan = this.#db.prepare(
			'DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions WHERE seq < ? ORDER BY seq LIMIT ?)',
		);
		this.#deleteOldest = this.#db.prepare('DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions ORDER BY seq LIMIT ?)');
		this.#countPredictions = this.#db.prepare('SELECT COUNT(*) AS count FROM predictions');
		this.#pageCount = this.#db.prepare('PRAGMA page_count');
		this.#freelistCount = this.#db.prepare('PRAGMA freelist_count');
		const stored = (sql: string): number => Number(this.#db.prepare(sql).get()?.['value'] ?? 0);
		this.#lastSeq = Math.max(
			stored("SELECT CAST(value AS INTEGER) AS value FROM meta WHERE key = 'last_seq'"),
			stored('SELECT MAX(seq) AS value FROM predictions'),
			stored('SELECT MAX(seq) AS value FROM audit'),
		);
		this.#persistedSeq = this.#lastSeq;
	}

	/** A small value kept across restarts (e.g. the registry watcher's last version per alias); undefined when absent. */
	readMeta(key: string): string | undefined {
		const row = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(key);
		return row === undefined ? undefined : String(row['value']);
	}

	/** Keeps a small value across restarts; throws when the store cannot write. */
	writeMeta(key: string, value: string): void {
		this.#setMeta.run(key, value);
	}

	get isOpen(): boolean {
		return this.#open && this.#db.isOpen;
	}

	/** The highest sequence number handed out before this process, so numbering continues after a restart. */
	get lastSeq(): number {
		return this.#lastSeq;
	}

	/** Why the last write failed, until one succeeds again. */
	get failure(): StoreFailure | undefined {
		return this.#failure;
	}

	/** Predictions waiting in memory for the store to accept writes again, and how many of those were dropped. */
	get backlog(): {rows: number; dropped: number} {
		return {rows: this.#backlog.length, dropped: this.#backlogDropped};
	}

	/** Bytes in the database's pages in use (page_count − freelist_count), the figure size retention keeps down. */
	usedBytes(): number {
		const pages = Number(this.#pageCount.get()?.['page_count'] ?? 0);
		const free = Number(this.#freelistCount.get()?.['freelist_count'] ?? 0);
		return (pages - free) * this.#pageSize;
	}

	/**
	 * The stream published `seq`; commits it at once if it is above the last one stored, so that numbering never
	 * goes back after a restart, even after a kill. Never throws: a failed write is remembered in `failure`.
	 */
	noteSeq(seq: number): void {
		if (seq > this.#lastSeq) this.#lastSeq = seq;
		if (!this.#open || this.#persistedSeq >= this.#lastSeq) return;
		try {
			this.#write([]);
		} catch {
			// Remembered in #failure; the next write stores the number.
		}
	}

	/** Writes one prediction and commits it. Throws StoreWriteError when SQLite refuses. */
	addPrediction(seq: number, prediction: Prediction, receivedAt = this.#now()): void {
		this.addPredictions([{seq, prediction}], receivedAt);
	}

	/**
	 * Writes predictions in one transaction, with the last sequence number, and commits before returning: all or
	 * none. Throws StoreWriteError when SQLite refuses (nothing of these rows is stored then).
	 */
	addPredictions(rows: {seq: number; prediction: Prediction}[], receivedAt = this.#now(), halves?: HalfChanges): void {
		if (!this.#open)
			throw new StoreWriteError(`the prediction store at ${this.path} is closed (the agent is stopping)`, undefined, undefined);
		for (const {seq} of rows) if (seq > this.#lastSeq) this.#lastSeq = seq;
		const halvesChanged = halves !== undefined && (halves.put.length > 0 || halves.removed.length > 0);
		// Nothing to write (a repeated half): no transaction.
		if (rows.length === 0 && !halvesChanged && this.#backlog.length === 0 && this.#persistedSeq >= this.#lastSeq) return;
		this.#write(
			rows.map(({seq, prediction}) => ({seq, prediction, receivedAt})),
			halves,
		);
	}

	/**
	 * The halves waiting for their partners when the agent last stopped (or was killed), oldest first: a request
	 * acknowledged before a restart still joins its response after it.
	 */
	pendingHalves(): Array<{half: LogHalf; receivedAt: number}> {
		return this.#db
			.prepare('SELECT half, received_at FROM pending_halves ORDER BY received_at, rowid')
			.all()
			.map((row) => ({half: JSON.parse(String(row['half'])) as LogHalf, receivedAt: Number(row['received_at'])}));
	}

	/**
	 * Like addPredictions, for predictions that no request waits for (a join timed out, the agent stops): when the
	 * store cannot write they wait in memory (up to 100,000, the oldest dropped first) for the next write that works.
	 */
	addPredictionsLater(rows: {seq: number; prediction: Prediction}[], receivedAt = this.#now(), halves?: HalfChanges): void {
		if (!this.#open) return;
		try {
			this.addPredictions(rows, receivedAt, halves);
		} catch {
			for (const {seq, prediction} of rows) this.#backlog.push({seq, prediction, receivedAt});
			const excess = this.#backlog.length - maxBacklogRows;
			if (excess > 0) {
				this.#backlog.splice(0, excess);
				this.#backlogDropped += excess;
			}
		}
	}

	/**
	 * When the last write failed: tries one that needs free pages (twice the failed write's size, at least four
	 * pages, written, committed and deleted) and, if it works, writes the backlog. Returns the failure that
	 * remains, if any.
	 */
	probe(): StoreFailure | undefined {
		if (!this.#failure || !this.#open) return this.#failure;
		try {
			this.#db.exec('BEGIN');
			this.#setMeta.run('probe', 'x'.repeat(Math.min(8 * 1024 * 1024, Math.max(4 * this.#pageSize, 2 * this.#failedBytes))));
			this.#db.exec('COMMIT');
			this.#db.exec("DELETE FROM meta WHERE key = 'probe'");
			this.#write([]);
		} catch (error) {
			if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
			this.#fail(error);
		}

		return this.#failure;
	}

	#write(rows: Row[], halves?: HalfChanges): void {
		const backlog = this.#backlog;
		this.#backlog = [];
		try {
			this.#db.exec('BEGIN');
			for (const key of halves?.removed ?? []) this.#removeHalf.run(key);
			for (const {half, receivedAt} of halves?.put ?? []) this.#putHalf.run(half.joinKey, JSON.stringify(half), Math.round(receivedAt));
			for (const {seq, prediction, receivedAt} of backlog.length > 0 ? [...backlog, ...rows] : rows) {
				this.#insertPrediction.run(
					seq,
					prediction.requestId,
					prediction.namespace,
					prediction.model,
					prediction.version,
					Math.round(prediction.time),
					prediction.latencyMs,
					prediction.status,
					prediction.code ?? null,
					prediction.inputSummary,
					prediction.outputSummary,
					prediction.output ?? null,
					Math.round(receivedAt),
				);
			}

			const lastSeq = this.#lastSeq;
			if (lastSeq > this.#persistedSeq) this.#setMeta.run('last_seq', String(lastSeq));
			this.#db.exec('COMMIT');
			this.#persistedSeq = Math.max(this.#persistedSeq, lastSeq);
			this.#failure = undefined;
			this.#failedBytes = 0;
		} catch (error) {
			// SQLite rolls back by itself on some errors (a full database): only roll back what is still open.
			if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
			this.#backlog = backlog.length > 0 ? [...backlog, ...this.#backlog] : this.#backlog;
			this.#failedBytes = [...backlog, ...rows].reduce(
				(sum, {prediction}) => sum + 100 + prediction.inputSummary.length + prediction.outputSummary.length + prediction.requestId.length,
				0,
			);
			throw this.#fail(error);
		}
	}

	#fail(error: unknown): StoreWriteError {
		const {message, sqliteCode} = describeWriteFailure(error, this.path, this.maxFileBytes);
		if (this.#failure?.message !== message) this.#failure = {message, since: this.#now()};
		return new StoreWriteError(message, sqliteCode, error);
	}

	predictions(query: PredictionQuery): Prediction[] {
		const {sql, parameters} = predictionQuerySql(query);
		return this.#db
			.prepare(sql)
			.all(...parameters)
			.map((row) => rowToPrediction(row));
	}

	predictionCount(): number {
		return Number(this.#countPredictions.get()?.['count'] ?? 0);
	}

	/** Writes an audit entry and commits it. Throws StoreWriteError when SQLite refuses. */
	addAudit(seq: number, namespace: string, entry: AuditEntry): void {
		if (!this.#open) return;
		if (seq > this.#lastSeq) this.#lastSeq = seq;
		try {
			this.#insertAudit.run(
				seq,
				Math.round(entry.time),
				namespace,
				entry.user,
				entry.action,
				entry.target,
				entry.before,
				entry.after,
				entry.result,
				entry.message,
			);
		} catch (error) {
			throw this.#fail(error);
		}
	}

	/** Newest first. With a namespace, only that namespace's entries. */
	audit(limit: number, namespace?: string): StoredAudit[] {
		const bounded = Math.min(Math.max(1, Math.floor(limit)), maxQueryLimit);
		const rows =
			namespace === undefined
				? this.#db.prepare(`SELECT * FROM audit ORDER BY seq DESC LIMIT ${bounded}`).all()
				: this.#db.prepare(`SELECT * FROM audit WHERE namespace = ? ORDER BY seq DESC LIMIT ${bounded}`).all(namespace);
		return rows.map((row) => ({
			seq: Number(row['seq']),
			namespace: String(row['namespace']),
			time: Number(row['time']),
			user: String(row['user']),
			action: String(row['action']),
			target: String(row['target']),
			before: String(row['before']),
			after: String(row['after']),
			result: String(row['result']) as AuditEntry['result'],
			message: String(row['message']),
		}));
	}

	/** Deletes predictions past the policy, all at once. Returns how many went. */
	retain(policy: RetentionPolicy, now: number): number {
		let deleted = 0;
		for (const count of this.retainInChunks(policy, now)) deleted += count;
		return deleted;
	}

	/**
	 * Deletes predictions past the policy, oldest first, one transaction of at most `chunkRows` rows per step, and
	 * yields how many each step deleted. At 5,000 predictions/s a minute's worth is 300,000 rows: in one DELETE that
	 * held the event loop for 0.7 s and left a 78 MB write-ahead log behind; in chunks of 2,000 a step takes about
	 * 3 ms, the caller lets ingest and the stream run between steps, and the log stays under about 10 MB.
	 *
	 * First by age of receipt, then by count, then by size: while the pages in use exceed maxBytes, the oldest rows
	 * go, as many as the average row's share of those pages says, at least a chunk's worth at a time when far over.
	 */
	*retainInChunks(policy: RetentionPolicy, now: number, chunkRows = retentionChunkRows): Generator<number, void, undefined> {
		if (!this.#open) return;
		const limit = Math.max(1, Math.floor(chunkRows));
		const cutoff = this.#firstReceivedSince.get(now - policy.maxAgeMs);
		// None received since the cutoff: every row is older.
		const keepFrom = cutoff === undefined ? Number.MAX_SAFE_INTEGER : Number(cutoff['seq']);
		for (;;) {
			if (!this.#open) return;
			const count = Number(this.#deleteOlderThan.run(keepFrom, limit).changes);
			if (count > 0) yield count;
			if (count < limit) break;
		}

		if (!this.#open) return;
		// The newest maxRows stay. Rows only arrive at the top, so the oldest `excess` are the ones to go even while
		// steps go on. COUNT(*) reads the small time index (4 ms for 500,000 rows, where finding the cutoff with
		// OFFSET walked the whole table: 40 ms).
		let excess = this.predictionCount() - Math.max(0, Math.floor(policy.maxRows));
		while (excess > 0) {
			if (!this.#open) return;
			const count = Number(this.#deleteOldest.run(Math.min(limit, excess)).changes);
			if (count === 0) return;
			excess -= count;
			yield count;
		}

		if (policy.maxBytes === undefined) return;
		for (;;) {
			if (!this.#open) return;
			const used = this.usedBytes();
			if (used <= policy.maxBytes) return;
			const rows = this.predictionCount();
			if (rows === 0) return;
			// Index pages of scattered keys (request ids) empty more slowly than the rows go, so this may take a few
			// rounds; each deletes at least a tenth of a chunk so that it ends.
			const share = Math.ceil(((used - policy.maxBytes) / used) * rows);
			const count = Number(this.#deleteOldest.run(Math.min(limit, Math.max(share, Math.ceil(limit / 10)))).changes);
			if (count === 0) return;
			yield count;
		}
	}

	close(): void {
		if (!this.#open) return;
		try {
			if (this.#backlog.length > 0 || this.#persistedSeq < this.#lastSeq) this.#write([]);
		} catch {
			// Remembered in #failure; nothing more can be done on the way out.
		}

		this.#open = false;
		this.#db.close();
	}
}
