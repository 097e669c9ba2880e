/**
 * The demo fleet's rollouts, run by the same DeliveryRunner the agent runs (source/delivery/runner.ts) over the demo's
 * DeliveryPort: the judge is the agent's guard verdict (domain/guard-verdict.ts: the console's analysis, the
 * Mann–Whitney judge and the thresholds) over the simulated metrics, the smoke test is the demo agent's, and every
 * step goes into the demo's audit trail.
 */
import {guardVerdict} from '../domain/guard-verdict.ts';
import {DeliveryRunner} from '../delivery/runner.ts';
import type {DeliveryState} from '../domain/delivery.ts';
import {RobustZDetector} from '../domain/robust-z.ts';
import {MannWhitneyJudge} from '../domain/judge.ts';
import type {AgentPort, MetricsPort} from '../domain/ports.ts';
import {thresholdsFor} from '../domain/thresholds.ts';
import type {Model, Version} from '../domain/types.ts';
import type {AuditLog} from './audit-log.ts';
import type {DemoDeliveryPort} from './delivery-port.ts';

/** The judged window: the last pause, but never so short that the judge cannot have its points (2 s each). */
const MIN_JUDGE_WINDOW_SECONDS = 40;

export interface DemoDeliveriesOptions {
	port: DemoDeliveryPort;
	metrics: MetricsPort;
	/** The demo agent: its smoke test. */
	agent: () => AgentPort;
	/** The model as the cluster shows it now. */
	model: (state: DeliveryState) => Model | undefined;
	audit: AuditLog;
	clock: () => number;
	/** How often deliveries move on, ms. Default 1000. */
	tickMs?: number;
}

export function createDemoDeliveries(options: DemoDeliveriesOptions): DeliveryRunner {
	// Per-pod CPU and memory follow each version's share of traffic, which a rollout moves on purpose (at 100% the new
	// version's pods carry all of it and the stable's none): they are shown, not judged. Latency and errors are.
	const judge = new MannWhitneyJudge({policies: {cpuCores: {direction: 'neither'}, memoryBytes: {direction: 'neither'}}});
	const detectors = [new RobustZDetector()];
	return new DeliveryRunner({
		port: options.port,
		now: options.clock,
		tickMs: options.tickMs ?? 1000,
		retryDelayMs: 200,
		async judge(state) {
			const model = options.model(state);
			const canary = model?.versions.find((version) => version.name === state.spec.version);
			const stable = model?.versions.find((version) => version.name === state.stable);
			if (!model || !canary || !stable) return {result: 'insufficient-data', summary: `${state.spec.version} or ${state.stable} is gone`};
			const now = options.clock();
			// At 100% the stable version has no traffic of its own left to compare with: the window reaches back over the
			// step before, when both served.
			const base = Math.max(MIN_JUDGE_WINDOW_SECONDS, state.spec.pauseSeconds);
			const windowSeconds = state.weight >= 100 ? base + state.spec.pauseSeconds * (state.holds + 1) + 10 : base;
			const target = (version: Version) => ({
				namespace: model.namespace,
				name: model.name,
				version: version.name,
				...(model.runtime ? {runtime: model.runtime} : {}),
			});
			const history = await options.metrics.history([target(canary), target(stable)], {
				start: now - windowSeconds * 1000,
				end: now,
				stepSeconds: 2,
			});
			const verdict = guardVerdict({
				model,
				canary,
				stable,
				history,
				judge,
				detectors,
				thresholds: thresholdsFor(model),
				windowSeconds,
				now,
			});
			return {result: verdict.result, summary: verdict.summary};
		},
		async smoke(state) {
			const {model, version} = state.spec;
			let outcome = {ok: false, message: 'the smoke test said nothing'};
			for await (const progress of options.agent().act({kind: 'smoke-test', target: {...model, version}})) {
				if (progress.kind === 'done') outcome = {ok: true, message: progress.message};
				else if (progress.kind === 'failed') outcome = {ok: false, message: progress.message};
			}

			return outcome;
		},
		audit(record) {
			const {user: _user, ...entry} = record.entry;
			options.audit.record(entry);
		},
	});
}
