// What a wake-up costs on this machine (`npm run bench:machine`): the same piece of JavaScript timed right after
// another run of it and after the process slept for a while, and the CPU time a process that only wakes once a
// second is charged. No modeldeck code runs here; the figures explain the console's CPU figure in bench/RESULTS.md
// (a console that draws once a second does all its work right after a second of sleep).
import {setTimeout as sleep} from 'node:timers/promises';

// Object-heavy work like a frame's: walk 20,000 small objects, fill a Map, serialise a slice.
const records = Array.from({length: 20_000}, (_, index) => ({id: index, name: String(index), pair: [index, index * 2] as const}));
function work() {
	let sum = 0;
	for (const record of records) sum += record.id + record.name.length + record.pair[1];
	const counts = new Map();
	for (let index = 0; index < 5000; index++) counts.set(`k${index % 500}`, index);
	return sum + counts.size + JSON.stringify(records.slice(0, 300)).length;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const rounds = Number(process.env.ROUNDS ?? 12);
for (let index = 0; index < 50; index++) work(); // Optimised before measuring.

console.log('Same work, timed after the process slept (median of %d):', rounds);
console.log('  slept before   first run: wall   cpu     right after: wall');
for (const idleMs of [1000, 300, 100, 30, 10]) {
	const cold: number[] = [];
	const coldCpu: number[] = [];
	const warm: number[] = [];
	for (let round = 0; round < rounds; round++) {
		await sleep(idleMs);
		let started = performance.now();
		const cpu = process.cpuUsage();
		work();
		cold.push(performance.now() - started);
		const used = process.cpuUsage(cpu);
		coldCpu.push((used.user + used.system) / 1000);
		started = performance.now();
		work();
		warm.push(performance.now() - started);
	}

	console.log(
		`  ${String(idleMs).padStart(6)} ms     ${median(cold).toFixed(2).padStart(8)} ms ${median(coldCpu).toFixed(2).padStart(6)} ms   ${median(warm).toFixed(2).padStart(8)} ms`,
	);
}

// Per page or per byte? One byte of every 4 KiB page of an 8 MiB buffer, then every 64-byte line of it.
const buffer = new Uint8Array(8 * 1024 * 1024).fill(1);
function touch(stride: number): number {
	let sum = 0;
	for (let index = 0; index < buffer.length; index += stride) sum += buffer[index]!;
	return sum;
}

for (let index = 0; index < 20; index++) touch(64);
console.log('Reading an 8 MiB buffer after 1 s asleep, and again right after (median of %d):', rounds);
for (const stride of [4096, 64]) {
	const cold = [];
	const warm = [];
	for (let round = 0; round < rounds; round++) {
		await sleep(1000);
		let started = performance.now();
		touch(stride);
		cold.push(performance.now() - started);
		started = performance.now();
		touch(stride);
		warm.push(performance.now() - started);
	}

	const accesses = buffer.length / stride;
	console.log(
		`  one byte every ${String(stride).padStart(4)} B (${accesses} reads): ${median(cold).toFixed(2)} ms after sleeping, ` +
			`${median(warm).toFixed(2)} ms right after: ${((1e6 * (median(cold) - median(warm))) / accesses).toFixed(0)} ns more per read`,
	);
}

// A process that does nothing but wake once a second: what CPU time is it charged?
const seconds = Number(process.env.IDLE_SECONDS ?? 20);
const before = process.cpuUsage();
const startedAt = performance.now();
for (let second = 0; second < seconds; second++) await sleep(1000 - (Date.now() % 1000));
const used = process.cpuUsage(before);
const elapsed = (performance.now() - startedAt) / 1000;
console.log(
	`An empty 1 s timer for ${seconds} s: ${(((used.user + used.system) / 1e6 / elapsed) * 100).toFixed(2)}% of a core ` +
		`(${((used.user + used.system) / 1000 / seconds).toFixed(2)} ms per wake-up, all threads of this Node process)`,
);
