import {describe, expect, it} from 'vitest';
import type {VerdictResult} from '../../../source/domain/analysis.ts';
import {
	decodeDeliveryState,
	encodeDeliveryState,
	type DeliveryInput,
	type DeliveryPlan,
	type DeliveryPort,
	type DeliverySpec,
	type DeliveryState,
} from '../../../source/domain/delivery.ts';
import {PlanRefusal} from '../../../source/domain/plan.ts';
import {DeliveryRunner, type DeliveryAuditRecord} from '../../../source/delivery/runner.ts';

/** A model in memory: weights by version, a stored annotation, and a log of the writes. */
class MemoryPort implements DeliveryPort {
	weights = new Map<string, number>([['v12', 100]]);
	annotation: string | undefined;
	writes: string[] = [];
	readyAfter = 0;
	failing = new Map<string, number>();
	owner = false;
	/** Like KServe: the plan names the version itself (the revision), keeping the asked one as its label. */
	namesVersion: string | undefined;

	async planDelivery(spec: DeliverySpec): Promise<DeliveryPlan> {
		if (this.weights.has(spec.version)) throw new PlanRefusal(`fraud already has a version ${spec.version}`);
		return {
			spec: this.namesVersion === undefined ? spec : {...spec, version: this.namesVersion, versionLabel: spec.version},
			mode: this.owner ? 'owner' : 'weights',
			stable: 'v12',
			writes: [{object: `Deployment/fraud-${spec.version}`, change: 'created'}],
		};
	}

	#maybeFail(what: string): void {
		const left = this.failing.get(what) ?? 0;
		if (left > 0) {
			this.failing.set(what, left - 1);
			throw new Error(`${what} conflict`);
		}
	}

	async create(state: DeliveryState): Promise<void> {
		this.#maybeFail('create');
		this.writes.push(`create ${state.spec.version}`);
		if (!this.weights.has(state.spec.version)) this.weights.set(state.spec.version, 0);
	}

	async setOwnerImage(state: DeliveryState): Promise<void> {
		this.writes.push(`owner image ${state.spec.image}`);
	}

	async ready(): Promise<{ready: boolean; detail: string}> {
		this.readyAfter--;
		return {ready: this.readyAfter < 0, detail: this.readyAfter < 0 ? '1/1 available' : '0/1 available'};
	}

	async setWeight(state: DeliveryState, weight: number): Promise<void> {
		this.#maybeFail('set-weight');
		this.writes.push(`weight ${weight}`);
		this.weights.set(state.spec.version, weight);
		this.weights.set(state.stable, 100 - weight);
	}

	async promote(state: DeliveryState): Promise<void> {
		this.writes.push('promote');
		this.weights.set(state.spec.version, 100);
		this.weights.set(state.stable, 0);
	}

	async rollback(state: DeliveryState): Promise<void> {
		this.#maybeFail('rollback');
		this.writes.push('rollback');
		this.weights.set(state.spec.version, 0);
		this.weights.set(state.stable, 100);
	}

	async observeOwner(): Promise<Extract<DeliveryInput, {kind: 'owner'}>> {
		return {kind: 'owner', progress: 'Healthy', weight: 100, outcome: 'promoted'};
	}

	async ownerAbort(): Promise<void> {
		this.writes.push('owner abort');
	}

	async save(state: DeliveryState): Promise<void> {
		this.annotation = encodeDeliveryState(state);
	}

	async load(): Promise<DeliveryState[]> {
		if (!this.annotation) return [];
		const decoded = decodeDeliveryState(this.annotation);
		return 'state' in decoded ? [decoded.state] : [];
	}
}

const spec: DeliverySpec = {
	model: {namespace: 'ml', name: 'fraud'},
	image: 'registry/fraud:v13',
	version: 'v13',
	steps: [10, 50, 100],
	pauseSeconds: 30,
	readyTimeoutSeconds: 60,
	maxHolds: 1,
	requestedBy: 'pipeline',
};

function harness(port: MemoryPort, verdicts: VerdictResult[] = [], smokeOk = true) {
	const clock = {now: 1_000_000};
	const audit: DeliveryAuditRecord[] = [];
	const errors: string[] = [];
	const judged: DeliveryState[] = [];
	const runner = new DeliveryRunner({
		port,
		judge: async (state) => {
			judged.push(state);
			return {result: verdicts.shift() ?? 'pass', summary: 'canary vs stable'};
		},
		smoke: async () => ({ok: smokeOk, message: smokeOk ? '4/4 checks' : 'model not ready'}),
		audit: (record) => {
			audit.push(record);
		},
		onError: (message) => errors.push(message),
		now: () => clock.now,
		retryDelayMs: 0,
	});
	/** Moves the clock by SECONDS and ticks until nothing is in flight. */
	const advance = async (seconds: number) => {
		clock.now += seconds * 1000;
		await runner.idle();
		await runner.tick();
		await runner.idle();
	};

	return {runner, clock, audit, errors, judged, advance};
}

async function until(run: ReturnType<typeof harness>, done: () => boolean, seconds = 31): Promise<void> {
	for (let tries = 0; tries < 50 && !done(); tries++) await run.advance(seconds);
}

describe('DeliveryRunner', () => {
	it('creates, waits until ready, smoke-tests, steps through every weight and promotes, auditing every transition', async () => {
		const port = new MemoryPort();
		port.readyAfter = 2;
		const run = harness(port);
		const started = await run.runner.start(spec);
		expect(started.ok).toBe(true);
		await until(run, () => run.runner.get(spec.model)?.phase === 'promoted');
		expect(port.writes).toEqual(['create v13', 'weight 10', 'weight 50', 'promote']);
		expect(port.weights.get('v13')).toBe(100);
		// Judged at 10% and 50%; the step of 100% is the promotion (no stable traffic left to judge against).
		expect(run.judged).toHaveLength(2);
		// The state kept with the model is the final one.
		expect(decodeDeliveryState(port.annotation!)).toMatchObject({state: {phase: 'promoted', weight: 100}});
		const actions = run.audit.map((record) => record.entry.action);
		expect(actions[0]).toBe('rollout start');
		expect(run.audit[0]!.lines).toContain('writes Deployment/fraud-v13: created');
		expect(actions.filter((action) => action === 'rollout weight')).toHaveLength(2);
		expect(actions.filter((action) => action === 'rollout judgement')).toHaveLength(2);
		expect(actions.at(-1)).toBe('rollout promote');
		const weights = run.audit
			.filter((record) => record.entry.action === 'rollout weight')
			.map((record) => `${record.entry.before} → ${record.entry.after}`);
		expect(weights[0]).toBe('v13 0% (stepping) → v13 10% (stepping)');
		expect(await run.runner.settled(spec.model)).toMatchObject({phase: 'promoted'});
		expect(run.errors).toEqual([]);
	});

	it('rolls back on a failing judgement and audits the judgement and the rollback with the reason', async () => {
		const port = new MemoryPort();
		const run = harness(port, ['pass', 'fail']);
		await run.runner.start(spec);
		await until(run, () => run.runner.get(spec.model)?.phase === 'rolled-back');
		expect(port.writes).toEqual(['create v13', 'weight 10', 'weight 50', 'rollback']);
		expect(port.weights.get('v13')).toBe(0);
		const rollback = run.audit.filter((record) => record.entry.action === 'rollout rollback');
		expect(rollback.length).toBeGreaterThan(0);
		expect(rollback[0]!.entry.message).toContain('judged fail at 50%: canary vs stable');
		expect(run.runner.get(spec.model)?.reason).toContain('judged fail');
	});

	it('runs with the plan’s spec: the version the port named (a KServe revision), the asked name as its label', async () => {
		const port = new MemoryPort();
		port.namesVersion = 'fraud-predictor-00003';
		const run = harness(port);
		const started = await run.runner.start(spec);
		expect(started).toMatchObject({ok: true, state: {spec: {version: 'fraud-predictor-00003', versionLabel: 'v13'}}});
		await until(run, () => run.runner.get(spec.model)?.phase === 'promoted');
		expect(port.writes).toEqual(['create fraud-predictor-00003', 'weight 10', 'weight 50', 'promote']);
		expect(run.audit[0]!.entry.after).toBe('fraud-predictor-00003 0% (weights)');
		expect(decodeDeliveryState(port.annotation!)).toMatchObject({state: {spec: {version: 'fraud-predictor-00003', versionLabel: 'v13'}}});
	});

	it('refuses a second delivery on the same model while one is active, and a plan the port refuses', async () => {
		const port = new MemoryPort();
		const run = harness(port);
		const [first, second] = await Promise.all([run.runner.start(spec), run.runner.start({...spec, version: 'v14'})]);
		expect(first.ok).toBe(true);
		expect(second).toMatchObject({ok: false, message: expect.stringMatching(/already has a rollout in progress/)});
		const refused = await harness(port).runner.start({...spec, version: 'v12'});
		expect(refused).toMatchObject({ok: false, message: 'fraud already has a version v12'});
		const bad = await harness(port).runner.start({...spec, steps: [50, 10]});
		expect(bad).toMatchObject({ok: false, message: expect.stringMatching(/steps must go up/)});
	});

	it('pauses, resumes and aborts by command', async () => {
		const port = new MemoryPort();
		const run = harness(port);
		await run.runner.start(spec);
		await until(run, () => run.runner.get(spec.model)?.weight === 10, 1);
		expect(await run.runner.command(spec.model, 'pause', 'bob')).toMatchObject({ok: true, state: {paused: true}});
		await run.advance(600);
		expect(run.judged).toHaveLength(0);
		await run.runner.command(spec.model, 'resume', 'bob');
		const aborted = await run.runner.command(spec.model, 'abort', 'carol');
		expect(aborted.ok).toBe(true);
		await run.advance(1);
		expect(run.runner.get(spec.model)).toMatchObject({phase: 'aborted', reason: 'aborted by carol'});
		expect(port.writes.at(-1)).toBe('rollback');
		expect(run.audit.find((record) => record.entry.action === 'rollout abort')?.entry.user).toBe('carol');
		expect(await run.runner.command(spec.model, 'pause', 'bob')).toMatchObject({
			ok: false,
			message: expect.stringMatching(/no rollout in progress/),
		});
	});

	it('retries a write that fails a few times, and rolls back when it keeps failing', async () => {
		const port = new MemoryPort();
		port.failing.set('set-weight', 2);
		const run = harness(port);
		await run.runner.start(spec);
		await until(run, () => run.runner.get(spec.model)?.weight === 10, 1);
		expect(run.runner.get(spec.model)?.phase).toBe('stepping');
		const stuck = new MemoryPort();
		stuck.failing.set('set-weight', 10);
		const second = harness(stuck);
		await second.runner.start(spec);
		await until(second, () => second.runner.get(spec.model)?.phase === 'rolled-back', 1);
		expect(second.runner.get(spec.model)?.reason).toContain('set-weight failed: set-weight conflict');
	});

	it('holds on a judge that cannot read its metrics, never promoting blind', async () => {
		const port = new MemoryPort();
		const run = harness(port);
		const runner = new DeliveryRunner({
			port,
			judge: async () => {
				throw new Error('prometheus unreachable');
			},
			smoke: async () => ({ok: true, message: 'ok'}),
			audit: (record) => {
				run.audit.push(record);
			},
			now: () => run.clock.now,
		});
		await runner.start(spec);
		for (let tries = 0; tries < 20 && runner.get(spec.model)?.phase !== 'rolled-back'; tries++) {
			run.clock.now += 31_000;
			await runner.idle();
			await runner.tick();
			await runner.idle();
		}

		expect(runner.get(spec.model)).toMatchObject({
			phase: 'rolled-back',
			reason: expect.stringMatching(/no judgement: prometheus unreachable/),
		});
		expect(port.writes).not.toContain('promote');
	});

	it('a second runner resumes the delivery kept with the model where the first stopped', async () => {
		const port = new MemoryPort();
		const first = harness(port);
		await first.runner.start(spec);
		await until(first, () => first.runner.get(spec.model)?.weight === 50);
		first.runner.close();
		// The second runner starts with the first one's clock: the pause already running continues.
		const second = harness(port);
		second.clock.now = first.clock.now;
		const resumed = await second.runner.resume();
		expect(resumed.map((state) => state.weight)).toEqual([50]);
		expect(await second.runner.resume()).toEqual([]);
		await until(second, () => second.runner.get(spec.model)?.phase === 'promoted');
		expect(port.writes).toEqual(['create v13', 'weight 10', 'weight 50', 'promote']);
	});

	it('follows the owning controller in owner mode', async () => {
		const port = new MemoryPort();
		port.owner = true;
		const run = harness(port);
		await run.runner.start(spec);
		await until(run, () => run.runner.get(spec.model)?.phase === 'promoted', 1);
		expect(port.writes).toEqual(['owner image registry/fraud:v13']);
		expect(run.audit.at(-1)?.entry.action).toBe('rollout promote');
	});
});
