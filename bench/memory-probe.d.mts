// Types for memory-probe.mjs (plain JavaScript so the agent's benchmarks import it without a build step).

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

export function memoryProbeFlags(sink: {file: string} | 'stderr'): string[];
