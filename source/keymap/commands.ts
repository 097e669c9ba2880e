/**
 * Every command of the console, each in one place: its keys, its words, when it cannot run and what it does. The
 * entries live in commands/, one file per group (navigation, traffic, the rollout controller, tests, views, the log,
 * dialogs); the compiler checks that every command id has exactly one entry among them, so a key cannot be bound to
 * nothing.
 */
import type {CommandDefinition, CommandId} from './spec.ts';
import {dialog} from './commands/dialog.ts';
import {log} from './commands/log.ts';
import {navigation, nextFlagged} from './commands/navigation.ts';
import {rolloutController} from './commands/rollout-controller.ts';
import {tests} from './commands/tests.ts';
import {traffic} from './commands/traffic.ts';
import {views} from './commands/views.ts';
import {deliveryDefinitions} from './delivery-commands.ts';

/** The groups in registry order (the order of the help overlay and the README key table). */
const groups = [navigation, traffic, rolloutController, deliveryDefinitions, tests, views, log, nextFlagged, dialog] as const;

/** The ids of every group. */
type IdsOf<Groups extends readonly object[]> = Groups extends readonly [infer Head, ...infer Rest extends readonly object[]]
	? keyof Head | IdsOf<Rest>
	: never;
/** Ids listed in more than one group: a spread would silently keep the last, so the compiler is asked to find none. */
type Overlap<Groups extends readonly object[]> = Groups extends readonly [infer Head, ...infer Rest extends readonly object[]]
	? (keyof Head & IdsOf<Rest>) | Overlap<Rest>
	: never;
const noIdInTwoGroups: [Overlap<typeof groups>] extends [never] ? true : false = true;
void noIdInTwoGroups;

export const definitions = {
	...navigation,
	...traffic,
	...rolloutController,
	...deliveryDefinitions,
	...tests,
	...views,
	...log,
	...nextFlagged,
	...dialog,
} satisfies Record<CommandId, CommandDefinition>;
