import React from 'react';
import {Box, Text} from 'ink';
import type {AppState} from '../state/state.ts';
import {useTheme} from './contexts.tsx';
import {formatClock, pad} from './format.ts';

export function AuditView({state, height}: {state: AppState; height: number}) {
	const theme = useTheme();
	// Newest first; when older entries do not fit, the last line counts them.
	const room = state.audit.length > height - 1 ? Math.max(1, height - 2) : Math.max(1, height - 1);
	const entries = state.audit.slice(0, room);
	const older = state.audit.length - entries.length;
	// Names as long as the longest shown (service accounts and user@context are long), within reason.
	const userWidth = Math.min(40, Math.max(8, ...entries.map((entry) => entry.user.length)));
	// Actions too: `rollback v2`, `smoke-test`; a column always ends with a space.
	const actionWidth = Math.min(24, Math.max(10, ...entries.map((entry) => entry.action.length)));
	return (
		<Box flexDirection="column" height={height}>
			<Text bold wrap="truncate-end">
				Audit log{' '}
				<Text color={theme.text.muted}>
					(newest first: who, what, before → after, result
					{state.health.agent.status === 'ok' ? '' : '; changes made without the agent: this session only'})
				</Text>
			</Text>
			{entries.length === 0 ? (
				<Text color={theme.text.muted}>No actions yet.</Text>
			) : (
				entries.map((entry, index) => (
					<Text key={`${entry.time}-${index}`} wrap="truncate-end">
						<Text color={theme.text.muted}>{pad(formatClock(entry.time), 9)}</Text>
						<Text>{pad(entry.user, userWidth)} </Text>
						<Text bold>{pad(entry.action, actionWidth)} </Text>
						<Text>{pad(entry.target, 24)} </Text>
						<Text>
							{entry.before || '–'} → {entry.after || '–'}{' '}
						</Text>
						<Text color={entry.result === 'ok' ? theme.status.ok : theme.status.critical}>{entry.result}</Text>
						<Text color={theme.text.muted}> {entry.message}</Text>
					</Text>
				))
			)}
			{older > 0 ? <Text color={theme.text.muted}>↓ {older} older</Text> : null}
		</Box>
	);
}
