import React, {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {Prediction} from '../domain/types.ts';
import {logModel, visibleLog} from '../state/selectors.ts';
import type {AppState} from '../state/state.ts';
import {useTheme} from './contexts.tsx';
import {formatClock, formatMs, pad, printable as shown, truncate} from './format.ts';
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

/**
 * One prediction as one coloured line. Predictions never change, so a line is built once per layout (as nested <Text>
 * elements, each of the 35 lines on screen cost five components and a dozen nodes to squash, sanitise and measure on
 * every frame), and drawn as one memoised <Text> of its own: a frame renders and measures only the lines that are new.
 *
 * One line per text, not the whole tail as one text: Ink caches what it measures and wraps, keyed by the text, up to
 * 8,192 entries whatever their size. A tail of 35 lines is a 12 KB text that is new every second and never looked up
 * again, and the caches kept minutes of them (the live heap grew by ~1 MB a minute). A line is ~200 characters, fits
 * its width (so it is never wrapped), and the caches' bound then holds a few MB at most.
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

/** A React key per prediction: request ids come from the stream and need not be unique. */
const lineKeys = new WeakMap<Prediction, number>();
let nextLineKey = 0;
function lineKey(prediction: Prediction): number {
	let key = lineKeys.get(prediction);
	if (key === undefined) {
		key = nextLineKey++;
		lineKeys.set(prediction, key);
	}

	return key;
}

const LogLine = React.memo(function LogLine({prediction, layout, picked}: {prediction: Prediction; layout: LogLayout; picked: boolean}) {
	return (
		<Text inverse={picked} wrap="truncate-end">
			{logLine(prediction, layout)}
		</Text>
	);
});

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
			) : (
				rows.map((prediction, row) => (
					<LogLine key={lineKey(prediction)} prediction={prediction} layout={layout} picked={row === pickedRow} />
				))
			)}
		</Box>
	);
}
