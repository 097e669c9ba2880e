/** The store's tables, a prediction as it is written, and a row read back as a Prediction. */
import type {Prediction} from '../../domain/types.ts';

export const schema = `
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
CREATE TABLE IF NOT EXISTS pending_halves (join_key TEXT PRIMARY KEY, half TEXT NOT NULL, received_at INTEGER NOT NULL);
`;

export interface Row {
	seq: number;
	prediction: Prediction;
	/** When the agent received it (epoch ms, its own clock): what age retention goes by. */
	receivedAt: number;
}

export function rowToPrediction(row: Record<string, unknown>): Prediction {
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
