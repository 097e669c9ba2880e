/** What retention keeps: by age of receipt, by count and by size; and how much one transaction deletes. */

export interface RetentionPolicy {
	/** Predictions received longer ago than this go (the agent's clock, not the logger's). Default 24 h. */
	maxAgeMs: number;
	/** At most this many predictions are kept, the oldest go first. Default 1,000,000. */
	maxRows: number;
	/**
	 * The database's pages in use (page_count − freelist_count, times page_size) are kept under this many bytes,
	 * the oldest predictions going first. Freed pages are reused, so the file stops growing near this size; it does
	 * not shrink. Default: no limit.
	 */
	maxBytes?: number;
}

/**
 * Rows deleted per retention transaction: a few milliseconds of work. Random request ids scatter a chunk over that
 * many index pages, all of which go through the write-ahead log: 2,000 rows keep it under about 10 MB.
 */
export const retentionChunkRows = 2000;
