/**
 * Parsing and validation of Open Inference Protocol v2 infer requests for the logistic model. Every rejection is a
 * message a client developer can act on: what was wrong and what the model expects.
 */
import {FEATURE_COUNT, INPUT_NAME} from './logistic-model.ts';

/** Most rows accepted in one request; a larger batch is refused rather than stalling the event loop. */
export const MAX_ROWS = 10_000;

export interface ParsedInferRequest {
	/** The request's own `id`, echoed in the response when present. */
	id?: string;
	rows: number;
	/** Row-major features, `rows × FEATURE_COUNT`. */
	features: Float32Array;
}

export type ParseResult = {ok: true; request: ParsedInferRequest} | {ok: false; message: string};

const EXPECTED = `one input "${INPUT_NAME}" with datatype FP32 and shape [n, ${FEATURE_COUNT}]`;

function fail(message: string): ParseResult {
	return {ok: false, message};
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens nested arrays (the protocol allows row-major nesting) into `out`; false if anything is not a number. */
function flattenNumbers(data: unknown, out: number[]): boolean {
	if (!Array.isArray(data)) return false;
	for (const item of data) {
		if (Array.isArray(item)) {
			if (!flattenNumbers(item, out)) return false;
		} else if (typeof item === 'number' && Number.isFinite(item)) {
			out.push(item);
		} else {
			return false;
		}
		// Stop early on absurd payloads instead of flattening them all.
		if (out.length > MAX_ROWS * FEATURE_COUNT) return true;
	}
	return true;
}

export function parseInferRequest(body: unknown): ParseResult {
	if (!isRecord(body)) return fail(`the request body must be a JSON object with "inputs": ${EXPECTED}`);
	const {id, inputs} = body;
	if (id !== undefined && typeof id !== 'string') return fail('"id" must be a string when given');
	if (!Array.isArray(inputs) || inputs.length === 0) return fail(`"inputs" must be a non-empty array: ${EXPECTED}`);
	if (inputs.length > 1) return fail(`got ${inputs.length} inputs; this model takes ${EXPECTED}`);
	const input: unknown = inputs[0];
	if (!isRecord(input)) return fail(`each input must be an object with name, datatype, shape and data: ${EXPECTED}`);
	if (input['name'] !== INPUT_NAME) {
		return fail(`unknown input ${JSON.stringify(input['name'])}; this model takes ${EXPECTED}`);
	}
	if (input['datatype'] !== 'FP32') {
		return fail(`input "${INPUT_NAME}" has datatype ${JSON.stringify(input['datatype'])}; expected FP32`);
	}
	const shape = input['shape'];
	if (
		!Array.isArray(shape) ||
		shape.length !== 2 ||
		!shape.every((dimension) => Number.isInteger(dimension) && (dimension as number) >= 0)
	) {
		return fail(`input "${INPUT_NAME}" has shape ${JSON.stringify(shape)}; expected [n, ${FEATURE_COUNT}]`);
	}
	const [rows, columns] = shape as [number, number];
	if (columns !== FEATURE_COUNT) {
		return fail(`input "${INPUT_NAME}" has ${columns} features per row; this model takes ${FEATURE_COUNT}`);
	}
	if (rows < 1) return fail(`input "${INPUT_NAME}" has no rows; send at least one`);
	if (rows > MAX_ROWS) return fail(`input "${INPUT_NAME}" has ${rows} rows; at most ${MAX_ROWS} per request`);
	const values: number[] = [];
	if (!flattenNumbers(input['data'], values)) {
		return fail(`input "${INPUT_NAME}" data must be an array of finite numbers (flat or nested by row)`);
	}
	if (values.length !== rows * columns) {
		return fail(`input "${INPUT_NAME}" has ${values.length} values but shape [${rows}, ${columns}] needs ${rows * columns}`);
	}
	return {ok: true, request: {...(id === undefined ? {} : {id}), rows, features: Float32Array.from(values)}};
}
