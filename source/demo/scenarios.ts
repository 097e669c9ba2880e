/**
 * Scripted incidents for `--scenario`. Each scenario names the versions it affects and when the trouble starts,
 * relative to launch, so that a demo shows its alarm within seconds. Rolling back the affected canary heals it.
 *
 * The default is `tour`: one canary incident (fraud-detector v13's latency climbs) next to a canary that is clearly
 * healthy (search-ranker v8), so a first-time user walks an alarm to a rollback and can also try a promotion.
 */

export type ScenarioName = 'tour' | 'calm' | 'latency-regression' | 'error-burst' | 'memory-leak' | 'prediction-drift' | 'healthy-canary';

export const scenarioNames: readonly ScenarioName[] = [
	'tour',
	'calm',
	'latency-regression',
	'error-burst',
	'memory-leak',
	'prediction-drift',
	'healthy-canary',
];

export const defaultScenario: ScenarioName = 'tour';

/** One line each, for `--help` and for the error on an unknown `--scenario`. */
export const scenarioDescriptions: Readonly<Record<ScenarioName, string>> = {
	tour: 'default: fraud-detector canary v13 slows down after a few seconds; search-ranker canary v8 is healthy, ready to promote',
	calm: 'everything healthy: small noise, no incident',
	'latency-regression': 'fraud-detector canary v13: p99 latency climbs over ~45 s to well over 10× stable',
	'error-burst': 'recommender canary 2.5.0: errors jump to ~8% a few seconds after launch',
	'memory-leak': 'image-classifier canary effnet-v4: memory grows towards its 4 GiB limit, then pods are OOMKilled',
	'prediction-drift': 'sentiment canary v4: predicted classes shift towards "negative" while latency and errors look fine',
	'healthy-canary': 'search-ranker canary v8: faster than stable with fewer errors, ready to promote',
};

export function isScenarioName(value: string): value is ScenarioName {
	return (scenarioNames as readonly string[]).includes(value);
}

export type IncidentKind = 'latency-regression' | 'error-burst' | 'memory-leak' | 'prediction-drift' | 'better-canary';

export interface Incident {
	kind: IncidentKind;
	namespace: string;
	model: string;
	version: string;
	/** Ms after launch when the incident begins. */
	startAfterMs: number;
	/** Ms from beginning to full strength. */
	rampMs: number;
}

/** Incidents begin this long after launch: long enough to see a calm first frame, short enough for a demo. */
export const INCIDENT_START_MS = 6000;

const fraudLatency: Incident = {
	kind: 'latency-regression',
	namespace: 'payments',
	model: 'fraud-detector',
	version: 'v13',
	startAfterMs: INCIDENT_START_MS,
	rampMs: 45_000,
};

const rankerBetter: Incident = {
	kind: 'better-canary',
	namespace: 'ml-serving',
	model: 'search-ranker',
	version: 'v8',
	startAfterMs: -Infinity,
	rampMs: 0,
};

const incidents: Readonly<Record<ScenarioName, readonly Incident[]>> = {
	tour: [fraudLatency, rankerBetter],
	calm: [],
	'latency-regression': [fraudLatency],
	'error-burst': [
		{
			kind: 'error-burst',
			namespace: 'ml-serving',
			model: 'recommender',
			version: '2.5.0',
			startAfterMs: INCIDENT_START_MS,
			rampMs: 3000,
		},
	],
	'memory-leak': [
		{
			kind: 'memory-leak',
			namespace: 'vision',
			model: 'image-classifier',
			version: 'effnet-v4',
			startAfterMs: INCIDENT_START_MS,
			rampMs: 0,
		},
	],
	'prediction-drift': [
		{
			kind: 'prediction-drift',
			namespace: 'ml-serving',
			model: 'sentiment',
			version: 'v4',
			startAfterMs: INCIDENT_START_MS,
			rampMs: 30_000,
		},
	],
	'healthy-canary': [rankerBetter],
};

export function incidentsOf(scenario: ScenarioName): Incident[] {
	return incidents[scenario].map((incident) => ({...incident}));
}
