import React from 'react';
import {Box, Text} from 'ink';
import type {AppState} from '../state/state.ts';
import {useTheme} from './contexts.tsx';

export function Toasts({state, lines = 2}: {state: AppState; lines?: number}) {
	const theme = useTheme();
	if (state.toasts.length === 0) return null;
	const colors = {info: theme.status.info, success: theme.status.ok, warning: theme.status.warning, error: theme.status.critical};
	const icons = {info: 'ℹ', success: '✔', warning: '▲', error: '✖'};
	return (
		<Box flexDirection="column">
			{state.toasts.slice(-lines).map((toast) => (
				<Text key={toast.id} color={colors[toast.severity]} wrap="truncate-end">
					{icons[toast.severity]} {toast.message}
				</Text>
			))}
		</Box>
	);
}
