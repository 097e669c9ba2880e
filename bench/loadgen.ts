// Load generator benchmark. Run: node bench/loadgen.ts [--quick]
//
// 1. Achieved arrival rate against the requested one, at several rates, against the real model server (its own
//    process): the open-model generator of the agent's load test (source/agent/actions/load-generator.ts).
// 2. CPU per request of the generator compared with wrk (apt-get install -y wrk) against the same target: wrk paced to
//    the same rates (its Lua `delay()` between a connection's requests: closed loop, so at most that rate), then wrk
//    flat out. The server's own request counter confirms what each sent.
import {execFile} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {runLoad} from '../source/agent/actions/load-generator.ts';
import {startModelServerProcess} from './agent-bench-support.ts';

const quick = process.argv.includes('--quick');
const run = promisify(execFile);
const body = JSON.stringify({inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.1, 0.47, 0.84, 0.21]}]});

function cpuSeconds(usage: NodeJS.CpuUsage): number {
	return (usage.user + usage.system) / 1e6;
}

const server = await startModelServerProcess();
const url = `${server.url}/v2/models/fraud/infer`;

/** Requests the model server has answered, from its own /metrics. */
async function served() {
	const text = await (await fetch(`${server.url}/metrics`)).text();
	return text
		.split('\n')
		.filter((line) => line.startsWith('modeldeck_inference_requests_total{'))
		.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** wrk's output and its CPU seconds (`times` prints the shell's and then its children's: wrk's user and system time). */
async function wrk(args: string): Promise<{stdout: string; cpu: number; requests: number; rate: number}> {
	const {stdout} = await run('sh', ['-c', `wrk ${args}; times`]);
	const childTimes = stdout
		.trim()
		.split('\n')
		.at(-1)!
		.match(/(\d+)m([\d.]+)s/g)!
		.map((part) => {
			const [, minutes, secondsPart] = /(\d+)m([\d.]+)s/.exec(part)!;
			return Number(minutes) * 60 + Number(secondsPart);
		});
	return {
		stdout,
		cpu: childTimes[0]! + childTimes[1]!,
		requests: Number(/(\d+) requests in/.exec(stdout)?.[1]),
		rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
	};
}
try {
	const seconds = quick ? 5 : 10;
	const warmup = 2;
	console.log(
		`load generator: open model, ${seconds} s measured after ${warmup} s warm-up, target ${url} (model server in its own process)`,
	);
	console.log('  requested    achieved   deviation   server counted   errors     p50       p99        CPU/request');
	const rows = [];
	const rates = quick ? [200, 1000, 2000] : [100, 500, 1000, 2000, 3000];
	for (const rps of rates) {
		const servedBefore = await served();
		const before = process.cpuUsage();
		const [result] = await runLoad([{label: 'fraud', url, body}], {rps, durationSeconds: seconds, warmupSeconds: warmup});
		if (!result) throw new Error('the load generator reported no target');
		const cpu = cpuSeconds(process.cpuUsage(before));
		const sent = result.sentInWindow;
		const achieved = sent / seconds;
		const total = rps * (seconds + warmup);
		const counted = (await served()) - servedBefore;
		const row = {
			rps,
			achieved,
			deviation: (100 * (achieved - rps)) / rps,
			errors: result.errors,
			p50: result.histogram.getValueAtPercentile(50) / 1000,
			p99: result.histogram.getValueAtPercentile(99) / 1000,
			cpuMicros: (cpu * 1e6) / total,
		};
		rows.push(row);
		console.log(
			`  ${String(rps).padStart(6)}/s   ${achieved.toFixed(1).padStart(8)}/s   ${row.deviation.toFixed(2).padStart(7)} %   ${`${counted} of ${total}`.padStart(14)}   ${String(row.errors).padStart(6)}   ${row.p50.toFixed(2).padStart(6)} ms  ${row.p99.toFixed(2).padStart(7)} ms   ${row.cpuMicros.toFixed(0).padStart(5)} µs`,
		);
		result.histogram.destroy();
	}

	const directory = mkdtempSync(path.join(tmpdir(), 'loadgen-bench-'));
	try {
		const script = path.join(directory, 'post.lua');
		const request = `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`;
		writeFileSync(script, request);
		// At the generator's rates: each connection waits `delay` ms before its next request.
		for (const row of rows) {
			const connections = Math.max(1, Math.ceil(row.rps / 250));
			const paced = path.join(directory, `paced-${row.rps}.lua`);
			writeFileSync(paced, `${request}function delay()\n\treturn ${(connections * 1000) / row.rps}\nend\n`);
			const servedBefore = await served();
			const result = await wrk(`-t1 -c${connections} -d${seconds}s -s ${paced} ${url}`);
			const counted = (await served()) - servedBefore;
			console.log(
				`wrk paced to ${row.rps}/s (-c${connections}, delay ${((connections * 1000) / row.rps).toFixed(1)} ms): ${result.rate.toFixed(0)} requests/s, server counted ${counted}, CPU ${((result.cpu * 1e6) / result.requests).toFixed(0)} µs/request against the generator's ${row.cpuMicros.toFixed(0)} µs`,
			);
		}

		for (const connections of [1, 10]) {
			const result = await wrk(`-t1 -c${connections} -d${seconds}s -s ${script} ${url}`);
			const latency = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(result.stdout);
			console.log(
				`wrk -t1 -c${connections} (closed loop, flat out): ${result.rate.toFixed(0)} requests/s, mean latency ${latency?.[1]}, ${result.requests} requests, CPU ${((result.cpu * 1e6) / result.requests).toFixed(0)} µs/request`,
			);
		}
	} finally {
		rmSync(directory, {recursive: true, force: true});
	}
} finally {
	await server.stop();
}
