/**
 * A drop-in replacement for Ink 8's `build/output.js`, compiled into node_modules at install
 * (scripts/patch-dependencies.ts), so the tests, the bundle and the executable all draw with it. It draws exactly the
 * same frames as Ink's own (kept beside it as output.original.js; a property test compares the two on random
 * operations, styles, wide characters, clips and transformers), with far less work and garbage per frame:
 *
 * - What a text and its lines turn into (the lines' styled strings, their widths, their clipped slices, their
 *   styled characters) is kept for two frames, keyed by content, so an unchanged text costs a few map lookups.
 *   Entries keep their first key, so the new but equal strings each frame builds are not retained.
 * - Lines made only of one-column characters and SGR codes (nearly all of the console's) are split into styled
 *   characters without Intl.Segmenter, and those characters are interned: one object per character and style, so a
 *   changed line retains an array of references rather than an object and a style array per character.
 * - The character grid is two reused buffers; a row whose cells are the same objects as in the previous frame reuses
 *   its string, and style changes between cells are turned into escape codes once per pair of styles.
 *
 * Ink constructs one Output per frame (two with <Static>, which the console does not use); construction marks a new
 * frame for the caches. Nothing here is mutated once built: cells and style arrays are shared and frozen.
 */
import {
	type AnsiCode,
	ansiCodesToString,
	diffAnsiCodes,
	reduceAnsiCodesIncremental,
	type StyledChar,
	styledCharsFromTokens,
	styledCharsToString,
	tokenize,
} from '@alcalzone/ansi-tokenize';
import stringWidth from 'string-width';
import {narrowClass} from './narrow-characters.ts';

type Cell = StyledChar;
type Styles = readonly AnsiCode[];
type Transformer = (line: string, index: number) => string;

export interface Clip {
	x1?: number | undefined;
	x2?: number | undefined;
	y1?: number | undefined;
	y2?: number | undefined;
}

type Operation =
	| {type: 'write'; x: number; y: number; text: string; transformers: Transformer[]}
	| {type: 'clip'; clip: Clip}
	| {type: 'unclip'};

// ---------------------------------------------------------------------------------------------------------------
// Ink's own helpers, unchanged in behaviour.

/** Replaces a partially visible wide character with a space that keeps its styles. */
const blankCell = (cell: Cell): Cell => ({...cell, value: ' ', fullWidth: false});

const intersectBound = (a: number | undefined, b: number | undefined, tighter: (a: number, b: number) => number): number | undefined => {
	if (a === undefined) return b;
	return b === undefined ? a : tighter(a, b);
};

const isClipEmpty = (clip: Clip): boolean =>
	(clip.x1 !== undefined && clip.x2 !== undefined && clip.x1 >= clip.x2) ||
	(clip.y1 !== undefined && clip.y2 !== undefined && clip.y1 >= clip.y2);

const intersectClips = (outer: Clip | undefined, inner: Clip): Clip => {
	if (!outer) return inner;
	return {
		x1: intersectBound(outer.x1, inner.x1, Math.max),
		x2: intersectBound(outer.x2, inner.x2, Math.min),
		y1: intersectBound(outer.y1, inner.y1, Math.max),
		y2: intersectBound(outer.y2, inner.y2, Math.min),
	};
};

const defaultIgnorable = /^\p{Default_Ignorable_Code_Point}+$/u;

// ---------------------------------------------------------------------------------------------------------------
// Caches kept for two frames.

interface Keyed {
	readonly key: string;
}

class TwoFrameCache<V extends Keyed> {
	#current = new Map<string, V>();
	#previous = new Map<string, V>();

	get(key: string): V | undefined {
		let value = this.#current.get(key);
		if (value === undefined) {
			value = this.#previous.get(key);
			// Re-filed under the key it was built with, so the caller's equal string is not kept alive.
			if (value !== undefined) this.#current.set(value.key, value);
		}

		return value;
	}

	set(value: V): V {
		this.#current.set(value.key, value);
		return value;
	}

	nextFrame(): void {
		const emptied = this.#previous;
		emptied.clear();
		this.#previous = this.#current;
		this.#current = emptied;
	}
}

/** What a written text turns into before clipping. */
interface TextEntry extends Keyed {
	/** The text's lines as styled strings (Ink: styledCharsToString of each line of its styled characters). */
	readonly lines: string[];
	/** Each line's width (Ink measures it again for every horizontal clip). */
	readonly widths: number[];
	/** The widest line of the raw text (Ink's getWidestLine). */
	readonly widest: number;
	/** The last horizontal slice of each line: from, to and the result. */
	readonly sliceFrom: number[];
	readonly sliceTo: number[];
	readonly sliced: string[];
}

interface LineEntry extends Keyed {
	readonly cells: Cell[];
}

const texts = new TwoFrameCache<TextEntry>();
const lineCells = new TwoFrameCache<LineEntry>();
const widths = new Map<string, number>();
/** UTF-16 units of the keys in `widths`: the cache is bounded by what it holds, not only by its count. */
let widthsUnits = 0;

function widthOf(text: string): number {
	let width = widths.get(text);
	if (width === undefined) {
		width = stringWidth(text);
		if (widths.size >= 10_000 || widthsUnits >= 200_000) {
			widths.clear();
			widthsUnits = 0;
		}

		widths.set(text, width);
		widthsUnits += text.length;
	}

	return width;
}

// ---------------------------------------------------------------------------------------------------------------
// Styled characters, interned.

interface StyleState {
	readonly codes: Styles;
	/** Cells of this style by character code (fast path only). */
	readonly cells: Map<number, Cell>;
	/** The style after an SGR sequence, by the sequence. */
	readonly after: Map<string, StyleState>;
}

const styleStates = new Map<string, StyleState>();
let internedCells = 0;

function styleState(codes: Styles): StyleState {
	// Bounded like the cells: text from outside could bring any number of distinct styles.
	if (styleStates.size > 1000) {
		for (const each of styleStates.values()) each.after.clear();
		styleStates.clear();
	}

	const key = codes.map((code) => `${code.code}\u0000${code.endCode}`).join('\u0001');
	let state = styleStates.get(key);
	if (state === undefined) {
		state = {codes: Object.freeze(codes.map((code) => Object.freeze({...code}))), cells: new Map(), after: new Map()};
		styleStates.set(key, state);
	}

	return state;
}

const plainStyle = styleState([]);

function styleAfter(state: StyleState, sequence: string): StyleState {
	let next = state.after.get(sequence);
	if (next === undefined) {
		// The tokenizer's own reading of the sequence, applied as styledCharsFromTokens applies it: token by token.
		let codes: AnsiCode[] = [...state.codes];
		for (const token of tokenize(sequence)) if (token.type === 'ansi') codes = reduceAnsiCodesIncremental(codes, [token]);
		next = styleState(codes);
		state.after.set(sequence, next);
	}

	return next;
}

function internedCell(state: StyleState, code: number): Cell {
	let cell = state.cells.get(code);
	if (cell === undefined) {
		if (internedCells > 50_000) {
			for (const each of styleStates.values()) each.cells.clear();
			internedCells = 0;
		}

		cell = Object.freeze({type: 'char', value: String.fromCharCode(code), fullWidth: false, styles: state.codes}) as Cell;
		state.cells.set(code, cell);
		internedCells++;
	}

	return cell;
}

/** One-column characters, newlines and well-formed SGR sequences: one UTF-16 unit is one grapheme and one cell. */
const simpleLine = new RegExp(`^(?:[${narrowClass}\\n]|\\u001b\\[[0-9;]*m)*$`);

/** Ink's getStyledChars: the styled characters of a string, invisible ones dropped. */
function styledCharsOf(line: string): Cell[] {
	const cached = lineCells.get(line);
	if (cached !== undefined) return cached.cells;
	let cells: Cell[];
	if (simpleLine.test(line)) {
		cells = [];
		let state = plainStyle;
		for (let index = 0; index < line.length; ) {
			const code = line.charCodeAt(index);
			if (code === 0x1b) {
				const end = line.indexOf('m', index) + 1;
				state = styleAfter(state, line.slice(index, end));
				index = end;
			} else {
				cells.push(internedCell(state, code));
				index++;
			}
		}
	} else {
		cells = styledCharsFromTokens(tokenize(line)).filter((character) => !defaultIgnorable.test(character.value));
	}

	lineCells.set({key: line, cells});
	return cells;
}

function textEntry(text: string): TextEntry {
	const cached = texts.get(text);
	if (cached !== undefined) return cached;
	const characterLines: Cell[][] = [[]];
	for (const character of styledCharsOf(text)) {
		if (character.value === '\n') characterLines.push([]);
		else characterLines.at(-1)!.push(character);
	}

	const lines = characterLines.map((line) => styledCharsToString(line));
	let widest = 0;
	for (const line of text.split('\n')) widest = Math.max(widest, widthOf(line));
	return texts.set({
		key: text,
		lines,
		widths: lines.map((line) => widthOf(line)),
		widest,
		sliceFrom: lines.map(() => Number.NaN),
		sliceTo: lines.map(() => Number.NaN),
		sliced: lines.map(() => ''),
	});
}

/** Ink's sliceLineToColumns: the columns [from, to) of a styled line; a wide character cut by an edge becomes a space. */
function sliceLineToColumns(line: string, from: number, to: number): string {
	if (from >= to) return '';
	const result: Cell[] = [];
	let column = 0;
	for (const character of styledCharsOf(line)) {
		const width = widthOf(character.value);
		const start = column;
		column += width;
		if (column <= from) continue;
		if (start >= to) break;
		result.push(width > 1 && (start < from || column > to) ? blankCell(character) : character);
	}

	return styledCharsToString(result);
}

// ---------------------------------------------------------------------------------------------------------------
// Rows to strings.

const opening = new WeakMap<Styles, string>();
const closing = new WeakMap<Styles, string>();
const changes = new WeakMap<Styles, WeakMap<Styles, string>>();

function isSameStyle(from: Styles, to: Styles): boolean {
	if (from === to) return true;
	if (from.length !== to.length) return false;
	for (let index = 0; index < from.length; index++) {
		if (from[index]!.code !== to[index]!.code || from[index]!.endCode !== to[index]!.endCode) return false;
	}

	return true;
}

function openingOf(styles: Styles): string {
	let codes = opening.get(styles);
	if (codes === undefined) opening.set(styles, (codes = ansiCodesToString([...styles])));
	return codes;
}

function closingOf(styles: Styles): string {
	let codes = closing.get(styles);
	if (codes === undefined) closing.set(styles, (codes = ansiCodesToString(diffAnsiCodes([...styles], []))));
	return codes;
}

function changeOf(from: Styles, to: Styles): string {
	let byTarget = changes.get(from);
	if (byTarget === undefined) changes.set(from, (byTarget = new WeakMap()));
	let codes = byTarget.get(to);
	if (codes === undefined) byTarget.set(to, (codes = isSameStyle(from, to) ? '' : ansiCodesToString(diffAnsiCodes([...from], [...to]))));
	return codes;
}

/** styledCharsToString of the row's cells (holes skipped), then trimEnd: Ink's row. */
function rowToString(row: Array<Cell | undefined>): string {
	let text = '';
	let previous: Cell | undefined;
	for (let index = 0; index < row.length; index++) {
		const cell = row[index];
		if (cell === undefined) continue;
		text += previous === undefined ? openingOf(cell.styles) : changeOf(previous.styles, cell.styles);
		text += cell.value;
		previous = cell;
	}

	if (previous !== undefined) text += closingOf(previous.styles);
	return text.trimEnd();
}

// Two grids, used in turn: the previous frame's rows stay intact to compare with.
const grids: Array<Array<Array<Cell | undefined>>> = [[], []];
const gridStrings: string[][] = [[], []];
let gridTurn = 0;

/** Rows written at a negative or fractional column: they carry a property a fresh array would not have. */
const irregularRows = new WeakSet<Array<Cell | undefined>>();

/** The blank cell, shared (cells are replaced, never changed), in the plain style of the fast path's cells. */
const blankSpace: Cell = Object.freeze({type: 'char', value: ' ', fullWidth: false, styles: plainStyle.codes}) as Cell;

function isPlainIndex(index: number): boolean {
	return index >= 0 && Number.isInteger(index);
}

export default class Output {
	width: number;
	height: number;
	readonly operations: Operation[] = [];

	constructor(options: {width: number; height: number}) {
		const {width, height} = options;
		this.width = width;
		this.height = height;
		texts.nextFrame();
		lineCells.nextFrame();
	}

	write(x: number, y: number, text: string, options: {transformers: Transformer[]}): void {
		if (text === '') return;
		this.operations.push({type: 'write', x, y, text, transformers: options.transformers});
	}

	clip(clip: Clip): void {
		this.operations.push({type: 'clip', clip});
	}

	unclip(): void {
		this.operations.push({type: 'unclip'});
	}

	get(): {output: string; height: number} {
		gridTurn = 1 - gridTurn;
		const rows = grids[gridTurn]!;
		const strings = gridStrings[gridTurn]!;
		const previousRows = grids[1 - gridTurn]!;
		const previousStrings = gridStrings[1 - gridTurn]!;
		const output: Array<Array<Cell | undefined>> = [];
		for (let y = 0; y < this.height; y++) {
			let row = rows[y];
			if (row === undefined || irregularRows.has(row)) rows[y] = row = [];
			row.length = this.width;
			row.fill(blankSpace);
			output.push(row);
		}

		const clips: Clip[] = [];
		for (const operation of this.operations) {
			if (operation.type === 'clip') clips.push(intersectClips(clips.at(-1), operation.clip));
			else if (operation.type === 'unclip') clips.pop();
			else this.#apply(output, operation, clips.at(-1));
		}

		let generated = '';
		for (let y = 0; y < output.length; y++) {
			const row = output[y]!;
			const previous = previousRows[y];
			let same = previous !== undefined && previous.length === row.length && previousStrings[y] !== undefined;
			for (let index = 0; same && index < row.length; index++) if (row[index] !== previous![index]) same = false;
			const line = same ? previousStrings[y]! : rowToString(row);
			strings[y] = line;
			generated += y === 0 ? line : `\n${line}`;
		}

		strings.length = output.length;
		return {output: generated, height: output.length};
	}

	#apply(output: Array<Array<Cell | undefined>>, operation: Extract<Operation, {type: 'write'}>, clip: Clip | undefined): void {
		const {text, transformers} = operation;
		let {x, y} = operation;
		const entry = textEntry(text);
		let first = 0;
		let end = entry.lines.length;
		let clipped = false;
		if (clip) {
			if (isClipEmpty(clip)) return;
			const clipHorizontally = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
			const clipVertically = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
			if (clipHorizontally && (x + entry.widest < clip.x1! || x > clip.x2!)) return;
			if (clipVertically && (y + entry.lines.length < clip.y1! || y > clip.y2!)) return;
			if (clipHorizontally) {
				clipped = true;
				for (let index = 0; index < entry.lines.length; index++) {
					const from = x < clip.x1! ? clip.x1! - x : 0;
					const width = entry.widths[index]!;
					const to = x + width > clip.x2! ? clip.x2! - x : width;
					if (entry.sliceFrom[index] !== from || entry.sliceTo[index] !== to) {
						entry.sliced[index] = sliceLineToColumns(entry.lines[index]!, from, to);
						entry.sliceFrom[index] = from;
						entry.sliceTo[index] = to;
					}
				}

				if (x < clip.x1!) x = clip.x1!;
			}

			if (clipVertically) {
				const height = end;
				first = y < clip.y1! ? clip.y1! - y : 0;
				end = y + height > clip.y2! ? clip.y2! - y : height;
				if (y < clip.y1!) y = clip.y1!;
			}
		}

		const lines = clipped ? entry.sliced : entry.lines;
		// As Array.prototype.slice(first, end) would pick them.
		const start = first < 0 ? Math.max(entry.lines.length + first, 0) : Math.min(first, entry.lines.length);
		const stop = end < 0 ? Math.max(entry.lines.length + end, 0) : Math.min(end, entry.lines.length);
		for (let position = start; position < stop; position++) {
			const index = position - start;
			const currentLine = output[y + index];
			if (!currentLine) continue;
			let line = lines[position]!;
			for (const transformer of transformers) line = transformer(line, index + y - operation.y);
			const characters = styledCharsOf(line);
			if (characters.length === 0) continue;
			let offsetX = x;
			if (currentLine[offsetX]?.value === '' && offsetX > 0 && widthOf(currentLine[offsetX - 1]?.value ?? '') > 1) {
				currentLine[offsetX - 1] = blankCell(currentLine[offsetX - 1]!);
			}

			for (const character of characters) {
				currentLine[offsetX] = character;
				const characterWidth = Math.max(1, widthOf(character.value));
				if (characterWidth > 1) {
					for (let offset = 1; offset < characterWidth; offset++) {
						// Preserve visible cells when the leading cell is outside the output.
						currentLine[offsetX + offset] = {type: 'char', value: offsetX < 0 ? ' ' : '', fullWidth: false, styles: character.styles};
					}
				}

				offsetX += characterWidth;
			}

			if (currentLine[offsetX]?.value === '') currentLine[offsetX] = blankCell(currentLine[offsetX]!);
			if (!isPlainIndex(x)) irregularRows.add(currentLine);
		}
	}
}
