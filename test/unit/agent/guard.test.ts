import {describe, expect, it} from 'vitest';
import type {CanaryJudge, Verdict, VerdictResult} from '../../../source/domain/analysis.ts';
import type {MetricsPort} from '../../../source/domain/ports.ts';
import type {Model, Series} from '../../../source/domain/types.ts';
import {alertFormatFor, alertmanagerPayload, slackPayload} from '../../../source/agent/guard/alerts.ts';
import {guardDecision, initialGuardState} from '../../../source/agent/guard/decision.ts';
import {CanaryGuard} from '../../../source/agent/guard/guard.ts';
import type {GuardReport} from '../../../source/agent/guard/guard.ts';
import {guardSettingsFor, parseDurationSeconds, parseGuardSettingsFile} from '../../../source/agent/guard/settings.ts';

function verdict(result: VerdictResult): Verdict {
	return {result, score: result === 'insufficient-data' ? null : 50, windowSeconds: 300, metrics: [], summary: `${result}: p99 worse`};
}

describe('guardDecision', () => {
	const policy = {consecutiveFailures: 3, dryRun: false};

	it('rolls back on the Nth failing verdict in a row, then counts from zero', () => {
		let state = initialGuardState;
		const actions: string[] = [];
		for (const result of ['fail', 'fail', 'fail', 'fail'] as const) {
			const decision = guardDecision(state, verdict(result), policy, 1);
			state = decision.state;
			actions.push(decision.action.kind);
		}

		expect(actions).toEqual(['none', 'none', 'rollback', 'none']);
		expect(state.consecutiveFailures).toBe(1);
	});

	it('a pass clears the count; marginal and too little data leave it as it is', () => {
		let state = guardDecision(initialGuardState, verdict('fail'), policy, 1).state;
		state = guardDecision(state, verdict('fail'), policy, 2).state;
		state = guardDecision(state, verdict('marginal'), policy, 3).state;
		state = guardDecision(state, verdict('insufficient-data'), policy, 4).state;
		expect(state).toEqual({consecutiveFailures: 2, lastResult: 'insufficient-data', lastJudged: 4});
		const decision = guardDecision(state, verdict('fail'), policy, 5);
		expect(decision.action).toEqual({kind: 'rollback', reason: '3 failing verdicts in a row (limit 3): fail: p99 worse'});
		expect(guardDecision({consecutiveFailures: 2}, verdict('pass'), policy, 6).state.consecutiveFailures).toBe(0);
	});

	it('in dry-run says what it would do instead', () => {
		const decision = guardDecision({consecutiveFailures: 0}, verdict('fail'), {consecutiveFailures: 1, dryRun: true}, 1);
		expect(decision.action.kind).toBe('would-rollback');
	});
});

describe('guard settings', () => {
	const base: Model = {namespace: 'team-a', name: 'fraud', router: 'httproute', versions: []};

	it('layers defaults, the settings file and the model’s annotations', () => {
		expect(guardSettingsFor(base)).toEqual({enabled: false, intervalSeconds: 30, windowSeconds: 300, consecutiveFailures: 3});
		const file = parseGuardSettingsFile('defaults: {intervalSeconds: 10}\nmodels:\n  team-a/fraud: {enabled: true, consecutiveFailures: 2}\n');
		expect(guardSettingsFor(base, file)).toEqual({enabled: true, intervalSeconds: 10, windowSeconds: 300, consecutiveFailures: 2});
		const annotated = {...base, annotations: {'modeldeck.dev/guard': 'true', 'modeldeck.dev/guard-interval': '1m', 'modeldeck.dev/guard-failures': '5', 'modeldeck.dev/guard-window': '10m'}};
		expect(guardSettingsFor(annotated)).toEqual({enabled: true, intervalSeconds: 60, windowSeconds: 600, consecutiveFailures: 5});
		expect(guardSettingsFor({...annotated, annotations: {'modeldeck.dev/guard': 'false'}}, file).enabled).toBe(false);
	});

	it('parses durations and says what is wrong in a settings file', () => {
		expect([parseDurationSeconds('30'), parseDurationSeconds('30s'), parseDurationSeconds('5m'), parseDurationSeconds('1h'), parseDurationSeconds('x')]).toEqual([30, 30, 300, 3600, undefined]);
		expect(() => parseGuardSettingsFile('models: {a: {consecutiveFailures: -1}}')).toThrow(/models.a.consecutiveFailures must be a positive number/);
		expect(() => parseGuardSettingsFile('[1, 2]')).toThrow(/must be a mapping/);
		expect(parseGuardSettingsFile('{"defaults": {"enabled": true}}')).toEqual({defaults: {enabled: true}});
	});
});

describe('alerts', () => {
	const alert = {model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', stable: 'v1', rolledBack: true, reason: 'p99 worse', time: Date.parse('2026-03-01T03:00:00Z')};

	it('builds Alertmanager’s alert list', () => {
		expect(alertmanagerPayload(alert)).toEqual([
			{
				labels: {alertname: 'ModeldeckCanaryRolledBack', severity: 'critical', namespace: 'team-a', model: 'fraud', canary: 'v2', source: 'modeldeck-agent', dry_run: 'false'},
				annotations: {summary: 'modeldeck guard rolled back canary v2 of team-a/fraud', description: 'p99 worse'},
				startsAt: '2026-03-01T03:00:00.000Z',
			},
		]);
	});

	it('builds Slack’s text and picks the format from the URL', () => {
		expect(slackPayload({...alert, rolledBack: false}).text).toMatch(/would roll back \(dry run\) canary \*v2\* of \*team-a\/fraud\*: p99 worse/);
		expect(alertFormatFor('https://hooks.slack.com/services/T/B/X')).toBe('slack');
		expect(alertFormatFor('http://alertmanager:9093/api/v2/alerts')).toBe('alertmanager');
		expect(alertFormatFor('http://alertmanager:9093/api/v2/alerts', 'slack')).toBe('slack');
	});
});

describe('CanaryGuard', () => {
	const guarded: Model = {
		namespace: 'team-a',
		name: 'fraud',
		router: 'httproute',
		annotations: {'modeldeck.dev/guard': 'true', 'modeldeck.dev/guard-failures': '2', 'modeldeck.dev/guard-interval': '10s'},
		versions: [
			{name: 'v1', track: 'stable', weight: 80, replicasReady: 1, replicasDesired: 1, restarts: 0, image: '', created: ''},
			{name: 'v2', track: 'canary', weight: 20, replicasReady: 1, replicasDesired: 1, restarts: 0, image: '', created: ''},
		],
	};

	function setup(results: VerdictResult[], dryRun = false) {
		let now = 1_000_000;
		const queried: string[][] = [];
		const judged: (Series | undefined)[][] = [];
		const metrics: MetricsPort = {
			label: 'fake',
			sample: async () => new Map(),
			history: async (targets) => {
				queried.push(targets.map((target) => target.version));
				return new Map(targets.map((target) => [`${target.namespace}/${target.name}/${target.version}`, {p99Ms: [{time: now, value: target.version === 'v2' ? 900 : 100}]}]));
			},
			explain: () => '',
		};
		const judge: CanaryJudge = {
			judge: (canary, stable) => {
				judged.push([canary, stable]);
				return verdict(results.shift() ?? 'pass');
			},
		};
		const rollbacks: string[] = [];
		const reports: GuardReport[] = [];
		const guard = new CanaryGuard({
			models: () => [guarded, {...guarded, name: 'unguarded', annotations: {}}],
			metrics,
			judge,
			dryRun,
			rollback: async (model, canary, reason) => {
				rollbacks.push(`${model.name}/${canary}: ${reason}`);
			},
			onReport: (report) => reports.push(report),
			now: () => now,
		});
		return {guard, queried, judged, rollbacks, reports, advance: (ms: number) => (now += ms)};
	}

	it('judges guarded canaries against stable each interval and rolls back after N failures', async () => {
		const {guard, queried, judged, rollbacks, reports, advance} = setup(['fail', 'fail']);
		await guard.evaluate();
		expect(queried).toEqual([['v2', 'v1']]);
		expect(judged[0]?.[0]?.p99Ms?.[0]?.value).toBe(900);
		expect(judged[0]?.[1]?.p99Ms?.[0]?.value).toBe(100);
		expect(await guard.evaluate()).toEqual([]);
		advance(10_000);
		await guard.evaluate();
		expect(rollbacks).toEqual(['fraud/v2: 2 failing verdicts in a row (limit 2): fail: p99 worse']);
		expect(reports.map((report) => report.action.kind)).toEqual(['none', 'rollback']);
	});

	it('changes nothing in dry-run', async () => {
		const {guard, rollbacks, reports, advance} = setup(['fail', 'fail'], true);
		await guard.evaluate();
		advance(10_000);
		await guard.evaluate();
		expect(rollbacks).toEqual([]);
		expect(reports.at(-1)?.action.kind).toBe('would-rollback');
	});

	it('reports a rollback that failed', async () => {
		const reports: GuardReport[] = [];
		const guard = new CanaryGuard({
			models: () => [{...guarded, annotations: {'modeldeck.dev/guard': 'true', 'modeldeck.dev/guard-failures': '1'}}],
			metrics: {label: '', sample: async () => new Map(), history: async () => new Map(), explain: () => ''},
			judge: {judge: () => verdict('fail')},
			dryRun: false,
			rollback: async () => {
				throw new Error('conflict');
			},
			onReport: (report) => reports.push(report),
			now: () => 0,
		});
		await guard.evaluate();
		expect(reports).toHaveLength(1);
		expect(reports[0]).toMatchObject({action: {kind: 'rollback'}, error: 'conflict'});
	});
});
