/**
 * The demo agent's live prediction log: predictions are made in batches (one per pump, once a second, never a timer
 * per prediction), spread across versions by their share of traffic, with latencies and errors drawn from the same
 * distributions as the metrics. Every event gets a sequence number; the last `historyLimit` events are kept in a
 * ring for resuming subscribers and for `lookup`.
 */
import type {AgentEvent, AuditEntry, PredictionFilter} from '../domain/ports.ts';
import type {Prediction, Unsubscribe} from '../domain/types.ts';
import {drawLatency} from './latency.ts';
import {PayloadPool} from './payloads.ts';
import {Random} from './random.ts';
import type {FleetSimulation, TrafficEntry} from './simulation.ts';

/** After a long pause (a laptop slept, a test jumped the clock) at most this much time is filled with predictions. */
const MAX_CATCH_UP_MS = 2000;

interface Subscriber {
	filter: PredictionFilter;
	onEvent: (event: AgentEvent) => void;
}

type StoredEvent = Exclude<AgentEvent, {type: 'connection'} | {type: 'alive'}>;

export function matchesFilter(prediction: Prediction, filter: PredictionFilter): boolean {
	if (filter.namespace !== undefined && prediction.namespace !== filter.namespace) return false;
	if (filter.model !== undefined && prediction.model !== filter.model) return false;
	if (filter.version !== undefined && prediction.version !== filter.version) return false;
	if (filter.status !== undefined && prediction.status !== filter.status) return false;
	if (filter.minLatencyMs !== undefined && (prediction.latencyMs === null || prediction.latencyMs < filter.minLatencyMs)) {
		return false;
	}

	return true;
}

const errorAnswers = [
	{code: 500, summary: 'error 500: model raised ValueError: input contains NaN'},
	{code: 503, summary: 'error 503: upstream connect error or disconnect/reset before headers'},
	{code: 504, summary: 'error 504: upstream request timeout'},
] as const;

export class PredictionFeed {
	private readonly simulation: FleetSimulation;
	private readonly currentContext: () => string;
	private readonly random: Random;
	private readonly ratePerSecond: number;
	private readonly ring: Array<StoredEvent | undefined>;
	/** Index the next event goes to. */
	private ringNext = 0;
	private ringSize = 0;
	private nextSeq = 1;
	private lastPumpTime: number;
	private carry = 0;
	private readonly subscribers = new Set<Subscriber>();
	private readonly payloads: PayloadPool;

	constructor(options: {
		simulation: FleetSimulation;
		currentContext: () => string;
		random: Random;
		ratePerSecond: number;
		historyLimit: number;
		startTime: number;
	}) {
		this.simulation = options.simulation;
		this.currentContext = options.currentContext;
		this.random = options.random;
		this.ratePerSecond = options.ratePerSecond;
		this.ring = Array.from({length: Math.max(1, Math.floor(options.historyLimit))});
		this.lastPumpTime = options.startTime;
		this.payloads = new PayloadPool(new Random(options.random.uint32()));
	}

	subscribe(filter: PredictionFilter, fromSeq: number | undefined, onEvent: (event: AgentEvent) => void): Unsubscribe {
		const subscriber: Subscriber = {filter: {...filter}, onEvent};
		let active = true;
		// Connection and replay on the next microtask: the caller has its unsubscribe function by then.
		queueMicrotask(() => {
			if (!active) return;
			this.send(subscriber, {type: 'connection', connected: true});
			if (fromSeq !== undefined && Number.isFinite(fromSeq)) this.replay(subscriber, fromSeq);
			this.subscribers.add(subscriber);
		});
		return () => {
			active = false;
			this.subscribers.delete(subscriber);
		};
	}

	private replay(subscriber: Subscriber, fromSeq: number): void {
		const oldestIndex = (this.ringNext - this.ringSize + this.ring.length) % this.ring.length;
		const oldestSeq = this.ringSize > 0 ? this.ring[oldestIndex]!.seq : this.nextSeq;
		if (fromSeq + 1 < oldestSeq) {
			this.send(subscriber, {
				type: 'gap',
				seq: oldestSeq - 1,
				dropped: oldestSeq - 1 - Math.max(0, fromSeq),
				reason: `the demo agent keeps the last ${this.ring.length.toLocaleString('en-US')} events; older ones are gone`,
			});
		}

		for (let offset = 0; offset < this.ringSize; offset++) {
			const event = this.ring[(oldestIndex + offset) % this.ring.length]!;
			if (event.seq > fromSeq && this.wants(subscriber, event)) this.send(subscriber, event);
		}
	}

	private wants(subscriber: Subscriber, event: StoredEvent): boolean {
		return event.type !== 'prediction' || matchesFilter(event.prediction, subscriber.filter);
	}

	private send(subscriber: Subscriber, event: AgentEvent): void {
		try {
			subscriber.onEvent(event);
		} catch {
			// One subscriber's bug must not stop the stream for the others.
		}
	}

	private store(event: StoredEvent): void {
		this.ring[this.ringNext] = event;
		this.ringNext = (this.ringNext + 1) % this.ring.length;
		if (this.ringSize < this.ring.length) this.ringSize++;
	}

	private publish(event: StoredEvent): void {
		this.store(event);
		for (const subscriber of this.subscribers) if (this.wants(subscriber, event)) this.send(subscriber, event);
	}

	publishAudit(entry: AuditEntry): void {
		this.publish({type: 'audit', seq: this.nextSeq++, entry});
	}

	/** Make the predictions that happened between the last pump and `now` and send them. */
	pump(now: number): void {
		let elapsed = now - this.lastPumpTime;
		if (!(elapsed > 0)) return;
		if (elapsed > MAX_CATCH_UP_MS) {
			this.lastPumpTime = now - MAX_CATCH_UP_MS;
			elapsed = MAX_CATCH_UP_MS;
		}

		const expected = (this.ratePerSecond * elapsed) / 1000 + this.carry;
		const count = Math.floor(expected);
		this.carry = expected - count;
		const start = this.lastPumpTime;
		this.lastPumpTime = now;
		if (count === 0) return;
		const traffic = this.simulation.trafficIn(this.currentContext());
		if (traffic.length === 0) return;
		const cumulative = new Float64Array(traffic.length);
		let total = 0;
		for (const [index, entry] of traffic.entries()) {
			total += entry.rps;
			cumulative[index] = total;
		}

		for (let index = 0; index < count; index++) {
			const time = Math.round(start + ((index + 1) * elapsed) / count);
			const point = this.random.next() * total;
			// Binary search for the first cumulative share above the point.
			let low = 0;
			let high = traffic.length - 1;
			while (low < high) {
				const middle = (low + high) >>> 1;
				if (cumulative[middle]! <= point) low = middle + 1;
				else high = middle;
			}

			const chosen = low;
			const prediction = this.predict(traffic[chosen]!, time);
			this.publish({type: 'prediction', seq: this.nextSeq++, prediction});
		}
	}

	private predict(entry: TrafficEntry, time: number): Prediction {
		const {model, version} = entry;
		const conditions = version.conditions;
		const random = this.random;
		const payload = this.payloads.pick(model.spec.output, conditions.driftIntensity, random);
		const requestId = random.requestId();
		if (conditions.unavailable || random.chance(conditions.errorProbability)) {
			// Mostly server errors and refused connections; timeouts are rare (and take the full 30 s).
			const roll = random.next();
			const answer =
				conditions.unavailable || (roll >= 0.5 && roll < 0.92) ? errorAnswers[1] : roll < 0.5 ? errorAnswers[0] : errorAnswers[2];
			const latencyMs =
				answer.code === 504 ? 30_000 : answer.code === 503 ? random.logNormal(2, 0.4) : drawLatency(random, conditions.profile);
			return {
				requestId,
				namespace: model.namespace,
				model: model.name,
				version: version.name,
				time,
				latencyMs: Math.round(latencyMs * 10) / 10,
				status: 'error',
				code: answer.code,
				inputSummary: payload.input,
				outputSummary: answer.summary,
			};
		}

		return {
			requestId,
			namespace: model.namespace,
			model: model.name,
			version: version.name,
			time,
			latencyMs: Math.round(drawLatency(random, conditions.profile) * 10) / 10,
			status: 'ok',
			code: 200,
			inputSummary: payload.input,
			outputSummary: payload.output,
			output: payload.value,
		};
	}

	/** Predictions with this request id among the stored events (a request logged by two versions shows twice). */
	/** As the agent answers it: the id itself or, from 4 characters on, ids starting with it; exact first, at most 20. */
	lookup(requestId: string): Prediction[] {
		const wanted = requestId.trim().toLowerCase();
		if (wanted === '') return [];
		const prefix = [...wanted].length >= 4;
		const found: Prediction[] = [];
		for (let index = 0; index < this.ringSize; index++) {
			const event = this.ring[index];
			if (event?.type !== 'prediction') continue;
			const id = event.prediction.requestId;
			if (id === wanted || (prefix && id.startsWith(wanted))) found.push(event.prediction);
		}

		const exact = (prediction: Prediction) => (prediction.requestId === wanted ? 0 : 1);
		return found.sort((a, b) => exact(a) - exact(b) || b.time - a.time).slice(0, 20);
	}
}
