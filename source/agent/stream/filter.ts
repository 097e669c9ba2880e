import type {PredictionFilter} from '../../domain/ports.ts';
import type {Prediction} from '../../domain/types.ts';

export function matchesPrediction(
	filter: PredictionFilter,
	prediction: Pick<Prediction, 'namespace' | 'model' | 'version' | 'status' | 'latencyMs'>,
): boolean {
	if (filter.namespace !== undefined && filter.namespace !== prediction.namespace) return false;
	if (filter.model !== undefined && filter.model !== prediction.model) return false;
	if (filter.version !== undefined && filter.version !== prediction.version) return false;
	if (filter.status !== undefined && filter.status !== prediction.status) return false;
	if (filter.minLatencyMs !== undefined && (prediction.latencyMs === null || prediction.latencyMs < filter.minLatencyMs)) {
		return false;
	}

	return true;
}

/** Reads a filter from untrusted JSON, keeping only well-formed fields. Returns an error message for bad ones. */
export function parseFilter(value: unknown): PredictionFilter | string {
	if (value === undefined || value === null) return {};
	if (typeof value !== 'object' || Array.isArray(value)) return 'filter must be an object';
	const record = value as Record<string, unknown>;
	const filter: PredictionFilter = {};
	for (const key of ['namespace', 'model', 'version'] as const) {
		const field = record[key];
		if (field === undefined || field === null || field === '') continue;
		if (typeof field !== 'string') return `filter.${key} must be a string`;
		filter[key] = field;
	}

	const status = record['status'];
	if (status !== undefined && status !== null) {
		if (status !== 'ok' && status !== 'error') return 'filter.status must be "ok" or "error"';
		filter.status = status;
	}

	const minLatency = record['minLatencyMs'];
	if (minLatency !== undefined && minLatency !== null) {
		if (typeof minLatency !== 'number' || !Number.isFinite(minLatency)) return 'filter.minLatencyMs must be a number';
		filter.minLatencyMs = minLatency;
	}

	return filter;
}
