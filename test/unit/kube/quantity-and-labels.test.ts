import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {labelSelectorMatches, mapSelects, selectorToQuery} from '../../../source/adapters/kube/labels.ts';
import {parseQuantity} from '../../../source/adapters/kube/quantity.ts';

describe('parseQuantity', () => {
	it.each([
		['500m', 0.5],
		['2', 2],
		['1.5', 1.5],
		['512Mi', 512 * 2 ** 20],
		['1Gi', 2 ** 30],
		['1G', 1e9],
		['100k', 1e5],
		['1e3', 1000],
		['128974848', 128_974_848],
		[4, 4],
	])('%s is %d', (input, expected) => {
		expect(parseQuantity(input)).toBeCloseTo(expected, 9);
	});

	it('gives undefined for what is not a quantity', () => {
		for (const input of ['', 'abc', '1Xi', '--1', undefined, Number.NaN]) expect(parseQuantity(input)).toBeUndefined();
	});

	it('never throws on any string', () => {
		fc.assert(
			fc.property(fc.string(), (input) => {
				const value = parseQuantity(input);
				return value === undefined || Number.isFinite(value);
			}),
		);
	});
});

describe('label selectors', () => {
	it('a Service selector needs every key and selects nothing when empty', () => {
		expect(mapSelects({app: 'fraud', version: 'v1'}, {app: 'fraud', version: 'v1', extra: 'x'})).toBe(true);
		expect(mapSelects({app: 'fraud', version: 'v1'}, {app: 'fraud'})).toBe(false);
		expect(mapSelects({}, {app: 'fraud'})).toBe(false);
		expect(mapSelects(undefined, {app: 'fraud'})).toBe(false);
	});

	it('a Deployment selector honours match expressions', () => {
		const selector = {
			matchLabels: {app: 'fraud'},
			matchExpressions: [
				{key: 'tier', operator: 'In', values: ['a', 'b']},
				{key: 'legacy', operator: 'DoesNotExist'},
			],
		};
		expect(labelSelectorMatches(selector, {app: 'fraud', tier: 'a'})).toBe(true);
		expect(labelSelectorMatches(selector, {app: 'fraud', tier: 'c'})).toBe(false);
		expect(labelSelectorMatches(selector, {app: 'fraud', tier: 'a', legacy: 'yes'})).toBe(false);
		expect(labelSelectorMatches({matchExpressions: [{key: 'x', operator: 'Bogus'}]}, {x: '1'})).toBe(false);
		expect(selectorToQuery(selector)).toBe('app=fraud,tier in (a,b),!legacy');
	});
});
