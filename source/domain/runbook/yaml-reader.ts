/** Reading a runbook's YAML nodes: mappings, text as written, and errors placed at their line. Pure. */
import {isMap, isPair, isScalar, type Node, type LineCounter, type YAMLMap} from 'yaml';
import type {RunbookError} from './types.ts';

export type Entry = {key: string; keyNode: Node; value: Node | null};

export class Reader {
	readonly errors: RunbookError[] = [];
	readonly #lines: LineCounter;
	readonly #lineCount: number;
	readonly #text: string;
	readonly #resolve: (node: Node) => Node;

	constructor(text: string, lines: LineCounter, resolve: (node: Node) => Node) {
		this.#text = text;
		this.#lines = lines;
		this.#lineCount = Math.max(1, text.split(/\r\n|\r|\n/).length);
		this.#resolve = resolve;
	}

	error(at: Node | number | null | undefined, message: string): void {
		const offset = typeof at === 'number' ? at : (at?.range?.[0] ?? 0);
		const position = this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length)));
		const line = Math.min(Math.max(1, position.line), this.#lineCount);
		this.errors.push({line, column: Math.max(1, position.col), message});
	}

	line(node: Node | null | undefined): number {
		const offset = node?.range?.[0] ?? 0;
		return Math.min(Math.max(1, this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length))).line), this.#lineCount);
	}

	node(node: unknown): Node | null {
		if (node === null || node === undefined) return null;
		return this.#resolve(node as Node);
	}

	/** The entries of a mapping, or an error saying a mapping was expected. */
	entries(node: Node | null, what: string, at: Node | null): Entry[] | undefined {
		if (!isMap(node)) {
			this.error(node ?? at, `${what} must be a mapping of keys to values (key: value, one per line)`);
			return undefined;
		}

		const entries: Entry[] = [];
		for (const item of (node as YAMLMap).items) {
			if (!isPair(item)) continue;
			const keyNode = this.node(item.key);
			if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
				this.error(keyNode ?? node, `${what} has a key that is not a plain name: write name: value`);
				continue;
			}

			entries.push({key: String(keyNode.value), keyNode, value: this.node(item.value)});
		}

		return entries;
	}

	/** A scalar as text: names keep the characters written (`1.10` stays `1.10`, not the number 1.1). */
	text(node: Node | null, what: string, at: Node): string | undefined {
		if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
			this.error(node ?? at, `${what} must be text, e.g. ${what}: fraud-detector`);
			return undefined;
		}

		if (typeof node.value === 'string') return node.value;
		const [start, end] = node.range ?? [0, 0];
		const written = this.#text.slice(start, end).trim();
		return written || String(node.value);
	}

	unknownKey(entry: Entry, where: string, known: readonly string[]): void {
		const suggestion = closest(entry.key, known);
		this.error(
			entry.keyNode,
			`unknown key "${entry.key}" in ${where}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: known keys are ${known.join(', ')}`,
		);
	}
}

/** The known name nearest to a misspelt one, when it is near enough to be what was meant. */
export function closest(word: string, known: readonly string[]): string | undefined {
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of known) {
		const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}

	return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edits (insert, delete, change, swap two neighbours) from one word to another: `wiat` is one from `wait`. */
function editDistance(a: string, b: string): number {
	if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
	const rows: number[][] = Array.from({length: a.length + 1}, (_, i) =>
		Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
	);
	for (let i = 1; i <= a.length; i++) {
		for (let j = 1; j <= b.length; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
			rows[i]![j] = best;
		}
	}

	return rows[a.length]![b.length]!;
}
