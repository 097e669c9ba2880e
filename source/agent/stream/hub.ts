/**
 * Fan-out of numbered events to stream subscribers.
 *
 * Every event gets the next sequence number, is serialised once and kept in a bounded ring for clients that resume.
 * Each subscriber has its own bounded queue: when it is full the oldest event goes and the subscriber is later told
 * how many with a `gap`. Queues are flushed in batches (one frame holds many events) on a short timer, or at once
 * when a queue holds a full batch; a subscriber whose socket has more than the high-water mark unsent gets nothing
 * more until it drains. So a slow or stalled subscriber costs at most its queue plus the high-water mark, whatever
 * the ingest rate.
 */
import type {PredictionFilter} from '../../domain/ports.ts';
import type {Prediction} from '../../domain/types.ts';
import type {SequencedMessage, ServerMessage} from '../../protocol/agent.ts';
import {BoundedQueue} from './bounded-queue.ts';
import {matchesPrediction} from './filter.ts';

/**
 * What the ring keeps of an event: its text, serialised once for every subscriber, and the few fields filters look
 * at. Not the message object: the ring holds up to 100,000 of these, and the prediction object (its summaries a
 * second time, beside the text) was over half of each one's memory. The text is UTF-8 bytes outside V8's heap:
 * kept as strings, the ring was most of the heap, and V8 let the heap grow to several times it between full
 * collections (RSS 500 MiB for a 97 MiB live heap at 2,000 events/s).
 */
export interface StreamEvent {
	seq: number;
	json: Buffer;
	/** Set for predictions only: what a prediction filter reads. Audit and guard events are matched by namespace. */
	prediction: FilterFields | undefined;
	namespace: string;
}

export type FilterFields = Pick<Prediction, 'namespace' | 'model' | 'version' | 'status' | 'latencyMs'>;

/**
 * One copy of each namespace, model and version name, instead of one per event (each ingest parses its own).
 * Bounded: a flood of distinct names empties it and starts over, costing only the sharing.
 */
class Names {
	readonly #names = new Map<string, string>();
	get(name: string): string {
		const known = this.#names.get(name);
		if (known !== undefined) return known;
		if (this.#names.size >= 10_000) this.#names.clear();
		this.#names.set(name, name);
		return name;
	}
}

/** What the hub needs of a socket. */
export interface StreamConnection {
	/** One text frame: a string, or UTF-8 bytes. */
	send(frame: string | Buffer): void;
	/** Bytes accepted by send() but not yet written to the network. */
	readonly bufferedAmount: number;
}

export interface HubOptions {
	/** Events kept for resuming clients. Default 100,000 (defaultRingCapacity). */
	ringCapacity?: number;
	/** Events queued per subscriber before the oldest are dropped. Default 10,000. */
	queueCapacity?: number;
	/** Most events in one frame. Default 500. */
	batchMax?: number;
	/** Shortest time between two flushes while events keep coming (so frames batch). Default 5 ms. */
	flushIntervalMs?: number;
	/** Stop sending to a socket with this many bytes unsent. Default 1 MiB. */
	highWaterBytes?: number;
	/** Last sequence number used before this process (numbering continues from it). Default 0. */
	startSeq?: number;
	onDropped?: (count: number) => void;
	onSeq?: (seq: number) => void;
}

interface PendingGap {
	seq: number;
	dropped: number;
	reason: string;
}

export class Subscriber {
	filter: PredictionFilter = {};
	subscribed = false;
	readonly queue: BoundedQueue<StreamEvent>;
	gap: PendingGap | undefined;
	/**
	 * While resuming: the seq of the next event to replay from the ring. The replay is read from the ring as the
	 * socket drains, never copied into the queue, and live events are not queued until it has caught up (they are
	 * in the ring too): so a resume delivers all the ring holds whatever its size, paced by the client.
	 */
	replayNext: number | undefined;
	/** The last seq handed to the socket. */
	lastSentSeq = 0;
	/** Events this subscriber lost over its life (queue overflow and missed resumes). */
	droppedTotal = 0;

	readonly connection: StreamConnection;

	constructor(connection: StreamConnection, queueCapacity: number) {
		this.connection = connection;
		this.queue = new BoundedQueue(queueCapacity);
	}

	matches(event: StreamEvent): boolean {
		if (event.prediction) return matchesPrediction(this.filter, event.prediction);
		// Audit and guard events concern whole models: only the namespace filter applies.
		return this.filter.namespace === undefined || this.filter.namespace === event.namespace;
	}

	addGap(seq: number, dropped: number, reason: string): void {
		this.droppedTotal += dropped;
		if (this.gap) {
			this.gap.dropped += dropped;
			this.gap.seq = Math.max(this.gap.seq, seq);
			if (!this.gap.reason.includes(reason)) this.gap.reason = `${this.gap.reason}; ${reason}`;
		} else {
			this.gap = {seq, dropped, reason};
		}
	}
}

/**
 * Storage for the ring's texts: slabs of their own, filled in order. Node's shared 8 KiB pool would do for small
 * buffers, but every other short-lived allocation shares its slabs, and a ring event pinned each one whole: 2 KiB of
 * memory per event of 0.35 KiB. Events leave the ring in the order they came, so a slab is freed once its last one has.
 */
class TextSlabs {
	static readonly slabBytes = 256 * 1024;
	#slab = Buffer.allocUnsafeSlow(TextSlabs.slabBytes);
	#used = 0;

	store(text: string): Buffer {
		const length = Buffer.byteLength(text);
		if (length > TextSlabs.slabBytes / 8) {
			const own = Buffer.allocUnsafeSlow(length);
			own.write(text);
			return own;
		}

		if (this.#used + length > TextSlabs.slabBytes) {
			this.#slab = Buffer.allocUnsafeSlow(TextSlabs.slabBytes);
			this.#used = 0;
		}

		const view = this.#slab.subarray(this.#used, this.#used + length);
		view.write(text);
		this.#used += length;
		return view;
	}
}

const open = Buffer.from('[');
const comma = Buffer.from(',');
const close = Buffer.from(']');

/** Several events' texts as one JSON array, in one buffer. */
function batchFrame(parts: Buffer[]): Buffer {
	const pieces: Buffer[] = [open];
	for (const [index, part] of parts.entries()) {
		if (index > 0) pieces.push(comma);
		pieces.push(part);
	}

	pieces.push(close);
	return Buffer.concat(pieces);
}

/** 50 s at 2,000 events/s: a console that is away that long (a laptop's Wi-Fi, a restarted port-forward) misses nothing. */
export const defaultRingCapacity = 100_000;

const slowConsumerReason =
	'the client read too slowly: the oldest events waiting for it were dropped (its queue was full, or they had left the resume buffer)';

export class StreamHub {
	readonly ringCapacity: number;
	readonly queueCapacity: number;
	readonly batchMax: number;
	readonly flushIntervalMs: number;
	readonly highWaterBytes: number;
	/** Events before this one were published by an earlier run of the agent. */
	readonly firstSeqOfThisRun: number;
	readonly #ring: BoundedQueue<StreamEvent>;
	readonly #subscribers = new Set<Subscriber>();
	readonly #names = new Names();
	readonly #texts = new TextSlabs();
	readonly #options: HubOptions;
	#seq: number;
	#timer: NodeJS.Timeout | undefined;
	#immediate: NodeJS.Immediate | undefined;
	#lastFlush = Number.NEGATIVE_INFINITY;
	#closed = false;

	constructor(options: HubOptions = {}) {
		this.#options = options;
		this.ringCapacity = options.ringCapacity ?? defaultRingCapacity;
		this.queueCapacity = options.queueCapacity ?? 10_000;
		this.batchMax = options.batchMax ?? 500;
		this.flushIntervalMs = options.flushIntervalMs ?? 5;
		this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024;
		this.#seq = options.startSeq ?? 0;
		this.firstSeqOfThisRun = this.#seq + 1;
		this.#ring = new BoundedQueue(this.ringCapacity);
	}

	/** The last sequence number handed out. */
	get seq(): number {
		return this.#seq;
	}

	get subscriberCount(): number {
		return this.#subscribers.size;
	}

	/** Numbers, records and fans out an event. */
	publish(message: DistributiveOmit<SequencedMessage, 'seq'>, namespace: string): StreamEvent {
		const seq = ++this.#seq;
		const full = {...message, seq} as SequencedMessage;
		let fields: FilterFields | undefined;
		if (full.type === 'prediction') {
			const {model, version, status, latencyMs} = full.prediction;
			fields = {
				namespace: this.#names.get(full.prediction.namespace),
				model: this.#names.get(model),
				version: this.#names.get(version),
				status,
				latencyMs,
			};
		}

		const event: StreamEvent = {
			seq,
			json: this.#texts.store(JSON.stringify(full)),
			prediction: fields,
			namespace: this.#names.get(namespace),
		};
		const evicted = this.#ring.push(event);
		this.#options.onSeq?.(seq);
		for (const subscriber of this.#subscribers) {
			// A queued event older than the ring would keep its text's slab alive past the ring: a slow client with a
			// narrow filter could pin hundreds of them. It is dropped as its queue would drop it, and counted.
			if (evicted && subscriber.queue.length > 0 && subscriber.queue.at(0)!.seq <= evicted.seq)
				this.#dropOlderThan(subscriber, evicted.seq + 1);
			if (subscriber.replayNext !== undefined) this.#arm();
			else if (subscriber.subscribed && subscriber.matches(event)) this.#enqueue(subscriber, event);
		}

		return event;
	}

	#dropOlderThan(subscriber: Subscriber, oldest: number): void {
		let dropped = 0;
		let last = 0;
		while (subscriber.queue.length > 0 && subscriber.queue.at(0)!.seq < oldest) {
			last = subscriber.queue.shift()!.seq;
			dropped++;
		}

		subscriber.addGap(last, dropped, slowConsumerReason);
		this.#options.onDropped?.(dropped);
	}

	#enqueue(subscriber: Subscriber, event: StreamEvent): void {
		const evicted = subscriber.queue.push(event);
		if (evicted) {
			subscriber.addGap(evicted.seq, 1, slowConsumerReason);
			this.#options.onDropped?.(1);
		}

		if (subscriber.queue.length >= this.batchMax) this.flush(subscriber);
		else this.#arm();
	}

	/**
	 * Schedules a flush of every queue. After a quiet spell it runs as soon as the current I/O is handled (low
	 * latency: everything one ingest request published goes out in one frame); while events keep coming, at most
	 * once per flush interval (throughput: many events per frame).
	 */
	#arm(): void {
		if (this.#timer || this.#immediate || this.#closed) return;
		const run = (): void => {
			this.#timer = undefined;
			this.#immediate = undefined;
			this.#lastFlush = performance.now();
			let pending = false;
			for (const subscriber of this.#subscribers) {
				this.flush(subscriber);
				if (subscriber.queue.length > 0 || subscriber.gap || subscriber.replayNext !== undefined) pending = true;
			}

			if (pending) this.#arm();
		};

		const sinceLast = performance.now() - this.#lastFlush;
		if (sinceLast >= this.flushIntervalMs) this.#immediate = setImmediate(run);
		else this.#timer = setTimeout(run, this.flushIntervalMs - sinceLast);
	}

	attach(connection: StreamConnection): Subscriber {
		const subscriber = new Subscriber(connection, this.queueCapacity);
		this.#subscribers.add(subscriber);
		return subscriber;
	}

	detach(subscriber: Subscriber): void {
		this.#subscribers.delete(subscriber);
		subscriber.queue.clear();
		subscriber.gap = undefined;
		subscriber.replayNext = undefined;
	}

	/**
	 * Starts (or changes) a subscription. With `fromSeq`, the events after it that are still in the ring are
	 * replayed first, as the socket takes them; older ones are reported as a gap.
	 */
	subscribe(subscriber: Subscriber, filter: PredictionFilter, fromSeq: number | undefined): void {
		subscriber.filter = filter;
		subscriber.subscribed = true;
		subscriber.queue.clear();
		subscriber.gap = undefined;
		subscriber.replayNext = undefined;
		if (fromSeq !== undefined && fromSeq < this.#seq) {
			const oldest = this.#ring.at(0)?.seq ?? this.#seq + 1;
			const missed = oldest - 1 - fromSeq;
			if (missed > 0) {
				const reason =
					fromSeq < this.firstSeqOfThisRun - 1
						? 'the agent restarted; events from before the restart are not replayed (look them up by request id)'
						: `the events were older than the resume buffer (${this.ringCapacity} events)`;
				subscriber.addGap(oldest - 1, missed, `up to ${missed} events not replayed: ${reason}`);
			}

			subscriber.replayNext = Math.max(fromSeq + 1, oldest);
		}

		this.flush(subscriber);
	}

	/**
	 * The next frame's worth of replayed events from the ring, from the subscriber's cursor on. Events that left the
	 * ring before the client took them are a gap; once the cursor reaches the newest event the replay is over and
	 * live events are queued again.
	 */
	#replayBatch(subscriber: Subscriber, parts: Buffer[]): void {
		const oldest = this.#ring.at(0)?.seq ?? this.#seq + 1;
		let next = subscriber.replayNext!;
		if (next < oldest) {
			const lost = oldest - next;
			subscriber.addGap(
				oldest - 1,
				lost,
				`up to ${lost} events not replayed: the client took the replay more slowly than events arrived, and they left the resume buffer (${this.ringCapacity} events) before they were sent`,
			);
			this.#options.onDropped?.(lost);
			next = oldest;
			parts.push(Buffer.from(JSON.stringify({type: 'gap', ...subscriber.gap})));
			subscriber.gap = undefined;
		}

		// Bounded work per frame however selective the filter is.
		const scanLimit = next + this.batchMax * 20;
		while (parts.length < this.batchMax && next <= this.#seq && next < scanLimit) {
			const event = this.#ring.at(next - oldest)!;
			next++;
			if (subscriber.matches(event)) {
				parts.push(event.json);
				subscriber.lastSentSeq = event.seq;
			}
		}

		subscriber.replayNext = next > this.#seq ? undefined : next;
	}

	/**
	 * Ends a subscriber that is cut (it stopped reading): what it was owed and never sent, as a last `gap`
	 * (`final`: the connection closes after it, and a client that resumes from the last seq it received gets back
	 * whatever is still in the ring). Undefined when it was owed nothing.
	 */
	cut(subscriber: Subscriber, reason: string): Extract<ServerMessage, {type: 'gap'}> | undefined {
		let dropped = (subscriber.gap?.dropped ?? 0) + subscriber.queue.length;
		let last = Math.max(subscriber.gap?.seq ?? 0, subscriber.queue.at(subscriber.queue.length - 1)?.seq ?? 0);
		if (subscriber.replayNext !== undefined) {
			const oldest = this.#ring.at(0)?.seq ?? this.#seq + 1;
			for (let seq = Math.max(subscriber.replayNext, oldest); seq <= this.#seq; seq++) {
				if (subscriber.matches(this.#ring.at(seq - oldest)!)) {
					dropped++;
					last = seq;
				}
			}

			dropped += Math.max(0, oldest - subscriber.replayNext);
		}

		this.detach(subscriber);
		if (dropped === 0) return undefined;
		this.#options.onDropped?.(dropped);
		return {type: 'gap', seq: last, dropped, reason, final: true};
	}

	/** Sends a message outside the numbered stream (hello, progress, errors), ahead of queued events. */
	sendDirect(subscriber: Subscriber, message: ServerMessage): void {
		subscriber.connection.send(JSON.stringify(message));
	}

	/** Sends what the subscriber's queue holds, in frames of up to batchMax events, while its socket keeps up. */
	flush(subscriber: Subscriber): void {
		const {connection, queue} = subscriber;
		while (queue.length > 0 || subscriber.gap || subscriber.replayNext !== undefined) {
			if (connection.bufferedAmount > this.highWaterBytes) {
				this.#arm();
				return;
			}

			const parts: Buffer[] = [];
			if (subscriber.gap) {
				const {seq, dropped, reason} = subscriber.gap;
				parts.push(Buffer.from(JSON.stringify({type: 'gap', seq, dropped, reason})));
				subscriber.gap = undefined;
			}

			if (subscriber.replayNext !== undefined) this.#replayBatch(subscriber, parts);
			else {
				while (parts.length < this.batchMax && queue.length > 0) {
					const event = queue.shift()!;
					parts.push(event.json);
					subscriber.lastSentSeq = event.seq;
				}
			}

			if (parts.length > 0) connection.send(parts.length === 1 ? parts[0]! : batchFrame(parts));
		}
	}

	/** Per subscriber: events queued, events dropped so far, bytes the socket has not sent yet. */
	stats(): {queued: number; dropped: number; bufferedAmount: number}[] {
		return [...this.#subscribers].map((subscriber) => ({
			queued: subscriber.queue.length,
			dropped: subscriber.droppedTotal,
			bufferedAmount: subscriber.connection.bufferedAmount,
		}));
	}

	close(): void {
		this.#closed = true;
		if (this.#timer) clearTimeout(this.#timer);
		if (this.#immediate) clearImmediate(this.#immediate);
		this.#timer = undefined;
		this.#immediate = undefined;
		for (const subscriber of this.#subscribers) this.detach(subscriber);
	}
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
