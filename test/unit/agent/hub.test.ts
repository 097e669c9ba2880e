import {describe, expect, it} from 'vitest';
import {BoundedQueue} from '../../../source/agent/stream/bounded-queue.ts';
import {StreamHub} from '../../../source/agent/stream/hub.ts';
import type {StreamConnection} from '../../../source/agent/stream/hub.ts';
import type {Prediction} from '../../../source/domain/types.ts';

class FakeConnection implements StreamConnection {
	frames: string[] = [];
	bufferedAmount = 0;
	/** A socket that is "full" after every frame until the test drains it (sets bufferedAmount back to 0). */
	fullAfterEveryFrame = false;
	send(frame: string | Buffer): void {
		this.frames.push(frame.toString());
		if (this.fullAfterEveryFrame) this.bufferedAmount = 10_000;
	}

	/** Every message received, batches unpacked. */
	messages(): {type: string; seq?: number; dropped?: number; reason?: string; prediction?: Prediction}[] {
		return this.frames.flatMap((frame) => {
			const parsed = JSON.parse(frame) as unknown;
			return (Array.isArray(parsed) ? parsed : [parsed]) as {type: string}[];
		});
	}
}

function prediction(index: number, namespace = 'team-a', model = 'fraud'): Prediction {
	return {
		requestId: `r${index}`,
		namespace,
		model,
		version: 'v1',
		time: index,
		latencyMs: index,
		status: 'ok',
		inputSummary: '',
		outputSummary: '',
	};
}

function publish(hub: StreamHub, index: number, namespace = 'team-a', model = 'fraud'): void {
	hub.publish({type: 'prediction', prediction: prediction(index, namespace, model)}, namespace);
}

describe('BoundedQueue', () => {
	it('evicts the oldest item when full', () => {
		const queue = new BoundedQueue<number>(3);
		expect([queue.push(1), queue.push(2), queue.push(3), queue.push(4)]).toEqual([undefined, undefined, undefined, 1]);
		expect([queue.at(0), queue.at(2), queue.length]).toEqual([2, 4, 3]);
		expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([2, 3, 4, undefined]);
	});
});

describe('StreamHub', () => {
	it('numbers events and delivers them, batched in one frame, to subscribers whose filter matches', () => {
		const hub = new StreamHub({batchMax: 100, flushIntervalMs: 60_000});
		const all = new FakeConnection();
		const onlyOther = new FakeConnection();
		const allSubscriber = hub.attach(all);
		const otherSubscriber = hub.attach(onlyOther);
		hub.subscribe(allSubscriber, {}, undefined);
		hub.subscribe(otherSubscriber, {model: 'other'}, undefined);
		for (let index = 1; index <= 3; index++) publish(hub, index);
		publish(hub, 4, 'team-a', 'other');
		hub.flush(allSubscriber);
		hub.flush(otherSubscriber);
		expect(all.frames).toHaveLength(1);
		expect(all.messages().map((message) => message.seq)).toEqual([1, 2, 3, 4]);
		expect(onlyOther.messages().map((message) => `${message.prediction?.model}:${message.seq}`)).toEqual(['other:4']);
		hub.close();
	});

	it('applies only the namespace filter to audit and guard events', () => {
		const hub = new StreamHub();
		const connection = new FakeConnection();
		const subscriber = hub.attach(connection);
		hub.subscribe(subscriber, {namespace: 'team-a', model: 'fraud', status: 'error'}, undefined);
		publish(hub, 1);
		hub.publish({type: 'guard', model: {namespace: 'team-a', name: 'x'}, verdict: 'fail', message: 'm', rolledBack: false}, 'team-a');
		hub.publish({type: 'guard', model: {namespace: 'team-b', name: 'x'}, verdict: 'fail', message: 'm', rolledBack: false}, 'team-b');
		hub.flush(subscriber);
		expect(connection.messages().map((message) => `${message.type}:${message.seq}`)).toEqual(['guard:2']);
		hub.close();
	});

	it('sends a full batch at once without waiting for the timer', () => {
		const hub = new StreamHub({batchMax: 4, flushIntervalMs: 60_000});
		const connection = new FakeConnection();
		hub.subscribe(hub.attach(connection), {}, undefined);
		for (let index = 1; index <= 4; index++) publish(hub, index);
		expect(connection.messages()).toHaveLength(4);
		hub.close();
	});

	it('flushes on its timer', async () => {
		const hub = new StreamHub({flushIntervalMs: 5});
		const connection = new FakeConnection();
		hub.subscribe(hub.attach(connection), {}, undefined);
		publish(hub, 1);
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(connection.messages().map((message) => message.seq)).toEqual([1]);
		hub.close();
	});

	it('drops the oldest events of a subscriber that does not drain, and says how many with one gap', () => {
		const hub = new StreamHub({queueCapacity: 10, batchMax: 1000, highWaterBytes: 100, flushIntervalMs: 60_000});
		const stalled = new FakeConnection();
		stalled.bufferedAmount = 1_000_000;
		const subscriber = hub.attach(stalled);
		hub.subscribe(subscriber, {}, undefined);
		for (let index = 1; index <= 1000; index++) publish(hub, index);
		expect(subscriber.queue.length).toBe(10);
		expect(stalled.frames).toEqual([]);
		stalled.bufferedAmount = 0;
		hub.flush(subscriber);
		const messages = stalled.messages();
		expect(messages[0]).toMatchObject({type: 'gap', seq: 990, dropped: 990});
		expect(messages.slice(1).map((message) => message.seq)).toEqual(Array.from({length: 10}, (_, index) => 991 + index));
		expect(subscriber.droppedTotal).toBe(990);
		hub.close();
	});

	it('counts drops for metrics', () => {
		let dropped = 0;
		const hub = new StreamHub({queueCapacity: 2, highWaterBytes: 0, onDropped: (count) => (dropped += count)});
		const stalled = new FakeConnection();
		stalled.bufferedAmount = 1;
		hub.subscribe(hub.attach(stalled), {}, undefined);
		for (let index = 1; index <= 5; index++) publish(hub, index);
		expect(dropped).toBe(3);
		hub.close();
	});

	it('replays from the ring on resume, and reports what is older than the ring as a gap', () => {
		const hub = new StreamHub({ringCapacity: 5});
		for (let index = 1; index <= 8; index++) publish(hub, index);
		const resumed = new FakeConnection();
		hub.subscribe(hub.attach(resumed), {}, 5);
		expect(resumed.messages().map((message) => message.seq)).toEqual([6, 7, 8]);
		const late = new FakeConnection();
		hub.subscribe(hub.attach(late), {}, 1);
		const messages = late.messages();
		expect(messages[0]).toMatchObject({type: 'gap', seq: 3, dropped: 2});
		expect(messages[0]?.reason).toMatch(/older than the resume buffer/);
		expect(messages.slice(1).map((message) => message.seq)).toEqual([4, 5, 6, 7, 8]);
		hub.close();
	});

	it('continues numbering after a restart and calls a resume from before it a restart gap', () => {
		const hub = new StreamHub({startSeq: 100});
		publish(hub, 1);
		expect(hub.seq).toBe(101);
		const connection = new FakeConnection();
		hub.subscribe(hub.attach(connection), {}, 90);
		const [gap, event] = connection.messages();
		expect(gap).toMatchObject({type: 'gap', seq: 100, dropped: 10});
		expect(gap?.reason).toMatch(/agent restarted/);
		expect(event?.seq).toBe(101);
		hub.close();
	});

	it('memory stays bounded: a stalled subscriber holds at most its queue whatever is published', () => {
		const hub = new StreamHub({queueCapacity: 100, ringCapacity: 1000, highWaterBytes: 10});
		const stalled = new FakeConnection();
		stalled.bufferedAmount = 11;
		const subscriber = hub.attach(stalled);
		hub.subscribe(subscriber, {}, undefined);
		for (let index = 1; index <= 50_000; index++) publish(hub, index);
		expect(subscriber.queue.length).toBe(100);
		expect(subscriber.gap?.dropped).toBe(49_900);
		hub.close();
	});
});

describe('StreamHub resume', () => {
	it('replays a resume larger than the client queue as the socket drains, without a gap, then goes live', () => {
		const hub = new StreamHub({ringCapacity: 1000, queueCapacity: 10, batchMax: 50, highWaterBytes: 1000, flushIntervalMs: 60_000});
		for (let index = 1; index <= 600; index++) publish(hub, index);
		const connection = new FakeConnection();
		const subscriber = hub.attach(connection);
		// The socket is "full" after every frame until the test drains it: the replay waits, nothing is dropped.
		connection.fullAfterEveryFrame = true;

		hub.subscribe(subscriber, {}, 100);
		for (let round = 0; round < 100 && subscriber.replayNext !== undefined; round++) {
			publish(hub, 600 + round + 1);
			connection.bufferedAmount = 0;
			hub.flush(subscriber);
		}

		connection.bufferedAmount = 0;
		hub.flush(subscriber);
		const seqs = connection.messages().map((message) => message.seq);
		expect(connection.messages().some((message) => message.type === 'gap')).toBe(false);
		expect(seqs).toEqual(Array.from({length: hub.seq - 100}, (_, index) => 101 + index));
		hub.close();
	});

	it('counts events that left the ring before a slow replay reached them as a gap saying so', () => {
		const hub = new StreamHub({ringCapacity: 100, batchMax: 10, highWaterBytes: 1000, flushIntervalMs: 60_000});
		for (let index = 1; index <= 100; index++) publish(hub, index);
		const connection = new FakeConnection();
		const subscriber = hub.attach(connection);
		connection.fullAfterEveryFrame = true;

		hub.subscribe(subscriber, {}, 0);
		// One frame went; meanwhile 150 more events push the rest of the replay out of the ring.
		for (let index = 101; index <= 250; index++) publish(hub, index);
		for (let round = 0; round < 100 && subscriber.replayNext !== undefined; round++) {
			connection.bufferedAmount = 0;
			hub.flush(subscriber);
		}

		const messages = connection.messages();
		const gap = messages.find((message) => message.type === 'gap')!;
		expect(gap).toMatchObject({seq: 150, dropped: 140});
		expect(gap.reason).toMatch(/left the resume buffer \(100 events\) before they were sent/);
		const seqs = messages.filter((message) => message.type === 'prediction').map((message) => message.seq);
		expect(seqs).toEqual([...Array.from({length: 10}, (_, index) => index + 1), ...Array.from({length: 100}, (_, index) => 151 + index)]);
		hub.close();
	});

	it('when a subscriber is cut, counts what it was owed in a final gap', () => {
		const hub = new StreamHub({queueCapacity: 5, batchMax: 10, highWaterBytes: 0, flushIntervalMs: 60_000});
		const connection = new FakeConnection();
		connection.bufferedAmount = 1;
		const subscriber = hub.attach(connection);
		hub.subscribe(subscriber, {}, undefined);
		for (let index = 1; index <= 8; index++) publish(hub, index);
		expect(hub.cut(subscriber, 'stopped reading')).toEqual({type: 'gap', seq: 8, dropped: 8, reason: 'stopped reading', final: true});
		expect(hub.subscriberCount).toBe(0);
		hub.close();
	});
	it('drops a queued event once it leaves the ring, so a slow client with a narrow filter pins no old texts', () => {
		const hub = new StreamHub({ringCapacity: 100, queueCapacity: 1000, batchMax: 10, highWaterBytes: 0, flushIntervalMs: 60_000});
		const connection = new FakeConnection();
		connection.bufferedAmount = 1;
		const subscriber = hub.attach(connection);
		hub.subscribe(subscriber, {model: 'rare'}, undefined);
		// One matching event in ten: 30 queued, spanning 300 events, three times the ring.
		for (let index = 1; index <= 300; index++) publish(hub, index, 'team-a', index % 10 === 0 ? 'rare' : 'fraud');
		expect(subscriber.queue.length).toBe(10);
		expect(subscriber.queue.at(0)!.seq).toBe(210);
		connection.bufferedAmount = 0;
		hub.flush(subscriber);
		const messages = connection.messages();
		expect(messages[0]).toMatchObject({type: 'gap', seq: 200, dropped: 20});
		expect(messages.slice(1).map((message) => message.seq)).toEqual([210, 220, 230, 240, 250, 260, 270, 280, 290, 300]);
		hub.close();
	});
});
