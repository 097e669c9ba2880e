/**
 * A Kubernetes list read while it arrives: the items of its top-level `items` array are parsed (and cut by the kind's
 * trim, trim.ts) as their text comes, a batch at a time, instead of the whole body being kept as one string and parsed
 * at the end. The API server writes a big list (1,000 pods: ~5 MB of JSON) over a hundred milliseconds or more, so the
 * parsing is done by the time the last byte comes; and the body's string and its parsed copy, most of which the trim
 * drops at once, never exist whole.
 *
 * The result is always what `JSON.parse(body)` and the trim give, or a failure when JSON.parse would throw or the body
 * is not a list: the text outside the items (the "shell", `{"kind":…,"items":[],"metadata":…}`) is parsed by
 * JSON.parse at the end, and each item's text on its own. If the shell and every item are valid JSON, so is the whole,
 * and it means the same (see test/unit/kube/list-reader.test.ts, which compares the two on generated lists cut into
 * random chunks, valid or broken).
 *
 * Finding where an item ends is the cost: read character by character, it is half the work of parsing. Every item of
 * an API server's list begins with the same key (`{"metadata":` for built-in kinds, `{"apiVersion":` for custom
 * resources), so the text gathered (~128 KB: each call of JSON.parse, and each small chunk of a response, TLS giving
 * 16 KB, costs on its own) is cut where the last `},{"metadata":` in it begins, and every item before the cut is
 * parsed as one array. If JSON.parse takes `[…]`, the text before the cut is a list of whole values, wherever the cut
 * came from. A cut inside an item (an array of objects beginning with that key, or the text in a string) leaves text
 * JSON.parse refuses: that text, and the last item of the list, are read character by character.
 */

export type ListObject = Record<string, unknown> & {items: unknown[]};
export type ReadList = {ok: true; list: ListObject} | {ok: false};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const isBlank = (text: string) => /^[ \t\n\r]*$/.test(text);
/** Text gathered before items are cut: each batch is one JSON.parse. */
const BATCH = 128 * 1024;
/** An item longer than this without a cut is read character by character (the list may not be an API server's). */
const MAX_UNCUT = 1 << 20;

export class ListReader {
	readonly #trim: ((item: unknown) => unknown) | undefined;
	/** The text outside the items array, up to and including its `[`, once the array has begun. */
	#shell = '';
	/** Text received and not yet moved to the shell or parsed as an item. */
	#text = '';
	/** Where the scan goes on in #text. */
	#position = 0;
	/** Open brackets and braces before #position (the top-level object is depth 1). */
	#depth = 0;
	/** #position is inside a string, which began at #stringStart. */
	#inString = false;
	#stringStart = 0;
	/** The last string closed at depth 1 (a key, when a colon follows), as raw text. */
	#lastTopString = '';
	/** A colon followed the key `items` at depth 1: the next value is the list's items. */
	#itemsValueNext = false;
	/** Inside the top-level items array; the current item's text begins at #itemStart in #text. */
	#inItems = false;
	#itemStart = 0;
	#items: unknown[] = [];
	#failed = false;
	/** Characters read one by one outside strings (the slow way; for tests and measurements). */
	scanned = 0;
	/** What precedes each item but the first: `},` and the first item's first key; null: items are not cut so. */
	#cut: string | null | undefined;
	/** The text since the last chunk came could not be cut: it is read character by character. */
	#slowText = false;
	/** The body has ended: the last item is read character by character. */
	#ending = false;
	/** Chunks not yet scanned, while items are cut: cut a batch at a time. */
	#chunks: string[] = [];
	#chunksLength = 0;

	constructor(trim?: (item: unknown) => unknown) {
		this.#trim = trim;
	}

	/** The next piece of the body, as text (a response decoded with setEncoding('utf8')). */
	push(chunk: string): void {
		if (this.#failed || chunk === '') return;
		if (this.#inItems && this.#cut && this.#position === this.#itemStart) {
			this.#chunks.push(chunk);
			this.#chunksLength += chunk.length;
			if (this.#chunksLength < BATCH) return;
			this.#flush();
		} else this.#append(chunk);
		this.#scan();
	}

	/** The chunks gathered, added to the text to scan. */
	#flush(): void {
		const joined = this.#chunks.join('');
		this.#chunks = [];
		this.#chunksLength = 0;
		this.#append(joined);
	}

	#append(chunk: string): void {
		if (this.#inItems && this.#itemStart > 0) {
			// Parsed items are dropped; the current item's text is kept.
			this.#text = this.#text.slice(this.#itemStart) + chunk;
			this.#position -= this.#itemStart;
			this.#stringStart -= this.#itemStart;
			this.#itemStart = 0;
		} else this.#text += chunk;
		this.#slowText = false;
	}

	/** The list, when the whole body was valid JSON whose top level is an object with an `items` array. */
	end(): ReadList {
		if (this.#chunksLength > 0 && !this.#failed) {
			this.#flush();
			this.#scan();
		}

		if (this.#inItems && !this.#failed) {
			// The last item, the end of the array and what follows it, read character by character from the item's start.
			this.#ending = true;
			this.#position = this.#itemStart;
			this.#depth = 2;
			this.#inString = false;
			this.#scan();
		}

		if (this.#failed || this.#inItems) return {ok: false};
		let shell: unknown;
		try {
			shell = JSON.parse(this.#shell + this.#text);
		} catch {
			return {ok: false};
		}

		if (typeof shell !== 'object' || shell === null || Array.isArray(shell)) return {ok: false};
		const list = shell as Record<string, unknown>;
		if (!Array.isArray(list['items'])) return {ok: false};
		// The last `items` key wins, as in JSON.parse; its array was the last one read, and is empty in the shell.
		list['items'] = this.#items;
		return {ok: true, list: list as ListObject};
	}

	#scan(): void {
		const text = this.#text;
		const length = text.length;
		let i = this.#position;
		while (i < length) {
			if (this.#inItems && i === this.#itemStart && !this.#slowText && !this.#ending && this.#cut !== null) {
				const fast = this.#cutItems(text);
				if (fast === 'failed') return;
				if (fast === 'wait') {
					this.#position = this.#itemStart;
					return;
				}

				this.#slowText = true;
				i = this.#itemStart;
				continue;
			}

			if (this.#inString) {
				const quote = closingQuote(text, i, this.#stringStart);
				if (quote < 0) {
					i = length;
					break;
				}

				this.#inString = false;
				if (this.#depth === 1) this.#lastTopString = text.slice(this.#stringStart, quote + 1);
				i = quote + 1;
				continue;
			}

			const code = text.charCodeAt(i);
			this.scanned++;
			if (this.#itemsValueNext && code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) {
				this.#itemsValueNext = false;
				if (code === OPEN_BRACKET && this.#depth === 1) {
					this.#depth = 2;
					this.#shell += text.slice(0, i + 1);
					this.#inItems = true;
					this.#itemStart = i + 1;
					this.#items = [];
					i++;
					continue;
				}
			}

			switch (code) {
				case QUOTE:
					this.#inString = true;
					this.#stringStart = i;
					break;
				case OPEN_BRACE:
				case OPEN_BRACKET:
					this.#depth++;
					break;
				case CLOSE_BRACE:
				case CLOSE_BRACKET:
					if (this.#inItems && this.#depth === 2) {
						// Only `]` may close the items array; anything else is broken JSON.
						if (code !== CLOSE_BRACKET || !this.#item(text.slice(this.#itemStart, i), this.#items.length === 0)) {
							this.#fail();
							return;
						}

						this.#inItems = false;
						this.#text = text.slice(i);
						this.#position = 1;
						this.#depth = 1;
						this.#scan();
						return;
					}

					this.#depth--;
					break;
				case COMMA:
					if (this.#inItems && this.#depth === 2) {
						if (!this.#item(text.slice(this.#itemStart, i), false)) {
							this.#fail();
							return;
						}

						this.#itemStart = i + 1;
					}

					break;
				case COLON:
					if (this.#depth === 1 && this.#lastTopString !== '') {
						this.#itemsValueNext = keyIsItems(this.#lastTopString);
						this.#lastTopString = '';
					}

					break;
				default:
			}

			i++;
		}

		this.#position = i;
	}

	/**
	 * Every item from #itemStart to the last cut in TEXT, parsed as one array (see the top of the file): 'wait' when
	 * they are kept, or no cut has come yet; 'slow' when the text is to be read character by character (JSON.parse
	 * refused it, or items are not cut so, or no cut came in MAX_UNCUT); 'failed' when the trim threw.
	 */
	#cutItems(text: string): 'wait' | 'slow' | 'failed' {
		const start = this.#itemStart;
		this.#cut ??= firstKey(text, start);
		if (this.#cut === undefined) return 'wait';
		if (this.#cut === null) return 'slow';
		const last = text.lastIndexOf(this.#cut);
		if (last < start) return text.length - start > MAX_UNCUT ? 'slow' : 'wait';
		let items: unknown;
		try {
			items = JSON.parse(`[${text.slice(start, last + 1)}]`);
		} catch {
			return 'slow';
		}

		try {
			for (const item of items as unknown[]) this.#items.push(this.#trim ? this.#trim(item) : item);
		} catch {
			this.#fail();
			return 'failed';
		}

		this.#itemStart = last + 2;
		return 'wait';
	}

	/** Parses and keeps one item's TEXT; false when it is not valid JSON (blank is allowed only when MAYBEEMPTY). */
	#item(text: string, maybeEmpty: boolean): boolean {
		if (isBlank(text)) return maybeEmpty;
		try {
			const item: unknown = JSON.parse(text);
			this.#items.push(this.#trim ? this.#trim(item) : item);
			return true;
		} catch {
			return false;
		}
	}

	#fail(): void {
		this.#failed = true;
		this.#text = '';
		this.#shell = '';
		this.#items = [];
	}
}

/** The index of the quote closing the string that began at START, searching from FROM; -1 if it has not come yet. */
function closingQuote(text: string, from: number, start: number): number {
	let search = Math.max(from, start + 1);
	for (;;) {
		const quote = text.indexOf('"', search);
		if (quote < 0) return -1;
		let backslashes = 0;
		for (let k = quote - 1; k > start && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
		if (backslashes % 2 === 0) return quote;
		search = quote + 1;
	}
}

/**
 * `},` and the opening of the item at START up to its first key's colon (`},{"metadata":`); null when the item does
 * not begin `{"key":`; undefined when that text has not all come yet.
 */
function firstKey(text: string, start: number): string | null | undefined {
	if (text.length < start + 2) return undefined;
	if (text.charCodeAt(start) !== OPEN_BRACE || text.charCodeAt(start + 1) !== QUOTE) return null;
	const quote = closingQuote(text, start + 2, start + 1);
	if (quote < 0) return text.length - start > 256 ? null : undefined;
	if (quote + 1 >= text.length) return undefined;
	return text.charCodeAt(quote + 1) === COLON ? `},${text.slice(start, quote + 2)}` : null;
}

function keyIsItems(raw: string): boolean {
	if (raw === '"items"') return true;
	if (!raw.includes('\\')) return false;
	try {
		return JSON.parse(raw) === 'items';
	} catch {
		return false;
	}
}
