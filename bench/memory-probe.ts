// The memory probe of the benchmarks that watch a process for minutes (`bench/console.ts`, `bench/agent-memory.ts`):
// preloaded with `--import` into the process under test, so nothing is added to the product.
//
// On SIGUSR2 it reports one JSON line: the time, process.memoryUsage(), the anonymous and file-backed parts of RSS,
// V8's heap spaces (committed and used), and, for the GCs since the previous signal: how many and their cost, the heap
// still in use after each full (mark-compact) GC — what a leak would make grow; heap used at a random moment also
// counts garbage not yet collected — and the peak of the heap's resident size before any of them, which tells a
// peak whose pages V8 keeps for reuse apart from a leak.

/** One report of the probe: since the previous SIGUSR2 for the GC figures, at the signal for the rest. */
export interface ProbeLine {
	time: number;
	rss: number;
	heapTotal: number;
	heapUsed: number;
	external: number;
	arrayBuffers: number;
	rssAnon: number;
	rssFile: number;
	/** The heap in use after each full GC since the previous report. */
	afterFullGc: number[];
	/** The heap's largest resident size before any GC since the previous report. */
	heapPeak: number;
	gcs: number;
	gcMs: number;
	spaces: Record<string, {committed: number; used: number}>;
}

/** Where the probe's lines go: appended to a file, or to stderr after `memory-probe `. */
export type ProbeSink = {file: string} | 'stderr';

function probeSource(sink: ProbeSink): string {
	const write =
		sink === 'stderr'
			? `process.stderr.write('memory-probe ' + line + '\\n')`
			: `appendFileSync(${JSON.stringify(sink.file)}, line + '\\n')`;
	return `
import v8 from 'node:v8';
import {appendFileSync, readFileSync} from 'node:fs';
let profiler = new v8.GCProfiler();
profiler.start();
process.on('SIGUSR2', () => {
	const {statistics} = profiler.stop();
	profiler = new v8.GCProfiler();
	profiler.start();
	const afterFullGc = statistics.filter((gc) => gc.gcType === 'MarkSweepCompact').map((gc) => gc.afterGC.heapStatistics.usedHeapSize);
	const heapPeak = Math.max(0, ...statistics.map((gc) => gc.beforeGC.heapStatistics.totalPhysicalSize));
	const gcMs = statistics.reduce((total, gc) => total + gc.cost / 1000, 0);
	const status = readFileSync('/proc/self/status', 'utf8');
	const kb = (key) => Number(new RegExp(key + ':\\\\s+(\\\\d+)').exec(status)?.[1] ?? 0) * 1024;
	const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, {committed: space.physical_space_size, used: space.space_used_size}]));
	const line = JSON.stringify({time: Date.now(), ...process.memoryUsage(), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), afterFullGc, heapPeak, gcs: statistics.length, gcMs, spaces});
	${write};
});
`;
}

/** Node flags that preload the probe; it appends its lines to `sink.file`, or writes them to stderr after `memory-probe `. */
export function memoryProbeFlags(sink: ProbeSink): string[] {
	return ['--import', `data:text/javascript,${encodeURIComponent(probeSource(sink))}`];
}
