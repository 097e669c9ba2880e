/**
 * Open Inference Protocol v2, the parts a smoke test and a load test need: read model metadata, build a valid
 * request from it, and check a response against it. Pure.
 */
import type {SmokeCheck} from '../../domain/types.ts';

export interface TensorMetadata {
	name: string;
	datatype: string;
	/** `-1` is a dimension of any size (usually the batch). */
	shape: number[];
}

export interface ModelMetadata {
	name: string;
	versions?: string[];
	platform?: string;
	inputs: TensorMetadata[];
	outputs: TensorMetadata[];
}

export interface InferenceRequest {
	inputs: {name: string; shape: number[]; datatype: string; data: (number | boolean | string)[]}[];
}

const maxElements = 1_000_000;

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseTensor(value: unknown, where: string): TensorMetadata | string {
	if (!isRecord(value)) return `${where} is not an object`;
	const {name, datatype, shape} = value;
	if (typeof name !== 'string' || name === '') return `${where} has no name`;
	if (typeof datatype !== 'string' || datatype === '') return `${where} (${name}) has no datatype`;
	if (!Array.isArray(shape) || !shape.every((dimension) => Number.isInteger(dimension) && dimension >= -1)) {
		return `${where} (${name}) has no valid shape (a list of sizes, -1 for any)`;
	}

	return {name, datatype: datatype.toUpperCase(), shape: shape as number[]};
}

/** Reads `GET /v2/models/{name}`'s body. Returns a message saying what is missing when it is not usable. */
export function parseModelMetadata(body: unknown): ModelMetadata | string {
	if (!isRecord(body)) return 'the metadata is not a JSON object';
	if (typeof body['name'] !== 'string') return 'the metadata has no model name';
	const tensors = (key: 'inputs' | 'outputs'): TensorMetadata[] | string => {
		const list = body[key];
		if (!Array.isArray(list)) return `the metadata has no ${key} list`;
		const parsed: TensorMetadata[] = [];
		for (const [index, item] of list.entries()) {
			const tensor = parseTensor(item, `${key}[${index}]`);
			if (typeof tensor === 'string') return tensor;
			parsed.push(tensor);
		}

		return parsed;
	};

	const inputs = tensors('inputs');
	if (typeof inputs === 'string') return inputs;
	const outputs = tensors('outputs');
	if (typeof outputs === 'string') return outputs;
	const metadata: ModelMetadata = {name: body['name'], inputs, outputs};
	if (Array.isArray(body['versions'])) metadata.versions = body['versions'].map(String);
	if (typeof body['platform'] === 'string') metadata.platform = body['platform'];
	return metadata;
}

function sampleValue(datatype: string, index: number): number | boolean | string {
	if (datatype === 'BOOL') return index % 2 === 0;
	if (datatype === 'BYTES') return 'modeldeck smoke test';
	if (datatype.startsWith('UINT') || datatype.startsWith('INT')) return 1;
	// Floats: small, varied, positive values are valid input for most models.
	return Number((0.1 + ((index * 0.37) % 0.8)).toFixed(3));
}

/** A request with one row for every input, filled with plain values of the declared datatype. */
export function buildInferenceRequest(metadata: ModelMetadata): InferenceRequest | string {
	if (metadata.inputs.length === 0) return 'the model declares no inputs, so no request can be built';
	const inputs: InferenceRequest['inputs'] = [];
	for (const input of metadata.inputs) {
		const shape = input.shape.map((dimension) => (dimension === -1 ? 1 : dimension));
		const elements = shape.reduce((product, dimension) => product * dimension, 1);
		if (elements > maxElements) return `input ${input.name} has ${elements} elements; the smoke test sends at most ${maxElements}`;
		inputs.push({
			name: input.name,
			shape,
			datatype: input.datatype,
			data: Array.from({length: elements}, (_, index) => sampleValue(input.datatype, index)),
		});
	}

	return {inputs};
}

function shapeMatches(declared: number[], actual: number[]): boolean {
	return declared.length === actual.length && declared.every((dimension, index) => dimension === -1 || dimension === actual[index]);
}

function flatten(data: unknown, depth = 0): unknown[] {
	if (!Array.isArray(data)) return [data];
	if (depth > 8) return data;
	return data.flatMap((item) => (Array.isArray(item) ? flatten(item, depth + 1) : [item]));
}

export function looksLikeProbability(name: string): boolean {
	return /prob|softmax|confidence/i.test(name);
}

const numericTypes = /^(U?INT(8|16|32|64)|FP(16|32|64)|BF16)$/;

/** What an integer tensor's values may be (64-bit ones as far as JSON numbers are exact). */
const integerRanges: Record<string, [number, number]> = {
	INT8: [-128, 127],
	INT16: [-32_768, 32_767],
	INT32: [-2_147_483_648, 2_147_483_647],
	INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
	UINT8: [0, 255],
	UINT16: [0, 65_535],
	UINT32: [0, 4_294_967_295],
	UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** Checks an inference response against the model's declared outputs; one check per property per output. */
export function checkInferenceResponse(metadata: ModelMetadata, body: unknown): SmokeCheck[] {
	const checks: SmokeCheck[] = [];
	if (!isRecord(body) || !Array.isArray(body['outputs'])) {
		return [{name: 'response has outputs', ok: false, detail: 'the response has no "outputs" list'}];
	}

	const outputs = body['outputs'].filter(isRecord);
	for (const declared of metadata.outputs) {
		const output = outputs.find((candidate) => candidate['name'] === declared.name);
		if (!output) {
			checks.push({
				name: `output ${declared.name} present`,
				ok: false,
				detail: `missing; got ${outputs.map((candidate) => String(candidate['name'])).join(', ') || 'no outputs'}`,
			});
			continue;
		}

		checks.push({name: `output ${declared.name} present`, ok: true, detail: 'present'});
		const datatype = typeof output['datatype'] === 'string' ? output['datatype'].toUpperCase() : undefined;
		checks.push({
			name: `output ${declared.name} datatype`,
			ok: datatype === declared.datatype,
			detail: datatype === declared.datatype ? declared.datatype : `expected ${declared.datatype}, got ${datatype ?? 'none'}`,
		});
		const shape =
			Array.isArray(output['shape']) && output['shape'].every((dimension) => Number.isInteger(dimension))
				? (output['shape'] as number[])
				: undefined;
		const values = flatten(output['data']);
		const elements = shape?.reduce((product, dimension) => product * dimension, 1);
		const shapeOk = shape !== undefined && shapeMatches(declared.shape, shape) && elements === values.length;
		checks.push({
			name: `output ${declared.name} shape`,
			ok: shapeOk,
			detail:
				shape === undefined
					? 'the output has no shape'
					: !shapeMatches(declared.shape, shape)
						? `expected [${declared.shape.join(', ')}], got [${shape.join(', ')}]`
						: elements !== values.length
							? `shape [${shape.join(', ')}] holds ${elements} values but data has ${values.length}`
							: `[${shape.join(', ')}]`,
		});
		checks.push(rangeCheck(declared, values));
	}

	return checks;
}

function rangeCheck(declared: TensorMetadata, values: unknown[]): SmokeCheck {
	const name = `output ${declared.name} values`;
	if (!numericTypes.test(declared.datatype)) {
		const ok = values.every((value) => typeof value === 'string' || typeof value === 'boolean');
		return {name, ok, detail: ok ? `${values.length} ${declared.datatype} values` : 'values of the wrong type'};
	}

	const bad = values.find((value) => typeof value !== 'number' || !Number.isFinite(value));
	if (bad !== undefined) return {name, ok: false, detail: `non-finite or non-numeric value ${JSON.stringify(bad)}`};
	const numbers = values as number[];
	const integer = integerRanges[declared.datatype];
	if (integer) {
		const [min, max] = integer;
		const outside = numbers.find((value) => !Number.isInteger(value) || value < min || value > max);
		return {
			name,
			ok: outside === undefined,
			detail:
				outside === undefined
					? `${numbers.length} integers in ${declared.datatype}'s range`
					: `${outside} is not a ${declared.datatype} (integers ${min}…${max})`,
		};
	}

	if (looksLikeProbability(declared.name)) {
		const outside = numbers.find((value) => value < 0 || value > 1);
		return {
			name,
			ok: outside === undefined,
			detail: outside === undefined ? `${numbers.length} probabilities in [0, 1]` : `probability ${outside} outside [0, 1]`,
		};
	}

	return {name, ok: true, detail: `${numbers.length} finite values`};
}
