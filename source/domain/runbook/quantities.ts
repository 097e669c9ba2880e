/** Durations (`30s`, `2m`, `1m30s`) and bounds (`above 500ms`, `< 1%`, `>= 2Gi`) as a runbook writes them. Pure. */
import type {Bound, FigureName} from './types.ts';

const durationUnits: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/** Milliseconds, or why the text is not a duration. */
export function parseDuration(text: string): {ms: number} | {error: string} {
	const trimmed = text.trim();
	const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
	if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
		return {error: `"${text}" is not a duration: write a number and a unit, e.g. 30s, 2m, 1m30s or 500ms`};
	}

	const ms = parts.reduce((sum, part) => sum + Number(part[1]) * durationUnits[part[2]!]!, 0);
	return {ms};
}

/** Each figure's units: a factor to the unit it is compared in, and the unit a bare number is in. */
const units: Record<FigureName | 'weight', {bare: string; factors: Record<string, number>}> = {
	p50: {bare: 'ms', factors: {ms: 1, s: 1000}},
	p95: {bare: 'ms', factors: {ms: 1, s: 1000}},
	p99: {bare: 'ms', factors: {ms: 1, s: 1000}},
	errors: {bare: '%', factors: {'%': 1}},
	weight: {bare: '%', factors: {'%': 1}},
	rps: {bare: 'requests per second', factors: {rps: 1, '/s': 1}},
	cpu: {bare: 'cores', factors: {cores: 1, core: 1, m: 0.001}},
	memory: {
		bare: 'bytes',
		factors: {B: 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9},
	},
};

const operatorWords: Array<[RegExp, Bound['operator']]> = [
	[/^(>=|at least\s)/, '>='],
	[/^(<=|at most\s)/, '<='],
	[/^(>|above\s|over\s|more than\s)/, '>'],
	[/^(<|below\s|under\s|less than\s)/, '<'],
	[/^(=|is\s|equals\s)/, '='],
];

/** The unit a figure is compared in, for messages and reports. */
export function unitOf(figure: FigureName | 'weight'): string {
	return units[figure].bare;
}

/**
 * A bound on a figure or a weight. A bare number is an exact weight (`weight: 0`); a figure needs a comparison, since
 * measured figures are never exactly a number.
 */
export function parseBound(figure: FigureName | 'weight', written: string | number): {bound: Bound} | {error: string} {
	const text = String(written).trim();
	let rest = text;
	let operator: Bound['operator'] | undefined;
	for (const [pattern, op] of operatorWords) {
		const match = pattern.exec(rest);
		if (match) {
			operator = op;
			rest = rest.slice(match[0].length).trim();
			break;
		}
	}

	const {factors, bare} = units[figure];
	const example = figure === 'weight' ? '0, 100, "at least 50" or "< 10%"' : `"above 500${bare === 'ms' ? 'ms' : ''}" or "< 2"`;
	const match = /^(-?\d+(?:\.\d+)?)\s*([A-Za-z%/]*)$/.exec(rest);
	if (!match) return {error: `"${text}" is not a bound for ${figure}: write a comparison and a number, e.g. ${example}`};
	const unit = match[2]!;
	const factor = unit === '' ? 1 : factors[unit];
	if (factor === undefined) {
		return {
			error: `"${unit}" is not a unit of ${figure}: use ${Object.keys(factors).join(', ')} (a bare number is in ${bare})`,
		};
	}

	if (operator === undefined) {
		if (figure !== 'weight') {
			return {error: `${figure}: ${text} needs a comparison: measured figures are never exactly a number; write e.g. ${example}`};
		}

		operator = '=';
	}

	const value = Number(match[1]) * factor;
	if (!Number.isFinite(value)) return {error: `"${text}" is too large a number for ${figure}`};
	if ((figure === 'weight' || figure === 'errors') && (value < 0 || value > 100)) {
		return {error: `${figure} ${text} is outside 0–100%: a ${figure === 'weight' ? 'weight' : 'error rate'} is a percentage`};
	}

	return {bound: {operator, value, text}};
}

export function boundHolds(bound: Bound, value: number): boolean {
	switch (bound.operator) {
		case '>':
			return value > bound.value;
		case '>=':
			return value >= bound.value;
		case '<':
			return value < bound.value;
		case '<=':
			return value <= bound.value;
		default:
			return Math.abs(value - bound.value) < 1e-9;
	}
}
