/**
 * `MODELDECK_TRACE_STARTUP=1` prints when each start-up stage was reached, in ms since the process started, and the
 * CPU time (user + system) the process had used by then, to stderr (for the start-up benchmarks,
 * bench/cluster-startup.ts: on a busy machine the CPU time moves far less than the wall time), and where Node can say
 * (process.threadCpuUsage, Node ≥ 23.9) the main thread's own: the process's includes V8's helper threads. Off, it
 * costs one comparison.
 */
const enabled = process.env['MODELDECK_TRACE_STARTUP'] === '1';

export function traceStartup(stage: string): void {
	if (!enabled) return;
	const {user, system} = process.cpuUsage();
	const thread = (process as {threadCpuUsage?: () => NodeJS.CpuUsage}).threadCpuUsage?.();
	const main = thread ? ` main ${((thread.user + thread.system) / 1000).toFixed(0)} ms` : '';
	process.stderr.write(`[startup] ${stage} ${performance.now().toFixed(0)} ms cpu ${((user + system) / 1000).toFixed(0)} ms${main}\n`);
}
