import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {AgentStore} from '../../../source/agent/store/sqlite-store.ts';
import type {Prediction} from '../../../source/domain/types.ts';

function prediction(requestId: string, time: number, extra: Partial<Prediction> = {}): Prediction {
	return {requestId, namespace: 'team-a', model: 'fraud', version: 'v1', time, latencyMs: 10, status: 'ok', inputSummary: 'in', outputSummary: 'out', ...extra};
}

const directories: string[] = [];
afterEach(() => {
	for (const directory of directories.splice(0)) rmSync(directory, {recursive: true, force: true});
});

describe('AgentStore', () => {
	it('stores predictions and finds them by request id, model, version, status and time', () => {
		const store = new AgentStore({path: ':memory:'});
		store.addPrediction(1, prediction('a', 1000, {output: 0.25, code: 200}));
		store.addPrediction(2, prediction('b', 2000, {version: 'v2', status: 'error', latencyMs: null, output: 'fraud'}));
		store.addPrediction(3, prediction('c', 3000, {model: 'other'}));
		expect(store.predictions({requestId: 'a'})).toEqual([prediction('a', 1000, {output: 0.25, code: 200})]);
		expect(store.predictions({version: 'v2'})[0]).toMatchObject({requestId: 'b', latencyMs: null, output: 'fraud', status: 'error'});
		expect(store.predictions({model: 'fraud'}).map((row) => row.requestId)).toEqual(['b', 'a']);
		expect(store.predictions({since: 2000}).map((row) => row.requestId)).toEqual(['c', 'b']);
		expect(store.predictions({status: 'error'}).map((row) => row.requestId)).toEqual(['b']);
		expect(store.predictions({limit: 1}).map((row) => row.requestId)).toEqual(['c']);
		store.close();
	});

	it('deletes by age and by row count', () => {
		const store = new AgentStore({path: ':memory:'});
		for (let index = 1; index <= 10; index++) store.addPrediction(index, prediction(String(index), index * 1000));
		expect(store.retain({maxAgeMs: 5500, maxRows: 1000}, 10_000)).toBe(4);
		expect(store.predictionCount()).toBe(6);
		expect(store.retain({maxAgeMs: 1e9, maxRows: 2}, 10_000)).toBe(4);
		expect(store.predictions({}).map((row) => row.requestId)).toEqual(['10', '9']);
		store.close();
	});

	it('keeps predictions, audit and the sequence number across a restart with the same file', () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-store-'));
		directories.push(directory);
		const file = path.join(directory, 'agent.db');
		const first = new AgentStore({path: file});
		first.addPrediction(7, prediction('kept', 1000));
		first.addAudit(8, 'team-a', {time: 5, user: 'alice', action: 'promote v2', target: 'team-a/fraud', before: 'a', after: 'b', result: 'ok', message: ''});
		first.noteSeq(12);
		first.close();

		const second = new AgentStore({path: file});
		expect(second.lastSeq).toBe(12);
		expect(second.predictions({requestId: 'kept'})).toHaveLength(1);
		expect(second.audit(10)).toEqual([{seq: 8, namespace: 'team-a', time: 5, user: 'alice', action: 'promote v2', target: 'team-a/fraud', before: 'a', after: 'b', result: 'ok', message: ''}]);
		expect(second.audit(10, 'team-b')).toEqual([]);
		second.close();
	});

	it('makes buffered rows visible to reads at once', () => {
		const store = new AgentStore({path: ':memory:', batchRows: 1000, batchDelayMs: 60_000});
		store.addPrediction(1, prediction('buffered', 1));
		expect(store.predictions({requestId: 'buffered'})).toHaveLength(1);
		store.close();
	});
});
