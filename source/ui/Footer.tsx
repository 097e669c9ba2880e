import React from 'react';
import {Box, Text} from 'ink';
import {available, inScope} from '../keymap/registry.ts';
import {displayKey} from '../keymap/key-name.ts';
import type {AppState} from '../state/state.ts';
import {useKeymap, useTheme} from './contexts.tsx';
import {truncate} from './format.ts';

/** Footer hints generated from the keymap: the keys of the current screen, disabled ones dimmed. */
export function footerHints(keymap: ReturnType<typeof useKeymap>, state: AppState): Array<{key: string; hint: string; disabled: boolean}> {
	const seen = new Set<string>();
	const hints: Array<{key: string; hint: string; disabled: boolean}> = [];
	const wanted = new Set(keymap.commands.filter((command) => command.footerWhen?.(state)));
	const rank = (command: (typeof keymap.commands)[number]) => (wanted.has(command) ? 0 : command.scope === 'global' ? 2 : 1);
	const ordered = [...keymap.commands].sort((a, b) => rank(a) - rank(b));
	for (const command of ordered) {
		if (!(command.footer || wanted.has(command)) || !available(command, state) || !inScope(command, state) || seen.has(command.hint))
			continue;
		seen.add(command.hint);
		const keys = command.id === 'canary.weightUp' ? '+/-' : displayKey(command.keys[0] ?? '');
		hints.push({key: keys, hint: command.hint, disabled: command.disabledReason?.(state) !== undefined});
	}

	return hints;
}

export function Footer({state, width}: {state: AppState; width: number}) {
	const theme = useTheme();
	const keymap = useKeymap();
	const hints = footerHints(keymap, state);
	const prefix = truncate(state.readOnly ? `read-only${state.readOnlyReason ? ` (${state.readOnlyReason})` : ''} · ` : '', width - 1);
	let used = prefix.length;
	const shown: typeof hints = [];
	for (const hint of hints) {
		const length = hint.key.length + hint.hint.length + 2;
		if (used + length > width - 1) break;
		used += length;
		shown.push(hint);
	}

	return (
		<Box height={1} overflow="hidden">
			{prefix ? <Text color={theme.badge.readOnly}>{prefix}</Text> : null}
			{shown.map(({key, hint, disabled}) => (
				<Text key={hint} dimColor={disabled}>
					<Text bold color={disabled ? theme.text.muted : theme.text.accent}>
						{key}
					</Text>
					<Text color={theme.text.muted}> {hint} </Text>
				</Text>
			))}
		</Box>
	);
}
