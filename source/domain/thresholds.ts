/**
 * Static threshold flags with per-model overrides, and the canary-versus-stable margin flag.
 * Statistical detectors and the canary judge plug in through `FlagDetector` (see analysis.ts).
 */
import type {Flag, Model, Sample, Severity, Version} from './types.ts';

export interface Thresholds {
	/** p99 latency above this is a warning. Default 500 ms. */
	p99LatencyMs: number;
	/** Error ratio (0–1) above this is critical. Default 0.02 (2 %). */
	errorRatio: number;
	/** CPU use as a fraction of the CPU limit above this is a warning. Default 0.9. */
	cpuOfLimit: number;
	/** Memory working set as a fraction of the memory limit above this is a warning. Default 0.9. */
	memoryOfLimit: number;
	/** Canary flagged when its p99 or error ratio is this much worse than stable's, relative (0.2 = 20 % worse). */
	canaryMargin: number;
}

export const defaultThresholds: Thresholds = {
	p99LatencyMs: 500,
	errorRatio: 0.02,
	cpuOfLimit: 0.9,
	memoryOfLimit: 0.9,
	canaryMargin: 0.2,
};

/** Global thresholds, overridden per model by `namespace/name` or by bare model name. */
export interface ThresholdSettings {
	defaults?: Partial<Thresholds>;
	models?: Record<string, Partial<Thresholds>>;
}

export function thresholdsFor(model: Pick<Model, 'namespace' | 'name'>, settings: ThresholdSettings = {}): Thresholds {
	return {
		...defaultThresholds,
		...settings.defaults,
		...settings.models?.[model.name],
		...settings.models?.[`${model.namespace}/${model.name}`],
	};
}

function formatPercent(ratio: number): string {
	return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

function flag(kind: Flag['kind'], severity: Severity, message: string, now: number, metric?: Flag['metric']): Flag {
	return metric ? {kind, severity, message, since: now, metric} : {kind, severity, message, since: now};
}

/** Flags for one version from its latest sample. A metric with no data raises nothing (no data is not zero). */
export function thresholdFlags(version: Version, sample: Sample | undefined, limits: Thresholds, now: number): Flag[] {
	const flags: Flag[] = [];
	if (version.replicasDesired > 0 && version.replicasReady < version.replicasDesired) {
		flags.push(
			flag(
				'readiness',
				version.replicasReady === 0 ? 'critical' : 'warning',
				`${version.replicasReady}/${version.replicasDesired} pods ready`,
				now,
			),
		);
	}

	for (const problem of version.problems ?? []) {
		flags.push(flag('restarts', 'critical', `pod ${problem}`, now));
	}

	if (!sample) return flags;
	if (sample.p99Ms !== null && sample.p99Ms > limits.p99LatencyMs) {
		flags.push(
			flag('latency', 'warning', `p99 ${Math.round(sample.p99Ms)} ms > ${limits.p99LatencyMs} ms`, now, 'p99Ms'),
		);
	}

	if (sample.errorRatio !== null && sample.errorRatio > limits.errorRatio) {
		flags.push(
			flag(
				'errors',
				'critical',
				`errors ${formatPercent(sample.errorRatio)} > ${formatPercent(limits.errorRatio)}`,
				now,
				'errorRatio',
			),
		);
	}

	const cpuLimit = version.resources?.cpuLimitCores;
	if (sample.cpuCores !== null && cpuLimit && sample.cpuCores > cpuLimit * limits.cpuOfLimit) {
		flags.push(
			flag(
				'cpu',
				'warning',
				`CPU ${sample.cpuCores.toFixed(2)} of ${cpuLimit} cores limit (> ${formatPercent(limits.cpuOfLimit)})`,
				now,
				'cpuCores',
			),
		);
	}

	const memoryLimit = version.resources?.memoryLimitBytes;
	if (sample.memoryBytes !== null && memoryLimit && sample.memoryBytes > memoryLimit * limits.memoryOfLimit) {
		flags.push(
			flag(
				'memory',
				'warning',
				`memory ${formatPercent(sample.memoryBytes / memoryLimit)} of limit (> ${formatPercent(limits.memoryOfLimit)})`,
				now,
				'memoryBytes',
			),
		);
	}

	return flags;
}

/** Canary worse than stable by more than the margin on p99 latency or error ratio. */
export function canaryMarginFlags(canary: Sample | undefined, stable: Sample | undefined, limits: Thresholds, now: number): Flag[] {
	if (!canary || !stable) return [];
	const flags: Flag[] = [];
	if (canary.p99Ms !== null && stable.p99Ms !== null && stable.p99Ms > 0) {
		const worse = canary.p99Ms / stable.p99Ms - 1;
		if (worse > limits.canaryMargin) {
			flags.push(
				flag(
					'canary',
					'critical',
					`canary p99 ${Math.round(canary.p99Ms)} ms is ${formatPercent(worse)} worse than stable ${Math.round(stable.p99Ms)} ms (margin ${formatPercent(limits.canaryMargin)})`,
					now,
					'p99Ms',
				),
			);
		}
	}

	if (canary.errorRatio !== null && stable.errorRatio !== null) {
		// Relative margin with a floor so that 0.01% vs 0.02% does not flag.
		const allowed = Math.max(stable.errorRatio * (1 + limits.canaryMargin), stable.errorRatio + 0.005);
		if (canary.errorRatio > allowed) {
			flags.push(
				flag(
					'canary',
					'critical',
					`canary errors ${formatPercent(canary.errorRatio)} vs stable ${formatPercent(stable.errorRatio)} (margin ${formatPercent(limits.canaryMargin)})`,
					now,
					'errorRatio',
				),
			);
		}
	}

	return flags;
}
