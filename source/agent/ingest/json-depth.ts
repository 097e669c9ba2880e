/**
 * How deeply a JSON text nests, found without parsing it. Every walk over a parsed value (summaries, the
 * CloudEvents binding, JSON.stringify) recurses, so a valid body of 100,000 nested arrays would overflow the stack
 * there; checking the text first, in one loop, keeps that from ever reaching them.
 */

/** Deeper than any inference payload needs (OIP tensors nest a handful of levels). */
export const maxJsonDepth = 64;

const openArray = 0x5b;
const openObject = 0x7b;
const closeArray = 0x5d;
const closeObject = 0x7d;
const quote = 0x22;
const backslash = 0x5c;

/**
 * The first depth over `max` that the text reaches, else undefined. Brackets inside strings do not count. Bytes
 * of UTF-8 past ASCII never equal these, so a Buffer is scanned as it is.
 */
export function jsonDepthOver(text: Buffer | string, max = maxJsonDepth): number | undefined {
	const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
	let depth = 0;
	let inString = false;
	for (let index = 0; index < bytes.length; index++) {
		const byte = bytes[index]!;
		if (inString) {
			if (byte === backslash) index++;
			else if (byte === quote) inString = false;
			continue;
		}

		if (byte === quote) inString = true;
		else if (byte === openArray || byte === openObject) {
			depth++;
			if (depth > max) return depth;
		} else if (byte === closeArray || byte === closeObject) depth--;
	}

	return undefined;
}

/** The refusal for a text nested too deeply, naming the limit. */
export function tooDeepMessage(what: string, max = maxJsonDepth): string {
	return `${what} nests arrays and objects more than ${max} levels deep; at most ${max} are accepted (flatten the payload)`;
}
