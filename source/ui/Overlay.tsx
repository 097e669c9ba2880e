import type React from 'react';
import {Box, Text} from 'ink';
import {available, Command, inScope, type CommandId, type Keymap, type Scope} from '../keymap/registry.ts';
import {displayKey} from '../keymap/key-name.ts';
import {requestIds} from '../state/selectors.ts';
import type {AppState, Overlay as OverlayState} from '../state/state.ts';
import {useKeymap, useTheme} from './contexts.tsx';
import {formatClock, formatMs, pad, printable as shown, truncate, wrapText} from './format.ts';
import {filterPalette} from '../keymap/palette.ts';
import {DeliveryDialog} from './DeliveryDialog.tsx';

/** The widest a dialog gets, and the lines its border and title take. */
const FRAME_WIDTH = 100;
const FRAME_LINES = 3;

/** The columns inside a dialog's border and padding. */
function innerWidth(width: number, full = false): number {
	return Math.max(1, (full ? width : Math.min(width, FRAME_WIDTH)) - 4);
}

/** A window of `room` rows of `count` that keeps `index` in view: the first row shown. */
function windowStart(count: number, room: number, index: number): number {
	return Math.max(0, Math.min(index - room + 1, count - room, index));
}

/** "↑ 2 more · ↓ 12 more" for rows above and below a window, or an empty string. */
function moreLabel(above: number, below: number): string {
	return [above > 0 ? `↑ ${above} more` : '', below > 0 ? `↓ ${below} more` : ''].filter(Boolean).join(' · ');
}

function Frame(props: {title: string; children: React.ReactNode; width: number; color?: string | undefined; full?: boolean}) {
	const {title, children, width, color} = props;
	// Never shrunk: a shrunk frame lets its lines run over its border.
	return (
		<Box
			flexDirection="column"
			borderStyle="round"
			borderColor={color}
			paddingX={1}
			width={props.full ? width : Math.min(width, FRAME_WIDTH)}
			flexShrink={0}
		>
			<Text bold color={color} wrap="truncate-end">
				{title}
			</Text>
			{children}
		</Box>
	);
}

function Help({state, width, height}: {state: AppState; width: number; height: number}) {
	const theme = useTheme();
	const keymap = useKeymap();
	const shown = keymap.commands.filter((command) => available(command, state));
	// Dialog keys on one line of their own: they are few, short, and the same in every dialog.
	const dialogKeys = shown
		.filter((command) => command.scope === 'dialog')
		.map((command) => `${command.keys.map(displayKey).join(' ')} ${command.hint}`)
		.join(' · ');
	const rows = shown
		.filter((command) => command.scope !== 'dialog')
		.map((command) => ({
			keys: command.keys.map(displayKey).join(' '),
			description: command.description,
			scope: command.scope,
			disabled: inScope(command, state) ? command.disabledReason?.(state) : undefined,
			dangerous: command.dangerous,
		}));
	// Every key visible without scrolling where the terminal allows: as many columns as the height needs, each wide
	// enough to read; what still does not fit is counted on the last line.
	// One line more for the dialog keys.
	const rowsPerColumn = Math.max(1, height - FRAME_LINES - 1);
	const maxColumns = Math.max(1, Math.floor((Math.min(width, 160) - 4) / 24));
	const columnsCount = Math.min(maxColumns, Math.max(width >= 140 ? 2 : 1, Math.ceil(rows.length / rowsPerColumn)));
	const fits = Math.ceil(rows.length / columnsCount) <= rowsPerColumn;
	const perColumn = fits ? Math.ceil(rows.length / columnsCount) : Math.max(1, rowsPerColumn - 1);
	const hidden = Math.max(0, rows.length - perColumn * columnsCount);
	const columnWidth = Math.floor((Math.min(width, 160) - 4) / columnsCount);
	return (
		<Box
			flexDirection="column"
			borderStyle="round"
			paddingX={1}
			height={Math.min(height, perColumn + FRAME_LINES + 1 + (hidden > 0 ? 1 : 0))}
			flexShrink={0}
			overflow="hidden"
		>
			<Text bold wrap="truncate-end">
				Keys{' '}
				<Text color={theme.text.muted}>
					({keyOf(keymap, Command.DIALOG_CANCEL)} closes · ! changes the cluster, asks first
					{state.readOnly ? ' · read-only: those are not available' : ''})
				</Text>
			</Text>
			<Box>
				{Array.from({length: columnsCount}, (_, column) => (
					<Box key={column} flexDirection="column" width={columnWidth} paddingRight={1} flexShrink={0}>
						{rows.slice(column * perColumn, (column + 1) * perColumn).map((row) => (
							<Text key={row.description} wrap="truncate-end" dimColor={row.disabled !== undefined}>
								<Text bold color={theme.text.accent}>
									{pad(row.keys, columnsCount > 1 ? 8 : 10)}
								</Text>
								<Text color={row.dangerous ? theme.status.warning : undefined}>{row.dangerous ? '!' : ' '}</Text>
								<Text>{row.description}</Text>
								<Text color={theme.text.muted}>{scopeLabel(row.scope)}</Text>
							</Text>
						))}
					</Box>
				))}
			</Box>
			<Text wrap="truncate-end">
				<Text color={theme.text.muted}>in a dialog: </Text>
				{dialogKeys}
			</Text>
			{hidden > 0 ? (
				<Text color={theme.text.muted} wrap="truncate-end">
					↓ {hidden} more: a taller terminal shows them, the palette (:) finds any
				</Text>
			) : null}
		</Box>
	);
}

function scopeLabel(scope: Scope): string {
	if (scope === 'global' || scope === 'target') return '';
	return scope === 'list' ? ' [fleet, log]' : ` [${scope}]`;
}

/** The first key bound to a command, as people read it: dialog keys can be overridden in settings, hints follow. */
function keyOf(keymap: Keymap, id: CommandId): string {
	const key = keymap.commands.find((command) => command.id === id)?.keys[0];
	return key === undefined ? '(unbound)' : displayKey(key);
}

/** A key that types a character into a text field (behind the danger gate it is part of the name, not a command). */
function typesText(key: string): boolean {
	return key === 'space' || [...key].length === 1;
}

/**
 * Every key bound to the commands, as people read them, once each (`y` and `Y` are one key to a reader): `y/enter`.
 * `textTyped`: the dialog takes printable keys as text, so only the others are in force.
 */
function keysOf(keymap: Keymap, ids: CommandId[], textTyped = false): string | undefined {
	const seen = new Set<string>();
	const shown: string[] = [];
	for (const id of ids) {
		for (const key of keymap.commands.find((command) => command.id === id)?.keys ?? []) {
			if (textTyped && typesText(key)) continue;
			const label = displayKey(key);
			if (seen.has(label.toLowerCase())) continue;
			seen.add(label.toLowerCase());
			shown.push(label);
		}
	}

	return shown.length === 0 ? undefined : shown.join('/');
}

/** What to do when a command has no key that works here: say so and how to bind one. */
function unbound(id: CommandId, textTyped: boolean): string {
	return textTyped
		? `(${id} has only keys that type here: bind one such as enter or esc in settings "keys")`
		: `(${id} has no key: bind one in settings "keys")`;
}

function pickTitle(overlay: Extract<OverlayState, {kind: 'pick'}>): string {
	if (overlay.purpose === 'switch') return `Blue-green switch ${overlay.model.split('/').at(-1)}: all traffic to which version?`;
	return overlay.purpose === 'context' ? 'Switch context' : 'Switch namespace';
}

export function Overlay({state, overlay, width, height}: {state: AppState; overlay: OverlayState; width: number; height: number}) {
	const theme = useTheme();
	const keymap = useKeymap();
	const accept = keyOf(keymap, Command.DIALOG_ACCEPT);
	const cancel = keyOf(keymap, Command.DIALOG_CANCEL);
	switch (overlay.kind) {
		case 'help': {
			return <Help state={state} width={width} height={height} />;
		}

		case 'palette': {
			const all = filterPalette(state, keymap, overlay.query);
			const fits = all.length <= height - FRAME_LINES - 1;
			const room = Math.max(1, height - FRAME_LINES - (fits ? 1 : 2));
			const start = windowStart(all.length, room, overlay.index);
			const items = all.slice(start, start + room);
			const more = moreLabel(start, all.length - start - items.length);
			return (
				<Frame title="Command palette" width={width} color={theme.text.accent}>
					<Text wrap="truncate-end">
						: {overlay.query}
						<Text inverse> </Text>
					</Text>
					{items.length === 0 ? <Text color={theme.text.muted}>nothing matches</Text> : null}
					{items.map((item, index) => (
						<Text key={`${item.kind}-${item.label}`} inverse={start + index === overlay.index} wrap="truncate-end">
							<Text dimColor={item.kind === 'command' && item.disabled !== undefined}>{item.label}</Text>
							<Text color={theme.text.muted}>
								{'  '}
								{item.kind === 'command' && item.disabled ? item.disabled : item.detail}
							</Text>
						</Text>
					))}
					{more ? <Text color={theme.text.muted}>{more}</Text> : null}
				</Frame>
			);
		}

		case 'confirm': {
			const {danger} = overlay;
			// Wrapped here, so that a long plan on a short terminal gives way before the keys line does.
			const inner = innerWidth(width);
			const keyLines = danger ? 2 + (danger.error ? 1 : 0) : 1;
			const lines = [
				...(danger?.lines ?? []).flatMap((line) => wrapText(line, inner).map((text) => ({text, danger: true}))),
				...overlay.summary.flatMap((line) => wrapText(`  ${line}`, inner).map((text) => ({text, danger: false}))),
			];
			const room = Math.max(1, height - FRAME_LINES - keyLines);
			const cut = lines.length > room;
			const shownLines = cut ? lines.slice(0, Math.max(0, room - 1)) : lines;
			return (
				<Frame title={`${overlay.title}?`} width={width} color={danger ? theme.status.critical : theme.status.warning}>
					{/* The danger first, with its evidence, before what the change does. */}
					{shownLines.map((line, index) => (
						<Text key={`line-${index}`} color={line.danger ? theme.status.critical : undefined} wrap="truncate-end">
							{line.text || ' '}
						</Text>
					))}
					{cut ? (
						<Text color={theme.text.muted} wrap="truncate-end">
							↓ {lines.length - shownLines.length} more lines: a taller terminal shows them
						</Text>
					) : null}
					{danger ? (
						<>
							<Text>
								type <Text bold>{danger.confirmWith}</Text> to go ahead: {danger.typed}
								<Text inverse> </Text>
							</Text>
							{danger.error ? <Text color={theme.status.critical}>{danger.error}</Text> : null}
							<Text>
								<Text bold>{keysOf(keymap, [Command.DIALOG_ACCEPT], true) ?? unbound(Command.DIALOG_ACCEPT, true)}</Text> confirm once typed
								· <Text bold>{keysOf(keymap, [Command.DIALOG_CANCEL], true) ?? unbound(Command.DIALOG_CANCEL, true)}</Text> cancel
							</Text>
						</>
					) : (
						<Text>
							<Text bold color={theme.status.warning}>
								{keysOf(keymap, [Command.DIALOG_YES, Command.DIALOG_ACCEPT]) ?? unbound(Command.DIALOG_ACCEPT, false)}
							</Text>{' '}
							confirm · <Text bold>{keysOf(keymap, [Command.DIALOG_CANCEL]) ?? unbound(Command.DIALOG_CANCEL, false)}</Text> cancel
						</Text>
					)}
				</Frame>
			);
		}

		case 'weight-input': {
			return (
				<Frame title={`Set canary ${overlay.canary} weight (now ${overlay.current}%)`} width={width} color={theme.text.accent}>
					<Text>
						new weight 0–100: {overlay.text}
						<Text inverse> </Text>%
					</Text>
					{overlay.error ? (
						<Text color={theme.status.critical}>{overlay.error}</Text>
					) : (
						<Text color={theme.text.muted}>
							{accept} to review · {cancel} cancel
						</Text>
					)}
				</Frame>
			);
		}

		case 'deliver': {
			return (
				<DeliveryDialog
					dialog={overlay}
					modelName={overlay.model.split('/').at(-1) ?? overlay.model}
					width={width}
					height={height}
					keys={`${accept} review the plan · ${keysOf(keymap, [Command.DIALOG_DOWN], true) ?? ''} next field · ${cancel} cancel`}
				/>
			);
		}

		case 'filter': {
			return (
				<Text>
					/{overlay.text}
					<Text inverse> </Text>
					<Text color={theme.text.muted}>
						{' '}
						{accept} keeps · {cancel} clears
					</Text>
				</Text>
			);
		}

		case 'explain': {
			const explained = overlay.lines.flatMap((line) => wrapText(line, innerWidth(width, true)));
			const explainRoom = Math.max(1, height - FRAME_LINES - 1);
			return (
				<Frame title={overlay.title} width={width} color={theme.text.accent} full>
					{/* Whole queries, wrapped rather than cut, so they can be copied from the terminal: wrapped here, so the
					    lines are counted before they are drawn. */}
					{explained.slice(0, explainRoom).map((line, index) => (
						<Text key={index} wrap="truncate-end">
							{line || ' '}
						</Text>
					))}
					<Text color={theme.text.muted} wrap="truncate-end">
						{explained.length > explainRoom ? `↓ ${explained.length - explainRoom} more lines · ` : ''}
						{cancel} closes · the same queries are in `modeldeck status --json`
					</Text>
				</Frame>
			);
		}

		case 'pick': {
			const pickFits = overlay.options.length <= height - FRAME_LINES;
			const pickRoom = Math.max(1, height - FRAME_LINES - (pickFits ? 0 : 1));
			const pickStart = windowStart(overlay.options.length, pickRoom, overlay.index);
			const pickMore = moreLabel(pickStart, overlay.options.length - pickStart - Math.min(pickRoom, overlay.options.length - pickStart));
			return (
				<Frame title={pickTitle(overlay)} width={width} color={theme.text.accent}>
					{overlay.options.slice(pickStart, pickStart + pickRoom).map((option, index) => (
						<Text key={option} inverse={pickStart + index === overlay.index} wrap="truncate-end">
							{overlay.purpose === 'switch' ? (overlay.labels[pickStart + index] ?? option) : option}
						</Text>
					))}
					{pickMore ? <Text color={theme.text.muted}>{pickMore}</Text> : null}
				</Frame>
			);
		}

		case 'lookup': {
			const ids = requestIds(overlay.results ?? []);
			const index = overlay.index ?? 0;
			return (
				<Frame title="Find a prediction by the start of its request id" width={width} color={theme.text.accent}>
					<Text>
						request id: {overlay.text}
						<Text inverse> </Text>
					</Text>
					{overlay.searching ? <Text color={theme.text.muted}>searching…</Text> : null}
					{overlay.error ? <Text color={theme.status.critical}>{overlay.error}</Text> : null}
					{overlay.results?.length === 0 ? (
						<Text color={theme.text.muted}>no prediction whose request id starts with "{overlay.text}" in stored history</Text>
					) : null}
					{ids.length > 1 ? (
						<Text color={theme.text.muted}>
							{ids.length} requests start with "{overlay.text}": which one? ({keyOf(keymap, Command.DIALOG_UP)}
							{keyOf(keymap, Command.DIALOG_DOWN)} pick · {accept} opens · type more to narrow)
						</Text>
					) : null}
					{ids.length > 1
						? ids
								.slice(
									Math.max(0, index - Math.max(1, height - 6) + 1),
									Math.max(0, index - Math.max(1, height - 6) + 1) + Math.max(1, height - 6),
								)
								.map((id) => {
									const first = overlay.results!.find((prediction) => prediction.requestId === id)!;
									return (
										<Text key={id} inverse={id === ids[index]} wrap="truncate-end">
											{id}{' '}
											<Text color={theme.text.muted}>
												{formatClock(first.time)} {first.model} {first.version} {first.status}
											</Text>
										</Text>
									);
								})
						: null}
				</Frame>
			);
		}

		case 'prediction': {
			const [first] = overlay.predictions;
			return (
				<Frame title={`Prediction ${first?.requestId ?? ''}`} width={width} color={theme.text.accent}>
					{overlay.predictions.slice(0, 3).map((prediction) => (
						<Box key={`${prediction.version}-${prediction.time}`} flexDirection="column">
							<Text wrap="truncate-end">
								<Text bold>
									{prediction.model} {prediction.version}
								</Text>
								<Text color={theme.text.muted}>
									{' '}
									{prediction.namespace} · {formatClock(prediction.time)} · {formatMs(prediction.latencyMs)} ms ·{' '}
								</Text>
								<Text color={prediction.status === 'error' ? theme.status.critical : theme.status.ok}>
									{prediction.status}
									{prediction.code === undefined ? '' : ` ${prediction.code}`}
								</Text>
							</Text>
							{/* Whole, wrapped rather than cut: this is where the request and the response are read. */}
							<Text wrap="wrap">request: {shown(prediction.inputSummary)}</Text>
							<Text wrap="wrap">response: {shown(prediction.outputSummary)}</Text>
						</Box>
					))}
					<Text color={theme.text.muted}>{cancel} closes</Text>
				</Frame>
			);
		}
	}
}
