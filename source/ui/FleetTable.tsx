import React, {memo, useMemo} from 'react';
import {Box, Text} from 'ink';
import {emptyFleetLines} from '../domain/empty-fleet.ts';
import {thresholdsFor, type ThresholdSettings} from '../domain/thresholds.ts';
import {fleetRows, fleetTitle, type FleetRow} from '../state/selectors.ts';
import type {AppState} from '../state/state.ts';
import {clusterProblem} from '../console/cluster-health.ts';
import {clusterColumn, columns as allColumns, layoutColumns, type Cell, type Column, type Tone} from './columns.ts';
import {useTheme} from './contexts.tsx';
import {pad, printable, truncate, weightBar} from './format.ts';
import {styled} from './ink/paint.ts';
import type {Theme} from './theme.ts';

export function toneColor(theme: Theme, tone: Tone): string | undefined {
	switch (tone) {
		case 'muted': {
			return theme.text.muted;
		}

		case 'ok': {
			return theme.status.ok;
		}

		case 'warning': {
			return theme.status.warning;
		}

		case 'critical': {
			return theme.status.critical;
		}

		case 'stable': {
			return theme.track.stable;
		}

		case 'canary': {
			return theme.track.canary;
		}

		default: {
			return theme.text.primary;
		}
	}
}

/**
 * One cell, coloured as the nested <Text> elements it once was drew it (test/components/fleet-row-text.test.tsx holds
 * the two equal): the cell's colour, then the row's background, which Ink's inner texts inherit. Control characters
 * in the text (names and messages come from clusters and settings) are shown as �: they would otherwise style the
 * rest of the row or move the columns.
 */
function cellText(column: Column, cell: Cell, theme: Theme, background: string | undefined): string {
	if (cell.tone === 'badge') {
		// A context's badge: its label in its colour (inverse), the rest of the cell plain; bold alone without colours.
		const label = truncate(printable(cell.text), column.width);
		const colored = theme.name !== 'none' && cell.color !== undefined;
		return styled(
			styled(label, {color: colored ? cell.color : undefined, backgroundColor: background, bold: true, inverse: colored}) +
				' '.repeat(Math.max(0, column.width - label.length)),
			{backgroundColor: background},
		);
	}

	if (cell.tone === 'bar') {
		const weight = Number(cell.text);
		const label = `${weight}%`.padStart(4);
		const bar = weightBar(weight, Math.max(0, column.width - 5));
		return styled(
			styled(bar.filled, {color: theme.bar.filled, backgroundColor: background}) +
				styled(bar.empty, {color: theme.bar.empty, backgroundColor: background}) +
				styled(` ${label}`, {backgroundColor: background}),
			{backgroundColor: background},
		);
	}

	return styled(pad(printable(cell.text), column.width, column.align), {color: toneColor(theme, cell.tone), backgroundColor: background});
}

/**
 * One version's row, as one pre-coloured text: a row of nested <Text> elements (one or more per cell, each with its
 * context provider) made ~100 React elements a row for Ink to reconcile, squash and sanitise level by level, and the
 * first frame of a big fleet waited on it. Memoised: rows come from a memoised selector, so on a frame where only the
 * clock or another part of the screen changed, React skips every row.
 */
const FleetRowLine = memo(function FleetRowLine({
	row,
	selected,
	columns: chosen,
	thresholds,
	theme,
	stale,
}: {
	row: FleetRow;
	selected: boolean;
	columns: Column[];
	thresholds: ThresholdSettings;
	theme: Theme;
	/** Why this row's cluster is stale or down (several clusters shown), said in the FLAGS column. */
	stale?: string | undefined;
}) {
	const {text, style} = fleetRowText(row, selected, chosen, thresholds, theme, stale);
	return (
		<Box>
			<Text {...style}>{text}</Text>
		</Box>
	);
});

/** A fleet row's text, its cells coloured already, and the style of the <Text> that draws it. */
export function fleetRowText(
	row: FleetRow,
	selected: boolean,
	chosen: readonly Column[],
	thresholds: ThresholdSettings,
	theme: Theme,
	stale: string | undefined,
): {text: string; style: {inverse: boolean; bold: boolean; backgroundColor: string | undefined}} {
	const limits = thresholdsFor(row.model, thresholds);
	// A selection background where colours exist; inverse video without colours.
	const background = selected ? theme.text.selection : undefined;
	let text = selected ? '›' : ' ';
	chosen.forEach((column, columnIndex) => {
		const cell =
			stale !== undefined && column.id === 'flags' ? {text: `stale: ${stale}`, tone: 'warning' as const} : column.render(row, limits);
		text += styled(cellText(column, cell, theme, background) + (columnIndex < chosen.length - 1 ? ' ' : ''), {backgroundColor: background});
	});
	return {text, style: {inverse: selected && !background && theme.text.inverse, bold: selected, backgroundColor: background}};
}

export function FleetTable({state, width, height}: {state: AppState; width: number; height: number}) {
	const theme = useTheme();
	const rows = fleetRows(state);
	// The same column objects for the same width, so rows whose data did not change are not drawn again.
	// Several clusters shown: a CLUSTER column first, with the contexts' badges.
	const shown = Object.keys(state.clusters);
	const chosen = useMemo(
		() => layoutColumns(width, shown.length > 0 ? [clusterColumn(shown, state.clusterStyles), ...allColumns] : allColumns),
		[width, shown.join(','), state.clusterStyles],
	);
	// The sort and the filter in words, on a line of their own while either is on.
	const title = fleetTitle(state);
	const bodyHeight = Math.max(1, height - 1 - (title ? 1 : 0));
	// When rows are hidden, the last line says how many: "↑ 3 more · ↓ 12 more".
	const room = rows.length > bodyHeight ? Math.max(1, bodyHeight - 1) : bodyHeight;
	const top = Math.max(0, Math.min(state.selection - Math.floor(room / 2), rows.length - room));
	const visible = rows.slice(top, top + room);
	const below = rows.length - top - visible.length;
	if (rows.length === 0) {
		const lines =
			state.models.length === 0
				? state.health.cluster.status === 'connecting'
					? ['Looking for models…']
					: emptyFleetLines(state.namespace)
				: [`No rows match the filter "${state.filter}" (esc clears it).`];
		return (
			<Box flexDirection="column" height={height} overflow="hidden">
				{lines.map((line) => (
					<Text key={line} color={theme.text.muted}>
						{line}
					</Text>
				))}
			</Box>
		);
	}

	return (
		<Box flexDirection="column" height={height}>
			{title ? (
				<Text color={theme.text.accent} wrap="truncate-end">
					{truncate(` ${title}`, width)}
				</Text>
			) : null}
			<Text bold color={theme.text.muted} wrap="truncate-end">
				{truncate(` ${chosen.map((column) => pad(column.header, column.width, column.align)).join(' ')}`.trimEnd(), width)}
			</Text>
			{visible.map((row, index) => (
				<FleetRowLine
					key={row.key}
					// The first row on screen names its model even when the model's first version scrolled away.
					row={index === 0 && !row.firstOfModel ? {...row, firstOfModel: true} : row}
					selected={top + index === state.selection}
					columns={chosen}
					thresholds={state.thresholds}
					theme={theme}
					stale={clusterProblem(state, row.model.cluster)}
				/>
			))}
			{top > 0 || below > 0 ? (
				<Text color={theme.text.muted}>
					{' '}
					{[top > 0 ? `↑ ${top} more` : '', below > 0 ? `↓ ${below} more` : ''].filter(Boolean).join(' · ')}
				</Text>
			) : null}
		</Box>
	);
}
