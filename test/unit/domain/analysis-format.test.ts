import {describe, expect, it} from 'vitest';
import {formatDuration, formatMetricShift, formatMetricValue, formatPValue, formatRelativeChange} from '../../../source/domain/analysis.ts';

describe('explanation wording', () => {
	it.each([
		[45, '45s'],
		[300, '5m'],
		[435, '7m15s'],
		[5400, '1h30m'],
		[7199, '1h59m'],
		[172_800, '2d'],
		[Number.NaN, 'an unknown window'],
	])('formatDuration(%d) = %s', (seconds, text) => {
		expect(formatDuration(seconds)).toBe(text);
	});

	it.each([
		[0.0004, 'p=0.0004'],
		[0.012_34, 'p=0.012'],
		[0.31, 'p=0.31'],
		[1, 'p=1'],
		[0.000_01, 'p<0.0001'],
		[null, 'p=n/a'],
	])('formatPValue(%s) = %s', (pValue, text) => {
		expect(formatPValue(pValue)).toBe(text);
	});

	it.each([
		['p99Ms', 52.4, '52 ms'],
		['p50Ms', 3.25, '3.3 ms'],
		['errorRatio', 0.0123, '1.23%'],
		['rps', 12.345, '12.3 req/s'],
		['cpuCores', 0.25, '0.25 cores'],
		['memoryBytes', 512 * 1024 * 1024, '512 MiB'],
		['memoryBytes', 1.5 * 1024 ** 3, '1.5 GiB'],
	] as const)('formatMetricValue(%s, %d) = %s', (metric, value, text) => {
		expect(formatMetricValue(metric, value)).toBe(text);
	});

	it('signs shifts and relative changes', () => {
		expect(formatMetricShift('p99Ms', 52)).toBe('+52 ms');
		expect(formatMetricShift('p99Ms', -4)).toBe('-4 ms');
		expect(formatMetricShift('errorRatio', 0.004)).toBe('+0.4 pp');
		expect(formatMetricShift('cpuCores', 0)).toBe('±0 cores');
		expect(formatRelativeChange(0.38)).toBe('+38%');
		expect(formatRelativeChange(-0.042)).toBe('-4.2%');
	});
});
