import fc from 'fast-check';
import {QueryResult} from 'prometheus-query';
import {describe, expect, it} from 'vitest';
import type {MetricTarget} from '../../../source/domain/ports.ts';
import {assembleSamples, assembleSeries, toMatrix, toVector} from '../../../source/adapters/prometheus/parse.ts';

const stable: MetricTarget = {namespace: 'ml', name: 'fraud', version: 'v1'};
const canary: MetricTarget = {namespace: 'ml', name: 'fraud', version: 'v2'};
const targets = [stable, canary];
const time = 1_700_000_000_000;

/** A `data` object as Prometheus's /api/v1/query returns it, parsed by prometheus-query as the source does. */
function vectorResponse(series: Array<[Record<string, string>, string]>) {
	const data = {
		resultType: 'vector',
		result: series.map(([metric, value]) => ({metric, value: [time / 1000, value]})),
	};
	const parsed = QueryResult.fromJSON(data);
	return toVector(parsed.resultType, parsed.result);
}

function labels(version: string, extra: Record<string, string> = {}) {
	return {namespace: 'ml', model: 'fraud', version, ...extra};
}

describe('parsing Prometheus answers', () => {
	it('maps each series to its version', () => {
		const samples = assembleSamples(
			[
				{
					metric: 'rps',
					targets,
					vector: vectorResponse([
						[labels('v1'), '12.5'],
						[labels('v2'), '1.25'],
					]),
				},
				{
					metric: 'p99Ms',
					targets,
					vector: vectorResponse([
						[labels('v1'), '48.2'],
						[labels('v2'), '210'],
					]),
				},
			],
			time,
		);
		expect(samples.get('ml/fraud/v1')).toEqual({
			rps: 12.5,
			errorRatio: null,
			p50Ms: null,
			p95Ms: null,
			p99Ms: 48.2,
			cpuCores: null,
			memoryBytes: null,
			time,
		});
		expect(samples.get('ml/fraud/v2')?.p99Ms).toBe(210);
	});

	it('reads NaN (0/0, a quantile over no requests) and ±Inf as missing, not as numbers', () => {
		const samples = assembleSamples(
			[
				{
					metric: 'rps',
					targets,
					vector: vectorResponse([
						[labels('v1'), '0'],
						[labels('v2'), '3'],
					]),
				},
				{
					metric: 'errorRatio',
					targets,
					vector: vectorResponse([
						[labels('v1'), 'NaN'],
						[labels('v2'), '0'],
					]),
				},
				{
					metric: 'p99Ms',
					targets,
					vector: vectorResponse([
						[labels('v1'), '+Inf'],
						[labels('v2'), '-Inf'],
					]),
				},
			],
			time,
		);
		// Zero traffic is a real 0 rps; its error ratio is unknown, not 0.
		expect(samples.get('ml/fraud/v1')).toMatchObject({rps: 0, errorRatio: null, p99Ms: null});
		expect(samples.get('ml/fraud/v2')).toMatchObject({rps: 3, errorRatio: 0, p99Ms: null});
	});

	it('leaves versions without any figure out of the map', () => {
		const samples = assembleSamples(
			[
				{metric: 'rps', targets, vector: vectorResponse([])},
				{metric: 'p50Ms', targets, vector: vectorResponse([[labels('v2'), 'NaN']])},
			],
			time,
		);
		expect(samples.size).toBe(0);
	});

	it('keeps partial data: only what came back', () => {
		const samples = assembleSamples(
			[
				{metric: 'rps', targets, vector: vectorResponse([[labels('v1'), '4']])},
				{metric: 'memoryBytes', targets, vector: vectorResponse([[labels('v2'), '1.5e8']])},
			],
			time,
		);
		expect(samples.get('ml/fraud/v1')).toMatchObject({rps: 4, memoryBytes: null});
		expect(samples.get('ml/fraud/v2')).toMatchObject({rps: null, memoryBytes: 150_000_000});
	});

	it('ignores series of versions that were not asked for', () => {
		const samples = assembleSamples(
			[
				{
					metric: 'rps',
					targets: [stable],
					vector: vectorResponse([
						[labels('v1'), '1'],
						[labels('v9'), '2'],
						[{namespace: 'other', model: 'fraud', version: 'v1'}, '3'],
					]),
				},
			],
			time,
		);
		expect([...samples.keys()]).toEqual(['ml/fraud/v1']);
		expect(samples.get('ml/fraud/v1')?.rps).toBe(1);
	});

	it('drops a figure with two series for one version (a query that did not aggregate) rather than pick one', () => {
		const samples = assembleSamples(
			[
				{
					metric: 'rps',
					targets,
					vector: vectorResponse([
						[labels('v1', {pod: 'a'}), '1'],
						[labels('v1', {pod: 'b'}), '2'],
						[labels('v2'), '5'],
					]),
				},
				{metric: 'p50Ms', targets, vector: vectorResponse([[labels('v1'), '10']])},
			],
			time,
		);
		expect(samples.get('ml/fraud/v1')).toMatchObject({rps: null, p50Ms: 10});
		expect(samples.get('ml/fraud/v2')?.rps).toBe(5);
	});

	it('matches a series without namespace when model and version name one requested version', () => {
		const samples = assembleSamples([{metric: 'rps', targets, vector: vectorResponse([[{model: 'fraud', version: 'v2'}, '7']])}], time);
		expect(samples.get('ml/fraud/v2')?.rps).toBe(7);
		const ambiguous = assembleSamples(
			[
				{
					metric: 'rps',
					targets: [stable, {...stable, namespace: 'other'}],
					vector: vectorResponse([[{model: 'fraud', version: 'v1'}, '7']]),
				},
			],
			time,
		);
		expect(ambiguous.size).toBe(0);
	});

	it('gives nothing for answers that are not vectors', () => {
		const scalar = QueryResult.fromJSON({resultType: 'scalar', result: [time / 1000, '1']});
		expect(toVector(scalar.resultType, scalar.result)).toEqual([]);
	});

	it('builds series from range answers, leaving out missing points', () => {
		const parsed = QueryResult.fromJSON({
			resultType: 'matrix',
			result: [
				{
					metric: labels('v1'),
					values: [
						[1000, '1'],
						[1001, 'NaN'],
						[1002, '3'],
						[1003, '+Inf'],
					],
				},
				{metric: labels('v2'), values: [[1000, 'NaN']]},
			],
		});
		const series = assembleSeries([{metric: 'rps', targets, matrix: toMatrix(parsed.resultType, parsed.result)}]);
		expect(series.get('ml/fraud/v1')).toEqual({
			rps: [
				{time: 1_000_000, value: 1},
				{time: 1_002_000, value: 3},
			],
		});
		expect(series.has('ml/fraud/v2')).toBe(false);
	});

	it('never turns a missing value into a number, whatever Prometheus sends (property)', () => {
		const value = fc.oneof(fc.double({noNaN: false}).map(String), fc.constantFrom('NaN', '+Inf', '-Inf', '', 'garbage', '1e400'));
		fc.assert(
			fc.property(fc.array(fc.tuple(fc.constantFrom('v1', 'v2', 'v3'), value), {maxLength: 6}), (rows) => {
				const vector = vectorResponse(rows.map(([version, text]) => [labels(version), text]));
				const samples = assembleSamples([{metric: 'p95Ms', targets, vector}], time);
				for (const sample of samples.values()) {
					expect(sample.p95Ms === null || Number.isFinite(sample.p95Ms)).toBe(true);
				}
				expect(samples.has('ml/fraud/v3')).toBe(false);
			}),
		);
	});
});
