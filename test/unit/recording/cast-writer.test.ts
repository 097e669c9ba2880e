// The asciinema v2 writer: whatever is written and however the clock behaves, every line is JSON, the header comes
// first, events follow with times that never go back, and the text of the output events is what was written.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {CastWriter, castSize} from '../../../source/recording/cast-writer.ts';

type Step = {kind: 'write'; text: string} | {kind: 'resize'; columns: number; rows: number} | {kind: 'tick'; seconds: number};

const step: fc.Arbitrary<Step> = fc.oneof(
	fc.record({kind: fc.constant('write' as const), text: fc.string({unit: 'binary', maxLength: 40})}),
	fc.record({kind: fc.constant('write' as const), text: fc.constantFrom('\u001B[2J', '\u001B[?1049h', '\r\n', '\uD83D', '\uDE00', '"\\')}),
	fc.record({
		kind: fc.constant('resize' as const),
		columns: fc.oneof(fc.integer({min: -5, max: 400}), fc.constant(Number.NaN)),
		rows: fc.oneof(fc.integer({min: -5, max: 200}), fc.constant(Number.NaN)),
	}),
	// The clock may jump forwards, backwards or to nonsense: the recorded times must stay ordered and finite.
	fc.record({
		kind: fc.constant('tick' as const),
		seconds: fc.oneof(fc.double({min: -1e6, max: 1e6, noNaN: true}), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY)),
	}),
);

function record(steps: readonly Step[], header = {width: 100, height: 30, timestamp: 1_700_000_000.7}) {
	const lines: string[] = [];
	let now = 5;
	const writer = new CastWriter(header, {writeLine: (line) => lines.push(line), clock: () => now});
	for (const item of steps) {
		if (item.kind === 'write') writer.output(item.text);
		else if (item.kind === 'resize') writer.resize(item.columns, item.rows);
		else now = item.seconds;
	}

	writer.close();
	writer.output('after close');
	return lines;
}

describe('CastWriter', () => {
	it('writes a file every line of which parses: the header first, then events in time order', () => {
		fc.assert(
			fc.property(fc.array(step, {maxLength: 60}), (steps) => {
				const lines = record(steps);
				expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
				const [header, ...events] = lines.map((line) => JSON.parse(line) as unknown);
				expect(header).toEqual({version: 2, width: 100, height: 30, timestamp: 1_700_000_000});
				const writes = steps.filter((item) => item.kind === 'write' && item.text !== '');
				const resizes = steps.filter((item) => item.kind === 'resize');
				expect(events).toHaveLength(writes.length + resizes.length);
				let previous = 0;
				const texts: string[] = [];
				for (const event of events as Array<[number, string, string]>) {
					expect(event).toHaveLength(3);
					const [time, code, data] = event;
					expect(Number.isFinite(time)).toBe(true);
					expect(time).toBeGreaterThanOrEqual(previous);
					previous = time;
					expect(['o', 'r']).toContain(code);
					if (code === 'r') expect(data).toMatch(/^[1-9]\d*x[1-9]\d*$/);
					else texts.push(data);
				}

				// The output is what was written, a lone half of a surrogate pair aside (the terminal shows U+FFFD).
				const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
				expect(texts).toEqual(writes.map((item) => (item as {text: string}).text.replace(loneSurrogate, '\uFFFD')));
			}),
		);
	});

	it('times events from its first clock reading, in seconds', () => {
		const lines: string[] = [];
		let now = 100;
		const writer = new CastWriter(
			{width: 80, height: 24, timestamp: 1, env: {TERM: 'xterm-256color'}, title: 'demo'},
			{writeLine: (line) => lines.push(line), clock: () => now},
		);
		writer.output('a');
		now = 101.25;
		writer.resize(120, 40);
		now = 102.5;
		writer.output('b\r\n');
		expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
			{version: 2, width: 80, height: 24, timestamp: 1, env: {TERM: 'xterm-256color'}, title: 'demo'},
			[0, 'o', 'a'],
			[1.25, 'r', '120x40'],
			[2.5, 'o', 'b\r\n'],
		]);
	});

	it('gives a size players can draw when the terminal reports none', () => {
		expect(castSize(0, 0)).toEqual({width: 80, height: 24});
		expect(castSize(undefined, 40)).toEqual({width: 80, height: 40});
		expect(castSize(132.7, 43)).toEqual({width: 132, height: 43});
	});
});
