// The README's animated demo: frames in, one SVG out that shows every frame, in order, each for its own time, looping.
// The SVG is read back (its defs, frames and keyframes) and compared with the frames it was made from.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {type AnimationFrame, animatedSvg} from '../../support/svg-animation.ts';
import {CELL_HEIGHT, escapeXml} from '../../support/svg.ts';

// Rows as rowToSvg draws them: text runs (escaped) and background rectangles, or nothing for an empty row.
const row = fc.oneof(
	fc.constant(''),
	fc
		.array(
			fc.record({
				x: fc.integer({min: 0, max: 100}),
				text: fc.string({minLength: 1, maxLength: 12}),
				fill: fc.constantFrom('#c0caf5', '#f7768e'),
			}),
			{minLength: 1, maxLength: 3},
		)
		.map((runs) => runs.map(({x, text, fill}) => `<text x="${12 + x * 8.4}" y="36" fill="${fill}">${escapeXml(text)}</text>`).join('')),
	fc.constant('<rect x="12.0" y="23" width="84.0" height="17" fill="#414868"/>'),
);
const frames = (rows: number) =>
	fc.array(fc.record({rows: fc.array(row, {minLength: rows, maxLength: rows}), duration: fc.double({min: 0.05, max: 30, noNaN: true})}), {
		minLength: 1,
		maxLength: 40,
	});

/** Every tag closes in order: the SVG is well-formed XML as far as elements go, and no text holds a bare < or &. */
function wellFormed(svg: string): void {
	const open: string[] = [];
	for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)(?:\s[^<>]*?)?(\/?)>/g)) {
		if (closing) expect(open.pop()).toBe(name);
		else if (!selfClosing) open.push(name!);
	}

	expect(open).toEqual([]);
	const text = svg.replaceAll(/<[^<>]*>/g, '');
	expect(text).not.toMatch(/[<>]|&(?!(amp|lt|gt);)/);
}

/** The frames the SVG shows, read back: each frame's rows (by following its <use>s into <defs>) and its seconds. */
function readBack(svg: string, rows: number): AnimationFrame[] {
	const defs = new Map([...svg.matchAll(/<g id="(\w+)">(.*?)<\/g>\n?(?=<g id=|<\/defs>)/gs)].map(([, id, markup]) => [id!, markup!]));
	const total = Number(/animation:play ([\d.]+)s steps\(1,end\) infinite/.exec(svg)![1]);
	const stops = [...svg.matchAll(/([\d.]+)%\{transform:translateX\(-([\d.]+)px\)\}/g)].map(([, percent]) => Number(percent));
	const shown = [...svg.matchAll(/<g class="frame" transform="translate\(([\d.]+)\)">(.*?)<\/g>/g)];
	expect(stops.length).toBe(shown.length + 1);
	expect(stops.at(-1)).toBe(100);
	return shown.map(([, , uses], index) => {
		const frameRows = Array.from({length: rows}, () => '');
		for (const [, id, y] of uses!.matchAll(/<use href="#(\w+)"(?: y="([\d.]+)")?\/>/g)) {
			expect(defs.has(id!)).toBe(true);
			frameRows[Math.round(Number(y ?? 0) / CELL_HEIGHT)] = defs.get(id!)!;
		}

		return {rows: frameRows, duration: ((stops[index + 1]! - stops[index]!) / 100) * total};
	});
}

describe('animatedSvg', () => {
	it('shows every frame in order, each for its duration, the keyframes adding up to the whole loop', () => {
		fc.assert(
			fc.property(
				fc.integer({min: 1, max: 6}).chain((rows) => fc.tuple(fc.constant(rows), frames(rows))),
				([rows, input]) => {
					const svg = animatedSvg({cols: 20, rows, title: 'a <demo> & more', frames: input});
					wellFormed(svg);
					const total = input.reduce((sum, frame) => sum + frame.duration, 0);
					expect(Number(/animation:play ([\d.]+)s/.exec(svg)![1])).toBeCloseTo(total, 3);
					const shown = readBack(svg, rows);
					expect(shown.length).toBe(input.length);
					for (const [index, frame] of input.entries()) {
						expect(shown[index]!.rows).toEqual(frame.rows);
						expect(Math.abs(shown[index]!.duration - frame.duration)).toBeLessThan(total * 1e-6 + 1e-3);
					}
				},
			),
			{numRuns: 150},
		);
	});

	it('writes a row drawn the same in many frames once', () => {
		fc.assert(
			fc.property(frames(4), (input) => {
				const svg = animatedSvg({cols: 20, rows: 4, title: 'demo', frames: input});
				const distinct = new Set(input.flatMap((frame) => frame.rows).filter((markup) => markup !== ''));
				expect([...svg.matchAll(/<g id="/g)].length).toBe(distinct.size);
			}),
		);
	});

	it('refuses no frames, and a frame of no time, saying what each frame needs', () => {
		expect(() => animatedSvg({cols: 20, rows: 1, title: 'demo', frames: []})).toThrow('at least one frame');
		for (const duration of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
			expect(() =>
				animatedSvg({
					cols: 20,
					rows: 1,
					title: 'demo',
					frames: [
						{rows: ['x'], duration: 1},
						{rows: [''], duration},
					],
				}),
			).toThrow('frame 2 lasts');
		}
	});
});
