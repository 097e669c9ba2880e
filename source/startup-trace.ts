/**
 * `MODELDECK_TRACE_STARTUP=1` prints how long each start-up stage took, in ms since the process started, to stderr
 * (for the start-up benchmarks, bench/cluster-startup.ts). Off, it costs one comparison.
 */
const enabled = process.env['MODELDECK_TRACE_STARTUP'] === '1';

export function traceStartup(stage: string): void {
	if (enabled) process.stderr.write(`[startup] ${stage} ${performance.now().toFixed(0)} ms\n`);
}
