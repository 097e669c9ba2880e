import {PassThrough} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {runCommand} from '../../../source/commands/index.ts';
import {demoForCommands} from '../../../source/demo/for-commands.ts';
import {type ClusterPort, ConflictError, ForbiddenError, type MetricsPort, type SourceError} from '../../../source/domain/ports.ts';
import {changedVersions, planTraffic, type ChangePlan, type TrafficAction} from '../../../source/domain/plan.ts';
import type {Model, ModelRef} from '../../../source/domain/types.ts';

function version(name: string, track: 'stable' | 'canary', weight: number) {
	return {
		name,
		track,
		weight,
		replicasReady: 1,
		replicasDesired: 1,
		restarts: 0,
		image: `img:${name}`,
		created: '2025-01-01T00:00:00Z',
		object: `Deployment/x-${name}`,
	};
}

const fraud: Model = {
	namespace: 'team-a',
	name: 'fraud',
	router: 'httproute',
	versions: [version('v12', 'stable', 90), version('v13', 'canary', 10)],
};
const fraudB: Model = {namespace: 'team-b', name: 'fraud', router: 'replicas', versions: [version('v1', 'stable', 100)]};
const three: Model = {
	namespace: 'team-a',
	name: 'three',
	router: 'httproute',
	versions: [version('v1', 'stable', 80), version('v2', 'canary', 10), version('v3', 'canary', 10)],
};

class FakeCluster implements ClusterPort {
	readonly label = 'fake-context';
	readonly calls: string[] = [];
	failure: Error | undefined;
	watchError: SourceError | undefined;
	silent = false;
	/** Changes never answer (a server that accepts the write and says nothing). */
	hang = false;
	namespaceWatched: string | undefined | null = null;

	private readonly models: Model[];

	constructor(models: Model[]) {
		this.models = models;
	}

	contexts() {
		return [{name: 'fake-context', cluster: 'fake'}];
	}

	currentContext() {
		return 'fake-context';
	}

	async switchContext() {}

	async namespaces() {
		return ['team-a', 'team-b'];
	}

	watchModels(namespace: string | undefined, onChange: (models: Model[]) => void, onError: (error: SourceError) => void) {
		this.namespaceWatched = namespace;
		if (!this.silent) {
			queueMicrotask(() => {
				if (this.watchError) onError(this.watchError);
				else onChange(this.models.filter((model) => !namespace || model.namespace === namespace));
			});
		}

		return () => this.calls.push('unsubscribe');
	}

	private async record(call: string) {
		this.calls.push(call);
		if (this.hang) await new Promise(() => undefined);
		if (this.failure) throw this.failure;
	}

	setCanaryWeight(model: ModelRef, canary: string, weight: number, expected?: number) {
		return this.record(`weight ${model.namespace}/${model.name} ${canary} ${weight} expected ${expected}`);
	}

	promote(model: ModelRef, canary: string) {
		return this.record(`promote ${model.namespace}/${model.name} ${canary}`);
	}

	rollback(model: ModelRef, canary: string) {
		return this.record(`rollback ${model.namespace}/${model.name} ${canary}`);
	}

	switchTraffic(model: ModelRef, to: string) {
		return this.record(`switch ${model.namespace}/${model.name} ${to}`);
	}

	async plan(action: TrafficAction): Promise<ChangePlan> {
		const model = this.models.find((candidate) => candidate.namespace === action.model.namespace && candidate.name === action.model.name)!;
		const plan = planTraffic(model, action);
		const moved = changedVersions(plan).map((version) => `${version.name} ${version.before}% → ${version.after}%`);
		const writes = moved.length > 0 ? [{object: `HTTPRoute/${model.name}`, change: moved.join(', ')}] : [];
		// As the Kubernetes source plans it: a rollback also restores the Deployment's previous template.
		const canary = action.kind === 'rollback' ? model.versions.find((version) => version.name === action.canary) : undefined;
		if (canary?.object) writes.push({object: canary.object, change: 'previous template restored'});
		return {...plan, writes};
	}

	act(action: TrafficAction) {
		switch (action.kind) {
			case 'set-weight':
				return this.setCanaryWeight(action.model, action.canary, action.to, action.from);
			case 'promote':
				return this.promote(action.model, action.canary);
			case 'rollback':
				return this.rollback(action.model, action.canary);
			case 'switch':
				return this.switchTraffic(action.model, action.to);
			case 'rollout':
				throw new Error('no rollouts here');
		}
	}
}

function io(answer?: string) {
	const stdin = new PassThrough() as PassThrough & {isTTY?: boolean};
	if (answer !== undefined) {
		stdin.isTTY = true;
		stdin.end(`${answer}\n`);
	}

	const out = {stdout: '', stderr: ''};
	return {
		out,
		io: {stdin, stdout: {write: (chunk: string) => (out.stdout += chunk)}, stderr: {write: (chunk: string) => (out.stderr += chunk)}},
	};
}

describe('runCommand: usage', () => {
	it.each([
		[['weight', ['fraud']], 'give the canary weight'],
		[['weight', ['fraud', '150']], '150 is above 100'],
		[['weight', ['fraud', 'ten']], '"ten" is not a weight'],
		[['promote', []], 'name the model'],
		[['status', ['--bogus']], 'Unknown flag --bogus.'],
		[['weight', ['fraud', '10', '--json']], '--json is for status only'],
		[['rollback', ['Fraud!']], 'is not a model name'],
		[['status', ['-n', 'team-a', '-A']], 'either --namespace or --all-namespaces'],
		[['status', ['--timeout', '0']], 'use a number of seconds above 0'],
	] as const)('%j exits 2 and says %s', async ([name, argv], message) => {
		const cluster = new FakeCluster([fraud]);
		const {io: streams, out} = io();
		expect(await runCommand(name, [...argv], streams, {cluster})).toBe(2);
		expect(out.stderr).toContain(message);
		expect(out.stderr).toContain('Usage: modeldeck');
		expect(cluster.calls).toEqual([]);
	});

	it('--help prints the usage and exits 0', async () => {
		const {io: streams, out} = io();
		expect(await runCommand('weight', ['--help'], streams)).toBe(0);
		expect(out.stdout).toContain('Usage: modeldeck weight MODEL PERCENT');
		expect(out.stdout).toContain('Exit codes: 0 done, 1 refused or failed');
	});
});

describe('runCommand: changes', () => {
	it('read-only refuses before connecting', async () => {
		const {io: streams, out} = io();
		expect(await runCommand('promote', ['fraud', '--read-only', '--yes'], streams, {cluster: new FakeCluster([fraud])})).toBe(1);
		expect(out.stderr).toBe('modeldeck promote: refused: read-only (--read-only); promote changes the cluster\n');
		const setting = io();
		expect(await runCommand('weight', ['fraud', '20'], setting.io, {cluster: new FakeCluster([fraud]), readOnly: true})).toBe(1);
		const file = io();
		expect(
			await runCommand('weight', ['fraud', '20', '--yes'], file.io, {
				cluster: new FakeCluster([fraud]),
				readOnly: true,
				readOnlyReason: 'readOnly in /x/config.json',
			}),
		).toBe(1);
		expect(file.out.stderr).toBe('modeldeck weight: refused: read-only (readOnly in /x/config.json); weight changes the cluster\n');
	});

	it('without a terminal and without --yes, refuses and says to pass --yes', async () => {
		const cluster = new FakeCluster([fraud]);
		const {io: streams, out} = io();
		expect(await runCommand('weight', ['fraud', '20', '-n', 'team-a'], streams, {cluster})).toBe(1);
		expect(out.stderr).toBe(
			'modeldeck weight: refused: no terminal to confirm on (fraud: v12 90% → 80%, v13 10% → 20%); pass --yes to apply without confirmation\n',
		);
		expect(cluster.calls).toEqual(['unsubscribe']);
	});

	it('asks on a terminal, stating the change; y applies it with the weight that was shown', async () => {
		const cluster = new FakeCluster([fraud]);
		const {io: streams, out} = io('y');
		expect(await runCommand('weight', ['team-a/fraud', '20%'], streams, {cluster})).toBe(0);
		expect(out.stderr).toBe(
			'fraud: weight v13\n  stable v12: 90% → 80%\n  canary v13: 10% → 20%\n  writes HTTPRoute/fraud: v12 90% → 80%, v13 10% → 20%\nApply? [y/N] ',
		);
		expect(out.stdout).toBe('fraud: v12 90% → 80%, v13 10% → 20% — done\n');
		expect(cluster.namespaceWatched).toBe('team-a');
		expect(cluster.calls).toEqual(['unsubscribe', 'weight team-a/fraud v13 20 expected 10']);
	});

	it('anything but yes cancels', async () => {
		const cluster = new FakeCluster([fraud]);
		const {io: streams, out} = io('');
		expect(await runCommand('rollback', ['fraud'], streams, {cluster})).toBe(1);
		expect(out.stderr).toContain('cancelled; nothing changed');
		expect(cluster.calls).toEqual(['unsubscribe']);
	});

	it('--yes applies promote and rollback', async () => {
		const cluster = new FakeCluster([fraud]);
		const promote = io();
		expect(await runCommand('promote', ['fraud', '--yes'], promote.io, {cluster})).toBe(0);
		expect(promote.out.stdout).toBe('fraud: v12 90% → 0%, v13 10% → 100% — done\n');
		const rollback = io();
		expect(await runCommand('rollback', ['fraud', '-y'], rollback.io, {cluster})).toBe(0);
		expect(rollback.out.stdout).toBe('fraud: v12 90% → 100%, v13 10% → 0% — done\n');
		expect(cluster.calls.filter((call) => call !== 'unsubscribe')).toEqual(['promote team-a/fraud v13', 'rollback team-a/fraud v13']);
	});

	it('a model with one version rolls back its template; weight has nothing to shift', async () => {
		const cluster = new FakeCluster([fraudB]);
		const rollback = io();
		expect(await runCommand('rollback', ['fraud', '-y'], rollback.io, {cluster})).toBe(0);
		expect(rollback.out.stdout).toBe('fraud: Deployment/x-v1 previous template restored — done\n');
		const weight = io();
		expect(await runCommand('weight', ['fraud', '10', '-y'], weight.io, {cluster})).toBe(1);
		expect(weight.out.stderr).toBe('modeldeck weight: fraud has no canary (versions: v1 stable 100%)\n');
	});

	it('nothing to change is success', async () => {
		const {io: streams, out} = io();
		expect(await runCommand('weight', ['fraud', '10'], streams, {cluster: new FakeCluster([fraud])})).toBe(0);
		expect(out.stdout).toBe('nothing to change: fraud is already there (v12 90%, v13 10%)\n');
	});

	it('conflicts and refusals from the cluster exit 1 with their message', async () => {
		const cluster = new FakeCluster([fraud]);
		cluster.failure = new ConflictError('canary v13 weight is now 30%, not 10% as shown — someone else changed it; refresh and try again');
		const conflict = io();
		expect(await runCommand('weight', ['fraud', '20', '--yes'], conflict.io, {cluster})).toBe(1);
		expect(conflict.out.stderr).toBe(
			'modeldeck weight: conflict: canary v13 weight is now 30%, not 10% as shown — someone else changed it; refresh and try again\n',
		);
		cluster.failure = new ForbiddenError('forbidden: user viewer cannot patch httproutes in namespace team-a (ask …)');
		const forbidden = io();
		expect(await runCommand('promote', ['fraud', '--yes'], forbidden.io, {cluster})).toBe(1);
		expect(forbidden.out.stderr).toBe('modeldeck promote: forbidden: user viewer cannot patch httproutes in namespace team-a (ask …)\n');
	});

	it('a model in several namespaces, several canaries, an unknown model: exit 1 saying what to pass', async () => {
		const cluster = new FakeCluster([fraud, fraudB, three]);
		const ambiguous = io();
		expect(await runCommand('promote', ['fraud', '-A', '-y'], ambiguous.io, {cluster})).toBe(1);
		expect(ambiguous.out.stderr).toBe(
			'modeldeck promote: fraud is in several namespaces (team-a, team-b): pass -n NAMESPACE or NAMESPACE/fraud\n',
		);
		const several = io();
		expect(await runCommand('weight', ['three', '20', '-A', '-y'], several.io, {cluster})).toBe(1);
		expect(several.out.stderr).toBe('modeldeck weight: three has several canaries (v2 10%, v3 10%): pass --canary VERSION\n');
		const chosen = io();
		expect(await runCommand('weight', ['three', '20', '-A', '-y', '--canary', 'v3'], chosen.io, {cluster})).toBe(0);
		const unknown = io();
		expect(await runCommand('weight', ['nope', '20', '-n', 'team-a', '-y'], unknown.io, {cluster})).toBe(1);
		expect(unknown.out.stderr).toBe('modeldeck weight: no model nope in namespace team-a (models: team-a/fraud, team-a/three)\n');
	});
});

describe('runCommand: status', () => {
	it('--json prints the modeldeck.status/v1 document, with metrics when a metrics source is given', async () => {
		const metrics: MetricsPort = {
			label: 'fake-prometheus',
			async sample(targets) {
				return new Map(
					targets.map((target) => [
						`${target.namespace}/${target.name}/${target.version}`,
						{rps: 1, errorRatio: 0, p50Ms: 1, p95Ms: 2, p99Ms: 3, cpuCores: null, memoryBytes: null, time: 0},
					]),
				);
			},
			async history() {
				return new Map();
			},
			explain: (target, metric) => `query ${metric} ${target.version}`,
		};
		const {io: streams, out} = io();
		expect(await runCommand('status', ['--json', '-A'], streams, {cluster: new FakeCluster([fraud, fraudB]), metrics, now: () => 0})).toBe(
			0,
		);
		const document = JSON.parse(out.stdout);
		expect(document).toMatchObject({schema: 'modeldeck.status/v1', context: 'fake-context', generatedAt: '1970-01-01T00:00:00.000Z'});
		expect(document.models.map((model: {namespace: string}) => model.namespace)).toEqual(['team-a', 'team-b']);
		expect(document.models[0].versions[1]).toEqual({
			name: 'v13',
			track: 'canary',
			weight: 10,
			ready: 1,
			desired: 1,
			restarts: 0,
			image: 'img:v13',
			metrics: {rps: 1, errorRatio: 0, p50Ms: 1, p95Ms: 2, p99Ms: 3, cpuCores: null, memoryBytes: null},
			queries: expect.objectContaining({p99Ms: 'query p99Ms v13', rps: 'query rps v13'}),
			flags: [],
		});
		// No history: the judge says there is not enough data, never a pass.
		expect(document.models[0].verdict).toMatchObject({result: 'insufficient-data', score: null});
	});

	it('metrics that never answer do not hold status past --timeout: the models are shown without them', async () => {
		const silent = () => new Promise<never>(() => undefined);
		const metrics: MetricsPort = {label: 'silent-prometheus', sample: silent, history: silent, explain: () => ''};
		const {io: streams, out} = io();
		expect(
			await runCommand('status', ['--json', '--timeout', '0.3'], streams, {cluster: new FakeCluster([fraud]), metrics, now: () => 0}),
		).toBe(0);
		expect(out.stderr).toBe(
			'modeldeck status: metrics from silent-prometheus unavailable: no answer within 0.3 s (--timeout SECONDS waits longer); the models are shown without metrics\n',
		);
		expect(JSON.parse(out.stdout).models[0].versions[0].metrics).toBeNull();
	});

	it('a model filter, and the table form', async () => {
		const {io: streams, out} = io();
		expect(await runCommand('status', ['team-b/fraud'], streams, {cluster: new FakeCluster([fraud, fraudB]), now: () => 0})).toBe(0);
		expect(out.stdout).toContain('team-b     fraud  replicas  v1       stable  100%');
		expect(out.stdout).not.toContain('team-a');
	});

	it('a cluster error before any models, or silence, exits 1 with the reason', async () => {
		const failing = new FakeCluster([fraud]);
		failing.watchError = {
			source: 'cluster',
			message: 'cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED)',
		};
		const error = io();
		expect(await runCommand('status', [], error.io, {cluster: failing})).toBe(1);
		expect(error.out.stderr).toBe(
			'modeldeck status: cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED)\n',
		);
		expect(failing.calls).toEqual(['unsubscribe']);
		const silent = new FakeCluster([fraud]);
		silent.silent = true;
		const timeout = io();
		expect(await runCommand('status', ['--timeout', '0.05'], timeout.io, {cluster: silent})).toBe(1);
		expect(timeout.out.stderr).toBe(
			'modeldeck status: no answer from fake-context within 0.05 s; is the cluster reachable? (--timeout SECONDS waits longer)\n',
		);
	});

	it('a change the cluster never answers gives up at --timeout and says it may have been applied', async () => {
		const hanging = new FakeCluster([fraud]);
		hanging.hang = true;
		const {io: streams, out} = io();
		expect(await runCommand('weight', ['fraud', '20', '--yes', '--timeout', '0.2'], streams, {cluster: hanging})).toBe(1);
		expect(out.stderr).toBe(
			'modeldeck weight: no answer from fake-context to the change within 0.2 s; it may or may not have been applied: check with modeldeck status team-a/fraud\n',
		);
	});

	it('an error the watch would retry is said without "retrying": the command gives up', async () => {
		const refused = new FakeCluster([fraud]);
		refused.watchError = {
			source: 'cluster',
			message: 'cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED) — retrying',
		};
		const {io: streams, out} = io();
		expect(await runCommand('weight', ['fraud', '20', '--yes'], streams, {cluster: refused})).toBe(1);
		expect(out.stderr).toBe('modeldeck weight: cannot reach the API server at https://127.0.0.1:1: connection refused (ECONNREFUSED)\n');
	});

	it('a kubeconfig that does not exist is said', async () => {
		const {io: streams, out} = io();
		expect(await runCommand('status', ['--kubeconfig', '/nonexistent/kubeconfig'], streams)).toBe(1);
		expect(out.stderr).toBe('modeldeck status: cannot read kubeconfig /nonexistent/kubeconfig: no such file\n');
	});
});

/** The demo as the composition root gives it to the commands. */
const withDemo = {demo: demoForCommands};

describe('runCommand: --demo', () => {
	it('status and a weight change against the simulated fleet', async () => {
		const status = io();
		expect(await runCommand('status', ['--demo', '--json'], status.io, withDemo)).toBe(0);
		const document = JSON.parse(status.out.stdout);
		expect(document.schema).toBe('modeldeck.status/v1');
		const recommender = document.models.find((model: {name: string}) => model.name === 'recommender');
		expect(recommender.versions.every((version: {metrics: unknown}) => version.metrics !== null)).toBe(true);
		const weight = io();
		expect(await runCommand('weight', ['recommender', '20', '--demo', '--yes'], weight.io, withDemo)).toBe(0);
		expect(weight.out.stdout).toMatch(/^recommender: \S+ \d+% → \d+%, \S+ \d+% → 20% — done\n$/);
	});
});

describe('runCommand: --demo honours --context and --scenario', () => {
	it('status and weight with --context demo-staging act on demo-staging (they acted on demo-prod)', async () => {
		const status = io();
		expect(await runCommand('status', ['--demo', '--json', '--context', 'demo-staging'], status.io, withDemo)).toBe(0);
		const document = JSON.parse(status.out.stdout);
		expect(document.context).toBe('demo-staging');
		expect(document.models.map((model: {namespace: string}) => model.namespace)).not.toContain('payments');
		const weight = io();
		// --force: demo-staging's release candidate is 8% slower by design, which the judge fails (the danger gate).
		const code = await runCommand(
			'weight',
			['staging/recommender', '45', '--demo', '--yes', '--force', '--context', 'demo-staging'],
			weight.io,
			withDemo,
		);
		expect(code).toBe(0);
		expect(weight.out.stdout).toMatch(/^recommender: \S+ 70% → 55%, \S+ 30% → 45% — done\n$/);
		const production = io();
		expect(await runCommand('weight', ['staging/recommender', '30', '--demo', '--yes'], production.io, withDemo)).toBe(1);
		expect(production.out.stderr).toContain('no model staging/recommender in namespace staging');
	});

	it('a context or scenario the demo does not have exits 2 listing what it has', async () => {
		const context = io();
		expect(await runCommand('status', ['--demo', '--context', 'nope'], context.io, withDemo)).toBe(2);
		expect(context.out.stderr).toBe('modeldeck status: context nope is not in the demo (contexts: demo-prod, demo-staging)\n');
		const scenario = io();
		expect(await runCommand('status', ['--demo', '--json', '--scenario', 'nope'], scenario.io, withDemo)).toBe(2);
		expect(scenario.out.stderr).toContain('--scenario must be one of: tour, calm, latency-regression');
		const withoutDemo = io();
		expect(await runCommand('status', ['--json', '--scenario', 'calm'], withoutDemo.io)).toBe(2);
		expect(withoutDemo.out.stderr).toContain('--scenario only applies to the demo: add --demo');
	});

	it('status --json --demo --scenario plays that scenario', async () => {
		const status = io();
		expect(await runCommand('status', ['--demo', '--json', '--scenario', 'calm'], status.io, withDemo)).toBe(0);
		expect(JSON.parse(status.out.stdout).schema).toBe('modeldeck.status/v1');
	});

	it('--context with no value exits 2 and says what it needs', async () => {
		const {io: streams, out} = io();
		expect(await runCommand('status', ['--demo', '--context'], streams, withDemo)).toBe(2);
		expect(out.stderr).toContain('modeldeck status: --context needs a value: --context NAME');
	});
});

describe('read-only contexts from settings', () => {
	it('refuses a change in a context that settings mark read-only, whichever way it was chosen', async () => {
		const {io: streams, out} = io();
		const code = await runCommand('weight', ['fraud', '20', '--yes'], streams, {
			cluster: new FakeCluster([fraud]),
			readOnlyContexts: ['fake-context'],
		});
		expect(code).toBe(1);
		expect(out.stderr).toContain('context fake-context is read-only in settings');
	});
});

describe('runCommand: the danger gate', () => {
	/** Prometheus as the CLI sees it: v13's p99 far above the 500 ms default threshold and the stable's. */
	function slowCanary(): MetricsPort {
		return {
			label: 'fake-prometheus',
			async sample(targets) {
				return new Map(
					targets.map((target) => [
						`${target.namespace}/${target.name}/${target.version}`,
						{
							rps: 10,
							errorRatio: 0,
							p50Ms: 10,
							p95Ms: 20,
							p99Ms: target.version === 'v13' ? 1200 : 40,
							cpuCores: null,
							memoryBytes: null,
							time: 0,
						},
					]),
				);
			},
			async history() {
				return new Map();
			},
			explain: (target, metric) => `query ${metric} ${target.version}`,
		};
	}

	it('more traffic to a critical canary is refused with the evidence unless --force', async () => {
		const cluster = new FakeCluster([fraud]);
		const refused = io();
		expect(await runCommand('weight', ['fraud', '20', '-y'], refused.io, {cluster, metrics: slowCanary(), now: () => 0})).toBe(1);
		expect(refused.out.stderr).toContain('DANGER: v13 would get more traffic (10% → 20%) though:');
		expect(refused.out.stderr).toMatch(/critical: .*p99/);
		expect(refused.out.stderr).toContain('pass --force to go ahead anyway');
		const promote = io();
		expect(await runCommand('promote', ['fraud', '-y'], promote.io, {cluster, metrics: slowCanary(), now: () => 0})).toBe(1);
		expect(promote.out.stderr).toContain('DANGER: v13 would get more traffic (10% → 100%)');
		expect(cluster.calls.filter((call) => call !== 'unsubscribe')).toEqual([]);

		const forced = io();
		expect(await runCommand('weight', ['fraud', '20', '-y', '--force'], forced.io, {cluster, metrics: slowCanary(), now: () => 0})).toBe(0);
		expect(forced.out.stderr).toContain('--force: going ahead anyway');
		expect(cluster.calls.filter((call) => call !== 'unsubscribe')).toEqual(['weight team-a/fraud v13 20 expected 10']);
	});

	it('less traffic to a critical canary needs no --force', async () => {
		const cluster = new FakeCluster([fraud]);
		const rollback = io();
		expect(await runCommand('rollback', ['fraud', '-y'], rollback.io, {cluster, metrics: slowCanary(), now: () => 0})).toBe(0);
		expect(rollback.out.stderr).not.toContain('DANGER');
	});
});
