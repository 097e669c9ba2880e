/** Render the real console tree with ink-testing-library over fake ports. */
import {render} from 'ink-testing-library';
import {afterEach} from 'vitest';
import {createConsole, type ConsoleSetup} from '../../source/app.tsx';
import {consoleDefaults} from './console-defaults.ts';
import {fakeSources} from './fake-sources.ts';
import {key} from './keys.ts';

export async function settle(ms = 30): Promise<void> {
	await new Promise((resolve) => setTimeout(resolve, ms));
}

export async function renderConsole(
	options: Partial<ConsoleSetup> & {width?: number; height?: number; agent?: boolean; metrics?: boolean} = {},
) {
	const sources = fakeSources({
		...(options.agent === undefined ? {} : {agent: options.agent}),
		...(options.metrics === undefined ? {} : {metrics: options.metrics}),
	});
	const handle = createConsole(
		{
			sources,
			...consoleDefaults,
			...options,
		},
		{width: options.width ?? 100, height: options.height ?? 30},
	);
	handle.controller.start();
	const rendered = render(handle.element);
	await settle();
	return {
		...rendered,
		...handle,
		sources,
		/** Press keys by keymap name, one at a time, letting the frame update. */
		async press(...names: string[]) {
			for (const name of names) {
				rendered.stdin.write(key(name));
				// Ink waits 20 ms after a lone ESC to tell it from the start of an escape sequence.
				await settle(name === 'esc' ? 45 : 15);
			}
		},
		async type(text: string) {
			for (const character of text) {
				rendered.stdin.write(character);
				await settle(5);
			}

			await settle();
		},
		frame(): string {
			return rendered.lastFrame() ?? '';
		},
		/** Wait until the frame matches (figures arrive after the first frame), or fail with the last frame. */
		async waitFor(match: string | RegExp, timeoutMs = 3000): Promise<string> {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const frame = rendered.lastFrame() ?? '';
				if (typeof match === 'string' ? frame.includes(match) : match.test(frame)) return frame;
				if (Date.now() > deadline) throw new Error(`Timed out waiting for ${String(match)}. Frame:\n${frame}`);
				await settle(20);
			}
		},
		cleanup() {
			handle.controller.stop();
			rendered.unmount();
		},
	};
}

/** Registers an afterEach that cleans up the console the test opened; returns `open`, which renders one. */
export function openConsolePerTest(): (options?: Parameters<typeof renderConsole>[0]) => ReturnType<typeof renderConsole> {
	let current: Awaited<ReturnType<typeof renderConsole>> | undefined;
	afterEach(() => {
		current?.cleanup();
		current = undefined;
	});
	return async (options = {}) => {
		current = await renderConsole(options);
		return current;
	};
}
