import {describe, expect, it} from 'vitest';
import {fuzzyFilter, fuzzyScore} from '../../../source/keymap/fuzzy.ts';
import {keyName} from '../../../source/keymap/key-name.ts';
import {buildKeymap, Command, commandForKey, commands, inScope, KeymapError, readOnlyReason} from '../../../source/keymap/registry.ts';
import {initialState} from '../../../source/state/state.ts';

const state = initialState({demo: false, readOnly: false, context: 'c', namespace: undefined, weightStep: 10, refreshSeconds: 2, now: 0});

describe('keyName', () => {
	it.each([
		['j', {}, 'j'],
		['', {upArrow: true}, 'up'],
		['', {return: true}, 'enter'],
		['', {escape: true}, 'esc'],
		['c', {ctrl: true}, 'ctrl+c'],
		[' ', {}, 'space'],
		['', {delete: true}, 'backspace'],
		['', {tab: true, shift: true}, 'shift+tab'],
		['+', {}, '+'],
		// Raw characters from a chunk of several keys, split one by one.
		['\r', {}, 'enter'],
		['\u007F', {}, 'backspace'],
		['\u0003', {}, 'ctrl+c'],
		['\t', {}, 'tab'],
	])('%j %j → %s', (input, key, expected) => {
		expect(keyName(input, key)).toBe(expected);
	});
});

describe('registry', () => {
	it('has the default keys the issue asks for', () => {
		const keymap = buildKeymap();
		const keyOf = (id: string) => keymap.commands.find((command) => command.id === id)!.keys;
		expect(keyOf(Command.HELP)).toEqual(['?']);
		expect(keyOf(Command.PALETTE)).toEqual([':']);
		expect(keyOf(Command.FILTER)).toEqual(['/']);
		expect(keyOf(Command.DOWN)).toEqual(['j', 'down']);
		expect(keyOf(Command.UP)).toEqual(['k', 'up']);
		expect(keyOf(Command.WEIGHT_UP)).toEqual(['+', '=']);
		expect(keyOf(Command.WEIGHT_DOWN)).toEqual(['-']);
		expect(keyOf(Command.WEIGHT_SET)).toEqual(['w']);
		expect(keyOf(Command.PROMOTE)).toEqual(['p']);
		expect(keyOf(Command.ROLLBACK)).toEqual(['r']);
		expect(keyOf(Command.SMOKE)).toEqual(['s']);
		expect(keyOf(Command.LOAD)).toEqual(['t']);
		expect(keyOf(Command.LOG)).toEqual(['l']);
		expect(keyOf(Command.CONTEXT)).toEqual(['c']);
		expect(keyOf(Command.NAMESPACE)).toEqual(['n']);
		expect(keyOf(Command.QUIT)).toContain('q');
	});

	it('marks weight, promote, rollback and load test dangerous', () => {
		const dangerous = commands.filter((command) => command.dangerous).map((command) => command.id);
		expect(dangerous).toEqual(
			expect.arrayContaining([Command.WEIGHT_UP, Command.WEIGHT_DOWN, Command.WEIGHT_SET, Command.PROMOTE, Command.ROLLBACK, Command.LOAD]),
		);
	});

	it('read-only keeps dangerous keys bound, and says why they do nothing', () => {
		const keymap = buildKeymap();
		const readOnly = {...state, readOnly: true, readOnlyReason: '--read-only'};
		const promote = commandForKey(keymap, 'p', readOnly)!;
		expect(promote.id).toBe(Command.PROMOTE);
		expect(readOnlyReason(promote, readOnly)).toBe('read-only (--read-only): promote is not available');
		expect(readOnlyReason(promote, state)).toBeUndefined();
		expect(readOnlyReason(commandForKey(keymap, '?', readOnly)!, readOnly)).toBeUndefined();
	});

	it('takes overrides from settings and rejects unknown command ids', () => {
		const keymap = buildKeymap({overrides: {[Command.PROMOTE]: ['P']}});
		expect(commandForKey(keymap, 'P', state)?.id).toBe(Command.PROMOTE);
		expect(commandForKey(keymap, 'p', state)).toBeUndefined();
		expect(() => buildKeymap({overrides: {'canary.promot': ['P']}})).toThrow(KeymapError);
		expect(() => buildKeymap({overrides: {'canary.promot': ['P']}})).toThrow(/Known commands: .*canary.promote/);
	});

	it('scopes keys to their screen', () => {
		const keymap = buildKeymap();
		expect(commandForKey(keymap, 'space', state)).toBeUndefined();
		expect(commandForKey(keymap, 'space', {...state, view: {screen: 'log'}})?.id).toBe(Command.LOG_PAUSE);
		expect(commandForKey(keymap, 'x', {...state, view: {screen: 'model', model: 'a/b'}})?.id).toBe(Command.EXPLAIN);
	});

	it('no two commands share a key on the same screen, nor in a dialog', () => {
		const keymap = buildKeymap();
		const views = [{screen: 'fleet'}, {screen: 'model', model: 'a/b'}, {screen: 'log'}, {screen: 'audit'}] as const;
		for (const view of views) {
			// A dialog takes keys before the screen: its commands are a layer of their own.
			for (const layer of ['screen', 'dialog'] as const) {
				const here = {...state, view, ...(layer === 'dialog' ? {overlay: {kind: 'help' as const}} : {})};
				const owners = new Map<string, string>();
				for (const command of keymap.commands) {
					if ((command.scope === 'dialog') !== (layer === 'dialog') || !inScope(command, here)) continue;
					for (const key of command.keys) {
						expect(owners.get(key) ?? command.id, `${key} on ${view.screen} (${layer})`).toBe(command.id);
						owners.set(key, command.id);
					}
				}
			}
		}
	});
});

describe('fuzzy', () => {
	it('matches characters in order and ranks word starts and runs higher', () => {
		expect(fuzzyScore('rb', 'roll back')).not.toBeNull();
		expect(fuzzyScore('br', 'roll back')).toBeNull();
		const ranked = fuzzyFilter('prom', ['open prometheus-adapter', 'Promote the canary', 'set weight'], (text) => text);
		expect(ranked[0]).toBe('Promote the canary');
		expect(ranked).not.toContain('set weight');
	});

	it('an empty query keeps everything in order', () => {
		expect(fuzzyFilter('', ['b', 'a'], (text) => text)).toEqual(['b', 'a']);
	});
});
