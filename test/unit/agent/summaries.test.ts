import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {extractOutput, isErrorPayload, summarizePayload} from '../../../source/agent/ingest/summaries.ts';

describe('summarizePayload', () => {
	it('summarises OIP v2 tensors by name, type, shape and first values', () => {
		expect(summarizePayload({inputs: [{name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6]}]})).toBe(
			'x FP32[2,3] [1, 2, 3, 4, …]',
		);
		expect(
			summarizePayload({
				outputs: [
					{name: 'a', datatype: 'INT64', shape: [1], data: [7]},
					{name: 'b', datatype: 'BYTES', shape: [1], data: ['cat']},
				],
			}),
		).toBe('a INT64[1] [7]; b BYTES[1] ["cat"]');
	});

	it('summarises KServe v1 and Seldon payloads', () => {
		expect(
			summarizePayload({
				instances: [
					[6.8, 2.8, 4.8, 1.4],
					[6.0, 3.4, 4.5, 1.6],
				],
			}),
		).toBe('instances[2x4] [6.8, 2.8, 4.8, 1.4, …]');
		expect(summarizePayload({predictions: [1, 1]})).toBe('predictions[2] [1, 1]');
		expect(summarizePayload({data: {names: ['proba'], ndarray: [[0.19]]}})).toBe('proba ndarray[1x1] [0.19]');
		expect(summarizePayload({strData: 'hello'})).toBe('strData "hello"');
	});

	it('shows model errors and unknown shapes as compact JSON', () => {
		expect(summarizePayload({error: 'boom'})).toBe('error: boom');
		expect(summarizePayload({foo: 1})).toBe('{"foo":1}');
		expect(summarizePayload(undefined, 'raw text')).toBe('raw text');
		expect(summarizePayload(undefined)).toBe('(empty)');
	});

	it('is total and short for any value', () => {
		fc.assert(
			fc.property(fc.anything(), (value) => {
				const summary = summarizePayload(value);
				expect(typeof summary).toBe('string');
				expect(summary.length).toBeLessThanOrEqual(160);
				const output = extractOutput(value);
				expect(output === undefined || typeof output === 'number' || typeof output === 'string').toBe(true);
			}),
			{numRuns: 1000},
		);
	});
});

describe('extractOutput', () => {
	it('takes a scalar, a class label, or the most likely class of a probability vector', () => {
		expect(extractOutput({outputs: [{name: 'probability', shape: [1, 1], datatype: 'FP32', data: [0.93]}]})).toBe(0.93);
		expect(extractOutput({outputs: [{name: 'label', shape: [1], datatype: 'BYTES', data: ['fraud']}]})).toBe('fraud');
		expect(extractOutput({outputs: [{name: 'probabilities', shape: [1, 3], datatype: 'FP32', data: [0.1, 0.7, 0.2]}]})).toBe('1');
		expect(extractOutput({predictions: [[0.4]]})).toBe(0.4);
		expect(extractOutput(12)).toBe(12);
		expect(extractOutput({outputs: [{name: 'y', shape: [1], datatype: 'FP32', data: [Number.NaN]}]})).toBeUndefined();
	});

	it('recognises OIP error bodies', () => {
		expect(isErrorPayload({error: 'model failed'})).toBe(true);
		expect(isErrorPayload({outputs: []})).toBe(false);
	});
});
