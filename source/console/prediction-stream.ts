/**
 * The agent's prediction stream: predictions as they arrive (kept for the log and for drift), gaps, audit entries,
 * guard events and the connection's health. What arrives is put in the state once a tick, not once a prediction.
 */
import type {AgentEvent, AgentPort} from '../domain/ports.ts';
import {versionKey, type Prediction} from '../domain/types.ts';
import {LOG_CAPACITY} from '../state/state.ts';
import {markAlive} from './health.ts';
import type {Store} from './store.ts';

/** Outputs kept per version for the drift test: enough for a stable PSI, small enough to stay cheap. */
const OUTPUTS_KEPT = 2000;

export interface PredictionStreamOptions {
	store: Store;
	/** The agent of the context in force (it changes with the context). */
	agent: () => AgentPort | undefined;
	now: () => number;
	toast: (severity: 'info' | 'success' | 'warning' | 'error', message: string) => void;
	/** The agent answered: its audit trail can be loaded. */
	onConnected: () => void;
}

export class PredictionStream {
	readonly #store: Store;
	readonly #options: PredictionStreamOptions;
	readonly #now: () => number;
	readonly #agent: () => AgentPort | undefined;
	#unstream: (() => void) | undefined;
	#recent: Prediction[] = [];
	#received = 0;
	#rateWindow: Array<{time: number; count: number}> = [];
	#lastSeq: number | undefined;
	/**
	 * Recent outputs per version, for prediction drift (bounded): namespace → model → version, so that recording
	 * one of a thousand predictions a second builds no key string.
	 */
	#outputs = new Map<string, Map<string, Map<string, Array<number | string>>>>();

	constructor(options: PredictionStreamOptions) {
		this.#options = options;
		this.#store = options.store;
		this.#now = options.now;
		this.#agent = options.agent;
	}

	get received(): number {
		return this.#received;
	}

	stop(): void {
		this.#unstream?.();
		this.#unstream = undefined;
	}

	/** Forget the old agent's stream (a context switch): the next start asks the new agent from the beginning. */
	reset(): void {
		this.stop();
		this.#lastSeq = undefined;
		this.#recent = [];
		this.#outputs.clear();
	}

	start(): void {
		const agent = this.#agent();
		if (!agent) return;
		const dispatch = this.#store.dispatch;
		this.#unstream = agent.predictions({}, this.#lastSeq, (event: AgentEvent) => {
			switch (event.type) {
				case 'prediction': {
					this.#lastSeq = event.seq;
					this.#received++;
					this.#recent.push(event.prediction);
					this.#recordOutput(event.prediction);
					if (this.#recent.length > LOG_CAPACITY * 2) this.#recent.splice(0, this.#recent.length - LOG_CAPACITY);
					return;
				}

				case 'gap': {
					dispatch({type: 'log/gap', dropped: event.dropped});
					return;
				}

				case 'audit': {
					dispatch({type: 'audit/append', entry: event.entry});
					return;
				}

				case 'guard': {
					this.#options.toast(event.rolledBack ? 'error' : 'warning', `guard: ${event.model.name}: ${event.message}`);
					return;
				}

				case 'alive': {
					markAlive(this.#store, 'agent', this.#now());
					return;
				}

				case 'connection': {
					if (event.connected) {
						dispatch({type: 'source/ok', source: 'agent', now: this.#now()});
						this.#options.onConnected();
					} else if (event.absent) {
						dispatch({type: 'source/absent', source: 'agent', message: event.reason ?? 'no agent', now: this.#now()});
					} else {
						dispatch({
							type: 'source/error',
							source: 'agent',
							message: event.reason ?? 'disconnected',
							now: this.#now(),
						});
					}
				}
			}
		});
	}

	#recordOutput(prediction: Prediction): void {
		if (prediction.status !== 'ok' || prediction.output === undefined) return;
		let models = this.#outputs.get(prediction.namespace);
		if (!models) this.#outputs.set(prediction.namespace, (models = new Map()));
		let versions = models.get(prediction.model);
		if (!versions) models.set(prediction.model, (versions = new Map()));
		let outputs = versions.get(prediction.version);
		if (!outputs) versions.set(prediction.version, (outputs = []));
		outputs.push(prediction.output);
		if (outputs.length > OUTPUTS_KEPT * 2) outputs.splice(0, outputs.length - OUTPUTS_KEPT);
	}

	/** The recent outputs by version key, for the drift statistics. */
	keptOutputs(): Record<string, Array<number | string>> | undefined {
		if (this.#outputs.size === 0) return undefined;
		const kept: Record<string, Array<number | string>> = {};
		for (const [namespace, models] of this.#outputs) {
			for (const [name, versions] of models) {
				for (const [version, outputs] of versions) kept[versionKey({namespace, name, version})] = outputs.slice(-OUTPUTS_KEPT);
			}
		}

		return kept;
	}

	/** Put the predictions received so far in the state: on the log screen (every tick) or when forced. */
	flush(force = false): void {
		const now = this.#now();
		this.#rateWindow.push({time: now, count: this.#received});
		while (this.#rateWindow.length > 2 && now - this.#rateWindow[0]!.time > 5000) this.#rateWindow.shift();
		if (!force && this.#store.getState().view.screen !== 'log') return;
		const first = this.#rateWindow[0]!;
		const seconds = (now - first.time) / 1000;
		const ratePerSecond = seconds > 0 ? (this.#received - first.count) / seconds : 0;
		if (this.#recent.length > LOG_CAPACITY) this.#recent.splice(0, this.#recent.length - LOG_CAPACITY);
		this.#store.dispatch({type: 'log/set', entries: [...this.#recent], received: this.#received, ratePerSecond});
	}
}
