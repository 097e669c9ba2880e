/**
 * The narration panel of `runbook play`: the runbook's title, the step on show (i of n), what it says, and what the
 * console is doing for it (pressing keys, waiting, done, failed with what it expected and what it saw).
 */
import {Box, Text} from 'ink';
import {displayKey} from '../keymap/key-name.ts';
import {useTheme} from './contexts.tsx';
import {pad, truncate, wrapText} from './format.ts';

export interface NarrationView {
	title: string;
	/** 1-based (the first step, pending, while the console starts). */
	number: number;
	total: number;
	say?: string;
	/** What the step does, in words: `keys r`, `wait until the verdict on fraud-detector is fail (up to 90 s)`. */
	doing?: string;
	status: 'pending' | 'running' | 'passed' | 'failed' | 'cancelled';
	/** On failure: why, what was expected and what the console showed. */
	detail?: string;
	/** Past the last step. */
	finished: boolean;
}

/** The keys of the panel: chosen among keys the console binds to nothing, and never typed into a dialog. */
export const NARRATION_KEYS = {next: 'ctrl+n', back: 'ctrl+p', quit: 'ctrl+x'} as const;

/** Rows the panel takes: fewer on a short terminal, which keeps its rows for the console. */
export function narrationLines(height: number): number {
	return height >= 20 ? 5 : 3;
}

const icons = {pending: '·', running: '…', passed: '✓', failed: '✗', cancelled: '↷'} as const;

export function NarrationPanel({view, width, height}: {view: NarrationView; width: number; height: number}) {
	const theme = useTheme();
	const keys = `${displayKey(NARRATION_KEYS.next)} next · ${displayKey(NARRATION_KEYS.back)} back · ${displayKey(NARRATION_KEYS.quit)} quit`;
	const position = view.finished ? 'done' : `step ${view.number}/${view.total}`;
	const head = `▶ ${view.title}`;
	// A narrow terminal keeps the title readable: the keys in their short form (^N next, ^P back, ^X quit).
	const fullRight = ` ${position} · ${keys}`;
	const right = width - fullRight.length >= 24 ? fullRight : ` ${view.finished ? 'done' : `${view.number}/${view.total}`} · ^N ^P ^X`;
	const sayLines = height - 2;
	const wrapped = view.finished
		? [`End of the runbook. ${displayKey(NARRATION_KEYS.quit)} quits; ${displayKey(NARRATION_KEYS.back)} goes back.`]
		: wrapText(view.say ?? '', Math.max(1, width - 2));
	// Narration longer than the panel ends in … where it is cut.
	const said = wrapped.slice(0, Math.max(1, sayLines));
	if (wrapped.length > said.length) said[said.length - 1] = `${said[said.length - 1]!.slice(0, Math.max(0, width - 3))}…`;
	const statusColor = {
		pending: theme.text.muted,
		running: theme.status.info,
		passed: theme.status.ok,
		failed: theme.status.critical,
		cancelled: theme.text.muted,
	}[view.status];
	const status = view.finished
		? ''
		: `${icons[view.status]} ${view.doing ?? 'say'}${view.status === 'failed' && view.detail ? ` — ${view.detail}` : ''}`;
	return (
		<Box flexDirection="column" width={width} height={height} flexShrink={0} overflow="hidden">
			<Box flexShrink={0} height={1} overflow="hidden">
				<Text wrap="truncate-end">
					<Text inverse={theme.text.inverse} color={theme.text.accent} bold>
						{pad(truncate(head, Math.max(1, width - right.length)), Math.max(1, width - right.length))}
					</Text>
					<Text color={theme.text.muted}>{right}</Text>
				</Text>
			</Box>
			<Box flexDirection="column" flexShrink={0} height={Math.max(1, sayLines)} overflow="hidden">
				{said.map((line, index) => (
					<Text key={index} wrap="truncate-end">
						{' '}
						{line}
					</Text>
				))}
			</Box>
			<Box flexShrink={0} height={1} overflow="hidden">
				<Text color={statusColor} wrap="truncate-end">
					{' '}
					{status}
				</Text>
			</Box>
		</Box>
	);
}
