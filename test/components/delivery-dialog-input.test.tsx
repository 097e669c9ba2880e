/**
 * The rollout dialog (`d`) for any typed text: every field keeps exactly what was typed and shows it, the version
 * follows the image's tag until it is typed, the problems shown are the checks of the typed spec (each says how to fix
 * it), and enter asks for a plan only when there is none; the dialog's keys never throw.
 */
import fc from 'fast-check';
import {render} from 'ink-testing-library';
import {describe, expect, it} from 'vitest';
import {createConsole} from '../../source/app.tsx';
import type {DeliveryPlan, DeliverySpec} from '../../source/domain/delivery.ts';
import {keyName} from '../../source/keymap/key-name.ts';
import {buildKeymap, Command} from '../../source/keymap/registry.ts';
import {deliveryDialogProblems, deliverySpecFromDialog, parsePause, versionFromImage} from '../../source/console/delivery-form.ts';
import {findModel} from '../../source/state/selectors.ts';
import {Providers} from '../../source/ui/contexts.tsx';
import {Overlay} from '../../source/ui/Overlay.tsx';
import {handleOverlayKey} from '../../source/ui/overlay-keys.ts';
import {fullTheme} from '../../source/ui/theme.ts';
import {consoleDefaults} from '../support/console-defaults.ts';
import {fakeSources, fixtureModels} from '../support/fake-sources.ts';

/** A console with an agent and a source that plans rollouts, keys through the app's dispatcher. */
function headlessConsole() {
	const keymap = buildKeymap();
	const sources = fakeSources({agent: true});
	const planned: DeliverySpec[] = [];
	sources.cluster.planDelivery = async (spec: DeliverySpec): Promise<DeliveryPlan> => {
		planned.push(spec);
		return {spec, mode: 'weights', stable: 'v12', writes: [{object: `Deployment/x-${spec.version}`, change: 'created'}]};
	};
	const handle = createConsole({sources, ...consoleDefaults});
	const {store, controller} = handle;
	store.dispatch({type: 'cluster/models', models: fixtureModels(), now: Date.now()});
	store.dispatch({type: 'source/ok', source: 'agent', now: Date.now()});
	return {store, controller, keymap, planned};
}

const typedText = fc.oneof(
	fc.string({unit: fc.constantFrom(...'0123456789.,:/@-_ abcvVmsSLOW'), maxLength: 14}),
	fc.string({unit: 'grapheme-ascii', maxLength: 14}),
	fc.string({unit: 'grapheme', maxLength: 6}),
);

describe('the rollout dialog, for any typed text', () => {
	it('keeps and shows what was typed in each field, says the spec’s problems, and plans only a spec without any', async () => {
		const {store, controller, keymap, planned} = headlessConsole();
		await fc.assert(
			fc.asyncProperty(typedText, typedText, typedText, typedText, fc.boolean(), async (image, version, steps, pause, typeVersion) => {
				controller.closeOverlay();
				planned.length = 0;
				controller.run(Command.DELIVER);
				const type = (text: string) => {
					for (const character of [...text])
						handleOverlayKey(store.getState().overlay!, keyName(character, {}), character, controller, keymap);
				};

				const erase = (count: number) => {
					for (let index = 0; index < count; index++) handleOverlayKey(store.getState().overlay!, 'backspace', '', controller, keymap);
				};

				const next = () => handleOverlayKey(store.getState().overlay!, 'tab', '\t', controller, keymap);
				type(image);
				next();
				if (typeVersion) {
					erase(100);
					type(version);
				}

				next();
				erase(20);
				type(steps);
				next();
				erase(10);
				type(pause);
				const overlay = store.getState().overlay;
				if (overlay?.kind !== 'deliver')
					throw new Error(`the dialog closed while typing ${JSON.stringify({image, version, steps, pause})}`);
				const expectedVersion = typeVersion ? version : versionFromImage(image);
				expect(overlay.fields).toEqual({image, version: expectedVersion, steps, pause});
				const model = findModel(store.getState(), overlay.model)!;
				expect(overlay.problems).toEqual(deliveryDialogProblems(overlay, model, false));
				if (parsePause(pause) === undefined) expect(overlay.problems.some((problem) => problem.startsWith('pause:'))).toBe(true);
				const frame = render(
					<Providers store={store} controller={controller} theme={fullTheme} keymap={keymap}>
						<Overlay state={store.getState()} overlay={overlay} width={200} height={30} />
					</Providers>,
				);
				try {
					const shown = frame.lastFrame() ?? '';
					// Each value as typed, on its line (control characters never reach the terminal as typed: none is typable).
					for (const value of [image, expectedVersion, steps, pause].filter((text) => text.trim() !== ''))
						expect(shown).toContain(value.trimEnd());
				} finally {
					frame.unmount();
				}

				const strict = deliverySpecFromDialog(overlay, model, 'alice@prod-cluster');
				handleOverlayKey(overlay, 'enter', '\r', controller, keymap);
				for (let waited = 0; store.getState().overlay?.kind === 'deliver' && strict.problems.length === 0 && waited < 2000; waited += 5) {
					await new Promise((resolve) => setTimeout(resolve, 5));
				}

				if (strict.problems.length > 0) {
					expect(store.getState().overlay).toMatchObject({kind: 'deliver', problems: strict.problems});
					expect(planned).toEqual([]);
				} else {
					expect(planned).toEqual([strict.spec]);
					expect(store.getState().overlay).toMatchObject({kind: 'confirm', action: {kind: 'deliver', spec: strict.spec}});
				}
			}),
			{numRuns: 60},
		);
	}, 180_000);

	it('every dialog key works in it without throwing', () => {
		const {store, controller} = headlessConsole();
		for (const id of Object.values(Command).filter((candidate) => candidate.startsWith('dialog.'))) {
			controller.closeOverlay();
			controller.run(Command.DELIVER);
			expect(store.getState().overlay?.kind).toBe('deliver');
			expect(() => controller.run(id), id).not.toThrow();
		}
	});
});

describe('the version from the image', () => {
	it('is the tag, made a version name, for any image', () => {
		expect(versionFromImage('registry.local:5000/fraud:v14')).toBe('v14');
		expect(versionFromImage('registry.local:5000/fraud')).toBe('');
		expect(versionFromImage('fraud@sha256:abc')).toBe('');
		expect(versionFromImage('fraud:V14_RC1')).toBe('v14-rc1');
		fc.assert(
			fc.property(fc.string({maxLength: 80}), (image) => {
				const version = versionFromImage(image);
				expect(version === '' || (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(version) && version.length <= 63)).toBe(true);
			}),
		);
	});
});
