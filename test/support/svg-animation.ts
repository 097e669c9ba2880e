/**
 * One SVG that plays terminal frames in turn, as GitHub shows it in a README (an asciinema .cast it does not show).
 * The frames sit side by side on a strip; a CSS keyframe animation moves the strip by one frame's width at each
 * frame's start time and loops. A row drawn the same in many frames is written once (<defs>) and used by reference,
 * which keeps a minute of recording small.
 */
import {CELL_HEIGHT, FONT, escapeXml, windowFrame} from './svg.ts';

export interface AnimationFrame {
	/** Each screen row's SVG elements, drawn as if it were the first row (rowToSvg with rowBaseline(0)). */
	rows: string[];
	/** Seconds on screen. */
	duration: number;
}

export interface Animation {
	cols: number;
	rows: number;
	title: string;
	frames: AnimationFrame[];
}

const round = (value: number, digits: number): string => Number(value.toFixed(digits)).toString();

export function animatedSvg({cols, rows, title, frames}: Animation): string {
	if (frames.length === 0) throw new Error('animatedSvg needs at least one frame.');
	const bad = frames.findIndex((frame) => !(Number.isFinite(frame.duration) && frame.duration > 0));
	if (bad !== -1) throw new Error(`frame ${bad + 1} lasts ${frames[bad]!.duration} s: every frame must last a positive number of seconds.`);
	const {width, height, chrome} = windowFrame(cols, rows);
	const frameWidth = round(width, 3);
	const ids = new Map<string, string>();
	const defs: string[] = [];
	const idOf = (markup: string): string => {
		let id = ids.get(markup);
		if (id === undefined) {
			id = `r${ids.size.toString(36)}`;
			ids.set(markup, id);
			defs.push(`<g id="${id}">${markup}</g>`);
		}

		return id;
	};

	const total = frames.reduce((sum, frame) => sum + frame.duration, 0);
	const stops: string[] = [];
	const strip: string[] = [];
	let start = 0;
	for (const [index, frame] of frames.entries()) {
		const uses = frame.rows.flatMap((markup, row) =>
			markup === '' ? [] : [`<use href="#${idOf(markup)}"${row === 0 ? '' : ` y="${round(row * CELL_HEIGHT, 3)}"`}/>`],
		);
		strip.push(`<g class="frame" transform="translate(${round(index * width, 3)})">${uses.join('')}</g>`);
		stops.push(`${round((start / total) * 100, 4)}%{transform:translateX(-${round(index * width, 3)}px)}`);
		start += frame.duration;
	}

	stops.push(`100%{transform:translateX(-${round((frames.length - 1) * width, 3)}px)}`);
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${frameWidth}" height="${round(height, 3)}" viewBox="0 0 ${frameWidth} ${round(height, 3)}">`,
		`<title>${escapeXml(title)}</title>`,
		`<style>.strip{animation:play ${round(total, 3)}s steps(1,end) infinite}@keyframes play{${stops.join('')}}</style>`,
		chrome,
		`<defs>${defs.join('\n')}</defs>`,
		`<g ${FONT}><g class="strip">`,
		strip.join('\n'),
		'</g></g></svg>',
	].join('\n');
}
