// A fleet row is drawn as one pre-coloured text (FleetTable.tsx's fleetRowText), not as nested <Text> elements per
// cell: it must come out of Ink byte for byte as the nested elements did, colours, background, bold and inverse
// included, for every theme, colour level, selection and kind of cell (text, weight bar, a context's badge, a stale
// cluster's FLAGS). The nested version is kept here as the oracle, as it was drawn before (with the cells' control
// characters shown as �, which the pre-coloured row does and the nested one did not: see the last test).
import chalk from 'chalk';
import {Box, Text} from 'ink';
import {render} from 'ink-testing-library';
import type React from 'react';
import {afterEach, expect, it} from 'vitest';
import type {Model} from '../../source/domain/types.ts';
import {thresholdsFor, type ThresholdSettings} from '../../source/domain/thresholds.ts';
import {fleetRows, type FleetRow} from '../../source/state/selectors.ts';
import {initialState} from '../../source/state/state.ts';
import {clusterColumn, columns as allColumns, layoutColumns, type Cell, type Column} from '../../source/ui/columns.ts';
import {fleetRowText, toneColor} from '../../source/ui/FleetTable.tsx';
import {pad, printable, truncate, weightBar} from '../../source/ui/format.ts';
import {ansi16Theme, fullTheme, noColorTheme, type Theme} from '../../source/ui/theme.ts';
import {fixtureModels, fixtureSamples, NOW} from '../support/fake-sources.ts';

const originalLevel = chalk.level;
afterEach(() => {
	chalk.level = originalLevel;
});

function NestedCell({column, cell, theme, background}: {column: Column; cell: Cell; theme: Theme; background: string | undefined}) {
	if (cell.tone === 'badge') {
		const label = truncate(printable(cell.text), column.width);
		const colored = theme.name !== 'none' && cell.color !== undefined;
		return (
			<Text backgroundColor={background}>
				<Text bold inverse={colored} color={colored ? cell.color : undefined}>
					{label}
				</Text>
				{' '.repeat(Math.max(0, column.width - label.length))}
			</Text>
		);
	}

	if (cell.tone === 'bar') {
		const weight = Number(cell.text);
		const label = `${weight}%`.padStart(4);
		const bar = weightBar(weight, Math.max(0, column.width - 5));
		return (
			<Text backgroundColor={background}>
				<Text color={theme.bar.filled}>{bar.filled}</Text>
				<Text color={theme.bar.empty}>{bar.empty}</Text>
				<Text> {label}</Text>
			</Text>
		);
	}

	return (
		<Text color={toneColor(theme, cell.tone)} backgroundColor={background}>
			{pad(printable(cell.text), column.width, column.align)}
		</Text>
	);
}

function NestedRow(props: {
	row: FleetRow;
	selected: boolean;
	columns: Column[];
	thresholds: ThresholdSettings;
	theme: Theme;
	stale?: string | undefined;
}) {
	const {row, selected, columns: chosen, thresholds, theme, stale} = props;
	const limits = thresholdsFor(row.model, thresholds);
	const background = selected ? theme.text.selection : undefined;
	return (
		<Box>
			<Text inverse={selected && !background && theme.text.inverse} bold={selected} backgroundColor={background}>
				{selected ? '›' : ' '}
				{chosen.map((column, columnIndex) => (
					<Text key={column.id} backgroundColor={background}>
						<NestedCell
							column={column}
							cell={stale !== undefined && column.id === 'flags' ? {text: `stale: ${stale}`, tone: 'warning'} : column.render(row, limits)}
							theme={theme}
							background={background}
						/>
						{columnIndex < chosen.length - 1 ? ' ' : ''}
					</Text>
				))}
			</Text>
		</Box>
	);
}

function drawn(element: React.ReactElement): string {
	const instance = render(element);
	const frame = instance.lastFrame() ?? '';
	instance.unmount();
	return frame;
}

it('draws every fleet row exactly as the nested texts did, in every theme, colour level, width and selection', () => {
	// Two contexts with badges (one coloured, one not), weights from 0 to 100, a stale cluster.
	const models: Model[] = fixtureModels().flatMap((model, index) => [
		{...model, cluster: 'prod-us'},
		{
			...model,
			// Text from outside with control sequences in it: Ink sanitises the row as it did the cells.
			name: index === 0 ? `${model.name}\u001b[2J\u001b]8;;https://x\u0007\u009b31m` : model.name,
			cluster: index % 2 === 0 ? 'prod-eu' : 'staging-with-a-long-name',
			versions: model.versions.map((version, versionIndex) => ({...version, weight: [0, 100, 37, 3][(index + versionIndex) % 4]!})),
		},
	]);
	const base = initialState({
		demo: false,
		readOnly: false,
		context: 'prod-us',
		namespace: undefined,
		weightStep: 5,
		refreshSeconds: 2,
		now: NOW,
		clusters: ['prod-us', 'prod-eu', 'staging-with-a-long-name'],
		clusterStyles: {'prod-us': {label: 'PROD', color: 'red'}, 'prod-eu': {label: 'E\u001b[5mU'}},
	});
	const samples = Object.fromEntries(fixtureSamples());
	const state = {...base, models, samples};
	const rows = fleetRows(state);
	expect(new Set(rows.map((row) => row.model.cluster))).toEqual(new Set(['prod-us', 'prod-eu', 'staging-with-a-long-name']));
	let compared = 0;
	for (const width of [60, 120, 240]) {
		const chosen = layoutColumns(width, [clusterColumn(Object.keys(state.clusters), state.clusterStyles), ...allColumns]);
		expect(chosen.some((column) => column.id === 'weight') || width < 120).toBe(true);
		for (const theme of [fullTheme, ansi16Theme, noColorTheme]) {
			for (const level of [0, 1, 2, 3] as const) {
				chalk.level = level;
				// Every other row selected, then the others: two frames of every row each.
				for (const parity of [0, 1]) {
					const selected = (index: number) => index % 2 === parity;
					const stale = (index: number) => (index % 3 === 0 ? 'the API server did not answer' : undefined);
					const expected = drawn(
						<Box flexDirection="column">
							{rows.map((row, index) => (
								<NestedRow
									key={row.key}
									row={row}
									selected={selected(index)}
									columns={chosen}
									thresholds={state.thresholds}
									theme={theme}
									stale={stale(index)}
								/>
							))}
						</Box>,
					);
					const actual = drawn(
						<Box flexDirection="column">
							{rows.map((row, index) => {
								const {text, style} = fleetRowText(row, selected(index), chosen, state.thresholds, theme, stale(index));
								return (
									<Box key={row.key}>
										<Text {...style}>{text}</Text>
									</Box>
								);
							})}
						</Box>,
					);
					expect(actual).toBe(expected);
					compared++;
				}
			}
		}
	}

	// With colours on, the rows carry them: the comparison is not of plain text only.
	chalk.level = 3;
	const {text} = fleetRowText(rows[0]!, true, layoutColumns(240, allColumns), state.thresholds, fullTheme, undefined);
	expect(text).toContain('\u001b[48;2;');
	expect(compared).toBe(3 * 3 * 4 * 2);
});

it('shows control characters in names and messages as �: the row keeps its colours and its columns', () => {
	chalk.level = 3;
	const [model] = fixtureModels();
	const hostile = `${model!.name}\u001b[2J\u001b]8;;https://x\u0007\u009b31m`;
	const state = {
		...initialState({demo: false, readOnly: false, context: 'c', namespace: undefined, weightStep: 5, refreshSeconds: 2, now: NOW}),
		models: [{...model!, name: hostile}],
		samples: Object.fromEntries(fixtureSamples()),
	};
	const chosen = layoutColumns(240, allColumns);
	const [row] = fleetRows(state);
	const {text} = fleetRowText(row!, false, chosen, state.thresholds, fullTheme, 'the API server said \u001b[5mno');
	const plain = text.replaceAll(/\u001b\[[0-9;]*m/g, '');
	expect(plain).toContain(`${model!.name}�[2J`);
	expect(plain).toContain('stale: the API server');
	// Every escape left is one of the row's own colours, and the columns line up as for a plain name.
	expect(text.replaceAll(/\u001b\[[0-9;]*m/g, '')).not.toMatch(/[\u001b\u009b\u0007]/);
	const clean = fleetRowText(
		fleetRows({...state, models: [{...model!, name: 'x'.repeat(hostile.length)}]})[0]!,
		false,
		chosen,
		state.thresholds,
		fullTheme,
		undefined,
	);
	expect(plain.length).toBe(clean.text.replaceAll(/\u001b\[[0-9;]*m/g, '').length);
});
