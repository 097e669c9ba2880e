/**
 * Colour a string exactly as Ink's `<Text color={…}>` would (its colorize, foreground): for screens that draw many
 * lines as one pre-coloured text instead of a tree of nested <Text> elements, which Ink squashes, sanitises and
 * measures again on every frame. Same chalk instance as Ink, so NO_COLOR, FORCE_COLOR and the terminal's colour
 * level apply the same way; test/unit/ui/paint.test.ts compares the two for every theme colour at every level.
 */
import chalk, {foregroundColorNames} from 'chalk';

const rgb = /^rgb\(\s*(?<red>\d+)\s*,\s*(?<green>\d+)\s*,\s*(?<blue>\d+)\s*\)$/;
const ansi256 = /^ansi256\(\s?(?<value>\d+)\s?\)$/;
const named = new Set<string>(foregroundColorNames);

type Painter = (text: string) => string;
const unchanged: Painter = (text) => text;

function painterFor(color: string): Painter {
	if (named.has(color)) return chalk[color as (typeof foregroundColorNames)[number]];
	if (color.startsWith('#')) return chalk.hex(color);
	if (color.startsWith('ansi256')) {
		const value = ansi256.exec(color)?.groups?.['value'];
		return value === undefined ? unchanged : chalk.ansi256(Number(value));
	}

	if (color.startsWith('rgb')) {
		const groups = rgb.exec(color)?.groups;
		return groups === undefined ? unchanged : chalk.rgb(Number(groups['red']), Number(groups['green']), Number(groups['blue']));
	}

	return unchanged;
}

// A chalk builder fixes its codes for the colour level it was made at: keyed by both.
const painters = new Map<string, Painter>();

export function paint(text: string, color: string | undefined): string {
	if (!color) return text;
	const key = `${chalk.level}${color}`;
	let painter = painters.get(key);
	if (painter === undefined) painters.set(key, (painter = painterFor(color)));
	return painter(text);
}
