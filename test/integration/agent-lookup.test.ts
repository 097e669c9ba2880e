// Lookup by the first characters of a request id (the console's `f` key), over HTTP against a running agent and
// through the console's client of it.
import fc from 'fast-check';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {createAgentClient} from '../../source/adapters/agent-client.ts';
import type {Prediction} from '../../source/domain/types.ts';
import {plainPrediction, postLogs} from './agent-support.ts';

let running: RunningAgent;

beforeAll(async () => {
	running = await startAgent({noAuth: true});
});

afterAll(async () => {
	await running?.close();
});

async function lookup(query: string): Promise<{status: number; body: unknown}> {
	const response = await fetch(`${running.url}/v1/predictions?${query}`);
	return {status: response.status, body: await response.json()};
}

const ids = (body: unknown) => (body as Prediction[]).map((prediction) => prediction.requestId);

describe('agent lookup by request id prefix', () => {
	it('answers ids that start with the text, the exact one first, case-sensitive, wildcards taken literally, 20 by default', async () => {
		const stored = [
			'abcd-1',
			'abcdef',
			'abcd',
			'ABCD-upper',
			'abc*x',
			'abcz',
			'ab[c]d',
			'ab?cd',
			'日本語のid',
			...Array.from({length: 30}, (_, index) => `zzzz-${index}`),
		];
		// The exact id is sent first, so newest-first alone would put it last among the abcd… ids.
		for (const id of stored)
			expect((await postLogs(running.url, plainPrediction(id, {namespace: id === 'abcdef' ? 'team-b' : 'team-a'}))).status).toBe(200);

		const abcd = await lookup('requestIdPrefix=abcd');
		expect(abcd.status).toBe(200);
		expect(ids(abcd.body)[0]).toBe('abcd');
		expect(ids(abcd.body).sort()).toEqual(['abcd', 'abcd-1', 'abcdef']);
		expect(ids((await lookup('requestIdPrefix=abc*')).body)).toEqual(['abc*x']);
		expect(ids((await lookup(`requestIdPrefix=${encodeURIComponent('ab[c')}`)).body)).toEqual(['ab[c]d']);
		expect(ids((await lookup(`requestIdPrefix=${encodeURIComponent('ab?c')}`)).body)).toEqual(['ab?cd']);
		expect(ids((await lookup(`requestIdPrefix=${encodeURIComponent('日本語の')}`)).body)).toEqual(['日本語のid']);
		expect(ids((await lookup('requestIdPrefix=abcd&namespace=team-b')).body)).toEqual(['abcdef']);
		const many = await lookup('requestIdPrefix=zzzz');
		expect(ids(many.body)).toHaveLength(20);
		expect(ids((await lookup('requestIdPrefix=zzzz&limit=25')).body)).toHaveLength(25);

		expect(await lookup('requestIdPrefix=abc')).toEqual({
			status: 400,
			body: {error: 'requestIdPrefix needs at least 4 characters, got "abc"; for a shorter id ask for it whole with requestId='},
		});
		expect(await lookup('requestIdPrefix=abcd&requestId=abcd')).toEqual({
			status: 400,
			body: {error: 'give requestId (one id) or requestIdPrefix (ids that start with it), not both'},
		});

		// The console's client: from four characters a prefix, below that the id itself.
		const client = createAgentClient({url: running.url});
		const found = await client.lookup(' abcd ');
		expect(found[0]!.requestId).toBe('abcd');
		expect(found.map((prediction) => prediction.requestId).sort()).toEqual(['abcd', 'abcd-1', 'abcdef']);
		expect(await client.lookup('abc')).toEqual([]);
		expect((await client.lookup('zzzz')).length).toBe(20);
	});

	it('finds exactly the stored ids that start with any prefix of 4 or more characters', async () => {
		const stored = fc.sample(
			fc.string({minLength: 4, maxLength: 12, unit: 'grapheme-ascii'}).filter((id) => id.trim() === id && id !== ''),
			{numRuns: 200, seed: 7},
		);
		const unique = [...new Set(stored.map((id) => `fz${id}`))];
		for (let start = 0; start < unique.length; start += 50) {
			expect(
				(
					await postLogs(
						running.url,
						unique.slice(start, start + 50).map((id) => plainPrediction(id, {namespace: 'fuzz'})),
					)
				).status,
			).toBe(200);
		}

		await fc.assert(
			fc.asyncProperty(fc.constantFrom(...unique), fc.integer({min: 4, max: 14}), async (id, length) => {
				const prefix = id.slice(0, length);
				const answer = await lookup(`${new URLSearchParams({requestIdPrefix: prefix, namespace: 'fuzz', limit: '1000'})}`);
				expect(answer.status).toBe(200);
				const expected = unique.filter((candidate) => candidate.startsWith(prefix));
				expect(ids(answer.body).sort()).toEqual(expected.sort());
				if (expected.includes(prefix)) expect(ids(answer.body)[0]).toBe(prefix);
			}),
			{numRuns: 60},
		);
	});
});
