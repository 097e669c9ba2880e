/**
 * The demo fleet's rollouts, through its ports as the console uses them (ClusterPort.planDelivery, AgentPort.act) and
 * run by the same DeliveryRunner as the agent's: a good image steps through and is promoted, a `slow` one is judged
 * fail on the simulated metrics and rolled back, a `bad` one fails its smoke test, an abort rolls back; the state is
 * kept with the model (Model.delivery) and every step is in the audit trail.
 */
import {afterEach, describe, expect, it, vi} from 'vitest';
import type {DeliverySpec, DeliveryState} from '../../../source/domain/delivery.ts';
import {isDeliveryActive} from '../../../source/domain/delivery.ts';
import type {Model} from '../../../source/domain/types.ts';
import {demoImageBehaviour} from '../../../source/demo/delivery-port.ts';
import {fraudModel, type Harness, startDemo, stopDemo} from './demo-harness.ts';

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

function spec(image: string, version: string, patch: Partial<DeliverySpec> = {}): DeliverySpec {
	return {
		model: fraudModel,
		image,
		version,
		steps: [25, 100],
		pauseSeconds: 30,
		readyTimeoutSeconds: 60,
		maxHolds: 2,
		requestedBy: 'tester',
		...patch,
	};
}

async function fraud(h: Harness): Promise<Model> {
	return (await h.models()).find((model) => model.name === fraudModel.name && model.namespace === fraudModel.namespace)!;
}

/** Runs demo time a second at a time until the model's rollout has ended (or the time is up); returns its last state. */
async function runUntilEnded(h: Harness, seconds: number): Promise<DeliveryState> {
	for (let second = 0; second < seconds; second++) {
		await vi.advanceTimersByTimeAsync(1000);
		const delivery = (await fraud(h)).delivery;
		if (delivery && !isDeliveryActive(delivery)) return delivery;
	}

	return (await fraud(h)).delivery!;
}

describe('rollouts on the demo fleet', () => {
	it('plans what it writes, then steps a good image through its weights and promotes it, audited', async () => {
		const h = (harness = startDemo({predictionsPerSecond: 0}));
		await vi.advanceTimersByTimeAsync(60_000);
		const asked = spec('registry.local/fraud:v14', 'v14');
		const plan = await h.demo.cluster.planDelivery!(asked);
		expect(plan).toMatchObject({mode: 'weights', stable: 'v12'});
		expect(plan.writes.map((write) => write.object)).toContain('Deployment/fraud-detector-v14');
		expect(plan.writes.some((write) => write.change === "v13 10% → 0%: the rollout's version is the one canary")).toBe(true);
		const started = await h.act({kind: 'deliver', model: fraudModel, spec: asked});
		expect(started.at(-1)).toMatchObject({kind: 'done'});
		expect((await fraud(h)).delivery?.phase).toBeDefined();
		const seen = new Set<string>();
		let ended: DeliveryState | undefined;
		for (let second = 0; second < 300 && !ended; second++) {
			await vi.advanceTimersByTimeAsync(1000);
			const model = await fraud(h);
			const delivery = model.delivery!;
			seen.add(`${delivery.phase} ${delivery.weight}`);
			if (delivery.phase === 'stepping' && delivery.weight === 25) {
				expect(model.versions.find((version) => version.name === 'v14')?.weight).toBe(25);
			}

			if (!isDeliveryActive(delivery)) ended = delivery;
		}

		expect(ended?.phase, JSON.stringify(ended?.events, null, 1)).toBe('promoted');
		expect(seen).toContain('stepping 25');
		expect(ended!.judgement?.result).toBe('pass');
		const model = await fraud(h);
		expect(model.versions.find((version) => version.track === 'stable')).toMatchObject({name: 'v14', weight: 100});
		expect(model.versions.some((version) => version.name === 'v12')).toBe(false);
		const audit = await h.demo.agent.audit(200);
		const actions = audit.filter((entry) => entry.target === 'payments/fraud-detector').map((entry) => entry.action);
		expect(actions).toContain('rollout start');
		expect(actions).toContain('rollout weight');
		expect(actions).toContain('rollout promote');
	}, 60_000);

	it('judges a slow image fail on the simulated metrics and rolls it back: v14 gone, the stable at 100%', async () => {
		const h = (harness = startDemo({predictionsPerSecond: 0}));
		await vi.advanceTimersByTimeAsync(60_000);
		const started = await h.act({
			kind: 'deliver',
			model: fraudModel,
			spec: spec('registry.local/fraud:v14-slow', 'v14-slow', {steps: [50, 100]}),
		});
		expect(started.at(-1)).toMatchObject({kind: 'done'});
		const ended = await runUntilEnded(h, 300);
		expect(ended.phase, JSON.stringify(ended.events, null, 1)).toBe('rolled-back');
		expect(ended.reason).toMatch(/judged fail at 50%|no clear judgement/);
		const model = await fraud(h);
		expect(model.versions.some((version) => version.name === 'v14-slow')).toBe(false);
		expect(model.versions.find((version) => version.name === 'v12')?.weight).toBe(100);
	}, 60_000);

	it('rolls back a bad image on its smoke test', async () => {
		const h = (harness = startDemo({predictionsPerSecond: 0}));
		await vi.advanceTimersByTimeAsync(60_000);
		await h.act({kind: 'deliver', model: fraudModel, spec: spec('registry.local/fraud:v14-bad', 'v14-bad')});
		const ended = await runUntilEnded(h, 120);
		expect(ended.phase).toBe('rolled-back');
		expect(ended.reason).toMatch(/^smoke test failed/);
		expect((await fraud(h)).versions.some((version) => version.name === 'v14-bad')).toBe(false);
	}, 60_000);

	it('pauses, resumes and aborts through the agent; a second rollout on the model is refused while one runs', async () => {
		const h = (harness = startDemo({predictionsPerSecond: 0}));
		await vi.advanceTimersByTimeAsync(60_000);
		await h.act({kind: 'deliver', model: fraudModel, spec: spec('registry.local/fraud:v14', 'v14', {pauseSeconds: 600})});
		for (let second = 0; second < 60 && (await fraud(h)).delivery?.phase !== 'stepping'; second++) await vi.advanceTimersByTimeAsync(1000);
		await vi.advanceTimersByTimeAsync(2000);
		expect((await fraud(h)).delivery).toMatchObject({phase: 'stepping', weight: 25});
		const again = await h.act({kind: 'deliver', model: fraudModel, spec: spec('registry.local/fraud:v15', 'v15')});
		expect(again.at(-1)).toMatchObject({kind: 'failed', message: expect.stringMatching(/already has a rollout/)});
		expect((await h.act({kind: 'delivery', model: fraudModel, command: 'pause'})).at(-1)).toMatchObject({kind: 'done'});
		expect((await fraud(h)).delivery?.paused).toBe(true);
		expect((await h.act({kind: 'delivery', model: fraudModel, command: 'resume'})).at(-1)).toMatchObject({kind: 'done'});
		expect((await fraud(h)).delivery?.paused).toBe(false);
		expect((await h.act({kind: 'delivery', model: fraudModel, command: 'abort'})).at(-1)).toMatchObject({kind: 'done'});
		const ended = await runUntilEnded(h, 30);
		expect(ended.phase).toBe('aborted');
		const model = await fraud(h);
		expect(model.versions.some((version) => version.name === 'v14')).toBe(false);
		expect(model.versions.find((version) => version.name === 'v12')?.weight).toBe(100);
	}, 60_000);

	it('refuses a version the model has, with what to do', async () => {
		const h = (harness = startDemo({predictionsPerSecond: 0}));
		await expect(h.demo.cluster.planDelivery!(spec('registry.local/fraud:v13', 'v13'))).rejects.toThrow(
			/already has a version v13: give the new one another name/,
		);
	});

	it('reads slow and bad from the image name', () => {
		expect(demoImageBehaviour('registry.local/fraud:v14-SLOW')).toBe('slow');
		expect(demoImageBehaviour('bad/fraud:v14')).toBe('bad');
		expect(demoImageBehaviour('registry.local/fraud:v14')).toBe('good');
	});
});
