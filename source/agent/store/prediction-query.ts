/** Reading predictions back: the filters a caller may give and the SQL they become. */
import type {SQLInputValue} from 'node:sqlite';
import type {PredictionStatus} from '../../domain/types.ts';

export interface PredictionQuery {
	requestId?: string;
	/** Request ids that start with this (exact matches first). */
	requestIdPrefix?: string;
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

export const maxQueryLimit = 1000;

/** The SQL of a prediction query and its parameters: newest first (exact request ids first for a prefix). */
export function predictionQuerySql(query: PredictionQuery): {sql: string; parameters: SQLInputValue[]} {
	const where: string[] = [];
	const parameters: SQLInputValue[] = [];
	const add = (clause: string, value: SQLInputValue | undefined): void => {
		if (value === undefined) return;
		where.push(clause);
		parameters.push(value);
	};

	add('request_id = ?', query.requestId);
	// GLOB, not LIKE: case-sensitive as ids are, and its literal prefix is looked up in the request_id index.
	add('request_id GLOB ?', query.requestIdPrefix === undefined ? undefined : `${query.requestIdPrefix.replaceAll(/[*?[]/g, '[$&]')}*`);
	add('namespace = ?', query.namespace);
	add('model = ?', query.model);
	add('version = ?', query.version);
	add('status = ?', query.status);
	add('time >= ?', query.since);
	add('time < ?', query.until);
	const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 100)), maxQueryLimit);
	const exactFirst = query.requestIdPrefix === undefined ? '' : 'request_id = ? DESC, ';
	if (query.requestIdPrefix !== undefined) parameters.push(query.requestIdPrefix);
	const sql = `SELECT * FROM predictions ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${exactFirst}time DESC, seq DESC LIMIT ${limit}`;
	return {sql, parameters};
}
