import {Worker} from 'node:worker_threads';

/**
 * Paced inference load on real model servers, from a worker thread so that the client's work does not share the
 * event loop of servers started in the test's own process: `rate` requests a second to each URL for at most `limitMs`,
 * to one model on every URL or to each target's own.
 */
const worker = `
const {parentPort, workerData} = require('node:worker_threads');
const {targets, rate, limitMs} = workerData;
const body = JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]});
const started = Date.now();
let ticks = 0;
let timer;
const tick = () => {
	if (Date.now() - started > limitMs) return;
	for (const [url, model] of targets) fetch(url + '/v2/models/' + model + '/infer', {method: 'POST', body, headers: {'content-type': 'application/json'}}).then((r) => r.arrayBuffer()).catch(() => undefined);
	ticks++;
	timer = setTimeout(tick, Math.max(0, started + (ticks * 1000) / rate - Date.now()));
};
tick();
parentPort.on('message', () => {
	clearTimeout(timer);
	parentPort.postMessage('stopped');
});
`;

export interface PacedLoad {
	/** Stops sending, lets requests in flight finish, and ends the worker. */
	stop(): Promise<void>;
}

type Targets = {urls: string[]; model: string} | {targets: Array<[url: string, model: string]>};

export function startPacedLoad(options: Targets & {rate: number; limitMs: number}): PacedLoad {
	const targets = 'targets' in options ? options.targets : options.urls.map((url) => [url, options.model]);
	const thread = new Worker(worker, {eval: true, workerData: {targets, rate: options.rate, limitMs: options.limitMs}});
	let stopping = false;
	return {
		async stop() {
			if (stopping) return;
			stopping = true;
			const stopped = new Promise((resolve) => thread.once('message', resolve));
			thread.postMessage('stop');
			await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 1000))]);
			await new Promise((resolve) => setTimeout(resolve, 300));
			await thread.terminate();
		},
	};
}
