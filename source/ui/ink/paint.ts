/**
 * Colour a string exactly as Ink's `<Text color={…}>` / `backgroundColor={…}` would (its colorize), and style it as
 * `<Text bold inverse>` would: for screens that draw many lines as one pre-coloured text instead of a tree of nested
 * <Text> elements, which Ink squashes, sanitises and measures again on every frame. Same chalk instance as Ink, so
 * NO_COLOR, FORCE_COLOR and the terminal's colour level apply the same way; test/unit/ui/paint.test.ts compares the two
 * for every theme colour at every level.
 */
import chalk, {foregroundColorNames} from 'chalk';

const rgb = /^rgb\(\s*(?<red>\d+)\s*,\s*(?<green>\d+)\s*,\s*(?<blue>\d+)\s*\)$/;
const ansi256 = /^ansi256\(\s?(?<value>\d+)\s?\)$/;
const named = new Set<string>(foregroundColorNames);

type Painter = (text: string) => string;
const unchanged: Painter = (text) => text;

export type Layer = 'foreground' | 'background';

function painterFor(color: string, layer: Layer): Painter {
	const background = layer === 'background';
	if (named.has(color)) {
		const name = background ? `bg${color[0]!.toUpperCase()}${color.slice(1)}` : color;
		return (chalk as unknown as Record<string, Painter>)[name] ?? unchanged;
	}

	if (color.startsWith('#')) return background ? chalk.bgHex(color) : chalk.hex(color);
	if (color.startsWith('ansi256')) {
		const value = ansi256.exec(color)?.groups?.['value'];
		if (value === undefined) return unchanged;
		return background ? chalk.bgAnsi256(Number(value)) : chalk.ansi256(Number(value));
	}

	if (color.startsWith('rgb')) {
		const groups = rgb.exec(color)?.groups;
		if (groups === undefined) return unchanged;
		const [red, green, blue] = [Number(groups['red']), Number(groups['green']), Number(groups['blue'])];
		return background ? chalk.bgRgb(red, green, blue) : chalk.rgb(red, green, blue);
	}

	return unchanged;
}

// A chalk builder fixes its codes for the colour level it was made at: keyed by both.
const painters = new Map<string, Painter>();

/** TEXT in COLOR, as `<Text color>` (or, for the background layer, `<Text backgroundColor>`) draws it. */
export function paint(text: string, color: string | undefined, layer: Layer = 'foreground'): string {
	if (!color) return text;
	const key = `${chalk.level}${layer === 'background' ? 'bg' : ''}${color}`;
	let painter = painters.get(key);
	if (painter === undefined) painters.set(key, (painter = painterFor(color, layer)));
	return painter(text);
}

export interface TextStyle {
	color?: string | undefined;
	backgroundColor?: string | undefined;
	bold?: boolean | undefined;
	inverse?: boolean | undefined;
}

/**
 * TEXT as `<Text {...style}>` draws it, in Ink's order (colour, background, bold, inverse). Like Ink, nothing for an
 * empty text: Ink applies no style to an empty one.
 */
export function styled(text: string, style: TextStyle): string {
	if (text === '') return text;
	let out = paint(paint(text, style.color), style.backgroundColor, 'background');
	if (style.bold) out = chalk.bold(out);
	if (style.inverse) out = chalk.inverse(out);
	return out;
}
