import React, {memo} from 'react';
import {Box, Text} from 'ink';
import type {Prediction} from '../domain/types.ts';
import {visibleLog} from '../store/selectors.ts';
import type {AppState} from '../store/state.ts';
import {useTheme} from './contexts.tsx';
import {formatClock, formatMs, pad, truncate} from './format.ts';
import type {Theme} from './theme.ts';

interface LogLineProps {
	prediction: Prediction;
	theme: Theme;
	idWidth: number;
	modelWidth: number;
	versionWidth: number;
	summaryWidth: number;
}

/** One prediction. Predictions never change, so a line already on screen is not built again. */
const LogLine = memo(function LogLine({prediction, theme, idWidth, modelWidth, versionWidth, summaryWidth}: LogLineProps) {
	return (
		<Text wrap="truncate-end">
			<Text color={theme.text.muted}>{pad(formatClock(prediction.time), 9)}</Text>
			{`${pad(prediction.requestId, idWidth)} ${pad(prediction.model, modelWidth)} ${pad(prediction.version, versionWidth)}`}
			<Text color={(prediction.latencyMs ?? 0) > 500 ? theme.status.warning : undefined}>
				{`${pad(formatMs(prediction.latencyMs), 6, 'right')} `}
			</Text>
			<Text color={prediction.status === 'error' ? theme.status.critical : theme.status.ok}>
				{pad(prediction.status === 'error' ? String(prediction.code ?? 'err') : 'ok', 4)}
			</Text>
			<Text color={theme.text.muted}>{truncate(`${prediction.inputSummary} → ${prediction.outputSummary}`, summaryWidth)}</Text>
		</Text>
	);
});

export function PredictionLog({state, width, height}: {state: AppState; width: number; height: number}) {
	const theme = useTheme();
	const {filter} = state.log;
	const entries = visibleLog(state);
	const rows = entries.slice(-Math.max(1, height - 2));
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
	return (
		<Box flexDirection="column" height={height}>
			<Text wrap="truncate-end">
				<Text bold>Predictions </Text>
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
			<Text bold color={theme.text.muted}>
				{pad('TIME', 9)}{pad('REQUEST ID', idWidth)} {pad('MODEL', modelWidth)} {pad('VER', versionWidth)}{pad('MS', 6, 'right')} {pad('ST', 4)}
				{'INPUT → OUTPUT'}
			</Text>
			{rows.length === 0 ? (
				<Text color={theme.text.muted}>
					{state.health.agent.status === 'ok' ? 'Waiting for predictions…' : `No prediction stream: ${state.health.agent.message ?? 'agent not connected'}`}
				</Text>
			) : (
				rows.map((prediction, index) => (
					<LogLine
						// Keyed by position: at hundreds of predictions a second every line is new each frame, and
						// updating the lines on screen costs far less than unmounting them and mounting new ones.
						key={index}
						prediction={prediction}
						theme={theme}
						idWidth={idWidth}
						modelWidth={modelWidth}
						versionWidth={versionWidth}
						summaryWidth={summaryWidth}
					/>
				))
			)}
		</Box>
	);
}
