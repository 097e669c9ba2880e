// Load generator benchmark. Run: node bench/loadgen.mjs [--quick]
//
// 1. Achieved arrival rate against the requested one, at several rates, against the real model server (its own
//    process): the open-model generator of the agent's load test (source/agent/actions/load-generator.ts).
// 2. CPU per request of the generator compared with wrk (apt-get install -y wrk) against the same target.
import {execFile} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {runLoad} from '../source/agent/actions/load-generator.ts';
import {startModelServerProcess} from './agent-bench-support.mjs';

const quick = process.argv.includes('--quick');
const run = promisify(execFile);
const body = JSON.stringify({inputs: [{name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.1, 0.47, 0.84, 0.21]}]});

function cpuSeconds(usage) {
	return (usage.user + usage.system) / 1e6;
}

const server = await startModelServerProcess();
const url = `${server.url}/v2/models/fraud/infer`;
try {
	const seconds = quick ? 5 : 10;
	const warmup = 2;
	console.log(`load generator: open model, ${seconds} s measured after ${warmup} s warm-up, target ${url} (model server in its own process)`);
	console.log('  requested    achieved   deviation   errors     p50       p99        CPU/request');
	const rows = [];
	for (const rps of quick ? [200, 1000, 2000] : [100, 500, 1000, 2000, 3000]) {
		const before = process.cpuUsage();
		const [result] = await runLoad([{label: 'fraud', url, body}], {rps, durationSeconds: seconds, warmupSeconds: warmup});
		const cpu = cpuSeconds(process.cpuUsage(before));
		const sent = result.sentInWindow;
		const achieved = sent / seconds;
		const total = rps * (seconds + warmup);
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
			`  ${String(rps).padStart(6)}/s   ${achieved.toFixed(1).padStart(8)}/s   ${row.deviation.toFixed(2).padStart(7)} %   ${String(row.errors).padStart(6)}   ${row.p50.toFixed(2).padStart(6)} ms  ${row.p99.toFixed(2).padStart(7)} ms   ${row.cpuMicros.toFixed(0).padStart(5)} µs`,
		);
		result.histogram.destroy();
	}

	const directory = mkdtempSync(path.join(tmpdir(), 'loadgen-bench-'));
	try {
		const script = path.join(directory, 'post.lua');
		writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);
		for (const connections of [1, 10]) {
			// `times` prints the shell's and then its children's CPU: wrk's user and system time.
			const {stdout} = await run('sh', ['-c', `wrk -t1 -c${connections} -d${seconds}s -s ${script} ${url}; times`]);
			const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
			const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
			const childTimes = stdout.trim().split('\n').at(-1).match(/(\d+)m([\d.]+)s/g).map((part) => {
				const [, minutes, secondsPart] = /(\d+)m([\d.]+)s/.exec(part);
				return Number(minutes) * 60 + Number(secondsPart);
			});
			const cpu = childTimes[0] + childTimes[1];
			const latency = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
			console.log(`wrk -t1 -c${connections} (closed loop): ${rate.toFixed(0)} requests/s, mean latency ${latency?.[1]}, ${requests} requests, CPU ${((cpu * 1e6) / requests).toFixed(0)} µs/request`);
		}
	} finally {
		rmSync(directory, {recursive: true, force: true});
	}
} finally {
	await server.stop();
}
