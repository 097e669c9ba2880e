import {describe, expect, it} from 'vitest';
import {AgentStore} from '../../../source/agent/store/sqlite-store.ts';
import type {Prediction} from '../../../source/domain/types.ts';

function prediction(requestId: string, time: number): Prediction {
	return {requestId, namespace: 'team-a', model: 'fraud', version: 'v1', time, latencyMs: 10, status: 'ok', inputSummary: 'in', outputSummary: 'out'};
}

function filledStore(count: number): AgentStore {
	const store = new AgentStore({path: ':memory:'});
	for (let seq = 1; seq <= count; seq++) store.addPrediction(seq, prediction(String(seq), seq * 1000));
	return store;
}

describe('AgentStore retention in chunks', () => {
	it('deletes by age, then by count, oldest first, never more than a chunk per step', () => {
		const store = filledStore(100);
		// Age: times 1,000…10,000 are older than 10,500 (10 rows); count: of the 90 left, the oldest 60 go.
		const steps = [...store.retainInChunks({maxAgeMs: 89_500, maxRows: 30}, 100_000, 7)];
		expect(steps.every((count) => count > 0 && count <= 7)).toBe(true);
		expect(steps.reduce((total, count) => total + count, 0)).toBe(70);
		expect(store.predictionCount()).toBe(30);
		expect(store.predictions({limit: 1000}).map((row) => Number(row.requestId)).sort((a, b) => a - b)).toEqual(Array.from({length: 30}, (_, index) => 71 + index));
		store.close();
	});

	it('keeps what arrives between steps: only rows beyond the count when the pass began go', () => {
		const store = filledStore(20);
		const steps = store.retainInChunks({maxAgeMs: 1e12, maxRows: 10}, 100_000, 4);
		expect(steps.next().value).toBe(4);
		for (let seq = 21; seq <= 25; seq++) store.addPrediction(seq, prediction(String(seq), seq * 1000));
		let rest = 0;
		for (const count of steps) rest += count;
		expect(rest).toBe(6);
		expect(store.predictionCount()).toBe(15);
		store.close();
	});

	it('stops when the store closes between steps', () => {
		const store = filledStore(20);
		const steps = store.retainInChunks({maxAgeMs: 1e12, maxRows: 0}, 100_000, 5);
		expect(steps.next().value).toBe(5);
		store.close();
		expect(steps.next().done).toBe(true);
	});

	it('deletes everything past the policy at once with retain()', () => {
		const store = filledStore(5000);
		expect(store.retain({maxAgeMs: 1e12, maxRows: 10}, 100_000)).toBe(4990);
		expect(store.predictionCount()).toBe(10);
		store.close();
	});
});

describe('AgentCore retention', () => {
	it('deletes old predictions in the background, chunk after chunk, while ingest goes on', async () => {
		const {AgentCore} = await import('../../../source/agent/agent.ts');
		const lines: string[] = [];
		const core = new AgentCore({noAuth: true, retention: {maxRows: 100}, retentionIntervalMs: 20, log: (line) => lines.push(line)});
		try {
			const body = Buffer.from(JSON.stringify(Array.from({length: 5000}, (_, index) => ({requestId: `r${index}`, model: 'fraud', namespace: 'team-a', version: 'v1'}))));
			expect(core.ingest({'content-type': 'application/json'}, body).status).toBe(200);
			while (!lines.some((line) => line.startsWith('retention: deleted'))) await new Promise((resolve) => setTimeout(resolve, 10));
			expect(lines).toContain('retention: deleted 4900 old predictions');
			expect(core.store.predictionCount()).toBe(100);
			expect(core.predictions({limit: 1})[0]?.requestId).toBe('r4999');
		} finally {
			await core.close();
		}
	});
});
