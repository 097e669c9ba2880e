/**
 * The canary verdict through the console's analysis (domain/pipeline.ts, the console's detectors and judge) over a real
 * Prometheus (1 s scrapes) scraping real model servers under paced load. Two models: fraud, whose canary is slowed
 * through its knob for the last 25 s of a 90 s window (most of the window calm, as when a regression has just begun),
 * and ranker, whose canary is the same as its stable. The slowed canary fails on the judge's own figures; the equal one
 * passes its whole window and is ready to promote.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type RunningPrometheus, startPrometheus, waitForTargets} from '../../harness/prometheus.ts';
import type {Verdict} from '../../source/domain/analysis.ts';
import {defaultDetectors} from '../../source/domain/detectors.ts';
import {MannWhitneyJudge} from '../../source/domain/judge.ts';
import type {MetricTarget} from '../../source/domain/ports.ts';
import type {Flag, Model, Version} from '../../source/domain/types.ts';
import {type RunningModelServer, startModelServer} from '../../source/model-server/server.ts';
import {createPrometheusMetrics} from '../../source/adapters/prometheus/prometheus-metrics.ts';
import {analyse} from '../../source/domain/pipeline.ts';
import {type PacedLoad, startPacedLoad} from '../support/paced-load.ts';

const RATE = 20;
const WINDOW_SECONDS = 90;
/** The fraud canary is slowed this long before the window is read: under a third of the window. */
const SLOW_FOR_MS = 25_000;
/** Load runs this long before the window starts, so every series has points from its first second. */
const WARM_UP_MS = 15_000;
const LOAD_LIMIT_MS = WARM_UP_MS + WINDOW_SECONDS * 1000 + 30_000;

const servers = new Map<string, RunningModelServer>();
const pairs = [
	['fraud', 'v1'],
	['fraud', 'v2'],
	['ranker', 'v7'],
	['ranker', 'v8'],
] as const;
let prometheus: RunningPrometheus;
let load: PacedLoad;
let verdicts: Record<string, Verdict>;
let flags: Record<string, Flag[]>;

function version(name: string, track: Version['track']): Version {
	return {
		name,
		track,
		weight: track === 'stable' ? 90 : 10,
		replicasReady: 1,
		replicasDesired: 1,
		restarts: 0,
		image: `img:${name}`,
		created: '2025-01-01T00:00:00Z',
	};
}

const models: Model[] = [
	{namespace: 'ml', name: 'fraud', router: 'httproute', versions: [version('v1', 'stable'), version('v2', 'canary')]},
	{namespace: 'ml', name: 'ranker', router: 'httproute', versions: [version('v7', 'stable'), version('v8', 'canary')]},
];

const sleep = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
	for (const [model, modelVersion] of pairs) {
		servers.set(`${model}/${modelVersion}`, await startModelServer({model, modelVersion, port: 0, knobs: {latencyMs: 5}}));
	}

	prometheus = await startPrometheus({
		scrapeIntervalSeconds: 1,
		scrapeTargets: pairs.map(([model, modelVersion]) => ({
			job: `${model}-${modelVersion}`,
			targets: [`127.0.0.1:${servers.get(`${model}/${modelVersion}`)!.port}`],
			labels: {namespace: 'ml'},
		})),
	});
	await waitForTargets(prometheus.url, {targets: pairs.length});
	const source = createPrometheusMetrics({url: prometheus.url, scrapeIntervalSeconds: 1});
	load = startPacedLoad({
		targets: pairs.map(([model, modelVersion]) => [servers.get(`${model}/${modelVersion}`)!.url, model]),
		rate: RATE,
		limitMs: LOAD_LIMIT_MS,
	});
	await sleep(WARM_UP_MS + WINDOW_SECONDS * 1000 - SLOW_FOR_MS);
	servers.get('fraud/v2')!.setKnobs({latencyMs: 200});
	await sleep(SLOW_FOR_MS);

	const targets: MetricTarget[] = pairs.map(([name, modelVersion]) => ({namespace: 'ml', name, version: modelVersion}));
	const now = Date.now();
	const [samples, history] = await Promise.all([
		source.sample(targets, 10),
		source.history(targets, {start: now - WINDOW_SECONDS * 1000, end: now, stepSeconds: 1}),
	]);
	await load.stop();
	({verdicts, flags} = analyse({
		models,
		samples: Object.fromEntries(samples),
		history: Object.fromEntries(history),
		thresholds: {},
		detectors: defaultDetectors(),
		judge: new MannWhitneyJudge(),
		judgeWindowSeconds: WINDOW_SECONDS,
		previous: {},
		now,
	}));
}, 300_000);

afterAll(async () => {
	await load?.stop();
	await prometheus?.stop();
	for (const server of servers.values()) await server.close();
});

function details(verdict: Verdict | undefined): string {
	return `${verdict?.summary}\n${verdict?.metrics.map((metric) => metric.explanation).join('\n')}`;
}

describe('the canary verdict over a real Prometheus', () => {
	it("fails the canary slowed for the last 25 s of a 90 s window, on the judge's own figures", () => {
		const verdict = verdicts['ml/fraud'];
		expect(verdict?.result, details(verdict)).toBe('fail');
		// The judge found it, not only the newest sample's flag.
		expect(verdict?.flaggedBy, details(verdict)).toBeUndefined();
		const p99 = verdict!.metrics.find((metric) => metric.metric === 'p99Ms');
		expect(p99?.result, p99?.explanation).toBe('high');
		expect(p99?.explanation).toMatch(/ — fail \(critical\)$/);
		expect((flags['ml/fraud/v2'] ?? []).some((flag) => flag.kind === 'canary' && flag.metric === 'p99Ms')).toBe(true);
	});

	it('passes the canary equal to its stable over the whole window, ready to promote', () => {
		const verdict = verdicts['ml/ranker'];
		expect(verdict?.result, details(verdict)).toBe('pass');
		expect(verdict?.readyToPromote, details(verdict)).toBe(true);
		expect(verdict?.summary).toMatch(/ — ready to promote$/);
	});
});
