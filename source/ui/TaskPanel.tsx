import React from 'react';
import {Box, Text} from 'ink';
import type {Task} from '../state/state.ts';
import {useTheme} from './contexts.tsx';
import {formatMs, formatRps, truncate, weightBar} from './format.ts';

/** A long action: progress bar while it runs, checks and side-by-side results when done. */
export function TaskPanel({task, width}: {task: Task; width: number}) {
	const theme = useTheme();
	const bar = weightBar(task.fraction * 100, 20);
	const color = task.state === 'failed' ? theme.status.critical : task.state === 'done' ? theme.status.ok : theme.status.info;
	return (
		<Box flexDirection="column" flexShrink={0}>
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
							{check.ok ? '' : `: ${check.detail}`}
							{'  '}
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
								{formatRps(result.achievedRps)} req/s p50 {formatMs(result.p50Ms)} p95 {formatMs(result.p95Ms)} p99 {formatMs(result.p99Ms)}{' '}
								max {formatMs(result.maxMs)} ms · errors {result.errors}/{result.requests}
							</Text>
						</Text>
					))
				: null}
		</Box>
	);
}

/** Lines a TaskPanel takes: its title, its checks (one line), a line per result. */
export function taskPanelLines(task: Task): number {
	return 1 + (task.checks.length > 0 ? 1 : 0) + (task.results?.length ?? 0);
}

/**
 * The latest smoke test of each version side by side: a column per version, each check on a line of its own with
 * what failed. When there is no room for every check, failed ones come first and the rest are counted.
 */
export function SmokePanels({tasks, width, maxChecks}: {tasks: readonly Task[]; width: number; maxChecks: number}) {
	const theme = useTheme();
	const columnWidth = Math.max(16, Math.floor((width - (tasks.length - 1) * 2) / Math.max(1, tasks.length)));
	return (
		<Box flexShrink={0}>
			{tasks.map((task, index) => {
				const version = task.action.kind === 'smoke-test' ? task.action.target.version : task.title;
				const failed = task.checks.filter((check) => !check.ok);
				const ordered = [...failed, ...task.checks.filter((check) => check.ok)];
				const room = ordered.length > maxChecks ? Math.max(0, maxChecks - 1) : maxChecks;
				// Without a line for checks, the summary above counts them.
				const hidden = maxChecks === 0 ? 0 : ordered.length - Math.min(room, ordered.length);
				const color = task.state === 'failed' ? theme.status.critical : task.state === 'done' ? theme.status.ok : theme.status.info;
				const summary =
					task.state === 'running'
						? `${task.checks.length} checks so far`
						: task.checks.length > 0
							? `${task.checks.length - failed.length}/${task.checks.length} checks passed`
							: task.message;
				return (
					<Box key={task.id} flexDirection="column" width={columnWidth} marginLeft={index === 0 ? 0 : 2} flexShrink={0}>
						<Text wrap="truncate-end">
							<Text color={color}>{task.state === 'running' ? '⟳' : task.state === 'done' && failed.length === 0 ? '✔' : '✖'} </Text>
							<Text bold>smoke {version}</Text>
							<Text color={theme.text.muted}> {summary}</Text>
						</Text>
						{ordered.slice(0, room).map((check) => (
							<Text key={check.name} wrap="truncate-end" color={check.ok ? theme.status.ok : theme.status.critical}>
								{check.ok ? '✔' : '✖'} {check.name}
								{check.ok ? '' : `: ${check.detail}`}
							</Text>
						))}
						{hidden > 0 ? (
							<Text color={theme.text.muted} wrap="truncate-end">
								+{hidden} more {failed.length > room ? 'checks' : 'passed'}
							</Text>
						) : null}
					</Box>
				);
			})}
		</Box>
	);
}
