/**
 * `runbook play`'s screen: the console as always, with the narration panel below it. The panel's keys (ctrl+n next,
 * ctrl+p back, ctrl+x quit) are bound to nothing in the console and are never text in a dialog, so every console key
 * still works while a runbook plays.
 */
import {useEffect, useSyncExternalStore} from 'react';
import {Box, useApp, useInput, useWindowSize} from 'ink';
import {keyName} from '../keymap/key-name.ts';
import {App} from '../ui/App.tsx';
import {useController} from '../ui/contexts.tsx';
import {NARRATION_KEYS, NarrationPanel, narrationLines} from '../ui/NarrationPanel.tsx';
import type {PlaySession} from './play-session.ts';

export function Player({session, width: fixedWidth, height: fixedHeight}: {session: PlaySession; width?: number; height?: number}) {
	const size = useWindowSize();
	const controller = useController();
	const app = useApp();
	const width = fixedWidth ?? size.columns ?? 80;
	const height = fixedHeight ?? size.rows ?? 24;
	const view = useSyncExternalStore(session.subscribe, session.view);

	useEffect(() => {
		void session.start();
		return () => session.stop();
	}, [session]);

	useInput((input, key) => {
		// Keys typed faster than a frame arrive as one string, as in the console's own dispatcher: one by one.
		const plain = !key.ctrl && !key.meta && !key.escape && !key.return && !key.tab && !key.backspace && !key.delete;
		for (const character of plain && input.length > 1 ? [...input] : [input]) handle(keyName(character, input.length > 1 ? {} : key));
	});

	function handle(name: string) {
		if (name === NARRATION_KEYS.next) session.next();
		else if (name === NARRATION_KEYS.back) session.back();
		else if (name === NARRATION_KEYS.quit) {
			session.stop();
			controller.run('app.quit');
			app.exit();
		}
	}

	const panel = narrationLines(height);
	return (
		<Box flexDirection="column" width={width} height={height} overflow="hidden" flexShrink={0}>
			<App width={width} height={height - panel} />
			<NarrationPanel view={view} width={width} height={panel} />
		</Box>
	);
}
