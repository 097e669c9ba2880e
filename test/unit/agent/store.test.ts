import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {AgentStore} from '../../../source/agent/store/sqlite-store.ts';
import {StoreWriteError} from '../../../source/agent/store/write-failure.ts';
import type {Prediction} from '../../../source/domain/types.ts';

function prediction(requestId: string, time: number, extra: Partial<Prediction> = {}): Prediction {
	return {
		requestId,
		namespace: 'team-a',
		model: 'fraud',
		version: 'v1',
		time,
		latencyMs: 10,
		status: 'ok',
		inputSummary: 'in',
		outputSummary: 'out',
		...extra,
	};
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
		for (let index = 1; index <= 10; index++) store.addPrediction(index, prediction(String(index), index * 1000), index * 1000);
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
		first.addAudit(8, 'team-a', {
			time: 5,
			user: 'alice',
			action: 'promote v2',
			target: 'team-a/fraud',
			before: 'a',
			after: 'b',
			result: 'ok',
			message: '',
		});
		first.noteSeq(12);
		first.close();

		const second = new AgentStore({path: file});
		expect(second.lastSeq).toBe(12);
		expect(second.predictions({requestId: 'kept'})).toHaveLength(1);
		expect(second.audit(10)).toEqual([
			{
				seq: 8,
				namespace: 'team-a',
				time: 5,
				user: 'alice',
				action: 'promote v2',
				target: 'team-a/fraud',
				before: 'a',
				after: 'b',
				result: 'ok',
				message: '',
			},
		]);
		expect(second.audit(10, 'team-b')).toEqual([]);
		second.close();
	});

	it('commits every write before returning: another connection to the file sees rows and numbers at once', () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-store-'));
		directories.push(directory);
		const file = path.join(directory, 'agent.db');
		const store = new AgentStore({path: file});
		store.addPredictions([
			{seq: 1, prediction: prediction('one', 1)},
			{seq: 2, prediction: prediction('two', 2)},
		]);
		// An event that is not a prediction (a guard verdict): its number is committed too.
		store.noteSeq(3);
		// Opened while the first is still open (as after a kill): no close, no flush.
		const other = new AgentStore({path: file});
		expect(other.lastSeq).toBe(3);
		expect(other.predictions({}).map((row) => row.requestId)).toEqual(['two', 'one']);
		other.close();
		store.close();
	});

	it('fails a write on a full database with a message naming the file, the cause and what to do, and recovers once pages are freed', () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-store-'));
		directories.push(directory);
		const file = path.join(directory, 'agent.db');
		const store = new AgentStore({path: file, maxFileBytes: 256 * 1024});
		let seq = 0;
		let refused: unknown;
		const big = 'x'.repeat(2000);
		for (let round = 0; round < 1000 && refused === undefined; round++) {
			try {
				store.addPredictions(Array.from({length: 10}, () => ({seq: ++seq, prediction: prediction(`r${seq}`, seq, {inputSummary: big})})));
			} catch (error) {
				refused = error;
			}
		}

		expect(refused).toBeInstanceOf(StoreWriteError);
		expect((refused as StoreWriteError).sqliteCode).toBe(13);
		expect((refused as Error).message).toBe(
			`the prediction store at ${file} is full (database or disk is full) or reached its limit of 0.25 MB (--store-max-mb): free space on its volume, or lower --retention-max-mb, --retention-max-rows or --retention-hours so that retention deletes more; the logger should retry`,
		);
		expect(store.failure?.message).toBe((refused as Error).message);
		const stored = store.predictionCount();
		// All or nothing: the refused write left no row behind.
		expect(stored % 10).toBe(0);
		expect(store.probe()).toBeDefined();
		// A prediction no request waits for is kept in memory meanwhile.
		store.addPredictionsLater([{seq: ++seq, prediction: prediction('late', seq, {inputSummary: big.repeat(20)})}]);
		expect(store.backlog.rows).toBe(1);

		expect(store.retain({maxAgeMs: 1e12, maxRows: stored / 2}, Date.now())).toBe(stored / 2);
		expect(store.probe()).toBeUndefined();
		expect(store.failure).toBeUndefined();
		expect(store.backlog.rows).toBe(0);
		expect(store.predictions({requestId: 'late'})).toHaveLength(1);
		store.addPrediction(++seq, prediction('after', seq));
		store.close();
		const reopened = new AgentStore({path: file});
		expect(reopened.lastSeq).toBe(seq);
		expect(reopened.predictions({requestId: 'after'})).toHaveLength(1);
		reopened.close();
	});
});

describe('AgentCore and its store', () => {
	it('commits the number of every published event, guard verdicts included, as it is handed out', async () => {
		const {AgentCore} = await import('../../../source/agent/agent.ts');
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-core-'));
		directories.push(directory);
		const file = path.join(directory, 'agent.db');
		const core = new AgentCore({noAuth: true, dbPath: file});
		try {
			const body = Buffer.from(JSON.stringify([{requestId: 'a', model: 'fraud', namespace: 'team-a', version: 'v1'}]));
			expect(core.ingest({'content-type': 'application/json'}, body).status).toBe(200);
			const guard = core.hub.publish(
				{type: 'guard', model: {namespace: 'team-a', name: 'fraud'}, verdict: 'fail', message: 'slow', rolledBack: false},
				'team-a',
			);
			expect(guard.seq).toBe(2);
			// What a restart after a kill would read: the file as it is now, the first agent still running.
			const after = new AgentStore({path: file});
			expect(after.lastSeq).toBe(2);
			expect(after.predictions({requestId: 'a'})).toHaveLength(1);
			after.close();
		} finally {
			await core.close();
		}
	});

	it('counts a logger’s retry of an already joined half as a duplicate, not as a second prediction', async () => {
		const {AgentCore} = await import('../../../source/agent/agent.ts');
		const core = new AgentCore({noAuth: true});
		try {
			const half = (type: 'request' | 'response') => ({
				'ce-type': `org.kubeflow.serving.inference.${type}`,
				'ce-id': 'dup-1',
				'ce-specversion': '1.0',
				'ce-source': 'http://localhost:9081/',
				'ce-inferenceservicename': 'fraud',
				'ce-namespace': 'team-a',
				'ce-component': 'predictor',
				'content-type': 'application/json',
			});
			const request = Buffer.from(JSON.stringify({inputs: [{name: 'x', shape: [1], datatype: 'FP32', data: [1]}]}));
			const response = Buffer.from(JSON.stringify({outputs: [{name: 'p', shape: [1], datatype: 'FP32', data: [0.5]}]}));
			expect(core.ingest(half('request'), request).status).toBe(200);
			expect(core.ingest(half('response'), response)).toMatchObject({status: 200, body: {predictions: 1}});
			expect(core.ingest(half('response'), response)).toMatchObject({status: 200, body: {predictions: 0}});
			expect(core.predictions({requestId: 'dup-1'})).toHaveLength(1);
			expect(core.joiner.pendingCount).toBe(0);
			expect(await core.metrics.registry.getSingleMetricAsString('modeldeck_agent_duplicate_halves_total')).toMatch(
				/modeldeck_agent_duplicate_halves_total 1$/m,
			);
		} finally {
			await core.close();
		}
	});

	it('commits the halves waiting for a partner with the predictions, and reads them back oldest first after a restart', () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'store-halves-'));
		const file = path.join(directory, 'agent.db');
		try {
			const half = (id: string, time: number) => ({
				kind: 'half' as const,
				direction: 'request' as const,
				joinKey: `ns/m/p/${id}`,
				requestId: id,
				namespace: 'ns',
				model: 'm',
				version: 'v1',
				time,
				summary: `request ${id}`,
			});
			const first = new AgentStore({path: file});
			first.addPredictions([], 1000, {
				put: [
					{half: half('b', 20), receivedAt: 1020},
					{half: half('a', 10), receivedAt: 1010},
				],
				removed: [],
			});
			first.addPredictions([], 1030, {put: [{half: half('c', 30), receivedAt: 1030}], removed: ['ns/m/p/b']});
			first.close();

			const second = new AgentStore({path: file});
			expect(second.pendingHalves()).toEqual([
				{half: half('a', 10), receivedAt: 1010},
				{half: half('c', 30), receivedAt: 1030},
			]);
			second.close();
		} finally {
			rmSync(directory, {recursive: true, force: true});
		}
	});
});
