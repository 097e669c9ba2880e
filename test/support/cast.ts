/**
 * Reads an asciinema v2 recording as a player would, strictly, and replays it into a headless xterm: the e2e test of
 * --record and the README demo script check recordings with this.
 */
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const {Terminal: XTerm} = require('@xterm/headless') as typeof import('@xterm/headless');

export interface Cast {
	header: {version: 2; width: number; height: number; timestamp: number; title?: string; env?: Record<string, string>};
	events: Array<[number, 'o' | 'r', string]>;
}

/** Parse TEXT as asciinema v2, or throw saying which line is wrong. */
export function parseCast(text: string): Cast {
	const lines = text.split('\n');
	if (lines.at(-1) === '') lines.pop();
	const parse = (line: string, number: number): unknown => {
		try {
			return JSON.parse(line);
		} catch (error) {
			throw new Error(`line ${number} is not JSON (${(error as Error).message}): ${line.slice(0, 80)}`);
		}
	};

	const header = parse(lines[0] ?? '', 1) as Cast['header'];
	if (typeof header !== 'object' || header === null || header.version !== 2) throw new Error('line 1 is not a v2 header');
	for (const key of ['width', 'height', 'timestamp'] as const) {
		if (!Number.isInteger(header[key]) || header[key] < 0) throw new Error(`header's ${key} is not a whole number: ${header[key]}`);
	}

	let previous = 0;
	const events = lines.slice(1).map((line, index) => {
		const event = parse(line, index + 2) as Cast['events'][number];
		const [time, code, data] = event;
		if (!Array.isArray(event) || event.length !== 3 || typeof time !== 'number' || typeof data !== 'string') {
			throw new Error(`line ${index + 2} is not [time, code, data]: ${line.slice(0, 80)}`);
		}

		if (!(time >= previous)) throw new Error(`line ${index + 2} goes back in time (${time} after ${previous})`);
		if (code !== 'o' && code !== 'r') throw new Error(`line ${index + 2} has the event code ${String(code)}`);
		if (code === 'r' && !/^\d+x\d+$/.test(data)) throw new Error(`line ${index + 2} resizes to ${data}`);
		previous = time;
		return event;
	});
	return {header, events};
}

/** A fresh terminal of the header's size, with every event of CAST played into it. */
export async function replayCast(cast: Cast): Promise<InstanceType<typeof XTerm>> {
	const terminal = new XTerm({cols: cast.header.width, rows: cast.header.height, allowProposedApi: true});
	for (const [, code, data] of cast.events) {
		if (code === 'r') {
			const [cols, rows] = data.split('x').map(Number) as [number, number];
			terminal.resize(cols, rows);
		} else {
			await new Promise<void>((resolve) => terminal.write(data, resolve));
		}
	}

	return terminal;
}

/** What a terminal shows: which screen (normal or alternate), every row's text, and where the cursor is. */
export function terminalState(terminal: InstanceType<typeof XTerm>): string {
	const buffer = terminal.buffer.active;
	const rows: string[] = [];
	for (let row = 0; row < terminal.rows; row++) {
		rows.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true, 0, terminal.cols) ?? '');
	}

	return [`${buffer.type} screen ${terminal.cols}x${terminal.rows}, cursor at ${buffer.cursorX},${buffer.cursorY}`, ...rows].join('\n');
}
