/** The detectors the console, `status` and the agent's guard run by default. */
import type {FlagDetector} from './analysis.ts';
import {MemoryTrendDetector} from './memory-trend.ts';
import {RobustZDetector} from './robust-z.ts';

/**
 * The detectors the console and `status` run: anomalies that are also large (8 % of the baseline median — small
 * wiggles are not worth a page), and memory heading for its limit.
 */
export function defaultDetectors(): FlagDetector[] {
	return [new RobustZDetector({relativeMinimumScale: 0.08}), new MemoryTrendDetector()];
}
