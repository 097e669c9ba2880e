/** Pure formatting of figures for cells. No data is shown as `–`, never as 0. */

export const NO_DATA = '–';

export function formatRps(value: number | null | undefined): string {
	if (value === null || value === undefined) return NO_DATA;
	if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
	if (value >= 100) return value.toFixed(0);
	return value.toFixed(1);
}

export function formatPercent(ratio: number | null | undefined): string {
	if (ratio === null || ratio === undefined) return NO_DATA;
	const percent = ratio * 100;
	if (percent === 0) return '0%';
	if (percent < 0.1) return '<0.1%';
	if (percent < 10) return `${percent.toFixed(1)}%`;
	return `${percent.toFixed(0)}%`;
}

export function formatMs(value: number | null | undefined): string {
	if (value === null || value === undefined) return NO_DATA;
	if (value >= 10_000) return `${(value / 1000).toFixed(0)}s`;
	if (value >= 1000) return `${(value / 1000).toFixed(1)}s`;
	if (value >= 10) return `${value.toFixed(0)}`;
	return value.toFixed(1);
}

export function formatCores(value: number | null | undefined): string {
	if (value === null || value === undefined) return NO_DATA;
	if (value < 1) return `${Math.round(value * 1000)}m`;
	return value.toFixed(2);
}

export function formatBytes(value: number | null | undefined): string {
	if (value === null || value === undefined) return NO_DATA;
	const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
	let amount = value;
	let unit = 0;
	while (amount >= 1024 && unit < units.length - 1) {
		amount /= 1024;
		unit++;
	}

	return `${amount >= 100 || unit === 0 ? amount.toFixed(0) : amount.toFixed(1)}${units[unit]}`;
}

/** A bar such as `███▌░░░░` for a weight of 0–100 in `width` cells (eighth-block resolution). */
export function weightBar(weight: number, width: number): {filled: string; empty: string} {
	if (width <= 0) return {filled: '', empty: ''};
	const eighths = Math.round((Math.max(0, Math.min(100, weight)) / 100) * width * 8);
	const full = Math.floor(eighths / 8);
	const partial = eighths % 8;
	const partials = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
	const filled = '█'.repeat(full) + (partial > 0 ? partials[partial]! : '');
	const emptyCells = width - full - (partial > 0 ? 1 : 0);
	return {filled, empty: '░'.repeat(Math.max(0, emptyCells))};
}

const sparkBlocks = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * A sparkline of the last `width` values; gaps (null) are spaces. Scaled to [min, max] of the shown values, or
 * to `scale` when given, so two versions can share one scale.
 */
export function sparkline(values: ReadonlyArray<number | null>, width: number, scale?: {min: number; max: number}): string {
	const shown = values.slice(-width);
	const present = shown.filter((value): value is number => value !== null && Number.isFinite(value));
	if (present.length === 0) return ' '.repeat(Math.max(0, width));
	const min = scale?.min ?? Math.min(...present);
	const max = scale?.max ?? Math.max(...present);
	const span = max - min;
	const line = shown
		.map((value) => {
			if (value === null || !Number.isFinite(value)) return ' ';
			if (span <= 0) return sparkBlocks[3]!;
			const index = Math.round(((value - min) / span) * (sparkBlocks.length - 1));
			return sparkBlocks[Math.max(0, Math.min(sparkBlocks.length - 1, index))]!;
		})
		.join('');
	return line.padStart(width, ' ');
}

export function formatAge(createdIso: string, now: number): string {
	const created = Date.parse(createdIso);
	if (Number.isNaN(created)) return NO_DATA;
	const seconds = Math.max(0, Math.round((now - created) / 1000));
	if (seconds < 120) return `${seconds}s`;
	const minutes = Math.round(seconds / 60);
	if (minutes < 120) return `${minutes}m`;
	const hours = Math.round(minutes / 60);
	if (hours < 48) return `${hours}h`;
	return `${Math.round(hours / 24)}d`;
}

export function formatClock(now: number): string {
	return new Date(now).toISOString().slice(11, 19);
}

/** Cut text to a width with an ellipsis. */
export function truncate(text: string, width: number): string {
	if (width <= 0) return '';
	if (text.length <= width) return text;
	if (width === 1) return '…';
	return `${text.slice(0, width - 1)}…`;
}

export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
	const cut = truncate(text, width);
	return align === 'right' ? cut.padStart(width) : cut.padEnd(width);
}

/**
 * A column chart `rows` lines tall (eighth-block resolution per line), top line first. Gaps (null) stay blank.
 * One row is the same as `sparkline` but with a zero-based bar look.
 */
export function columnChart(
	values: ReadonlyArray<number | null>,
	width: number,
	rows: number,
	scale?: {min: number; max: number},
): string[] {
	const shown = values.slice(-width);
	const present = shown.filter((value): value is number => value !== null && Number.isFinite(value));
	const blank = ' '.repeat(Math.max(0, width));
	if (present.length === 0 || rows <= 0) return Array.from({length: Math.max(0, rows)}, () => blank);
	const min = scale?.min ?? Math.min(...present);
	const max = scale?.max ?? Math.max(...present);
	const span = max - min;
	const levels = rows * 8;
	// Every present value gets at least one eighth so a low value is still visible.
	const heights = shown.map((value) => {
		if (value === null || !Number.isFinite(value)) return -1;
		if (span <= 0) return Math.ceil(levels / 2);
		return Math.max(1, Math.round(((value - min) / span) * (levels - 1)) + 1);
	});
	const blocks = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
	const lines: string[] = [];
	for (let row = rows - 1; row >= 0; row--) {
		const line = heights
			.map((height) => {
				if (height < 0) return ' ';
				const filled = Math.max(0, Math.min(8, height - row * 8));
				return blocks[filled]!;
			})
			.join('');
		lines.push(line.padStart(width, ' '));
	}

	return lines;
}

/**
 * Text broken into lines of at most `width` columns, at spaces where it can, mid-word where a word is longer: the
 * screen then knows how many lines a text takes before drawing it. Newlines in the text are kept.
 */
export function wrapText(text: string, width: number): string[] {
	const size = Math.max(1, width);
	const lines: string[] = [];
	for (const paragraph of text.split('\n')) {
		let rest = paragraph.trimEnd();
		while (rest.length > size) {
			const space = rest.lastIndexOf(' ', size);
			const cut = space > 0 ? space : size;
			lines.push(rest.slice(0, cut).trimEnd());
			rest = rest.slice(space > 0 ? cut + 1 : cut);
		}

		lines.push(rest);
	}

	return lines;
}

const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text from outside (a stream, a cluster) with its control characters shown as �, never sent to the terminal. */
export function printable(text: string): string {
	return text.replace(controlCharacters, '�');
}
