/**
 * The demo as the one-shot commands (`status`, `weight` … with `--demo`) use it: no delays, no prediction traffic,
 * the scenario's name checked first. Handed to them by the composition root (cli.tsx), so that commands never import
 * the demo themselves.
 */
import type {ClusterPort, MetricsPort} from '../domain/ports.ts';
import {createDemoSources} from './create-demo-sources.ts';
import {isScenarioName, scenarioNames} from './scenarios.ts';

/** The simulated fleet's cluster and metrics (stop it when done), or a usage message when the scenario is unknown. */
export function demoForCommands(options: {
	scenario?: string | undefined;
	atSeconds?: number | undefined;
}): {cluster: ClusterPort; metrics: MetricsPort; stop(): void} | {usage: string} {
	if (options.scenario !== undefined && !isScenarioName(options.scenario)) {
		return {usage: `--scenario must be one of: ${scenarioNames.join(', ')} (got "${options.scenario}")`};
	}

	return createDemoSources({
		actionDelayMs: 0,
		predictionsPerSecond: 0,
		...(options.scenario ? {scenario: options.scenario} : {}),
		...(options.atSeconds !== undefined ? {atMs: options.atSeconds * 1000} : {}),
	});
}
