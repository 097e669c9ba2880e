import fc from 'fast-check';
import React from 'react';
import {render} from 'ink-testing-library';
import {afterEach, describe, expect, it} from 'vitest';
import {createConsole} from '../../source/app.tsx';
import {parseWeight} from '../../source/domain/weights.ts';
import {keyName} from '../../source/keymap/key-name.ts';
import {buildKeymap, Command} from '../../source/keymap/registry.ts';
import {Providers} from '../../source/ui/contexts.tsx';
import {Overlay} from '../../source/ui/Overlay.tsx';
import {handleOverlayKey} from '../../source/ui/overlay-keys.ts';
import {fullTheme} from '../../source/ui/theme.ts';
import {fakeSources, fixtureModels} from '../support/fake-sources.ts';
import {consoleDefaults} from '../support/console-defaults.ts';
import {renderConsole, settle} from '../support/render-console.tsx';

type Rendered = Awaited<ReturnType<typeof renderConsole>>;
let current: Rendered | undefined;
afterEach(() => {
	current?.cleanup();
	current = undefined;
});

describe('the weight dialog', () => {
	it('shows 4.5 as typed, says what is wrong, and applies nothing (it used to drop the dot and apply 45%)', async () => {
		const ui = (current = await renderConsole());
		await ui.press('w');
		await ui.type('4.5');
		expect(ui.frame()).toContain('new weight 0–100: 4.5');
		expect(ui.frame()).toContain('"4.5" is not a weight: type a whole number from 0 to 100');
		await ui.press('enter');
		expect(ui.frame()).not.toContain('→ 45%');
		expect(ui.frame()).toContain('"4.5" is not a weight');
		await ui.press('enter');
		await settle(50);
		expect(ui.sources.cluster.calls).toEqual([]);
	});
});

/** A console without a terminal: keys go through the same dispatcher as in the app. */
function headlessConsole() {
	const keymap = buildKeymap();
	const handle = createConsole({sources: fakeSources(), ...consoleDefaults});
	const {store, controller} = handle;
	store.dispatch({type: 'cluster/models', models: fixtureModels(), now: Date.now()});
	return {store, controller, keymap};
}

describe('the weight dialog, for any typed text', () => {
	const typedText = fc.oneof(
		fc.string({unit: fc.constantFrom(...'0123456789.,%- +eE'), maxLength: 8}),
		fc.string({unit: 'grapheme-ascii', maxLength: 12}),
		fc.string({unit: 'grapheme', maxLength: 6}),
	);

	it('shows exactly what was typed, and Enter applies only what parseWeight accepts', async () => {
		const {store, controller, keymap} = headlessConsole();
		await fc.assert(
			fc.asyncProperty(typedText, async (text) => {
				controller.closeOverlay();
				controller.run(Command.WEIGHT_SET);
				expect(store.getState().overlay?.kind).toBe('weight-input');
				for (const character of [...text]) {
					const overlay = store.getState().overlay!;
					handleOverlayKey(overlay, keyName(character, {}), character, controller, keymap);
				}

				const overlay = store.getState().overlay;
				if (overlay?.kind !== 'weight-input') throw new Error(`the dialog closed while typing ${JSON.stringify(text)}`);
				expect(overlay.text).toBe(text);
				const parsed = parseWeight(text);
				const frame = render(
					<Providers store={store} controller={controller} theme={fullTheme} keymap={keymap}>
						<Overlay state={store.getState()} overlay={overlay} width={120} height={20} />
					</Providers>,
				);
				try {
					expect(frame.lastFrame()).toContain(`new weight 0–100: ${text}`);
					if (text.trim() !== '' && 'error' in parsed) expect(frame.lastFrame()).toContain(parsed.error);
				} finally {
					frame.unmount();
				}

				handleOverlayKey(overlay, 'enter', '\r', controller, keymap);
				const after = store.getState().overlay;
				if ('weight' in parsed) {
					// The change is planned first (from a fresh read, asynchronously): the dialog follows once it is.
					for (let waited = 0; store.getState().overlay?.kind === 'weight-input' && waited < 2000; waited += 5) {
						await new Promise((resolve) => setTimeout(resolve, 5));
					}

					const planned = store.getState().overlay;
					// The weight it already has changes nothing: refused with a message, no confirmation.
					if (parsed.weight === overlay.current) expect(planned).toBeUndefined();
					else expect(planned).toMatchObject({kind: 'confirm', action: {kind: 'set-weight', to: parsed.weight}});
				} else {
					expect(after).toMatchObject({kind: 'weight-input', text, error: parsed.error});
				}
			}),
			{numRuns: 100},
		);
	}, 180_000);
});

describe('every dialog with a text field, for any typed text', () => {
	it('keeps exactly what was typed: the filter (applied as typed), the request id, the palette query', () => {
		const {store, controller, keymap} = headlessConsole();
		const opens = {
			filter: Command.FILTER,
			palette: Command.PALETTE,
		} as const;
		fc.assert(
			fc.property(fc.constantFrom('filter', 'palette', 'lookup'), fc.string({unit: 'grapheme', maxLength: 10}), (kind, text) => {
				controller.closeOverlay();
				store.dispatch({type: 'filter/set', text: ''});
				if (kind === 'lookup') store.dispatch({type: 'overlay/open', overlay: {kind: 'lookup', text: ''}});
				else controller.run(opens[kind]);
				for (const character of [...text])
					handleOverlayKey(store.getState().overlay!, keyName(character, {}), character, controller, keymap);
				const overlay = store.getState().overlay!;
				expect(overlay.kind).toBe(kind);
				expect(overlay.kind === 'palette' ? overlay.query : 'text' in overlay ? overlay.text : undefined).toBe(text);
				if (kind === 'filter') expect(store.getState().filter).toBe(text);
			}),
			{numRuns: 200},
		);
	}, 120_000);
});

describe('every command of the registry', () => {
	it('runs on every screen and in every dialog without throwing, or says why it cannot', () => {
		const {store, controller} = headlessConsole();
		const views = [
			{screen: 'fleet'},
			{screen: 'model', model: 'prod/fraud-detector'},
			{screen: 'log'},
			{screen: 'log', model: 'prod/fraud-detector'},
			{screen: 'audit'},
		] as const;
		const overlays = [
			{kind: 'help'},
			{kind: 'palette', query: 'pro', index: 0},
			{kind: 'weight-input', model: 'prod/fraud-detector', canary: 'v13', current: 10, text: '4.5'},
			{kind: 'filter', text: 'fr'},
			{kind: 'explain', title: 't', lines: []},
			{kind: 'pick', purpose: 'namespace', options: ['all namespaces', 'prod'], index: 0},
			{kind: 'lookup', text: 'req'},
			{kind: 'prediction', predictions: []},
		] as const;
		const ids = Object.values(Command);
		for (const view of views) {
			for (const id of ids) {
				store.dispatch({type: 'overlay/close'});
				store.dispatch({type: 'view/open', view});
				expect(() => controller.run(id), `${id} on ${JSON.stringify(view)}`).not.toThrow();
			}
		}

		for (const overlay of overlays) {
			for (const id of ids.filter((candidate) => candidate.startsWith('dialog.'))) {
				store.dispatch({type: 'view/open', view: {screen: 'fleet'}});
				store.dispatch({type: 'overlay/open', overlay: structuredClone(overlay) as never});
				expect(() => controller.run(id), `${id} in ${overlay.kind}`).not.toThrow();
			}
		}

		expect(store.getState().toasts.some((toast) => toast.message.startsWith('unknown command'))).toBe(false);
	});
});
