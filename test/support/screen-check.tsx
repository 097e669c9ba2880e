/**
 * Renders the real console tree at a given terminal size and checks what a frame must hold at any size: no line
 * wider than the terminal, no more lines than it has rows, and no text drawn over other text or outside the screen.
 *
 * Overlap cannot be seen in the finished frame (the later text simply wins), so Ink's Output is watched: every text
 * it writes in a frame is placed on a grid of owners, after the clips Ink applies, and a visible character written
 * where another text already put a visible character is reported, as is one written outside the terminal.
 */
import {EventEmitter} from 'node:events';
import {createRequire} from 'node:module';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {render} from 'ink';
import stringWidth from 'string-width';
import {createConsole, type ConsoleSetup} from '../../source/app.tsx';
import {consoleDefaults} from './console-defaults.ts';
import {key} from './keys.ts';

interface Clip {
	x1?: number;
	x2?: number;
	y1?: number;
	y2?: number;
}

type Operation = {type: 'write'; x: number; y: number; text: string} | {type: 'clip'; clip: Clip} | {type: 'unclip'};

export interface Violation {
	kind: 'overlap' | 'outside';
	x: number;
	y: number;
	/** The text written there, and (for an overlap) the text it covered. */
	text: string;
	covered?: string;
}

const ansi = /\u001B\[[0-9;:]*m|\u001B\]8;[^\u0007\u001B]*(?:\u0007|\u001B\\)/g;
const segmenter = new Intl.Segmenter();

function intersect(outer: Clip | undefined, inner: Clip): Clip {
	if (!outer) return inner;
	const pick = (a: number | undefined, b: number | undefined, tighter: (x: number, y: number) => number) =>
		a === undefined ? b : b === undefined ? a : tighter(a, b);
	const clip: Clip = {};
	const x1 = pick(outer.x1, inner.x1, Math.max);
	const x2 = pick(outer.x2, inner.x2, Math.min);
	const y1 = pick(outer.y1, inner.y1, Math.max);
	const y2 = pick(outer.y2, inner.y2, Math.min);
	if (x1 !== undefined) clip.x1 = x1;
	if (x2 !== undefined) clip.x2 = x2;
	if (y1 !== undefined) clip.y1 = y1;
	if (y2 !== undefined) clip.y2 = y2;
	return clip;
}

/** Where every visible character of a frame's writes lands, and which of them collide or fall off the screen. */
export function findViolations(operations: readonly Operation[], columns: number, rows: number): Violation[] {
	const owners = new Map<number, number>();
	const violations: Violation[] = [];
	const clips: Clip[] = [];
	const texts = operations.map((operation) => (operation.type === 'write' ? operation.text.replace(ansi, '') : ''));
	for (const [index, operation] of operations.entries()) {
		if (operation.type === 'clip') {
			clips.push(intersect(clips.at(-1), operation.clip));
			continue;
		}

		if (operation.type === 'unclip') {
			clips.pop();
			continue;
		}

		const clip = clips.at(-1) ?? {};
		for (const [lineIndex, line] of texts[index]!.split('\n').entries()) {
			const y = operation.y + lineIndex;
			let x = operation.x;
			for (const {segment} of segmenter.segment(line)) {
				const width = stringWidth(segment);
				const visible =
					(clip.x1 === undefined || x >= clip.x1) &&
					(clip.x2 === undefined || x < clip.x2) &&
					(clip.y1 === undefined || y >= clip.y1) &&
					(clip.y2 === undefined || y < clip.y2);
				if (visible && segment.trim() !== '' && width > 0) {
					if (x < 0 || y < 0 || x + width > columns || y >= rows) {
						violations.push({kind: 'outside', x, y, text: line.trim()});
					} else {
						for (let cell = 0; cell < width; cell++) {
							const at = y * columns + x + cell;
							const owner = owners.get(at);
							if (owner !== undefined && owner !== index) {
								violations.push({
									kind: 'overlap',
									x: x + cell,
									y,
									text: line.trim(),
									covered: texts[owner]!.split('\n')[y - (operations[owner] as {y: number}).y]?.trim() ?? '',
								});
							}

							owners.set(at, index);
						}
					}
				}

				x += Math.max(1, width);
			}
		}
	}

	return violations;
}

// Ink's Output is not exported: it is reached by its file, the same module instance Ink's renderer imports.
const require = createRequire(import.meta.url);
const inkBuild = path.dirname(require.resolve('ink'));
const {default: Output} = (await import(pathToFileURL(path.join(inkBuild, 'output.js')).href)) as {
	default: {prototype: {get(this: {operations: Operation[]}): unknown}};
};
let watched: {columns: number; rows: number; violations: Violation[]} | undefined;
const originalGet = Output.prototype.get;
Output.prototype.get = function (this: {operations: Operation[]}) {
	if (watched) watched.violations = findViolations(this.operations, watched.columns, watched.rows);
	return originalGet.call(this);
};

class FakeStdout extends EventEmitter {
	lastFrame = '';
	isTTY = true;
	columns: number;
	rows: number;
	constructor(columns: number, rows: number) {
		super();
		this.columns = columns;
		this.rows = rows;
	}

	write = (frame: string) => {
		this.lastFrame = frame;
		return true;
	};
}

class FakeStdin extends EventEmitter {
	isTTY = true;
	data: string | null = null;
	write(data: string) {
		this.data = data;
		this.emit('readable');
		this.emit('data', data);
	}

	read = () => {
		const {data} = this;
		this.data = null;
		return data;
	};

	setEncoding() {}
	setRawMode() {}
	resume() {}
	pause() {}
	ref() {}
	unref() {}
}

export async function settle(ms = 30): Promise<void> {
	await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The console at `columns` x `rows`. The fake terminal is wider and taller than that by a margin, so a line that
 * overflows shows in the frame instead of being cut by the terminal.
 */
export async function renderAtSize(setup: Partial<ConsoleSetup> & Pick<ConsoleSetup, 'sources'>, columns: number, rows: number) {
	const handle = createConsole({...consoleDefaults, ...setup}, {width: columns, height: rows});
	const stdout = new FakeStdout(columns + 40, rows + 20);
	const stdin = new FakeStdin();
	watched = {columns, rows, violations: []};
	handle.controller.start();
	const instance = render(handle.element, {
		stdout: stdout as unknown as NodeJS.WriteStream,
		stderr: new FakeStdout(columns, rows) as unknown as NodeJS.WriteStream,
		stdin: stdin as unknown as NodeJS.ReadStream,
		debug: true,
		exitOnCtrlC: false,
		patchConsole: false,
	});
	await settle();
	return {
		...handle,
		frame: () => stdout.lastFrame,
		violations: () => watched?.violations ?? [],
		async press(...names: string[]) {
			for (const name of names) {
				stdin.write(key(name));
				await settle(name === 'esc' ? 45 : 15);
			}
		},
		async type(text: string) {
			for (const character of text) {
				stdin.write(character);
				await settle(5);
			}

			await settle();
		},
		async waitFor(match: string | RegExp | ((frame: string) => boolean), timeoutMs = 10_000): Promise<string> {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const frame = stdout.lastFrame;
				const found = typeof match === 'string' ? frame.includes(match) : typeof match === 'function' ? match(frame) : match.test(frame);
				if (found) return frame;
				if (Date.now() > deadline) throw new Error(`Timed out waiting for ${String(match)}. Frame:\n${frame}`);
				await settle(20);
			}
		},
		cleanup() {
			handle.controller.stop();
			instance.unmount();
			watched = undefined;
		},
	};
}

/** What every frame must hold at `columns` x `rows`, as messages (empty when it holds). */
export function frameProblems(frame: string, violations: readonly Violation[], columns: number, rows: number): string[] {
	const problems: string[] = [];
	const lines = frame.split('\n');
	if (lines.length > rows) problems.push(`${lines.length} lines on a screen of ${rows} rows`);
	for (const [index, line] of lines.entries()) {
		const width = stringWidth(line);
		if (width > columns) problems.push(`line ${index + 1} is ${width} columns wide on a screen of ${columns}: ${line}`);
	}

	for (const violation of violations.slice(0, 5)) {
		problems.push(
			violation.kind === 'overlap'
				? `"${violation.text}" is drawn over "${violation.covered}" at column ${violation.x + 1}, row ${violation.y + 1}`
				: `"${violation.text}" is drawn outside the screen at column ${violation.x + 1}, row ${violation.y + 1}`,
		);
	}

	return problems;
}
