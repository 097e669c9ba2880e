/**
 * A recording as animation frames: the cast is played into a headless xterm and the screen taken every STEP seconds
 * of recording time; a frame the same as the one before only makes that one last longer. A blank screen (before the
 * program draws, after it has quit) is no frame: it is dropped at the start and lengthens the frame before it later.
 */
import {createRequire} from 'node:module';
import type {Cast} from './cast.ts';
import type {AnimationFrame} from './svg-animation.ts';
import {rowBaseline, rowToSvg} from './svg.ts';

const require = createRequire(import.meta.url);
const {Terminal: XTerm} = require('@xterm/headless') as typeof import('@xterm/headless');

export async function castFrames(cast: Cast, {step, hold}: {step: number; hold: number}): Promise<AnimationFrame[]> {
	const terminal = new XTerm({cols: cast.header.width, rows: cast.header.height, allowProposedApi: true});
	const frames: AnimationFrame[] = [];
	const take = (duration: number) => {
		const rows = Array.from({length: terminal.rows}, (_, row) => rowToSvg(terminal, row, rowBaseline(0)).join(''));
		const last = frames.at(-1);
		if (rows.every((markup) => markup === '')) {
			if (last) last.duration += duration;
		} else if (last && last.rows.length === rows.length && last.rows.every((markup, index) => markup === rows[index]))
			last.duration += duration;
		else frames.push({rows, duration});
	};

	let next = 0;
	for (let time = step; next < cast.events.length; time += step) {
		while (next < cast.events.length && cast.events[next]![0] <= time) {
			const [, code, data] = cast.events[next]!;
			if (code === 'r') {
				const [cols, rows] = data.split('x').map(Number) as [number, number];
				terminal.resize(cols, rows);
			} else await new Promise<void>((resolve) => terminal.write(data, resolve));
			next++;
		}

		take(step);
	}

	take(hold);
	terminal.dispose();
	if (frames.length === 0) throw new Error('The recording never shows anything: no frame to draw.');
	return frames;
}
