/**
 * Short, human summaries of inference payloads (what a log line can show) and the numeric or class output used for
 * drift. Pure, and total: any JSON value (or none) gives a summary, never an exception.
 *
 * Understood shapes: Open Inference Protocol v2 (`inputs`/`outputs` tensors), KServe v1 (`instances`/`predictions`),
 * Seldon (`data.ndarray`, `data.tensor`, `strData`, `jsonData`). Anything else is shown as compact JSON, truncated.
 */

export const summaryMaxLength = 160;
const valuesShown = 4;

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function truncate(text: string, max = summaryMaxLength): string {
	return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatScalar(value: Json): string {
	if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
	if (typeof value === 'string') return JSON.stringify(truncate(value, 24));
	if (typeof value === 'boolean' || value === null) return String(value);
	if (Array.isArray(value)) return `[${firstValues(value)}]`;
	return '{…}';
}

/** The first few leaf values of a (possibly nested) array, e.g. `5.1, 3.5, 1.4, 0.2, …`. */
function firstValues(values: Json[]): string {
	const flat: Json[] = [];
	let total = 0;
	const walk = (value: Json, depth: number): void => {
		if (Array.isArray(value) && depth < 8) {
			for (const item of value) walk(item, depth + 1);
			return;
		}

		total++;
		if (flat.length < valuesShown) flat.push(value);
	};

	walk(values, 0);
	const shown = flat.map(formatScalar).join(', ');
	return total > flat.length ? `${shown}, …` : shown;
}

function shapeOf(value: Json): number[] {
	const shape: number[] = [];
	let current = value;
	while (Array.isArray(current) && shape.length < 8) {
		shape.push(current.length);
		current = current[0];
	}

	return shape;
}

function summarizeTensors(tensors: Json[]): string {
	const parts = tensors.slice(0, 3).map((tensor) => {
		if (!isRecord(tensor)) return formatScalar(tensor);
		const name = typeof tensor['name'] === 'string' ? truncate(tensor['name'], 32) : '?';
		const datatype = typeof tensor['datatype'] === 'string' ? truncate(tensor['datatype'], 8) : '';
		const shape = Array.isArray(tensor['shape'])
			? tensor['shape']
					.slice(0, 6)
					.map((dimension) => (typeof dimension === 'number' ? dimension : '?'))
					.join(',')
			: '';
		const data = tensor['data'];
		const values = Array.isArray(data) ? firstValues(data) : data === undefined ? '' : formatScalar(data);
		return `${name} ${datatype}[${shape}] [${values}]`;
	});
	if (tensors.length > 3) parts.push(`+${tensors.length - 3} more`);
	return parts.join('; ');
}

/** Summary of a request or response body. `text` is used when the body was not JSON. */
export function summarizePayload(body: Json, text?: string): string {
	if (body === undefined) return text === undefined || text === '' ? '(empty)' : truncate(text.replaceAll(/\s+/g, ' '));
	if (isRecord(body)) {
		for (const key of ['inputs', 'outputs'] as const) {
			const tensors = body[key];
			if (Array.isArray(tensors)) return truncate(summarizeTensors(tensors));
		}

		if (typeof body['error'] === 'string') return truncate(`error: ${body['error']}`);
		for (const key of ['instances', 'predictions', 'inputs'] as const) {
			const rows = body[key];
			if (Array.isArray(rows)) return truncate(`${key}[${shapeOf(rows).join('x')}] [${firstValues(rows)}]`);
		}

		const data = body['data'];
		if (isRecord(data)) {
			const names = Array.isArray(data['names']) ? `${data['names'].slice(0, 4).map(String).join(',')} ` : '';
			if (Array.isArray(data['ndarray'])) {
				return truncate(`${names}ndarray[${shapeOf(data['ndarray']).join('x')}] [${firstValues(data['ndarray'])}]`);
			}

			const tensor = data['tensor'];
			if (isRecord(tensor) && Array.isArray(tensor['values'])) {
				const shape = Array.isArray(tensor['shape']) ? tensor['shape'].map(String).join('x') : '';
				return truncate(`${names}tensor[${shape}] [${firstValues(tensor['values'])}]`);
			}
		}

		if (typeof body['strData'] === 'string') return truncate(`strData ${JSON.stringify(body['strData'])}`);
		if ('jsonData' in body) return truncate(`jsonData ${safeStringify(body['jsonData'])}`);
	}

	return truncate(safeStringify(body));
}

function safeStringify(value: Json): string {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
}

/** The first leaf of a nested array, or the value itself. */
function firstLeaf(value: Json): Json {
	let current = value;
	let depth = 0;
	while (Array.isArray(current) && depth < 8) {
		current = current[0];
		depth++;
	}

	return current;
}

function usable(value: Json): number | string | undefined {
	if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
	if (typeof value === 'string') return truncate(value, 64);
	if (typeof value === 'boolean') return String(value);
	return undefined;
}

/** Index of the largest number, for a probability vector. */
function argmax(values: Json[]): number | undefined {
	let best: number | undefined;
	let bestValue = -Infinity;
	for (const [index, value] of values.entries()) {
		if (typeof value === 'number' && value > bestValue) {
			bestValue = value;
			best = index;
		}
	}

	return best;
}

function looksLikeProbabilities(name: string): boolean {
	return /prob|softmax|scores?$/i.test(name);
}

/**
 * The value drift is computed on: a scalar output as a number, a class label as a string, a probability vector as
 * the index of its most likely class (as a string, so it counts as a class).
 */
export function extractOutput(body: Json): number | string | undefined {
	if (!isRecord(body)) return usable(firstLeaf(body));
	const outputs = body['outputs'];
	if (Array.isArray(outputs)) {
		const first = outputs[0];
		if (!isRecord(first)) return undefined;
		const data = first['data'];
		if (!Array.isArray(data)) return usable(data);
		const name = typeof first['name'] === 'string' ? first['name'] : '';
		const shape = Array.isArray(first['shape']) ? first['shape'] : [];
		const lastDimension = shape.at(-1);
		// A batch's first row when the tensor is [batch, classes] of probabilities.
		if (looksLikeProbabilities(name) && typeof lastDimension === 'number' && lastDimension > 1) {
			const row = data.slice(0, lastDimension).flat(8);
			const index = argmax(row);
			return index === undefined ? undefined : String(index);
		}

		return usable(firstLeaf(data));
	}

	for (const key of ['predictions', 'outputs'] as const) {
		const rows = body[key];
		if (Array.isArray(rows)) return usable(firstLeaf(rows));
	}

	const data = body['data'];
	if (isRecord(data)) {
		if (Array.isArray(data['ndarray'])) return usable(firstLeaf(data['ndarray']));
		const tensor = data['tensor'];
		if (isRecord(tensor) && Array.isArray(tensor['values'])) return usable(tensor['values'][0]);
	}

	if (typeof body['strData'] === 'string') return truncate(body['strData'], 64);
	return undefined;
}

/** A response body that says the inference failed (OIP v2 `{"error": "…"}`). */
export function isErrorPayload(body: Json): boolean {
	return isRecord(body) && typeof body['error'] === 'string' && !('outputs' in body) && !('predictions' in body);
}
