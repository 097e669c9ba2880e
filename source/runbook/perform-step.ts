/**
 * Carries out one runbook step on a console (its store and controller): keys go through the same dispatch as the
 * terminal's (a dialog first, then the keymap), commands through the palette's path, waits and checks read the state
 * through the selectors the screens use. Used headless by `runbook run` and live by `runbook play`.
 */
import type {Action, Step} from '../domain/runbook/types.ts';
import {modelKey} from '../domain/types.ts';
import {type CommandId, type Keymap, readOnlyReason} from '../keymap/registry.ts';
import type {Controller} from '../console/controller.ts';
import {fleetRows} from '../state/selectors.ts';
import type {Store} from '../console/store.ts';
import {handleOverlayKey} from '../ui/overlay-keys.ts';
import {describeCondition, evaluateCondition, findNamedModel, findNamedVersion} from './conditions.ts';

export interface ConsoleDriver {
	store: Store;
	controller: Controller;
	keymap: Keymap;
}

export interface StepOutcome {
	status: 'passed' | 'failed' | 'cancelled';
	/** Why it failed, for the report. */
	message?: string;
	/** For waits and checks: the condition in words, and what the console showed at the end. */
	expected?: string;
	shown?: string;
	/** On failure: the console's messages (toasts) during this step and the one before, often why a key did nothing. */
	said?: string[];
}

export interface PerformOptions {
	/** Ends a wait early (the operator moved on in `play`). */
	signal?: AbortSignal;
	/** Pause after each key, ms, so that what a key starts (a dialog opening) is there for the next. Default 60. */
	keyPauseMs?: number;
	/** How often a wait looks again besides on every change of state, ms. Default 200. */
	pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One key, as the console's root component handles it: an open dialog takes it first. */
export function pressKey(driver: ConsoleDriver, name: string): void {
	const {controller, keymap} = driver;
	const input = name === 'space' ? ' ' : [...name].length === 1 ? name : '';
	const overlay = controller.state.overlay;
	if (overlay && handleOverlayKey(overlay, name, input, controller, keymap)) return;
	controller.handleKey(name);
}

export function describeAction(action: Action | undefined): string {
	if (!action) return 'say';
	switch (action.kind) {
		case 'keys':
			return `keys ${action.keys.join(' ')}`;
		case 'type':
			return `type "${action.text}"`;
		case 'command':
			return `command ${action.command}`;
		case 'open':
			return `open ${action.model}`;
		case 'select':
			return `select ${action.model}${action.version ? ` ${action.version}` : ''}`;
		case 'wait':
			return `wait until ${describeCondition(action.condition)} (up to ${formatDuration(action.timeoutMs)})`;
		default:
			return `check that ${describeCondition(action.condition)}`;
	}
}

export function formatDuration(ms: number): string {
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
	const minutes = Math.floor(ms / 60_000);
	const seconds = Math.round((ms % 60_000) / 1000);
	return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

export async function performStep(step: Step, driver: ConsoleDriver, options: PerformOptions = {}): Promise<StepOutcome> {
	const action = step.action;
	const keyPause = options.keyPauseMs ?? 60;
	if (!action) return {status: 'passed'};
	const state = () => driver.store.getState();
	switch (action.kind) {
		case 'keys':
		case 'type': {
			const keys = action.kind === 'keys' ? action.keys : [...action.text].map((character) => (character === ' ' ? 'space' : character));
			for (const key of keys) {
				if (options.signal?.aborted) return {status: 'cancelled'};
				pressKey(driver, key);
				await sleep(keyPause);
			}

			return {status: 'passed'};
		}

		case 'command': {
			const spec = driver.keymap.commands.find((command) => command.id === action.command);
			const reason = spec ? (readOnlyReason(spec, state()) ?? spec.disabledReason?.(state())) : `unknown command ${action.command}`;
			if (reason) return {status: 'failed', message: `${action.command} is not available: ${reason}`};
			driver.controller.run(action.command as CommandId);
			await sleep(keyPause);
			return {status: 'passed'};
		}

		case 'open':
		case 'select': {
			const found = findNamedModel(state(), action.model);
			if ('problem' in found) return {status: 'failed', message: found.problem};
			if (action.kind === 'open') {
				driver.controller.openModel(modelKey(found.model));
				await sleep(keyPause);
				return {status: 'passed'};
			}

			const version = action.version === undefined ? undefined : findNamedVersion(found.model, action.version);
			if (action.version !== undefined && !version) {
				return {status: 'failed', message: `${modelKey(found.model)} has no version ${action.version}`};
			}

			const rows = fleetRows(state());
			const index = rows.findIndex(
				(row) => row.modelKey === modelKey(found.model) && (version ? row.version.name === version.name : row.firstOfModel),
			);
			if (index < 0) return {status: 'failed', message: `${action.model} is not among the fleet's rows (a filter hides it? esc clears it)`};
			driver.store.dispatch({type: 'nav/select', index});
			return {status: 'passed'};
		}

		case 'check': {
			const evaluation = evaluateCondition(action.condition, state());
			const expected = describeCondition(action.condition);
			return evaluation.met
				? {status: 'passed', expected, shown: evaluation.shown}
				: {status: 'failed', expected, shown: evaluation.shown, message: `check failed: expected ${expected}`};
		}

		default:
			return waitFor(action.condition, action.timeoutMs, driver, options);
	}
}

async function waitFor(
	condition: Extract<Action, {kind: 'wait'}>['condition'],
	timeoutMs: number,
	driver: ConsoleDriver,
	options: PerformOptions,
): Promise<StepOutcome> {
	const expected = describeCondition(condition);
	const deadline = performance.now() + timeoutMs;
	const pollMs = options.pollMs ?? 200;
	for (;;) {
		const evaluation = evaluateCondition(condition, driver.store.getState());
		if (evaluation.met) return {status: 'passed', expected, shown: evaluation.shown};
		if (options.signal?.aborted) return {status: 'cancelled', expected, shown: evaluation.shown};
		const left = deadline - performance.now();
		if (left <= 0) {
			return {
				status: 'failed',
				expected,
				shown: evaluation.shown,
				message: `timed out after ${formatDuration(timeoutMs)} waiting until ${expected}`,
			};
		}

		// Look again on the next change of state, or after a while at the latest.
		await new Promise<void>((resolve) => {
			const timer = setTimeout(done, Math.min(pollMs, left));
			const unsubscribe = driver.store.subscribe(done);
			const onAbort = () => done();
			options.signal?.addEventListener('abort', onAbort);
			function done() {
				clearTimeout(timer);
				unsubscribe();
				options.signal?.removeEventListener('abort', onAbort);
				resolve();
			}
		});
	}
}
