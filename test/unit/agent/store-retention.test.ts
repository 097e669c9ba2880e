import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {AgentStore} from '../../../source/agent/store/sqlite-store.ts';
import type {Prediction} from '../../../source/domain/types.ts';

function prediction(requestId: string, time: number): Prediction {
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
	};
}

function filledStore(count: number): AgentStore {
	const store = new AgentStore({path: ':memory:'});
	for (let seq = 1; seq <= count; seq++) store.addPrediction(seq, prediction(String(seq), seq * 1000), seq * 1000);
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
		expect(
			store
				.predictions({limit: 1000})
				.map((row) => Number(row.requestId))
				.sort((a, b) => a - b),
		).toEqual(Array.from({length: 30}, (_, index) => 71 + index));
		store.close();
	});

	it('keeps what arrives between steps: only rows beyond the count when the pass began go', () => {
		const store = filledStore(20);
		const steps = store.retainInChunks({maxAgeMs: 1e12, maxRows: 10}, 100_000, 4);
		expect(steps.next().value).toBe(4);
		for (let seq = 21; seq <= 25; seq++) store.addPrediction(seq, prediction(String(seq), seq * 1000), seq * 1000);
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

describe('AgentStore retention by size and by time of receipt', () => {
	it('keeps the pages in use (page_count − freelist_count) under maxBytes, deleting the oldest first', () => {
		const directory = mkdtempSync(path.join(tmpdir(), 'agent-size-'));
		try {
			const store = new AgentStore({path: path.join(directory, 'agent.db')});
			const summary = 'features FP32[1,4] '.padEnd(300, 'x');
			for (let seq = 1; seq <= 20_000; seq += 500) {
				store.addPredictions(
					Array.from({length: 500}, (_, index) => ({
						seq: seq + index,
						prediction: {...prediction(`r${seq + index}`, seq + index), inputSummary: summary},
					})),
				);
			}

			const before = store.usedBytes();
			expect(before).toBeGreaterThan(6 * 1024 * 1024);
			const limit = 2 * 1024 * 1024;
			const deleted = store.retain({maxAgeMs: 1e12, maxRows: 1e9, maxBytes: limit}, Date.now());
			expect(store.usedBytes()).toBeLessThanOrEqual(limit);
			expect(deleted).toBeGreaterThan(10_000);
			expect(store.predictionCount()).toBe(20_000 - deleted);
			// The newest stayed.
			const kept = store.predictions({limit: 1000}).map((row) => Number(row.requestId.slice(1)));
			expect(Math.min(...kept)).toBeGreaterThan(deleted);
			expect(Math.max(...kept)).toBe(20_000);
			// Under the limit nothing more goes; the freed pages are reused rather than the file growing.
			expect(store.retain({maxAgeMs: 1e12, maxRows: 1e9, maxBytes: limit}, Date.now())).toBe(0);
			store.close();
		} finally {
			rmSync(directory, {recursive: true, force: true});
		}
	});

	it('goes by when the agent received a prediction, not by the time the logger sent', () => {
		const store = new AgentStore({path: ':memory:'});
		const hour = 3600_000;
		// Received an hour ago, but dated in the far future by a logger's clock, and one dated long ago received now.
		store.addPrediction(1, prediction('future', Date.UTC(2100, 0, 1)), 10 * hour);
		store.addPrediction(2, prediction('old-clock', 1000), 11 * hour);
		expect(store.retain({maxAgeMs: 0.5 * hour, maxRows: 1e9}, 11 * hour)).toBe(1);
		expect(store.predictions({}).map((row) => row.requestId)).toEqual(['old-clock']);
		store.close();
	});
});

describe('AgentCore retention', () => {
	it('dates a prediction sent with a time after its receipt at its receipt, so it neither escapes retention nor stays on top', async () => {
		const {AgentCore} = await import('../../../source/agent/agent.ts');
		let now = 1_000_000;
		const core = new AgentCore({noAuth: true, retention: {maxAgeMs: 60_000}, retentionIntervalMs: 3_600_000, now: () => now});
		try {
			const post = (items: object[]) => core.ingest({'content-type': 'application/json'}, Buffer.from(JSON.stringify(items)));
			expect(post([{requestId: 'future', model: 'fraud', namespace: 'team-a', version: 'v1', time: Date.UTC(2100, 0, 1)}]).status).toBe(
				200,
			);
			now += 10_000;
			expect(post([{requestId: 'later', model: 'fraud', namespace: 'team-a', version: 'v1', time: now}]).status).toBe(200);
			expect(core.predictions({}).map((row) => [row.requestId, row.time])).toEqual([
				['later', 1_010_000],
				['future', 1_000_000],
			]);
			now += 55_000;
			expect(core.store.retain({maxAgeMs: 60_000, maxRows: 1e9}, now)).toBe(1);
			expect(core.predictions({}).map((row) => row.requestId)).toEqual(['later']);
		} finally {
			await core.close();
		}
	});

	it('deletes old predictions in the background, chunk after chunk, while ingest goes on', async () => {
		const {AgentCore} = await import('../../../source/agent/agent.ts');
		const lines: string[] = [];
		const core = new AgentCore({noAuth: true, retention: {maxRows: 100}, retentionIntervalMs: 20, log: (line) => lines.push(line)});
		try {
			const body = Buffer.from(
				JSON.stringify(
					Array.from({length: 5000}, (_, index) => ({requestId: `r${index}`, model: 'fraud', namespace: 'team-a', version: 'v1'})),
				),
			);
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
