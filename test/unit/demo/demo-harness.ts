/**
 * Test harness for the demo fleet: fake timers drive the demo's pump, and the demo's clock is the faked Date, so
 * "run 60 s" moves simulated time and fires every 100 ms pump on the way, deterministically.
 */
import {vi} from 'vitest';
import type {AgentEvent, PredictionFilter} from '../../../source/domain/ports.ts';
import type {ActionProgress, Model, Prediction, Sample, VersionRef} from '../../../source/domain/types.ts';
import {versionKey} from '../../../source/domain/types.ts';
import {createDemoSources, type DemoOptions, type DemoSources} from '../../../source/demo/index.ts';

export const LAUNCH = Date.parse('2025-06-02T09:00:00Z');

export interface Harness {
	demo: DemoSources;
	/** Move simulated time forward, firing the pump as a real clock would. */
	run(ms: number): void;
	models(namespace?: string): Promise<Model[]>;
	sample(refs: VersionRef[], windowSeconds?: number): Promise<Map<string, Sample>>;
	sampleOf(ref: VersionRef, windowSeconds?: number): Promise<Sample>;
	/** Subscribe to the prediction stream; resolves once the subscription is live. */
	collect(filter?: PredictionFilter, fromSeq?: number): Promise<{events: AgentEvent[]; predictions: Prediction[]; stop(): void}>;
	act(action: Parameters<DemoSources['agent']['act']>[0]): Promise<ActionProgress[]>;
}

export function startDemo(options: DemoOptions = {}): Harness {
	vi.useFakeTimers({now: LAUNCH, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
	const demo = createDemoSources({seed: 7, actionDelayMs: 0, clock: () => Date.now(), ...options});
	const harness: Harness = {
		demo,
		run(ms) {
			vi.advanceTimersByTime(ms);
		},
		async models(namespace) {
			return new Promise((resolve, reject) => {
				const stop = demo.cluster.watchModels(
					namespace,
					(models) => {
						stop();
						resolve(models);
					},
					(error) => {
						reject(new Error(error.message));
					},
				);
			});
		},
		async sample(refs, windowSeconds = 30) {
			return demo.metrics.sample(refs, windowSeconds);
		},
		async sampleOf(ref, windowSeconds = 30) {
			const sample = (await demo.metrics.sample([ref], windowSeconds)).get(versionKey(ref));
			if (!sample) throw new Error(`no sample for ${versionKey(ref)}`);
			return sample;
		},
		async collect(filter = {}, fromSeq) {
			const events: AgentEvent[] = [];
			const predictions: Prediction[] = [];
			const stop = demo.agent.predictions(filter, fromSeq, (event) => {
				events.push(event);
				if (event.type === 'prediction') predictions.push(event.prediction);
			});
			await new Promise<void>((resolve) => {
				queueMicrotask(resolve);
			});
			return {events, predictions, stop};
		},
		async act(action) {
			const progress: ActionProgress[] = [];
			for await (const item of demo.agent.act(action)) progress.push(item);
			return progress;
		},
	};
	return harness;
}

export function stopDemo(harness: Harness | undefined): void {
	harness?.demo.stop();
	vi.useRealTimers();
}

export const fraudStable = {namespace: 'payments', name: 'fraud-detector', version: 'v12'};
export const fraudCanary = {namespace: 'payments', name: 'fraud-detector', version: 'v13'};
export const fraudModel = {namespace: 'payments', name: 'fraud-detector'};
