/**
 * A list read while it arrives (adapters/kube/list-reader.ts) gives exactly what JSON.parse and the trim give, on
 * generated lists cut into random chunks, and fails exactly when JSON.parse throws or the body is not a list.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {ListReader, type ReadList} from '../../../source/adapters/kube/list-reader.ts';
import {trimPod} from '../../../source/adapters/kube/trim.ts';
import {loadUnlabelledFixture} from '../../fixtures/kube/unlabelled.ts';

/** What the early lists did before: the whole body parsed at once, the items trimmed. */
function oracle(body: string, trim?: (item: unknown) => unknown): ReadList {
	let parsed: unknown;
	try {
		parsed = JSON.parse(body);
	} catch {
		return {ok: false};
	}

	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {ok: false};
	const list = parsed as Record<string, unknown>;
	if (!Array.isArray(list['items'])) return {ok: false};
	const items = list['items'] as unknown[];
	return {ok: true, list: {...list, items: trim ? items.map(trim) : items}};
}

/** BODY fed to a reader in the pieces CUTS make (positions, any order, repeats allowed). */
function read(body: string, cuts: number[], trim?: (item: unknown) => unknown): ReadList {
	const reader = new ListReader(trim);
	const points = [...new Set(cuts.map((cut) => cut % (body.length + 1)))].sort((a, b) => a - b);
	let from = 0;
	for (const point of [...points, body.length]) {
		reader.push(body.slice(from, point));
		from = point;
	}

	return reader.end();
}

/**
 * Keys that meet the reader's special cases. No key holds `"` or `\`: JSON.parse, the oracle, is not to be trusted
 * with keys written with `\"` or `\\` (V8 13.6 to 14.6, nodejs/node#63785: once such a key was parsed, a later
 * escaped key can come back as another). Strings in values hold them freely; `items` spelled with escapes is kept.
 */
const key = fc.oneof(
	fc.string().filter((text) => !text.includes('"') && !text.includes('\\')),
	fc.constantFrom('items', 'item', 'itemss', 'kind', 'metadata', ':', ',', '[', ']', '{', '}', '__proto__'),
);
const value = fc.letrec((tie) => ({
	value: fc.oneof(
		{depthSize: 'small'},
		fc.jsonValue({maxDepth: 1}),
		fc.string({unit: 'binary'}),
		fc.constantFrom('"quoted"', 'back\\slash\\', '\\"', 'a,b]c}', '[{'),
		fc.array(tie('value'), {maxLength: 4}),
		fc.dictionary(key, tie('value'), {maxKeys: 4}),
	),
})).value;
const itemsKey = fc.constantFrom('"items"', '"\\u0069tems"', '"item\\u0073"');
const space = fc.constantFrom('', ' ', '\n', '\t', ' \r\n  ');

/** A list's text as an API server (or anything answering 200) might write it: keys in any order, items anywhere. */
const listBody = fc
	.record({
		before: fc.dictionary(key, value, {maxKeys: 3}),
		after: fc.dictionary(key, value, {maxKeys: 3}),
		items: fc.array(value, {maxLength: 8}),
		itemsKey,
		indent: fc.constantFrom(undefined, 0, 1, 2, '\t'),
		space,
	})
	.map(({before, after, items, itemsKey: spelled, indent, space: gap}) => {
		// No key twice in the list's object either: the reader's own rule (the last items array wins) has its example
		// test further down.
		const unique = (object: Record<string, unknown>, taken: Record<string, unknown>) =>
			Object.fromEntries(Object.entries(object).filter(([name]) => name !== 'items' && !Object.hasOwn(taken, name)));
		const head = unique(before, {});
		const part = (object: Record<string, unknown>) => JSON.stringify(object, null, indent).slice(1, -1).trim();
		const parts = [part(head), `${spelled}${gap}:${gap}${JSON.stringify(items, null, indent)}`, part(unique(after, head))].filter(Boolean);
		return `${gap}{${gap}${parts.join(`${gap},${gap}`)}${gap}}${gap}`;
	});

/**
 * Items as an API server writes them, each beginning with the same key: where the reader cuts them (list-reader.ts).
 * Inside, the same key begins objects in nested arrays, and strings hold the text of a cut, so that cuts are refused.
 */
const trap = fc.constantFrom('},{"metadata":', '},{"metadata":{', '\\},{"metadata":', '}]},{"metadata":', '"},{"metadata":"');
const nested = fc.letrec((tie) => ({
	value: fc.oneof(
		{depthSize: 'small'},
		value,
		trap,
		fc.array(
			tie('value').map((inner) => ({metadata: inner})),
			{maxLength: 3},
		),
		fc.dictionary(key, tie('value'), {maxKeys: 3}),
	),
})).value;
const kubeItem = fc.record({metadata: nested, spec: nested}, {requiredKeys: ['metadata']});
const kubeBody = fc
	.record({
		items: fc.array(kubeItem, {maxLength: 12}),
		kind: fc.constantFrom('PodList', 'DeploymentList'),
		tail: fc.option(fc.dictionary(key, value, {maxKeys: 2}), {nil: undefined}),
	})
	.map(({items, kind, tail}) => JSON.stringify({kind, apiVersion: 'v1', metadata: {resourceVersion: '1'}, items, ...tail}));

const cuts = fc.array(fc.nat(), {maxLength: 12});

describe('ListReader', () => {
	it('gives what JSON.parse gives, for any list cut into any chunks', () => {
		fc.assert(
			fc.property(listBody, cuts, (body, at) => {
				expect(read(body, at)).toEqual(oracle(body));
			}),
			{numRuns: 1500},
		);
	});

	it('gives what JSON.parse gives for lists whose items all begin with the same key, however they are nested', () => {
		fc.assert(
			fc.property(kubeBody, cuts, (body, at) => {
				expect(read(body, at)).toEqual(oracle(body));
			}),
			{numRuns: 1500},
		);
	});

	it('fails exactly when JSON.parse throws or the body is not a list, whatever was broken', () => {
		const anyJson = fc.oneof(listBody, kubeBody, fc.json(), fc.string());
		const broken = fc
			.record({
				body: anyJson,
				at: fc.nat(),
				drop: fc.nat({max: 3}),
				insert: fc.constantFrom('', '"', '\\', ',', ':', '[', ']', '{', '}', 'x', ' ', '\u00a0', '\u2028', '\ufeff'),
			})
			.map(({body, at, drop, insert}) => {
				const position = at % (body.length + 1);
				return body.slice(0, position) + insert + body.slice(position + drop);
			});
		fc.assert(
			fc.property(broken, cuts, (body, at) => {
				expect(read(body, at)).toEqual(oracle(body));
			}),
			{numRuns: 3000},
		);
	});

	it('trims each item as the whole-body parse and trim did, on captured pods', () => {
		const {pods} = loadUnlabelledFixture();
		const body = JSON.stringify({kind: 'PodList', apiVersion: 'v1', metadata: {resourceVersion: '42'}, items: pods});
		fc.assert(
			fc.property(cuts, (at) => {
				const result = read(body, at, trimPod);
				expect(result).toEqual(oracle(body, trimPod));
				expect(result.ok && result.list.items.length).toBe(pods.length);
			}),
			{numRuns: 100},
		);
	});

	it("cuts an API server's list between items without reading them character by character, in any chunks", () => {
		const {pods} = loadUnlabelledFixture();
		const items = Array.from({length: 200}, (_, index) => pods[index % pods.length]);
		const body = JSON.stringify({kind: 'PodList', apiVersion: 'v1', metadata: {resourceVersion: '42'}, items});
		for (const size of [1024, 16 * 1024, 64 * 1024, body.length]) {
			const reader = new ListReader(trimPod);
			for (let from = 0; from < body.length; from += size) reader.push(body.slice(from, from + size));
			const result = reader.end();
			expect(result.ok && result.list.items.length).toBe(items.length);
			// The header, the end, and at most the last item: never the whole list.
			const longest = Math.max(...items.map((item) => JSON.stringify(item).length));
			expect(reader.scanned, `chunks of ${size}`).toBeLessThan(longest + 200);
		}
	});

	it('fails, as the whole-body parse did, when the trim throws on any item, wherever the item falls', () => {
		const items = Array.from({length: 40}, (_, index) => ({metadata: {name: `pod-${index}`}, spec: {n: index}}));
		const body = JSON.stringify({kind: 'PodList', apiVersion: 'v1', metadata: {}, items});
		fc.assert(
			fc.property(fc.nat({max: items.length - 1}), cuts, (bad, at) => {
				const trim = (item: unknown) => {
					if ((item as {spec: {n: number}}).spec.n === bad) throw new Error('trim failed');
					return item;
				};
				expect(read(body, at, trim)).toEqual({ok: false});
			}),
			{numRuns: 200},
		);
	});

	it('keeps only the last items array when the key comes twice, as JSON.parse does', () => {
		const body = '{"items":[1,2],"kind":"List","items":[3]}';
		for (let cut = 0; cut <= body.length; cut++) expect(read(body, [cut])).toEqual({ok: true, list: {items: [3], kind: 'List'}});
		expect(read('{"items":[1],"items":5}', [])).toEqual({ok: false});
	});

	it('fails on an empty body, a top level that is not an object, and items that are not an array', () => {
		for (const body of [
			'',
			'[]',
			'"items"',
			'null',
			'{"items":null}',
			'{"items":{"a":1}}',
			'{"Items":[]}',
			'{"items":[1,]}',
			'{"items":[,1]}',
			'{"items":[\u00a0]}',
			'{"items":[\ufeff]}',
			'{"items":[1}]}',
			'{"items":[1',
		])
			for (const cut of [0, 3, 10, body.length]) expect(read(body, [cut]), body).toEqual({ok: false});
		expect(read('{"items":[ ]}', [])).toEqual({ok: true, list: {items: []}});
	});
});
