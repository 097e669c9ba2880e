// The agent's separate ingest port (--ingest-listen), over real sockets: what deploy/base's NetworkPolicy relies on
// to open the API's port to the API server's service proxy while ingest, which carries no Kubernetes token, stays
// confined to model pods. With an ingest port, logs are accepted there and only there, and that port serves nothing
// that reads or acts.
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {parseAgentFlags, startAgent} from '../../source/agent/main.ts';
import type {RunningAgent} from '../../source/agent/main.ts';
import {streamSubprotocol} from '../../source/protocol/agent.ts';
import {plainPrediction, postLogs} from './agent-support.ts';

let agent: RunningAgent;

beforeAll(async () => {
	agent = await startAgent({noAuth: true, ingestPort: 0});
});

afterAll(async () => {
	await agent?.close();
});

/** The status of a WebSocket upgrade to /v1/stream on a port (101 when it opens). */
async function upgradeStatus(baseUrl: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/stream`, streamSubprotocol);
		ws.once('open', () => {
			ws.close();
			resolve(101);
		});
		ws.once('unexpected-response', (_request, response) => {
			resolve(response.statusCode ?? 0);
			response.resume();
		});
		ws.once('error', (error) => reject(error));
	});
}

describe('an agent with a separate ingest port', () => {
	it('listens on two ports', () => {
		expect(agent.ingestPort).not.toBe(agent.port);
		expect(agent.ingestUrl).toBe(`http://127.0.0.1:${agent.ingestPort}`);
	});

	it('accepts logs on the ingest port, and they reach the store', async () => {
		const posted = await postLogs(agent.ingestUrl, plainPrediction('ingest-port-1'));
		expect(posted.status).toBe(200);
		const found = (await (await fetch(`${agent.url}/v1/predictions?requestId=ingest-port-1`)).json()) as Array<{requestId: string}>;
		expect(found.map((prediction) => prediction.requestId)).toEqual(['ingest-port-1']);
	});

	it('refuses logs on the API port, saying where to send them', async () => {
		const posted = await postLogs(agent.url, plainPrediction('ingest-port-2'));
		expect(posted.status).toBe(404);
		expect(posted.body).toEqual({error: expect.stringContaining(`ingest is served on port ${agent.ingestPort} (--ingest-listen)`)});
		const found = (await (await fetch(`${agent.url}/v1/predictions?requestId=ingest-port-2`)).json()) as unknown[];
		expect(found).toEqual([]);
	});

	it('serves nothing that reads or acts on the ingest port', async () => {
		for (const [method, endpoint] of [
			['GET', '/v1/predictions'],
			['GET', '/v1/audit'],
			['POST', '/v1/actions'],
			['GET', '/metrics'],
			['GET', '/readyz'],
		] as const) {
			const response = await fetch(`${agent.ingestUrl}${endpoint}`, {method, ...(method === 'POST' ? {body: '{}'} : {})});
			expect(response.status, `${method} ${endpoint}`).toBe(404);
			expect(((await response.json()) as {error: string}).error).toContain('this port serves only POST /v1/logs');
		}

		expect(await upgradeStatus(agent.ingestUrl)).toBe(404);
		expect(await upgradeStatus(agent.url)).toBe(101);
		expect((await fetch(`${agent.ingestUrl}/v1/logs`)).status).toBe(405);
		expect((await fetch(`${agent.ingestUrl}/healthz`)).status).toBe(200);
	});

	it('without an ingest port, serves logs on its one port as before', async () => {
		const single = await startAgent({noAuth: true});
		try {
			expect(single.ingestUrl).toBe(single.url);
			expect((await postLogs(single.url, plainPrediction('one-port'))).status).toBe(200);
		} finally {
			await single.close();
		}
	});
});

describe('--ingest-listen', () => {
	it('is read as HOST:PORT', () => {
		const parsed = parseAgentFlags(['--listen=0.0.0.0:8090', '--ingest-listen=0.0.0.0:8091'], {});
		expect(parsed).toMatchObject({help: false, flags: {port: 8090, ingestHost: '0.0.0.0', ingestPort: 8091}});
	});

	it('says what is wrong', () => {
		expect(() => parseAgentFlags(['--ingest-listen', '8091'], {})).toThrow(
			/--ingest-listen must be HOST:PORT, e\.g\. 0\.0\.0\.0:8091; got "8091"/,
		);
		expect(() => parseAgentFlags(['--listen=:8090', '--ingest-listen=:8090'], {})).toThrow(
			/--ingest-listen needs a port of its own, not --listen's 8090/,
		);
	});
});
