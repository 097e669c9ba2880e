import {describe, expect, it} from 'vitest';
import type {CanaryJudge, Verdict, VerdictResult} from '../../../source/domain/analysis.ts';
import {planTraffic, type TrafficAction} from '../../../source/domain/plan.ts';
import {ConflictError, type MetricsPort} from '../../../source/domain/ports.ts';
import type {Model, Series} from '../../../source/domain/types.ts';
import {alertFormatFor, alertmanagerPayload, slackPayload} from '../../../source/agent/guard/alerts.ts';
import {guardDecision, initialGuardState} from '../../../source/agent/guard/decision.ts';
import {CanaryGuard} from '../../../source/agent/guard/guard.ts';
import type {GuardReport} from '../../../source/agent/guard/guard.ts';
import type {GuardAuditRecord, GuardChangeDependencies} from '../../../source/agent/guard/rollback.ts';
import {
	guardSettingsFor,
	parseDurationSeconds,
	parseGuardSettingsFile,
	resolveGuardSettings,
} from '../../../source/agent/guard/settings.ts';
import {defaultThresholds} from '../../../source/domain/thresholds.ts';

/**
 * A cluster that plans from the model it holds (the domain's planner) and records what it is asked to do; `act`
 * refuses an action whose expected weights the model no longer has, as the real adapters do.
 */
function fakeCluster(model: () => Model, options: {act?: (action: TrafficAction) => Promise<void>} = {}) {
	const planned: TrafficAction[] = [];
	const acted: TrafficAction[] = [];
	const audits: GuardAuditRecord[] = [];
	const dependencies: GuardChangeDependencies = {
		cluster: {
			plan: async (action) => {
				planned.push(action);
				return planTraffic(model(), action);
			},
			act: async (action) => {
				acted.push(action);
				await options.act?.(action);
			},
		},
		audit: async (record) => {
			audits.push(record);
		},
		readBack: async () =>
			model()
				.versions.map((version) => `${version.name} ${version.weight}%`)
				.join(', '),
	};
	/** `canary: reason` of each rollback carried out, from its audit. */
	const rollbacks = () =>
		audits
			.filter((record) => record.reason === 'ModeldeckGuardRollback' && record.entry.result === 'ok')
			.map((record) => `${record.entry.action.replace(/^rollback /, '')}: ${record.entry.message.split('; reason: ')[1]}`);
	return {dependencies, planned, acted, audits, rollbacks};
}

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
	const timing = ({thresholds: _thresholds, ...rest}: ReturnType<typeof guardSettingsFor>) => rest;

	it('layers defaults, the settings file and the model’s annotations', () => {
		expect(guardSettingsFor(base)).toEqual({
			enabled: false,
			intervalSeconds: 30,
			windowSeconds: 300,
			consecutiveFailures: 3,
			thresholds: defaultThresholds,
		});
		const file = parseGuardSettingsFile(
			'defaults: {intervalSeconds: 10}\nmodels:\n  team-a/fraud: {enabled: true, consecutiveFailures: 2}\n',
		);
		expect(timing(guardSettingsFor(base, file))).toEqual({enabled: true, intervalSeconds: 10, windowSeconds: 300, consecutiveFailures: 2});
		const annotated = {
			...base,
			annotations: {
				'modeldeck.dev/guard': 'true',
				'modeldeck.dev/guard-interval': '1m',
				'modeldeck.dev/guard-failures': '5',
				'modeldeck.dev/guard-window': '10m',
			},
		};
		expect(timing(guardSettingsFor(annotated))).toEqual({enabled: true, intervalSeconds: 60, windowSeconds: 600, consecutiveFailures: 5});
		expect(guardSettingsFor({...annotated, annotations: {'modeldeck.dev/guard': 'false'}}, file).enabled).toBe(false);
	});

	it('takes thresholds in the console’s format from the file, per model, and from the annotation above them', () => {
		const file = parseGuardSettingsFile(
			[
				'thresholds:',
				'  defaults: {p99LatencyMs: 800}',
				'  models:',
				'    team-a/fraud: {errorRatio: 0.05, canaryMargin: 0.5}',
				'    other: {p99LatencyMs: 1}',
			].join('\n'),
		);
		expect(guardSettingsFor(base, file).thresholds).toEqual({...defaultThresholds, p99LatencyMs: 800, errorRatio: 0.05, canaryMargin: 0.5});
		const annotated = {...base, annotations: {'modeldeck.dev/guard-thresholds': '{"p99LatencyMs": 250, "canaryMargin": 0.1}'}};
		expect(resolveGuardSettings(annotated, file)).toEqual({
			settings: expect.objectContaining({thresholds: {...defaultThresholds, p99LatencyMs: 250, errorRatio: 0.05, canaryMargin: 0.1}}),
			errors: [],
		});
	});

	it('names the model and the annotation of a bad value, and keeps that setting’s other value', () => {
		const file = parseGuardSettingsFile(
			'models: {team-a/fraud: {intervalSeconds: 15, consecutiveFailures: 4}}\nthresholds: {defaults: {p99LatencyMs: 700}}',
		);
		const bad = {
			...base,
			annotations: {
				'modeldeck.dev/guard': 'yes',
				'modeldeck.dev/guard-interval': 'often',
				'modeldeck.dev/guard-failures': '0',
				'modeldeck.dev/guard-thresholds': '{"p99LatencyMs": "fast"}',
			},
		};
		const {settings, errors} = resolveGuardSettings(bad, file);
		expect(errors).toEqual([
			'team-a/fraud: annotation modeldeck.dev/guard must be "true" or "false"; got "yes"',
			'team-a/fraud: annotation modeldeck.dev/guard-interval must be a duration such as "30s", "5m" or "1h"; got "often"',
			'team-a/fraud: annotation modeldeck.dev/guard-failures must be a whole number of failing verdicts, 1 or more; got "0"',
			'team-a/fraud: annotation modeldeck.dev/guard-thresholds.p99LatencyMs must be milliseconds, e.g. 300; got "fast"',
		]);
		expect(settings).toMatchObject({enabled: false, intervalSeconds: 15, consecutiveFailures: 4, thresholds: {p99LatencyMs: 700}});
		expect(resolveGuardSettings({...base, annotations: {'modeldeck.dev/guard-thresholds': '{p99: 1'}}).errors).toEqual([
			'team-a/fraud: annotation modeldeck.dev/guard-thresholds must be JSON such as {"p99LatencyMs": 300, "errorRatio": 0.01}; got "{p99: 1"',
		]);
		expect(resolveGuardSettings({...base, annotations: {'modeldeck.dev/guard-thresholds': '{"p99": 1}'}}).errors[0]).toMatch(
			/^team-a\/fraud: annotation modeldeck.dev\/guard-thresholds.p99 is not a threshold; the thresholds are p99LatencyMs, errorRatio, cpuOfLimit, memoryOfLimit, canaryMargin$/,
		);
	});

	it('parses durations and says what is wrong in a settings file, naming the model and the key', () => {
		expect([
			parseDurationSeconds('30'),
			parseDurationSeconds('30s'),
			parseDurationSeconds('5m'),
			parseDurationSeconds('1h'),
			parseDurationSeconds('x'),
		]).toEqual([30, 30, 300, 3600, undefined]);
		expect(() => parseGuardSettingsFile('models: {a: {consecutiveFailures: -1}}')).toThrow(
			'models["a"].consecutiveFailures must be a positive number; got -1',
		);
		expect(() => parseGuardSettingsFile('models: {team-a/fraud: {intervalSecond: 5}}')).toThrow(
			'models["team-a/fraud"].intervalSecond is not a guard setting; the settings are enabled, intervalSeconds, windowSeconds, consecutiveFailures',
		);
		expect(() => parseGuardSettingsFile('thresholds: {models: {team-a/fraud: {errorRatio: 2}}}')).toThrow(
			'thresholds.models["team-a/fraud"].errorRatio must be a ratio from 0 to 1, e.g. 0.02 for 2%; got 2',
		);
		expect(() => parseGuardSettingsFile('models: {team-a/fraud: {thresholds: {p99LatencyMs: 1}}}')).toThrow(
			/thresholds go in the top-level "thresholds" block/,
		);
		expect(() => parseGuardSettingsFile('threshold: {}')).toThrow(
			'"threshold" is not a guard settings key; use "defaults", "models" and/or "thresholds"',
		);
		expect(() => parseGuardSettingsFile('[1, 2]')).toThrow(/must be a mapping/);
		expect(() => parseGuardSettingsFile('models: [')).toThrow(/not valid YAML or JSON/);
		expect(parseGuardSettingsFile('{"defaults": {"enabled": true}}')).toEqual({defaults: {enabled: true}});
	});
});

describe('alerts', () => {
	const alert = {
		model: {namespace: 'team-a', name: 'fraud'},
		canary: 'v2',
		stable: 'v1',
		rolledBack: true,
		reason: 'p99 worse',
		time: Date.parse('2026-03-01T03:00:00Z'),
	};

	it('builds Alertmanager’s alert list', () => {
		expect(alertmanagerPayload(alert)).toEqual([
			{
				labels: {
					alertname: 'ModeldeckCanaryRolledBack',
					severity: 'critical',
					namespace: 'team-a',
					model: 'fraud',
					canary: 'v2',
					source: 'modeldeck-agent',
					dry_run: 'false',
				},
				annotations: {summary: 'modeldeck guard rolled back canary v2 of team-a/fraud', description: 'p99 worse'},
				startsAt: '2026-03-01T03:00:00.000Z',
			},
		]);
	});

	it('builds Slack’s text and picks the format from the URL', () => {
		expect(slackPayload({...alert, rolledBack: false}).text).toMatch(
			/would roll back \(dry run\) canary \*v2\* of \*team-a\/fraud\*: p99 worse/,
		);
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
				return new Map(
					targets.map((target) => [
						`${target.namespace}/${target.name}/${target.version}`,
						{p99Ms: [{time: now, value: target.version === 'v2' ? 900 : 100}]},
					]),
				);
			},
			explain: () => '',
		};
		const judge: CanaryJudge = {
			judge: (canary, stable) => {
				judged.push([canary, stable]);
				return verdict(results.shift() ?? 'pass');
			},
		};
		const reports: GuardReport[] = [];
		const cluster = fakeCluster(() => guarded);
		const guard = new CanaryGuard({
			models: () => [guarded, {...guarded, name: 'unguarded', annotations: {}}],
			metrics,
			judge,
			dryRun,
			...cluster.dependencies,
			onReport: (report) => reports.push(report),
			now: () => now,
		});
		return {guard, queried, judged, rollbacks: cluster.rollbacks, cluster, reports, advance: (ms: number) => (now += ms)};
	}

	it('judges guarded canaries against stable each interval and rolls back after N failures', async () => {
		const {guard, queried, judged, rollbacks: rolledBack, reports, advance} = setup(['fail', 'fail']);
		const rollbacks = () => rolledBack().map((line) => `fraud/${line}`);
		await guard.evaluate();
		expect(queried).toEqual([['v2', 'v1']]);
		expect(judged[0]?.[0]?.p99Ms?.[0]?.value).toBe(900);
		expect(judged[0]?.[1]?.p99Ms?.[0]?.value).toBe(100);
		expect(await guard.evaluate()).toEqual([]);
		advance(10_000);
		await guard.evaluate();
		expect(rollbacks()).toHaveLength(1);
		// The judge's failure and the thresholds the fake history crosses (900 ms > 500 ms, 800% worse than stable).
		expect(rollbacks()[0]).toMatch(
			/^fraud\/v2: 2 failing verdicts in a row \(limit 2\): fail: p99 900 ms > 500 ms; canary p99 900 ms is 800% worse than stable 100 ms \(margin 20%\); canary fail: p99 worse$/,
		);
		expect(reports.map((report) => report.action.kind)).toEqual(['none', 'rollback']);
	});

	it('plans the rollback first, acts with the plan’s weights and audits from the plan (it wrote and read back unplanned)', async () => {
		const {guard, cluster, reports, advance} = setup(['fail', 'fail']);
		await guard.evaluate();
		advance(10_000);
		await guard.evaluate();
		const rollback = {kind: 'rollback', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2'};
		expect(cluster.planned).toEqual([rollback]);
		expect(cluster.acted).toEqual([{...rollback, expected: {v1: 80, v2: 20}}]);
		expect(cluster.audits).toHaveLength(1);
		expect(cluster.audits[0]).toMatchObject({
			reason: 'ModeldeckGuardRollback',
			entry: {action: 'rollback v2', target: 'team-a/fraud', before: 'v1 80%, v2 20%', after: 'v1 100%, v2 0%', result: 'ok'},
		});
		expect(cluster.audits[0]!.entry.message).toMatch(/^guard: fraud: v1 80% → 100%, v2 20% → 0%; reason: 2 failing verdicts in a row/);
		expect(reports.at(-1)?.plan?.versions.map((version) => `${version.name} ${version.before}→${version.after}`)).toEqual([
			'v1 80→100',
			'v2 20→0',
		]);
	});

	it('changes nothing in dry-run, and audits what the plan would change', async () => {
		const {guard, cluster, reports, advance} = setup(['fail', 'fail'], true);
		await guard.evaluate();
		advance(10_000);
		await guard.evaluate();
		expect(cluster.acted).toEqual([]);
		expect(reports.at(-1)?.action.kind).toBe('would-rollback');
		expect(cluster.audits).toHaveLength(1);
		expect(cluster.audits[0]).toMatchObject({
			reason: 'ModeldeckGuardDryRun',
			entry: {action: 'dry-run rollback v2', before: 'v1 80%, v2 20%', after: 'v1 80%, v2 20%', result: 'ok'},
		});
		expect(cluster.audits[0]!.entry.message).toMatch(
			/^DRY RUN \(nothing changed\): guard would roll back v2 \(fraud: v1 80% → 100%, v2 20% → 0%\): 2 failing verdicts/,
		);
	});

	const failingOnce: Model = {...guarded, annotations: {'modeldeck.dev/guard': 'true', 'modeldeck.dev/guard-failures': '1'}};
	function once(cluster: ReturnType<typeof fakeCluster>) {
		const reports: GuardReport[] = [];
		const errors: string[] = [];
		const guard = new CanaryGuard({
			models: () => [failingOnce],
			metrics: {label: '', sample: async () => new Map(), history: async () => new Map(), explain: () => ''},
			judge: {judge: () => verdict('fail')},
			dryRun: false,
			...cluster.dependencies,
			onReport: (report) => reports.push(report),
			onError: (message) => errors.push(message),
			now: () => 0,
		});
		return {guard, reports, errors};
	}

	it('reports a rollback that failed, audited with the plan’s before and the weights read back', async () => {
		let model = failingOnce;
		const cluster = fakeCluster(() => model, {
			act: async () => {
				// Someone moved the canary between the plan and the write: the plan's weights no longer hold.
				model = {...model, versions: model.versions.map((version) => ({...version, weight: version.name === 'v2' ? 30 : 70}))};
				throw new ConflictError('v2 is at 30% now, not 20% as planned');
			},
		});
		const {guard, reports} = once(cluster);
		await guard.evaluate();
		expect(reports).toHaveLength(1);
		expect(reports[0]).toMatchObject({action: {kind: 'rollback'}});
		expect(reports[0]!.error).toMatch(/^conflict: v2 is at 30% now, not 20% as planned/);
		expect(cluster.audits.map((record) => record.entry)).toEqual([
			expect.objectContaining({action: 'rollback v2', before: 'v1 80%, v2 20%', after: 'v1 70%, v2 30%', result: 'failed'}),
		]);
	});

	it('a rollback whose plan changes nothing is refused: not written, audited as refused', async () => {
		const cluster = fakeCluster(() => ({
			...failingOnce,
			versions: failingOnce.versions.map((version) => ({...version, weight: version.name === 'v2' ? 0 : 100})),
		}));
		const {guard, reports} = once(cluster);
		await guard.evaluate();
		expect(cluster.planned).toHaveLength(1);
		expect(cluster.acted).toEqual([]);
		expect(reports[0]!.error).toMatch(/^refused: nothing to change: fraud is already there/);
		expect(cluster.audits).toMatchObject([{reason: 'ModeldeckActionRefused', entry: {action: 'rollback v2', result: 'refused'}}]);
	});

	it('an audit that cannot be written is told, and does not make a rollback that was made a failed one', async () => {
		const cluster = fakeCluster(() => failingOnce);
		cluster.dependencies.audit = async () => {
			throw new Error('store closed');
		};
		const {guard, reports, errors} = once(cluster);
		await guard.evaluate();
		expect(cluster.acted).toHaveLength(1);
		expect(reports[0]!.error).toBeUndefined();
		expect(errors).toEqual(['guard: could not audit rollback v2 on team-a/fraud: store closed']);
	});
});

describe('CanaryGuard with the console’s thresholds', () => {
	const model = (annotations: Record<string, string>): Model => ({
		namespace: 'team-a',
		name: 'fraud',
		router: 'httproute',
		annotations: {'modeldeck.dev/guard': 'true', 'modeldeck.dev/guard-failures': '1', ...annotations},
		versions: [
			{name: 'v1', track: 'stable', weight: 80, replicasReady: 1, replicasDesired: 1, restarts: 0, image: '', created: ''},
			{name: 'v2', track: 'canary', weight: 20, replicasReady: 1, replicasDesired: 1, restarts: 0, image: '', created: ''},
		],
	});
	// Canary and stable both at 400 ms p99: the judge passes, the margin is not crossed; only a threshold can fail it.
	const metrics: MetricsPort = {
		label: 'fake',
		sample: async () => new Map(),
		history: async (targets) =>
			new Map(targets.map((target) => [`${target.namespace}/${target.name}/${target.version}`, {p99Ms: [{time: 1000, value: 400}]}])),
		explain: () => '',
	};

	async function run(annotations: Record<string, string>, file = {}) {
		const reports: GuardReport[] = [];
		const errors: string[] = [];
		const cluster = fakeCluster(() => model(annotations));
		const guard = new CanaryGuard({
			models: () => [model(annotations)],
			metrics,
			judge: {judge: () => verdict('pass')},
			settingsFile: () => file,
			dryRun: false,
			...cluster.dependencies,
			onReport: (report) => reports.push(report),
			onError: (message) => errors.push(message),
			now: () => 1000,
		});
		await guard.evaluate();
		return {reports, errors, rollbacks: cluster.rollbacks(), guard};
	}

	it('rolls back on the model’s own p99 threshold from its annotation, and not under the default', async () => {
		const strict = await run({'modeldeck.dev/guard-thresholds': '{"p99LatencyMs": 300}'});
		expect(strict.rollbacks).toEqual(['v2: 1 failing verdicts in a row (limit 1): fail: p99 400 ms > 300 ms']);
		expect(strict.reports[0]?.breaches.map((flag) => flag.kind)).toEqual(['latency']);
		expect((await run({})).rollbacks).toEqual([]);
	});

	it('takes the threshold from the settings file in the console’s format', async () => {
		const file = parseGuardSettingsFile('thresholds: {models: {team-a/fraud: {p99LatencyMs: 350}}}');
		expect((await run({}, file)).rollbacks).toEqual(['v2: 1 failing verdicts in a row (limit 1): fail: p99 400 ms > 350 ms']);
	});

	it('reports a bad annotation once, naming the model and the key, and guards with the other values', async () => {
		const {errors, rollbacks, guard} = await run(
			{'modeldeck.dev/guard-thresholds': '{"p99LatencyMs": -5}'},
			parseGuardSettingsFile('thresholds: {defaults: {p99LatencyMs: 390}}'),
		);
		expect(errors).toEqual([
			'guard: team-a/fraud: annotation modeldeck.dev/guard-thresholds.p99LatencyMs must be milliseconds, e.g. 300; got -5 (ignored: that setting keeps its value from the settings file or the default)',
		]);
		expect(rollbacks).toEqual(['v2: 1 failing verdicts in a row (limit 1): fail: p99 400 ms > 390 ms']);
		await guard.evaluate();
		expect(errors).toHaveLength(1);
	});
});
