import React from 'react';
import {Box, Text} from 'ink';
import type {Task} from '../store/state.ts';
import {useTheme} from './contexts.tsx';
import {formatMs, formatRps, truncate, weightBar} from './format.ts';

/** A long action: progress bar while it runs, checks and side-by-side results when done. */
export function TaskPanel({task, width}: {task: Task; width: number}) {
	const theme = useTheme();
	const bar = weightBar(task.fraction * 100, 20);
	const color = task.state === 'failed' ? theme.status.critical : task.state === 'done' ? theme.status.ok : theme.status.info;
	return (
		<Box flexDirection="column">
			<Text wrap="truncate-end">
				<Text color={color}>{task.state === 'running' ? '⟳' : task.state === 'done' ? '✔' : '✖'} </Text>
				<Text bold>{task.title} </Text>
				{task.state === 'running' ? (
					<Text>
						<Text color={theme.bar.filled}>{bar.filled}</Text>
						<Text color={theme.bar.empty}>{bar.empty}</Text> {Math.round(task.fraction * 100)}%{' '}
					</Text>
				) : null}
				<Text color={theme.text.muted}>{truncate(task.message, width)}</Text>
			</Text>
			{task.checks.length > 0 ? (
				<Text wrap="truncate-end">
					{task.checks.map((check) => (
						<Text key={check.name} color={check.ok ? theme.status.ok : theme.status.critical}>
							{check.ok ? '✔' : '✖'} {check.name}
							{check.ok ? '' : `: ${check.detail}`}{'  '}
						</Text>
					))}
				</Text>
			) : null}
			{task.results
				? task.results.map((result) => (
						<Text key={result.target.version} wrap="truncate-end">
							<Text bold>{result.target.version.padEnd(8)}</Text>
							<Text>
								{' '}
								{formatRps(result.achievedRps)} req/s p50 {formatMs(result.p50Ms)} p95 {formatMs(result.p95Ms)} p99{' '}
								{formatMs(result.p99Ms)} max {formatMs(result.maxMs)} ms · errors {result.errors}/{result.requests}
							</Text>
						</Text>
					))
				: null}
		</Box>
	);
}
