import type React from 'react';
import {Box, useApp, useInput, useWindowSize} from 'ink';
import {keyName} from '../keymap/key-name.ts';
import {AuditView} from './AuditView.tsx';
import {useAppState, useController, useKeymap} from './contexts.tsx';
import {FleetTable} from './FleetTable.tsx';
import {Footer} from './Footer.tsx';
import {Header, headerLines} from './Header.tsx';
import {ModelView} from './ModelView.tsx';
import {Overlay} from './Overlay.tsx';
import {handleOverlayKey} from './overlay-keys.ts';
import {PredictionLog} from './PredictionLog.tsx';
import {TaskPanel} from './TaskPanel.tsx';
import {Toasts} from './Toasts.tsx';

/** A running task below the screen: its title line and its checks so far. */
const TASK_PANEL_LINES = 2;

/** The root: layout and the one key dispatcher. Screens are their own components. */
export function App({width: fixedWidth, height: fixedHeight}: {width?: number; height?: number}) {
	const state = useAppState();
	const controller = useController();
	const keymap = useKeymap();
	const app = useApp();
	const size = useWindowSize();
	const width = fixedWidth ?? size.columns ?? 80;
	const height = fixedHeight ?? size.rows ?? 24;

	useInput((input, key) => {
		// Keys typed faster than a frame (or pasted) arrive as one string: handle them one by one.
		const plain = !key.ctrl && !key.meta && !key.escape && !key.return && !key.tab && !key.backspace && !key.delete;
		const characters = plain && input.length > 1 ? [...input] : [input];
		for (const character of characters) handleKey(character, characters.length > 1 ? {} : key);
	});

	function handleKey(input: string, key: Parameters<typeof keyName>[1]) {
		const name = keyName(input, key);
		if (name === 'ctrl+c') {
			controller.run('app.quit');
			app.exit();
			return;
		}

		const current = controller.state;
		if (current.overlay && handleOverlayKey(current.overlay, name, input, controller, keymap)) return;
		controller.handleKey(name);
		if (controller.state.quitting) app.exit();
	}

	const running = state.view.screen === 'model' ? [] : state.tasks.filter((task) => task.state === 'running').slice(-1);
	const headerHeight = headerLines(state);
	// A short terminal keeps its rows for the screen: one toast line instead of two.
	const toastHeight = Math.min(height >= 20 ? 2 : 1, state.toasts.length);
	const filterHeight = state.overlay?.kind === 'filter' ? 1 : 0;
	const bodyHeight = Math.max(3, height - headerHeight - 1 - toastHeight - running.length * TASK_PANEL_LINES - filterHeight);
	const fullOverlay = state.overlay && state.overlay.kind !== 'filter' ? state.overlay : undefined;

	let body: React.ReactNode;
	if (fullOverlay) body = <Overlay state={state} overlay={fullOverlay} width={width} height={bodyHeight} />;
	else if (state.view.screen === 'model') body = <ModelView state={state} width={width} height={bodyHeight} />;
	else if (state.view.screen === 'log') body = <PredictionLog state={state} width={width} height={bodyHeight} />;
	else if (state.view.screen === 'audit') body = <AuditView state={state} height={bodyHeight} />;
	else body = <FleetTable state={state} width={width} height={bodyHeight} />;

	// Every part has the height computed above and never shrinks: a part Yoga shrank would be drawn over by the next.
	const frame = (
		<Box flexDirection="column" width={width} height={height} overflow="hidden" flexShrink={0}>
			<Box flexDirection="column" flexShrink={0} height={headerHeight} overflow="hidden">
				<Header state={state} width={width} />
			</Box>
			<Box flexDirection="column" flexShrink={0} height={bodyHeight} overflow="hidden">
				{body}
			</Box>
			{state.overlay?.kind === 'filter' ? (
				<Box flexShrink={0} height={1} overflow="hidden">
					<Overlay state={state} overlay={state.overlay} width={width} height={1} />
				</Box>
			) : null}
			{running.map((task) => (
				<Box key={task.id} flexDirection="column" flexShrink={0} height={TASK_PANEL_LINES} overflow="hidden">
					<TaskPanel task={task} width={width} />
				</Box>
			))}
			{toastHeight > 0 ? (
				<Box flexDirection="column" flexShrink={0} height={toastHeight} overflow="hidden">
					<Toasts state={state} lines={toastHeight} />
				</Box>
			) : null}
			<Box flexShrink={0} height={1} overflow="hidden">
				<Footer state={state} width={width} />
			</Box>
		</Box>
	);
	// Right after a resize Ink draws once more before the new size reaches this component: cut to the terminal's
	// width, that frame cannot wrap into extra rows, which Ink's next diff would not know about (a second footer).
	return fixedWidth === undefined ? (
		<Box width="100%" overflow="hidden">
			{frame}
		</Box>
	) : (
		frame
	);
}
