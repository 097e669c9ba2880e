/** Render a headless xterm's screen to SVG: the screenshots come from the real program's real output. */
import type {Terminal} from '@xterm/headless';

const base16 = [
	'#1a1b26',
	'#f7768e',
	'#9ece6a',
	'#e0af68',
	'#7aa2f7',
	'#bb9af7',
	'#7dcfff',
	'#a9b1d6',
	'#414868',
	'#ff7a93',
	'#b9f27c',
	'#ff9e64',
	'#7da6ff',
	'#c0a8ff',
	'#0db9d7',
	'#c0caf5',
];
const background = '#1a1b26';
const foreground = '#c0caf5';

function palette(index: number): string {
	if (index < 16) return base16[index]!;
	if (index < 232) {
		const value = index - 16;
		const levels = [0, 95, 135, 175, 215, 255];
		const r = levels[Math.floor(value / 36)]!;
		const g = levels[Math.floor(value / 6) % 6]!;
		const b = levels[value % 6]!;
		return `rgb(${r},${g},${b})`;
	}

	const gray = 8 + (index - 232) * 10;
	return `rgb(${gray},${gray},${gray})`;
}

function hex(value: number): string {
	return `#${value.toString(16).padStart(6, '0')}`;
}

export function escapeXml(text: string): string {
	return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export const CELL_WIDTH = 8.4;
export const CELL_HEIGHT = 17;
export const PADDING = 12;
/** The window's title bar above the rows. */
export const TITLE_BAR = 24;
export const FONT = `font-family="'DejaVu Sans Mono','Menlo','Consolas',monospace" font-size="14" xml:space="preserve"`;

/** The window around a screen of COLS x ROWS: its size and the elements drawn before the rows. */
export function windowFrame(cols: number, rows: number): {width: number; height: number; chrome: string} {
	const width = cols * CELL_WIDTH + PADDING * 2;
	const height = rows * CELL_HEIGHT + PADDING * 2 + TITLE_BAR;
	const chrome = [
		`<rect width="100%" height="100%" rx="8" fill="${background}"/>`,
		`<circle cx="18" cy="14" r="5" fill="#f7768e"/><circle cx="34" cy="14" r="5" fill="#e0af68"/><circle cx="50" cy="14" r="5" fill="#9ece6a"/>`,
	].join('\n');
	return {width, height, chrome};
}

/** One row of the screen as SVG elements, its text's baseline at Y. */
export function rowToSvg(terminal: Terminal, row: number, y: number): string[] {
	const cellWidth = CELL_WIDTH;
	const cellHeight = CELL_HEIGHT;
	const padding = PADDING;
	const buffer = terminal.buffer.active;
	const cell = buffer.getNullCell();
	const parts: string[] = [];
	const line = buffer.getLine(buffer.viewportY + row);
	if (!line) return parts;
	let run: {x: number; text: string; fg: string; bg: string | undefined; bold: boolean; dim: boolean} | undefined;
	const flush = () => {
		if (!run) return;
		const x = padding + run.x * cellWidth;
		if (run.bg)
			parts.push(
				`<rect x="${x.toFixed(1)}" y="${y - 13}" width="${(run.text.length * cellWidth).toFixed(1)}" height="${cellHeight}" fill="${run.bg}"/>`,
			);
		if (run.text.trim() !== '') {
			parts.push(
				`<text x="${x.toFixed(1)}" y="${y}" fill="${run.fg}"${run.bold ? ' font-weight="bold"' : ''}${run.dim ? ' opacity="0.6"' : ''}>${escapeXml(run.text)}</text>`,
			);
		}

		run = undefined;
	};

	for (let column = 0; column < terminal.cols; column++) {
		line.getCell(column, cell);
		if (cell.getWidth() === 0) continue;
		let fg = cell.isFgRGB() ? hex(cell.getFgColor()) : cell.isFgPalette() ? palette(cell.getFgColor()) : foreground;
		let bg = cell.isBgRGB() ? hex(cell.getBgColor()) : cell.isBgPalette() ? palette(cell.getBgColor()) : undefined;
		if (cell.isInverse()) {
			const swappedBg = fg;
			fg = bg ?? background;
			bg = swappedBg;
		}

		const bold = cell.isBold() !== 0;
		const dim = cell.isDim() !== 0;
		const chars = cell.getChars() || ' ';
		if (run && run.fg === fg && run.bg === bg && run.bold === bold && run.dim === dim) run.text += chars;
		else {
			flush();
			run = {x: column, text: chars, fg, bg, bold, dim};
		}
	}

	flush();
	return parts;
}

/** The baseline of ROW's text. */
export function rowBaseline(row: number): number {
	return PADDING + TITLE_BAR + row * CELL_HEIGHT;
}

export function screenToSvg(terminal: Terminal, title: string): string {
	const {width, height, chrome} = windowFrame(terminal.cols, terminal.rows);
	const parts: string[] = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
		`<title>${escapeXml(title)}</title>`,
		chrome,
		`<g ${FONT}>`,
	];
	for (let row = 0; row < terminal.rows; row++) parts.push(...rowToSvg(terminal, row, rowBaseline(row)));
	parts.push('</g></svg>');
	return parts.join('\n');
}
