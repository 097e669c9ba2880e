import React, {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {Prediction} from '../domain/types.ts';
import {logModel, visibleLog} from '../state/selectors.ts';
import type {AppState} from '../state/state.ts';
import {useTheme} from './contexts.tsx';
import {formatClock, formatMs, pad, truncate} from './format.ts';
import {paint} from './ink/paint.ts';
import type {Theme} from './theme.ts';

interface LogLayout {
	theme: Theme;
	idWidth: number;
	modelWidth: number;
	versionWidth: number;
	summaryWidth: number;
	/** The fields above in one string: a line built for another layout is built again. */
	key: string;
}

/** Control characters from the stream are shown, never sent to the terminal. */
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/g;
const shown = (text: string): string => text.replace(controlCharacters, '�');

/**
 * One prediction as one coloured line. Predictions never change, so a line is built once per layout, and the whole
 * tail is drawn as one text: as nested <Text> elements, each of the 35 lines on screen cost five components, a dozen
 * nodes to squash, sanitise and measure, and a layout pass, on every frame (at 1,000 predictions/s every line changes
 * every second).
 */
const builtLines = new WeakMap<Prediction, {key: string; line: string}>();

function logLine(prediction: Prediction, layout: LogLayout): string {
	const built = builtLines.get(prediction);
	if (built?.key === layout.key) return built.line;
	const {theme, idWidth, modelWidth, versionWidth, summaryWidth} = layout;
	const line =
		paint(pad(formatClock(prediction.time), 9), theme.text.muted) +
		`${pad(shown(prediction.requestId), idWidth)} ${pad(shown(prediction.model), modelWidth)} ${pad(shown(prediction.version), versionWidth)}` +
		paint(`${pad(formatMs(prediction.latencyMs), 6, 'right')} `, (prediction.latencyMs ?? 0) > 500 ? theme.status.warning : undefined) +
		paint(
			pad(prediction.status === 'error' ? String(prediction.code ?? 'err') : 'ok', 4),
			prediction.status === 'error' ? theme.status.critical : theme.status.ok,
		) +
		paint(truncate(shown(`${prediction.inputSummary} → ${prediction.outputSummary}`), summaryWidth), theme.text.muted);
	builtLines.set(prediction, {key: layout.key, line});
	return line;
}

export function PredictionLog({state, width, height}: {state: AppState; width: number; height: number}) {
	const theme = useTheme();
	const {filter} = state.log;
	const entries = visibleLog(state);
	const room = Math.max(1, height - 2);
	// The newest lines, unless the picked line (counted from the newest) is further back: then the window starts at it.
	const picked = state.log.cursor === undefined ? undefined : entries.length - 1 - state.log.cursor;
	const end = picked !== undefined && picked < entries.length - room ? picked + room : entries.length;
	const start = Math.max(0, end - room);
	const rows = entries.slice(start, end);
	const pickedRow = picked === undefined ? -1 : picked - start;
	const model = logModel(state);
	const filters = [
		filter.version ? `version=${filter.version}` : 'all versions',
		filter.status ? `status=${filter.status}` : 'all statuses',
		filter.minLatencyMs === undefined ? '' : `latency≥${filter.minLatencyMs}ms`,
	]
		.filter(Boolean)
		.join(' · ');
	// Request ids are often UUIDs: show them whole when the terminal is wide enough.
	const idWidth = Math.max(14, Math.min(37, width - 86));
	const modelWidth = width >= 110 ? 18 : 14;
	const versionWidth = width >= 110 ? 10 : 6;
	const summaryWidth = Math.max(10, width - 24 - idWidth - modelWidth - versionWidth);
	const layout = useMemo<LogLayout>(
		() => ({
			theme,
			idWidth,
			modelWidth,
			versionWidth,
			summaryWidth,
			key: `${theme.name} ${idWidth} ${modelWidth} ${versionWidth} ${summaryWidth}`,
		}),
		[theme, idWidth, modelWidth, versionWidth, summaryWidth],
	);
	return (
		<Box flexDirection="column" height={height}>
			<Text wrap="truncate-end">
				<Text bold>Predictions{model ? ` of ${model}` : ''} </Text>
				{state.log.paused ? (
					<Text inverse color={theme.status.warning}>
						{' PAUSED '}
					</Text>
				) : (
					<Text color={theme.status.ok}>live</Text>
				)}
				<Text color={theme.text.muted}>
					{' '}
					{Math.round(state.log.ratePerSecond)}/s · {filters}
					{state.log.dropped > 0 ? ` · ${state.log.dropped} missed (agent said so)` : ''}
				</Text>
			</Text>
			<Text bold color={theme.text.muted} wrap="truncate-end">
				{pad('TIME', 9)}
				{pad('REQUEST ID', idWidth)} {pad('MODEL', modelWidth)} {pad('VER', versionWidth)}
				{pad('MS', 6, 'right')} {pad('ST', 4)}
				{'INPUT → OUTPUT'}
			</Text>
			{rows.length === 0 ? (
				<Text color={theme.text.muted}>
					{state.health.agent.status === 'ok'
						? 'Waiting for predictions…'
						: `No prediction stream: ${state.health.agent.message ?? 'agent not connected'}`}
				</Text>
			) : pickedRow === -1 ? (
				<Text wrap="truncate-end">{rows.map((prediction) => logLine(prediction, layout)).join('\n')}</Text>
			) : (
				<>
					{pickedRow > 0 ? (
						<Text wrap="truncate-end">
							{rows
								.slice(0, pickedRow)
								.map((prediction) => logLine(prediction, layout))
								.join('\n')}
						</Text>
					) : null}
					<Text inverse wrap="truncate-end">
						{logLine(rows[pickedRow]!, layout)}
					</Text>
					{pickedRow < rows.length - 1 ? (
						<Text wrap="truncate-end">
							{rows
								.slice(pickedRow + 1)
								.map((prediction) => logLine(prediction, layout))
								.join('\n')}
						</Text>
					) : null}
				</>
			)}
		</Box>
	);
}
