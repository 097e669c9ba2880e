/**
 * Characters that are always exactly one terminal column and always a grapheme of their own: string-width counts each
 * as 1, none is full-width, default-ignorable, combining or a control character. The screens are full of them
 * (│ █ ▏ → · … › ✔ and braille charts), so the frame-building fast paths (string-width's, patched by
 * scripts/patch-dependencies.ts, and ./output.ts) cover them; test/unit/ui/dependency-patches.test.ts checks every
 * one against string-width and the ANSI tokenizer Ink uses.
 */
export const narrowRanges: ReadonlyArray<readonly [number, number]> = [
	[0x20, 0x7e], // printable ASCII
	[0xa1, 0xac], // Latin-1 punctuation (U+00AD, the soft hyphen, is zero-width)
	[0xae, 0xff],
	[0x2010, 0x2027], // dashes, quotes, bullets, ellipsis
	[0x2030, 0x205e],
	[0x2190, 0x21ff], // arrows
	[0x2500, 0x259f], // box drawing, block elements
	[0x27f0, 0x27ff], // supplemental arrows (⟳)
	[0x2800, 0x28ff], // braille patterns (charts)
];

const hex = (codePoint: number): string => `\\u${codePoint.toString(16).padStart(4, '0')}`;

/** The ranges as the body of a regular-expression character class. */
export const narrowClass = narrowRanges.map(([from, to]) => `${hex(from)}-${hex(to)}`).join('');
