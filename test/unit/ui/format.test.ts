import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {layoutColumns} from '../../../source/ui/columns.ts';
import {
	columnChart,
	formatBytes,
	formatCores,
	formatMs,
	formatPercent,
	formatRps,
	pad,
	sparkline,
	truncate,
	weightBar,
	wrapText,
} from '../../../source/ui/format.ts';

describe('formatters', () => {
	it.each([
		[formatRps, null, '–'],
		[formatRps, 0, '0.0'],
		[formatRps, 12.34, '12.3'],
		[formatRps, 1234, '1.2k'],
		[formatPercent, null, '–'],
		[formatPercent, 0, '0%'],
		[formatPercent, 0.0004, '<0.1%'],
		[formatPercent, 0.0123, '1.2%'],
		[formatPercent, 0.5, '50%'],
		[formatMs, undefined, '–'],
		[formatMs, 3.21, '3.2'],
		[formatMs, 512.7, '513'],
		[formatMs, 1500, '1.5s'],
		[formatCores, 0.25, '250m'],
		[formatCores, 1.5, '1.50'],
		[formatBytes, 512, '512B'],
		[formatBytes, 300 * 1024 * 1024, '300Mi'],
		[formatBytes, 1.5 * 1024 ** 3, '1.5Gi'],
	] as const)('%o(%o) = %s', (format, value, expected) => {
		expect((format as (value: number | null | undefined) => string)(value)).toBe(expected);
	});
});

describe('weightBar', () => {
	it('fills in eighths and always spans its width', () => {
		expect(weightBar(0, 8)).toEqual({filled: '', empty: '░░░░░░░░'});
		expect(weightBar(100, 8)).toEqual({filled: '████████', empty: ''});
		const half = weightBar(50, 8);
		expect(half.filled).toBe('████');
		for (const weight of [0, 3, 17, 50, 99, 100]) {
			const bar = weightBar(weight, 10);
			expect([...bar.filled].length + [...bar.empty].length).toBe(10);
		}
	});
});

describe('sparkline', () => {
	it('scales values to eight levels and shows gaps as spaces', () => {
		expect(sparkline([0, 7], 2)).toBe('▁█');
		expect(sparkline([1, null, 3], 3)).toBe('▁ █');
		expect(sparkline([], 4)).toBe('    ');
		expect(sparkline([5, 5, 5], 3)).toBe('▄▄▄');
	});

	it('honours a shared scale so two versions compare', () => {
		expect(sparkline([5], 1, {min: 0, max: 10})).toBe('▅');
	});
});

describe('text', () => {
	it('truncates with an ellipsis and pads', () => {
		expect(truncate('fraud-detector', 6)).toBe('fraud…');
		expect(pad('7', 3, 'right')).toBe('  7');
	});
});

describe('layoutColumns', () => {
	it('drops low-priority columns to fit and never exceeds the width', () => {
		for (const width of [60, 80, 100, 140, 200]) {
			const chosen = layoutColumns(width);
			const total = chosen.reduce((sum, column) => sum + column.width + 1, 1);
			expect(total).toBeLessThanOrEqual(width);
			expect(chosen.map((column) => column.id)).toEqual(expect.arrayContaining(['model', 'version', 'weight', 'flags']));
		}

		expect(layoutColumns(80).map((column) => column.id)).not.toContain('namespace');
		expect(layoutColumns(200).map((column) => column.id)).toContain('namespace');
	});
});

describe('columnChart', () => {
	it('stacks eighth blocks over several rows, top row first', () => {
		expect(columnChart([0, 10], 2, 2, {min: 0, max: 10})).toEqual([' █', '▁█']);
		expect(columnChart([5], 1, 2, {min: 0, max: 10})).toEqual(['▁', '█']);
		expect(columnChart([null, 3], 2, 1)).toEqual([' ▄']);
		expect(columnChart([], 3, 2)).toEqual(['   ', '   ']);
	});

	it('is always rows × width', () => {
		for (const rows of [1, 2, 3]) {
			const chart = columnChart([1, 5, 2, 9, 4], 8, rows);
			expect(chart).toHaveLength(rows);
			for (const line of chart) expect([...line]).toHaveLength(8);
		}
	});
});

describe('wrapText', () => {
	it('breaks at spaces, and mid-word only when a word is longer than the line', () => {
		expect(wrapText('sum by (version) (rate(x[60s]))', 12)).toEqual(['sum by', '(version)', '(rate(x[60s]', '))']);
		expect(wrapText('a\nb c', 10)).toEqual(['a', 'b c']);
	});

	it('never gives a line wider than asked, and loses no character but the spaces it breaks at', () => {
		fc.assert(
			fc.property(fc.string({unit: fc.constantFrom('a', 'b', ' ', '\n', '(', '"')}), fc.integer({min: 1, max: 30}), (text, width) => {
				const lines = wrapText(text, width);
				for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
				expect(lines.join('').replaceAll(' ', '')).toBe(text.replaceAll(/[ \n]/g, ''));
			}),
		);
	});
});
