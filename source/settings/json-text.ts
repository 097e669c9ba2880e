/**
 * A strict JSON parser that remembers where every value and key starts, so that a settings error can point at a line
 * and column. It accepts only what JSON.parse accepts (the fuzz test holds it to that), and refuses two things
 * JSON.parse lets through silently: a key given twice (the second would quietly win) and nesting deeper than a
 * settings file could need.
 */

export type JsonNode =
	| {kind: 'object'; offset: number; entries: Array<{key: string; keyOffset: number; value: JsonNode}>}
	| {kind: 'array'; offset: number; items: JsonNode[]}
	| {kind: 'string'; offset: number; value: string}
	| {kind: 'number'; offset: number; value: number}
	| {kind: 'boolean'; offset: number; value: boolean}
	| {kind: 'null'; offset: number};

export class JsonTextError extends Error {
	override name = 'JsonTextError';
	readonly offset: number;
	constructor(message: string, offset: number) {
		super(message);
		this.offset = offset;
	}
}

const maxDepth = 64;
const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parse JSON text; throws JsonTextError with the offset of the first thing that is wrong. */
export function parseJsonText(text: string): JsonNode {
	let index = 0;

	const describe = (at: number): string => {
		if (at >= text.length) return 'the end of the file';
		const code = text.codePointAt(at)!;
		const character = String.fromCodePoint(code);
		return code < 0x20 || code === 0x7f || code === 0xfeff ? `character U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `"${character}"`;
	};

	const fail = (expected: string, at = index): never => {
		throw new JsonTextError(`expected ${expected}, found ${describe(at)}`, at);
	};

	const skipSpace = () => {
		while (index < text.length) {
			const character = text[index];
			if (character === ' ' || character === '\t' || character === '\n' || character === '\r') index++;
			else break;
		}
	};

	const parseString = (): string => {
		const start = index;
		index++; // the opening quote
		let result = '';
		for (;;) {
			if (index >= text.length) throw new JsonTextError('a string is not closed: add the closing "', start);
			const character = text[index]!;
			const code = character.charCodeAt(0);
			if (character === '"') {
				index++;
				return result;
			}

			if (code < 0x20) throw new JsonTextError(`a string holds a raw control character (U+${code.toString(16).toUpperCase().padStart(4, '0')}): write it as an escape such as \\n`, index);
			if (character !== '\\') {
				result += character;
				index++;
				continue;
			}

			const escape = text[index + 1];
			const simple: Record<string, string> = {'"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t'};
			if (escape !== undefined && escape in simple) {
				result += simple[escape];
				index += 2;
			} else if (escape === 'u' && /^[\da-fA-F]{4}$/.test(text.slice(index + 2, index + 6))) {
				result += String.fromCharCode(Number.parseInt(text.slice(index + 2, index + 6), 16));
				index += 6;
			} else {
				throw new JsonTextError('a string holds an invalid escape: use \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX', index);
			}
		}
	};

	const parseValue = (depth: number): JsonNode => {
		if (depth > maxDepth) throw new JsonTextError(`values are nested more than ${maxDepth} deep`, index);
		skipSpace();
		const offset = index;
		const character = text[index];
		if (character === '{') {
			index++;
			const entries: Array<{key: string; keyOffset: number; value: JsonNode}> = [];
			const seen = new Set<string>();
			skipSpace();
			if (text[index] === '}') {
				index++;
				return {kind: 'object', offset, entries};
			}

			for (;;) {
				skipSpace();
				if (text[index] !== '"') fail(entries.length === 0 ? 'a key in double quotes or "}"' : 'a key in double quotes (no comma after the last entry)');
				const keyOffset = index;
				const key = parseString();
				if (seen.has(key)) throw new JsonTextError(`the key "${key}" appears twice in the same object: keep one`, keyOffset);
				seen.add(key);
				skipSpace();
				if (text[index] !== ':') fail('":" after the key');
				index++;
				entries.push({key, keyOffset, value: parseValue(depth + 1)});
				skipSpace();
				if (text[index] === ',') {
					index++;
					continue;
				}

				if (text[index] === '}') {
					index++;
					return {kind: 'object', offset, entries};
				}

				fail('"," or "}"');
			}
		}

		if (character === '[') {
			index++;
			const items: JsonNode[] = [];
			skipSpace();
			if (text[index] === ']') {
				index++;
				return {kind: 'array', offset, items};
			}

			for (;;) {
				items.push(parseValue(depth + 1));
				skipSpace();
				if (text[index] === ',') {
					index++;
					continue;
				}

				if (text[index] === ']') {
					index++;
					return {kind: 'array', offset, items};
				}

				fail('"," or "]"');
			}
		}

		if (character === '"') return {kind: 'string', offset, value: parseString()};
		numberPattern.lastIndex = index;
		const number = numberPattern.exec(text);
		if (number) {
			index += number[0].length;
			return {kind: 'number', offset, value: Number(number[0])};
		}

		for (const [word, node] of [
			['true', {kind: 'boolean', offset, value: true}],
			['false', {kind: 'boolean', offset, value: false}],
			['null', {kind: 'null', offset}],
		] as const) {
			if (text.startsWith(word, index)) {
				index += word.length;
				return node;
			}
		}

		return fail('a value (an object, array, string, number, true, false or null)');
	};

	const root = parseValue(0);
	skipSpace();
	if (index < text.length) fail('the end of the file after the value');
	return root;
}

/** The plain value of a node, as JSON.parse would give it (keys are own properties, `__proto__` included). */
export function plainValue(node: JsonNode): unknown {
	switch (node.kind) {
		case 'object': {
			const result: Record<string, unknown> = {};
			for (const entry of node.entries) {
				Object.defineProperty(result, entry.key, {value: plainValue(entry.value), enumerable: true, writable: true, configurable: true});
			}

			return result;
		}

		case 'array': {
			return node.items.map((item) => plainValue(item));
		}

		case 'null': {
			return null;
		}

		default: {
			return node.value;
		}
	}
}

/** 1-based line and column of an offset (columns count UTF-16 units, as editors mostly do). */
export function lineColumn(text: string, offset: number): {line: number; column: number} {
	let line = 1;
	let lineStart = 0;
	for (let index = 0; index < Math.min(offset, text.length); index++) {
		if (text[index] === '\n') {
			line++;
			lineStart = index + 1;
		}
	}

	return {line, column: offset - lineStart + 1};
}
