// startRecording tees a terminal stream into a cast file as the stream is written, and gives the stream back intact.
import {EventEmitter} from 'node:events';
import {mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {RecordingError, startRecording} from '../../../source/recording/record-stream.ts';

/** A terminal stream: what reaches it, its size, its resize event. */
class FakeTerminal extends EventEmitter {
	columns = 90;
	rows = 20;
	isTTY = true;
	received: string[] = [];
	write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
		this.received.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
		for (const argument of rest) if (typeof argument === 'function') argument();
		return true;
	}
}

const castLines = (file: string) =>
	readFileSync(file, 'utf8')
		.split('\n')
		.filter((line) => line !== '')
		.map((line) => JSON.parse(line) as unknown);

describe('startRecording', () => {
	it('records each write as it happens, turns newlines into what a terminal gets, and records resizes', () => {
		const file = path.join(mkdtempSync(path.join(tmpdir(), 'modeldeck-cast-')), 'session.cast');
		const terminal = new FakeTerminal();
		const originalWrite = terminal.write;
		const recording = startRecording(terminal, file, {env: {TERM: 'xterm-256color', SHELL: '/bin/bash'}, title: 't'});
		expect(recording.stream).toBe(terminal);
		let called = false;
		terminal.write('one\ntwo', () => {
			called = true;
		});
		expect(called).toBe(true);
		// Already on disk before the recording stops: a crash keeps it.
		expect(castLines(file)).toHaveLength(2);
		// A character split across two byte writes is recorded whole.
		const smile = Buffer.from('☺', 'utf8');
		terminal.write(smile.subarray(0, 1));
		terminal.write(smile.subarray(1));
		terminal.columns = 120;
		terminal.rows = 40;
		terminal.emit('resize');
		recording.stop();
		recording.stop();
		terminal.write('after');
		expect(terminal.write).toBe(originalWrite);
		// The terminal got every write as it was.
		expect(terminal.received).toHaveLength(4);
		expect([terminal.received[0], terminal.received[3]]).toEqual(['one\ntwo', 'after']);
		const [header, ...events] = castLines(file) as [Record<string, unknown>, ...Array<[number, string, string]>];
		expect(header).toMatchObject({version: 2, width: 90, height: 20, env: {TERM: 'xterm-256color', SHELL: '/bin/bash'}, title: 't'});
		expect(typeof header['timestamp']).toBe('number');
		expect(events.map(([, code, data]) => [code, data])).toEqual([
			['o', 'one\r\ntwo'],
			['o', '☺'],
			['r', '120x40'],
		]);
	});

	it('records a second stream shown on the same terminal, each with its own newline rule', () => {
		const file = path.join(mkdtempSync(path.join(tmpdir(), 'modeldeck-cast-')), 'two.cast');
		const out = new FakeTerminal();
		const err = new FakeTerminal();
		out.isTTY = false;
		const recording = startRecording(out, file);
		recording.tee(err);
		out.write('frame\n');
		err.write('warning\n');
		recording.stop();
		expect(
			castLines(file)
				.slice(1)
				.map((event) => (event as unknown[]).slice(1)),
		).toEqual([
			['o', 'frame\n'],
			['o', 'warning\r\n'],
		]);
	});

	it('refuses a path it cannot write, saying which and how to fix it, and leaves the stream alone', () => {
		const terminal = new FakeTerminal();
		const write = terminal.write;
		const missing = path.join(tmpdir(), 'modeldeck-no-such-folder', 'x', 'session.cast');
		expect(() => startRecording(terminal, missing)).toThrow(RecordingError);
		expect(() => startRecording(terminal, missing)).toThrow(
			`Cannot record to ${missing}: its folder does not exist. Give --record a file in a folder you can write to`,
		);
		expect(() => startRecording(terminal, tmpdir())).toThrow(/it is a folder/);
		expect(terminal.write).toBe(write);
		expect(terminal.listenerCount('resize')).toBe(0);
	});
});
