/** The names a runbook may use that the domain does not know: the keymap's keys and commands, the demo's scenarios. */
import {scenarioNames} from '../demo/scenarios.ts';
import type {RunbookVocabulary} from '../domain/runbook/types.ts';
import {commands} from '../keymap/registry.ts';

/** Keys with names (the rest are single characters), as the help overlay names them. */
const NAMED_KEYS = [
	'enter',
	'esc',
	'up',
	'down',
	'left',
	'right',
	'tab',
	'shift+tab',
	'backspace',
	'space',
	'pageup',
	'pagedown',
	'home',
	'end',
];

export function runbookVocabulary(): RunbookVocabulary {
	const keyNames = new Set<string>(NAMED_KEYS);
	for (const command of commands) for (const key of command.keys) keyNames.add(key);
	return {keyNames, commandIds: commands.map((command) => command.id), scenarios: scenarioNames};
}
