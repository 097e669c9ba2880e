// A recording as the README animation's frames: the screen taken every step of recording time, a repeat only making
// the frame before last longer, blank screens (before the first draw, after the quit) never a frame of their own.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import type {Cast} from '../../support/cast.ts';
import {castFrames} from '../../support/cast-frames.ts';

const cast = (events: Cast['events']): Cast => ({header: {version: 2, width: 10, height: 3, timestamp: 0}, events});
const text = (rows: string[]) => rows.map((markup) => markup.replaceAll(/<[^>]*>/g, '').trimEnd()).join('|');

describe('castFrames', () => {
	it('takes the screen every step, joins repeats, and leaves out the blank start and end', async () => {
		const frames = await castFrames(
			cast([
				[0.2, 'o', ''],
				[0.7, 'o', 'a'],
				[1.3, 'o', 'b'],
				[2.2, 'o', '\u001B[2J\u001B[H'],
			]),
			{step: 0.5, hold: 4},
		);
		// 0.5 blank (dropped), 1.0 "a", 1.5 and 2.0 "ab", 2.5 blank (added to "ab"), then the hold.
		expect(frames.map((frame) => [text(frame.rows), frame.duration])).toEqual([
			['a||', 0.5],
			['ab||', 1.5 + 4],
		]);
	});

	it('gives frames that are never blank and never the same twice in a row, lasting no longer than the recording and the hold', async () => {
		const write = fc.oneof(fc.stringMatching(/^[a-z ]{0,6}$/), fc.constantFrom('\r\n', '\u001B[2J\u001B[H', '\u001B[1;31mx\u001B[0m'));
		await fc.assert(
			fc.asyncProperty(fc.array(fc.tuple(fc.double({min: 0, max: 5, noNaN: true}), write), {maxLength: 12}), async (writes) => {
				const events = writes.map(([time, data]) => [time, 'o', data] as Cast['events'][number]).sort((a, b) => a[0] - b[0]);
				// The last screen surely shows a letter when nothing clears or scrolls after the last letter written.
				const last = events.findLastIndex(([, , data]) => /[a-z]/.test(data));
				const shows = last !== -1 && events.slice(last + 1).every(([, , data]) => !/\r\n|\u001B\[2J/.test(data));
				const none = events.every(([, , data]) => !/[a-z]/.test(data));
				const made = castFrames(cast(events), {step: 0.5, hold: 2});
				if (none) {
					await expect(made).rejects.toThrow('never shows anything');
					return;
				}

				const frames = await made.catch((error: Error) => {
					// Letters written and cleared within one step are never seen: only then may there be no frame.
					expect(shows).toBe(false);
					expect(error.message).toContain('never shows anything');
					return undefined;
				});
				if (frames === undefined) return;
				const end = events.at(-1)![0];
				for (const [index, frame] of frames.entries()) {
					expect(frame.rows.some((markup) => markup !== '')).toBe(true);
					if (index > 0) expect(frame.rows).not.toEqual(frames[index - 1]!.rows);
				}

				const total = frames.reduce((sum, frame) => sum + frame.duration, 0);
				expect(total).toBeLessThanOrEqual(Math.ceil(end / 0.5 + 1) * 0.5 + 2 + 1e-9);
				expect(total).toBeGreaterThanOrEqual(2);
			}),
			{numRuns: 60},
		);
	});
});
