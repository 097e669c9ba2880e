/** A write SQLite refused: the error thrown, the failure remembered, and the message that says what to do. */

/** A write SQLite refused; the message says which file, why, and what to do. */
export class StoreWriteError extends Error {
	override name = 'StoreWriteError';
	/** SQLite's primary result code (13 full, 8 read-only, 10 I/O error, …), when known. */
	readonly sqliteCode: number | undefined;
	constructor(message: string, sqliteCode: number | undefined, cause: unknown) {
		super(message, {cause});
		this.sqliteCode = sqliteCode;
	}
}

/** The store's last failed write, until a write succeeds again. */
export interface StoreFailure {
	message: string;
	since: number;
}

const sqliteNames: Record<number, string> = {5: 'busy', 8: 'read-only', 10: 'I/O error', 11: 'corrupt', 13: 'full', 14: 'cannot open'};

/** What a refused write means for people (which file, why, what to do), and SQLite's primary result code. */
export function describeWriteFailure(
	error: unknown,
	path: string,
	maxFileBytes: number | undefined,
): {message: string; sqliteCode: number | undefined} {
	const sqliteCode = typeof (error as {errcode?: unknown}).errcode === 'number' ? (error as {errcode: number}).errcode & 0xff : undefined;
	const detail = (error as {errstr?: string}).errstr ?? (error as Error).message;
	let message: string;
	if (sqliteCode === 13) {
		const limit =
			maxFileBytes === undefined ? '' : ` or reached its limit of ${Number((maxFileBytes / 1024 / 1024).toFixed(2))} MB (--store-max-mb)`;
		message = `the prediction store at ${path} is full (${detail})${limit}: free space on its volume, or lower --retention-max-mb, --retention-max-rows or --retention-hours so that retention deletes more; the logger should retry`;
	} else {
		message = `the prediction store at ${path} cannot be written (SQLite: ${detail}${sqliteCode !== undefined && sqliteNames[sqliteCode] ? `, ${sqliteNames[sqliteCode]}` : ''}): check that its volume is mounted read-write and healthy; the logger should retry`;
	}
	return {message, sqliteCode};
}
