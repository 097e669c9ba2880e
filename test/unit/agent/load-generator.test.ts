// The load generator against real HTTP targets on real sockets: latencies are measured from each request's intended
// send time (coordinated omission corrected), and every request of the window ends up either in the histogram or
// counted as an error, whether it failed, timed out, was cut short or was still waiting when the test ended.
import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {runLoad} from '../../../source/agent/actions/load-generator.ts';

const servers: http.Server[] = [];

afterEach(async () => {
	for (const server of servers.splice(0)) {
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	}
});

async function serve(handler: http.RequestListener): Promise<string> {
	const server = http.createServer(handler);
	servers.push(server);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/models/fraud/infer`;
}

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('runLoad', () => {
	it('counts the queueing delay of requests scheduled during a stall from their intended send time', async () => {
		// 50 rps for 5 s over 2 connections. During the third second the target holds every answer for 300 ms, so
		// the connections are busy and the requests due meanwhile wait for one. The target's own measure (service
		// time: from when a request reached it to its answer) never exceeds ~300 ms; the users' wait does.
		const startAt = Date.now() + 300;
		const stall = {from: startAt + 2000, to: startAt + 3000};
		const serviceMs: number[] = [];
		const url = await serve((request, response) => {
			const arrived = Date.now();
			request.resume();
			request.on('end', () => {
				const answer = () => {
					response.writeHead(200, {'content-type': 'application/json'}).end('{"outputs":[]}');
					serviceMs.push(Date.now() - arrived);
				};

				if (arrived >= stall.from && arrived < stall.to) setTimeout(answer, 300);
				else answer();
			});
		});

		const [run] = await runLoad([{label: 'stalling', url, body: '{"inputs":[]}'}], {rps: 50, durationSeconds: 5, connections: 2, startAt});
		expect(run!.requests).toBe(250);
		expect(run!.errors).toBe(0);
		expect(run!.histogram.totalCount).toBe(250);
		expect(serviceMs).toHaveLength(250);
		const reportedP99 = run!.histogram.getValueAtPercentile(99) / 1000;
		const serviceP99 = percentile(serviceMs, 99);
		// The request due 160 ms into the stall waits for the fifth 300 ms turn of a connection: over a second.
		expect(reportedP99).toBeGreaterThan(600);
		// What a service-time measure reports: the hold, and no more.
		expect(serviceP99).toBeLessThan(450);
		expect(reportedP99).toBeGreaterThan(serviceP99 + 250);
		run!.histogram.destroy();
	});

	it('counts failed, timed-out and cut-short requests as errors, none dropped', async () => {
		let count = 0;
		const url = await serve((request, response) => {
			const n = count++;
			request.resume();
			request.on('end', () => {
				if (n % 10 === 3) response.writeHead(500).end('model error');
				else if (n % 10 === 5) {
					// Half an answer, then the connection is gone.
					response.writeHead(200, {'content-length': '100'});
					response.write('{"outp');
					setTimeout(() => (response.socket as Socket).destroy(), 20);
				} else if (n % 10 === 7) {
					// Never answers: the generator's timeout ends it.
				} else response.writeHead(200).end('{"outputs":[]}');
			});
		});

		const [run] = await runLoad([{label: 'failing', url, body: '{}'}], {rps: 40, durationSeconds: 2, timeoutMs: 500});
		expect(count).toBe(80);
		expect(run!.requests).toBe(80);
		expect(run!.errors).toBe(24);
		expect(run!.histogram.totalCount).toBe(56);
		expect(run!.errorSamples).toEqual(expect.arrayContaining(['HTTP 500', 'no answer within 500 ms']));
		expect(run!.errorSamples.length).toBeGreaterThanOrEqual(3);
		run!.histogram.destroy();
	});

	it('counts the requests still unanswered when the test is cancelled as errors', async () => {
		let count = 0;
		// The first 10 are answered; then the target stops answering.
		const url = await serve((request, response) => {
			const n = count++;
			request.resume();
			request.on('end', () => {
				if (n < 10) response.writeHead(200).end('{}');
			});
		});
		const controller = new AbortController();
		const running = runLoad([{label: 'hanging', url, body: '{}'}], {
			rps: 20,
			durationSeconds: 10,
			timeoutMs: 60_000,
			signal: controller.signal,
		});
		await new Promise<void>((resolve) => {
			const check = setInterval(() => {
				if (count >= 20) {
					clearInterval(check);
					resolve();
				}
			}, 10);
		});
		controller.abort();
		const [run] = await running;
		expect(run!.histogram.totalCount).toBe(10);
		expect(run!.requests).toBe(count);
		expect(run!.errors).toBe(count - 10);
		expect(run!.errorSamples).toEqual(['cancelled before the answer came']);
		run!.histogram.destroy();
	});
});
