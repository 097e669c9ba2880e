import {describe, expect, it} from 'vitest';
import {Joiner} from '../../../source/agent/ingest/joiner.ts';
import type {HalfChanges, JoinerUndo} from '../../../source/agent/ingest/joiner.ts';
import type {LogHalf} from '../../../source/agent/ingest/parse.ts';

function half(direction: 'request' | 'response', id: string, time: number, extra: Partial<LogHalf> = {}): LogHalf {
	return {
		kind: 'half',
		direction,
		joinKey: `ns/m/predictor/${id}`,
		requestId: id,
		namespace: 'ns',
		model: 'm',
		version: 'v1',
		time,
		summary: `${direction} ${id}`,
		...(direction === 'response' ? {status: 'ok' as const, code: 200, output: 0.5} : {}),
		...extra,
	};
}

describe('Joiner', () => {
	it('joins a request and its response into one prediction with latency = response time − request time', () => {
		const joiner = new Joiner();
		expect(joiner.add(half('request', 'a', 1000), 1000)).toEqual([]);
		expect(joiner.pendingCount).toBe(1);
		expect(joiner.add(half('response', 'a', 1042), 1050)).toEqual([
			{
				requestId: 'a',
				namespace: 'ns',
				model: 'm',
				version: 'v1',
				time: 1000,
				latencyMs: 42,
				status: 'ok',
				code: 200,
				output: 0.5,
				inputSummary: 'request a',
				outputSummary: 'response a',
			},
		]);
		expect(joiner.pendingCount).toBe(0);
	});

	it('joins halves that arrive in either order', () => {
		const joiner = new Joiner();
		joiner.add(half('response', 'b', 2010), 2010);
		const [joined] = joiner.add(half('request', 'b', 2000), 2011);
		expect(joined).toMatchObject({requestId: 'b', latencyMs: 10, time: 2000});
	});

	it('ignores a repeated half and keeps the first', () => {
		const joiner = new Joiner();
		joiner.add(half('request', 'c', 1000), 1000);
		expect(joiner.add(half('request', 'c', 1500), 1500)).toEqual([]);
		expect(joiner.add(half('response', 'c', 1100), 1600)[0]?.latencyMs).toBe(100);
	});

	it('expires halves after the timeout as incomplete predictions (latency null)', () => {
		const joiner = new Joiner({timeoutMs: 1000});
		joiner.add(half('request', 'old', 0), 0);
		joiner.add(half('response', 'late', 500, {status: 'ok'}), 500);
		joiner.add(half('request', 'new', 900), 900);
		const expired = joiner.expire(1600);
		expect(expired.map((prediction) => prediction.requestId)).toEqual(['old', 'late']);
		expect(expired[0]).toMatchObject({
			latencyMs: null,
			status: 'error',
			inputSummary: 'request old',
			outputSummary: '(no response logged within 1 s)',
		});
		expect(expired[1]).toMatchObject({
			latencyMs: null,
			status: 'ok',
			inputSummary: '(no request logged within 1 s)',
			outputSummary: 'response late',
		});
		expect(joiner.pendingCount).toBe(1);
	});

	it('bounds the halves waiting: the oldest leave as incomplete', () => {
		const joiner = new Joiner({maxPending: 2});
		joiner.add(half('request', '1', 0), 0);
		joiner.add(half('request', '2', 0), 0);
		const pushedOut = joiner.add(half('request', '3', 0), 0);
		expect(pushedOut.map((prediction) => prediction.requestId)).toEqual(['1']);
		expect(joiner.pendingCount).toBe(2);
	});

	it('drains everything on shutdown', () => {
		const joiner = new Joiner();
		joiner.add(half('request', 'x', 0), 0);
		expect(joiner.drain()).toHaveLength(1);
		expect(joiner.pendingCount).toBe(0);
	});

	it('ignores a logger’s retry of a half whose pair was already joined, and counts it, for rememberJoinedMs', () => {
		const joiner = new Joiner({timeoutMs: 1000, rememberJoinedMs: 5000});
		joiner.add(half('request', 'd', 0), 0);
		expect(joiner.add(half('response', 'd', 10), 10)).toHaveLength(1);
		// Either half again, as a retry after a lost answer: no second prediction, nothing waiting to expire.
		expect(joiner.add(half('response', 'd', 10), 200)).toEqual([]);
		expect(joiner.add(half('request', 'd', 0), 300)).toEqual([]);
		expect(joiner.pendingCount).toBe(0);
		expect(joiner.duplicates).toBe(2);
		expect(joiner.expire(10_000)).toEqual([]);
		// After rememberJoinedMs the id is forgotten: a half with it is new again.
		expect(joiner.add(half('request', 'd', 6000), 6000)).toEqual([]);
		expect(joiner.pendingCount).toBe(1);
		expect(joiner.duplicates).toBe(2);
	});

	it('takes back a join when the caller could not store it, so that the retried half joins again', () => {
		const joiner = new Joiner();
		joiner.add(half('request', 'e', 0), 0);
		const undo: JoinerUndo = [];
		expect(joiner.add(half('response', 'e', 7), 7, undo)).toHaveLength(1);
		expect(joiner.add(half('request', 'f', 8), 8, undo)).toEqual([]);
		for (const step of undo.reverse()) step();
		expect(joiner.pendingCount).toBe(1);
		expect(joiner.duplicates).toBe(0);
		const [again] = joiner.add(half('response', 'e', 7), 20);
		expect(again).toMatchObject({requestId: 'e', latencyMs: 7});
		expect(joiner.pendingCount).toBe(0);
	});

	it('keeps a transformer and a predictor logging the same id apart', () => {
		const joiner = new Joiner();
		joiner.add(half('request', 'same', 0), 0);
		expect(joiner.add(half('response', 'same', 5, {joinKey: 'ns/m/transformer/same'}), 5)).toEqual([]);
		expect(joiner.pendingCount).toBe(2);
	});

	it('journals the halves that begin and stop waiting, for a store that keeps them', () => {
		const joiner = new Joiner({timeoutMs: 1000, maxPending: 2});
		const journal = (): HalfChanges => ({put: [], removed: []});
		const keys = (changes: HalfChanges) => ({put: changes.put.map((entry) => entry.half.joinKey), removed: changes.removed});

		const first = journal();
		joiner.add(half('request', 'a', 0), 0, undefined, first);
		expect(keys(first)).toEqual({put: ['ns/m/predictor/a'], removed: []});
		expect(first.put[0]!.receivedAt).toBe(0);

		// Joined: the waiting half stops waiting.
		const joined = journal();
		joiner.add(half('response', 'a', 5), 5, undefined, joined);
		expect(keys(joined)).toEqual({put: [], removed: ['ns/m/predictor/a']});

		// Both halves in one journal (one batch): neither is left to store.
		const both = journal();
		joiner.add(half('request', 'b', 10), 10, undefined, both);
		joiner.add(half('response', 'b', 12), 12, undefined, both);
		expect(keys(both)).toEqual({put: [], removed: []});

		// Pushed out by maxPending, and timed out.
		joiner.add(half('request', 'c', 20), 20, undefined, journal());
		joiner.add(half('request', 'd', 21), 21, undefined, journal());
		const pushed = journal();
		joiner.add(half('request', 'e', 22), 22, undefined, pushed);
		expect(keys(pushed)).toEqual({put: ['ns/m/predictor/e'], removed: ['ns/m/predictor/c']});
		const expired = journal();
		expect(joiner.expire(1021, expired)).toHaveLength(1);
		expect(keys(expired)).toEqual({put: [], removed: ['ns/m/predictor/d']});
	});

	it('restores halves read back from the store: they join, and time out from when they were first received', () => {
		const joiner = new Joiner({timeoutMs: 1000});
		joiner.restore(half('request', 'a', 100), 100);
		joiner.restore(half('request', 'b', 200), 200);
		expect(joiner.add(half('response', 'a', 140), 900)).toMatchObject([
			{requestId: 'a', latencyMs: 40, inputSummary: 'request a', outputSummary: 'response a'},
		]);
		expect(joiner.expire(1199)).toEqual([]);
		expect(joiner.expire(1200)).toMatchObject([{requestId: 'b', status: 'error'}]);
	});
});
