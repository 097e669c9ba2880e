import React from 'react';
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
	const toastHeight = Math.min(2, state.toasts.length);
	const filterHeight = state.overlay?.kind === 'filter' ? 1 : 0;
	const bodyHeight = Math.max(3, height - headerHeight - 1 - toastHeight - running.length * 2 - filterHeight);
	const fullOverlay = state.overlay && state.overlay.kind !== 'filter' ? state.overlay : undefined;

	let body: React.ReactNode;
	if (fullOverlay) body = <Overlay state={state} overlay={fullOverlay} width={width} height={bodyHeight} />;
	else if (state.view.screen === 'model') body = <ModelView state={state} width={width} height={bodyHeight} />;
	else if (state.view.screen === 'log') body = <PredictionLog state={state} width={width} height={bodyHeight} />;
	else if (state.view.screen === 'audit') body = <AuditView state={state} height={bodyHeight} />;
	else body = <FleetTable state={state} width={width} height={bodyHeight} />;

	return (
		<Box flexDirection="column" width={width} height={height}>
			<Header state={state} width={width} />
			<Box flexDirection="column" height={bodyHeight} overflow="hidden">
				{body}
			</Box>
			{state.overlay?.kind === 'filter' ? <Overlay state={state} overlay={state.overlay} width={width} height={1} /> : null}
			{running.map((task) => (
				<TaskPanel key={task.id} task={task} width={width} />
			))}
			<Toasts state={state} />
			<Footer state={state} width={width} />
		</Box>
	);
}
