/**
 * The agent's store: prediction metadata (for tracing a request id back to its version and outcome) and the audit
 * trail, in embedded SQLite (node:sqlite, no native addon). Predictions are written in batches, in one transaction
 * each, because ingest runs at tens of thousands a second; reads flush first so they always see what was ingested.
 * Old rows go by age and by count, a few thousand per transaction (retainInChunks), so that the write-ahead log
 * stays small and whoever drives the deletion can let ingest and the stream run in between.
 */
import {DatabaseSync} from 'node:sqlite';
import type {SQLInputValue} from 'node:sqlite';
import type {AuditEntry} from '../../domain/ports.ts';
import type {Prediction, PredictionStatus} from '../../domain/types.ts';

export interface PredictionQuery {
	requestId?: string;
	namespace?: string;
	model?: string;
	version?: string;
	status?: PredictionStatus;
	/** Epoch ms, inclusive. */
	since?: number;
	/** Epoch ms, exclusive. */
	until?: number;
	/** Default 100, at most 1,000. */
	limit?: number;
}

export interface RetentionPolicy {
	/** Predictions older than this go. Default 24 h. */
	maxAgeMs: number;
	/** At most this many predictions are kept, the oldest go first. Default 1,000,000. */
	maxRows: number;
}

export interface StoredAudit extends AuditEntry {
	seq: number;
	namespace: string;
}

export const maxQueryLimit = 1000;

/**
 * Rows deleted per retention transaction: a few milliseconds of work. Random request ids scatter a chunk over that
 * many index pages, all of which go through the write-ahead log: 2,000 rows keep it under about 10 MB.
 */
export const retentionChunkRows = 2000;

/**
 * After a checkpoint the write-ahead log is cut back to this size. Without a limit it keeps the size of the largest
 * transaction ever written (SQLite reuses the file rather than shrinking it).
 */
const walSizeLimitBytes = 16 * 1024 * 1024;

const schema = `
CREATE TABLE IF NOT EXISTS predictions (
	seq INTEGER PRIMARY KEY,
	request_id TEXT NOT NULL,
	namespace TEXT NOT NULL,
	model TEXT NOT NULL,
	version TEXT NOT NULL,
	time INTEGER NOT NULL,
	latency_ms REAL,
	status TEXT NOT NULL,
	code INTEGER,
	input_summary TEXT NOT NULL,
	output_summary TEXT NOT NULL,
	output
);
CREATE INDEX IF NOT EXISTS predictions_request_id ON predictions (request_id);
CREATE INDEX IF NOT EXISTS predictions_model_time ON predictions (namespace, model, version, time);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions (time);
CREATE TABLE IF NOT EXISTS audit (
	seq INTEGER PRIMARY KEY,
	time INTEGER NOT NULL,
	namespace TEXT NOT NULL,
	user TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	before TEXT NOT NULL,
	after TEXT NOT NULL,
	result TEXT NOT NULL,
	message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_namespace ON audit (namespace, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface PendingRow {
	seq: number;
	prediction: Prediction;
}

export interface StoreOptions {
	/** File path, or `:memory:`. */
	path: string;
	/** Rows buffered before a write. Default 1,000. */
	batchRows?: number;
	/** Longest a row waits for its write. Default 100 ms. */
	batchDelayMs?: number;
}

export class AgentStore {
	readonly path: string;
	readonly #db: DatabaseSync;
	readonly #batchRows: number;
	readonly #batchDelayMs: number;
	#pending: PendingRow[] = [];
	#timer: NodeJS.Timeout | undefined;
	#lastSeq = 0;
	#persistedSeq = 0;
	#open = true;
	readonly #insertPrediction;
	readonly #insertAudit;
	readonly #setMeta;
	readonly #deleteOlderThan;
	readonly #deleteOldest;
	readonly #countPredictions;

	constructor(options: StoreOptions) {
		this.path = options.path;
		this.#batchRows = options.batchRows ?? 1000;
		this.#batchDelayMs = options.batchDelayMs ?? 100;
		this.#db = new DatabaseSync(options.path);
		if (options.path !== ':memory:') this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = ${walSizeLimitBytes};`);
		this.#db.exec('PRAGMA synchronous = NORMAL;');
		this.#db.exec(schema);
		this.#insertPrediction = this.#db.prepare(
			`INSERT OR REPLACE INTO predictions (seq, request_id, namespace, model, version, time, latency_ms, status, code, input_summary, output_summary, output)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		);
		this.#insertAudit = this.#db.prepare(
			'INSERT INTO audit (seq, time, namespace, user, action, target, before, after, result, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
		);
		this.#setMeta = this.#db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
		this.#deleteOlderThan = this.#db.prepare('DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions WHERE time < ? ORDER BY time LIMIT ?)');
		this.#deleteOldest = this.#db.prepare('DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions ORDER BY seq LIMIT ?)');
		this.#countPredictions = this.#db.prepare('SELECT COUNT(*) AS count FROM predictions');
		const stored = (sql: string): number => Number(this.#db.prepare(sql).get()?.['value'] ?? 0);
		this.#lastSeq = Math.max(
			stored("SELECT CAST(value AS INTEGER) AS value FROM meta WHERE key = 'last_seq'"),
			stored('SELECT MAX(seq) AS value FROM predictions'),
			stored('SELECT MAX(seq) AS value FROM audit'),
		);
		this.#persistedSeq = this.#lastSeq;
	}

	get isOpen(): boolean {
		return this.#open && this.#db.isOpen;
	}

	/** The highest sequence number handed out before this process, so numbering continues after a restart. */
	get lastSeq(): number {
		return this.#lastSeq;
	}

	/** The stream published `seq`; remember it so that numbering never goes back after a restart. */
	noteSeq(seq: number): void {
		if (seq > this.#lastSeq) this.#lastSeq = seq;
		this.#schedule();
	}

	addPrediction(seq: number, prediction: Prediction): void {
		if (!this.#open) return;
		this.noteSeq(seq);
		this.#pending.push({seq, prediction});
		if (this.#pending.length >= this.#batchRows) this.flush();
		else this.#schedule();
	}

	#schedule(): void {
		if (this.#timer || !this.#open) return;
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			this.flush();
		}, this.#batchDelayMs);
		this.#timer.unref();
	}

	/** Writes what is buffered, in one transaction. */
	flush(): void {
		if (!this.#open) return;
		if (this.#timer) {
			clearTimeout(this.#timer);
			this.#timer = undefined;
		}

		if (this.#pending.length === 0 && this.#persistedSeq === this.#lastSeq) return;
		const rows = this.#pending;
		this.#pending = [];
		this.#db.exec('BEGIN');
		try {
			for (const {seq, prediction} of rows) {
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
				);
			}

			this.#setMeta.run('last_seq', String(this.#lastSeq));
			this.#db.exec('COMMIT');
			this.#persistedSeq = this.#lastSeq;
		} catch (error) {
			this.#db.exec('ROLLBACK');
			throw error;
		}
	}

	predictions(query: PredictionQuery): Prediction[] {
		this.flush();
		const where: string[] = [];
		const parameters: SQLInputValue[] = [];
		const add = (clause: string, value: SQLInputValue | undefined): void => {
			if (value === undefined) return;
			where.push(clause);
			parameters.push(value);
		};

		add('request_id = ?', query.requestId);
		add('namespace = ?', query.namespace);
		add('model = ?', query.model);
		add('version = ?', query.version);
		add('status = ?', query.status);
		add('time >= ?', query.since);
		add('time < ?', query.until);
		const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 100)), maxQueryLimit);
		const sql = `SELECT * FROM predictions ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, seq DESC LIMIT ${limit}`;
		return this.#db
			.prepare(sql)
			.all(...parameters)
			.map((row) => rowToPrediction(row));
	}

	predictionCount(): number {
		this.flush();
		return Number(this.#db.prepare('SELECT COUNT(*) AS count FROM predictions').get()?.['count'] ?? 0);
	}

	addAudit(seq: number, namespace: string, entry: AuditEntry): void {
		if (!this.#open) return;
		this.noteSeq(seq);
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
	 */
	*retainInChunks(policy: RetentionPolicy, now: number, chunkRows = retentionChunkRows): Generator<number, void, undefined> {
		if (!this.#open) return;
		this.flush();
		const limit = Math.max(1, Math.floor(chunkRows));
		const oldestKept = now - policy.maxAgeMs;
		for (;;) {
			if (!this.#open) return;
			const count = Number(this.#deleteOlderThan.run(oldestKept, limit).changes);
			if (count > 0) yield count;
			if (count < limit) break;
		}

		if (!this.#open) return;
		// The newest maxRows stay. Rows only arrive at the top, so the oldest `excess` are the ones to go even while
		// steps go on. COUNT(*) reads the small time index (4 ms for 500,000 rows, where finding the cutoff with
		// OFFSET walked the whole table: 40 ms).
		let excess = Number(this.#countPredictions.get()?.['count'] ?? 0) - Math.max(0, Math.floor(policy.maxRows));
		while (excess > 0) {
			if (!this.#open) return;
			const count = Number(this.#deleteOldest.run(Math.min(limit, excess)).changes);
			if (count === 0) return;
			excess -= count;
			yield count;
		}
	}

	close(): void {
		if (!this.#open) return;
		this.flush();
		this.#open = false;
		this.#db.close();
	}
}

function rowToPrediction(row: Record<string, unknown>): Prediction {
	const prediction: Prediction = {
		requestId: String(row['request_id']),
		namespace: String(row['namespace']),
		model: String(row['model']),
		version: String(row['version']),
		time: Number(row['time']),
		latencyMs: row['latency_ms'] === null ? null : Number(row['latency_ms']),
		status: row['status'] === 'error' ? 'error' : 'ok',
		inputSummary: String(row['input_summary']),
		outputSummary: String(row['output_summary']),
	};
	if (row['code'] !== null && row['code'] !== undefined) prediction.code = Number(row['code']);
	const output = row['output'];
	if (typeof output === 'number' || typeof output === 'string') prediction.output = output;
	return prediction;
}
