/**
 * Reads a runbook's YAML into a Runbook, or says what is wrong with it: every error names its line and column, what
 * is wrong and how to fix it. Names only the console knows while running (models, versions) are not checked here;
 * every other name is (step kinds, keys, commands, flags, verdicts, figures, bounds, durations). Pure: never throws.
 */
import {isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar} from 'yaml';
import {parseDuration} from './quantities.ts';
import {readCondition} from './read-condition.ts';
import {closest, type Entry, Reader} from './yaml-reader.ts';
import {type Action, DEFAULT_WAIT_MS, MAX_WAIT_MS, type Runbook, type RunbookError, type RunbookVocabulary, type Step} from './types.ts';

export const STEP_KINDS = ['say', 'keys', 'type', 'command', 'open', 'select', 'wait', 'check'] as const;
const ACTION_KINDS = STEP_KINDS.filter((kind) => kind !== 'say');
const TOP_KEYS = ['title', 'description', 'demo', 'steps'];
const DEMO_KEYS = ['scenario', 'at', 'seed'];

export interface ParsedRunbook {
	/** Present only when there are no errors. */
	runbook?: Runbook;
	errors: RunbookError[];
}

export function parseRunbook(text: string, vocabulary: RunbookVocabulary): ParsedRunbook {
	const lines = new LineCounter();
	const document = parseDocument(text, {lineCounter: lines, prettyErrors: true, uniqueKeys: true});
	const reader = new Reader(text, lines, (node) => (isAlias(node) ? ((node.resolve(document) as Node | undefined) ?? node) : node));
	for (const problem of document.errors) {
		const hint = /block scalar|indicator/i.test(problem.message)
			? ' (a bound that starts with > or < must be quoted, e.g. p99: "> 500ms", or written in words: p99: above 500ms)'
			: '';
		reader.error(problem.pos[0], `the file is not valid YAML: ${problem.message.split('\n')[0]}${hint}`);
	}

	if (reader.errors.length > 0) return {errors: reader.errors};
	const root = reader.node(document.contents);
	if (root === null || (isScalar(root) && root.value === null)) {
		reader.error(0, 'the file is empty: a runbook has a title and steps (see docs/runbooks.md)');
		return {errors: reader.errors};
	}

	const entries = reader.entries(root, 'a runbook', null);
	if (!entries) return {errors: reader.errors};
	let title: string | undefined;
	let description: string | undefined;
	const demo: Runbook['demo'] = {};
	let steps: Step[] | undefined;
	for (const entry of entries) {
		switch (entry.key) {
			case 'title':
				title = reader.text(entry.value, 'title', entry.keyNode);
				break;
			case 'description':
				description = reader.text(entry.value, 'description', entry.keyNode);
				break;
			case 'demo':
				readDemo(reader, entry, demo, vocabulary);
				break;
			case 'steps':
				steps = readSteps(reader, entry, vocabulary);
				break;
			default:
				reader.unknownKey(entry, 'a runbook', TOP_KEYS);
		}
	}

	if (!entries.some((entry) => entry.key === 'title'))
		reader.error(root, 'the runbook has no title: add a line title: What this runbook shows');
	if (!entries.some((entry) => entry.key === 'steps'))
		reader.error(root, 'the runbook has no steps: add steps: followed by - say: … items');
	if (reader.errors.length > 0 || title === undefined || steps === undefined) return {errors: reader.errors};
	return {runbook: {title, ...(description === undefined ? {} : {description}), demo, steps}, errors: []};
}

function readDemo(reader: Reader, entry: Entry, demo: Runbook['demo'], vocabulary: RunbookVocabulary): void {
	const entries = reader.entries(entry.value, 'demo', entry.keyNode);
	for (const item of entries ?? []) {
		if (item.key === 'scenario') {
			const scenario = reader.text(item.value, 'scenario', item.keyNode);
			if (scenario !== undefined && !vocabulary.scenarios.includes(scenario)) {
				reader.error(item.value, `there is no demo scenario "${scenario}": scenarios are ${vocabulary.scenarios.join(', ')}`);
			} else if (scenario !== undefined) demo.scenario = scenario;
		} else if (item.key === 'at') {
			const written = reader.text(item.value, 'at', item.keyNode);
			if (written === undefined) continue;
			const parsed = parseDuration(written);
			if ('error' in parsed) reader.error(item.value, `demo.at: ${parsed.error}`);
			else if (parsed.ms > 3_600_000) reader.error(item.value, `demo.at ${written} is more than an hour: the demo starts at most 1h in`);
			else demo.atMs = parsed.ms;
		} else if (item.key === 'seed') {
			const value = isScalar(item.value) ? (item.value as Scalar).value : undefined;
			if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
				reader.error(item.value ?? item.keyNode, 'demo.seed must be a whole number, e.g. seed: 1');
			} else demo.seed = value;
		} else reader.unknownKey(item, 'demo', DEMO_KEYS);
	}
}

function readSteps(reader: Reader, entry: Entry, vocabulary: RunbookVocabulary): Step[] | undefined {
	const node = entry.value;
	if (!isSeq(node)) {
		reader.error(node ?? entry.keyNode, 'steps must be a list: one "- " item per step, e.g. - say: Here is the fleet');
		return undefined;
	}

	if (node.items.length === 0) {
		reader.error(node, 'steps is empty: add at least one step, e.g. - say: Here is the fleet');
		return undefined;
	}

	const steps: Step[] = [];
	node.items.forEach((item, index) => {
		const step = readStep(reader, reader.node(item), index + 1, node, vocabulary);
		if (step) steps.push(step);
	});
	return steps;
}

function readStep(reader: Reader, node: Node | null, number: number, list: Node, vocabulary: RunbookVocabulary): Step | undefined {
	const what = `step ${number}`;
	if (!isMap(node)) {
		reader.error(
			node ?? list,
			`${what} must be a mapping such as - say: text, - keys: j j enter or - wait: {…}; kinds are ${STEP_KINDS.join(', ')}`,
		);
		return undefined;
	}

	const entries = reader.entries(node, what, list) ?? [];
	const step: Step = {line: reader.line(node)};
	let action: Action | undefined;
	let actionKind: string | undefined;
	for (const entry of entries) {
		const kind = entry.key;
		if (kind === 'say') {
			const say = reader.text(entry.value, 'say', entry.keyNode);
			if (say !== undefined) step.say = say;
			continue;
		}

		if (!(ACTION_KINDS as readonly string[]).includes(kind)) {
			const suggestion = closest(kind, STEP_KINDS);
			reader.error(
				entry.keyNode,
				`${what}: unknown step kind "${kind}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: known kinds are ${STEP_KINDS.join(', ')}`,
			);
			continue;
		}

		if (actionKind !== undefined) {
			reader.error(
				entry.keyNode,
				`${what} does two things (${actionKind} and ${kind}): give each its own "- " item; a step has say and at most one of ${ACTION_KINDS.join(', ')}`,
			);
			continue;
		}

		actionKind = kind;
		action = readAction(reader, entry, what, vocabulary);
	}

	if (entries.length === 0) reader.error(node, `${what} is empty: give it one of ${STEP_KINDS.join(', ')}`);
	if (action) step.action = action;
	return step;
}

function readAction(reader: Reader, entry: Entry, what: string, vocabulary: RunbookVocabulary): Action | undefined {
	switch (entry.key) {
		case 'keys':
			return readKeys(reader, entry, what, vocabulary);
		case 'type': {
			const text = reader.text(entry.value, 'type', entry.keyNode);
			if (text === undefined) return undefined;
			if (text === '') {
				reader.error(entry.value ?? entry.keyNode, `${what}: type has no text: write the characters to type, e.g. type: fraud`);
				return undefined;
			}

			return {kind: 'type', text};
		}

		case 'command': {
			const command = reader.text(entry.value, 'command', entry.keyNode);
			if (command === undefined) return undefined;
			if (!vocabulary.commandIds.includes(command)) {
				const suggestion = closest(command, vocabulary.commandIds);
				reader.error(
					entry.value,
					`${what}: unknown command "${command}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: commands are ${vocabulary.commandIds.join(', ')}`,
				);
				return undefined;
			}

			return {kind: 'command', command};
		}

		case 'open': {
			const model = reader.text(entry.value, 'open', entry.keyNode);
			return model === undefined ? undefined : {kind: 'open', model};
		}

		case 'select': {
			const text = reader.text(entry.value, 'select', entry.keyNode);
			if (text === undefined) return undefined;
			const [model, version, ...extra] = text.trim().split(/\s+/);
			if (!model || extra.length > 0) {
				reader.error(entry.value, `${what}: select takes a model and optionally a version, e.g. select: fraud-detector v13`);
				return undefined;
			}

			return {kind: 'select', model, ...(version ? {version} : {})};
		}

		default: {
			const isWait = entry.key === 'wait';
			const entries = reader.entries(entry.value, `${what}'s ${entry.key}`, entry.keyNode);
			if (!entries) return undefined;
			let timeoutMs = DEFAULT_WAIT_MS;
			const conditionEntries: Entry[] = [];
			for (const item of entries) {
				if (item.key !== 'timeout') {
					conditionEntries.push(item);
					continue;
				}

				if (!isWait) {
					reader.error(item.keyNode, `${what}: check does not wait, so it has no timeout: use wait: {…, timeout: ${'30s'}} to wait for it`);
					continue;
				}

				const written = reader.text(item.value, 'timeout', item.keyNode);
				if (written === undefined) continue;
				const parsed = parseDuration(written);
				if ('error' in parsed) reader.error(item.value, `${what}: timeout ${parsed.error}`);
				else if (parsed.ms <= 0 || parsed.ms > MAX_WAIT_MS)
					reader.error(item.value, `${what}: timeout ${written} must be more than 0 and at most 1h`);
				else timeoutMs = parsed.ms;
			}

			const condition = readCondition(reader, conditionEntries, entry, what, isWait);
			if (!condition) return undefined;
			return isWait ? {kind: 'wait', condition, timeoutMs} : {kind: 'check', condition};
		}
	}
}

function readKeys(reader: Reader, entry: Entry, what: string, vocabulary: RunbookVocabulary): Action | undefined {
	const node = entry.value;
	const written: Array<{name: string; node: Node}> = [];
	if (isSeq(node)) {
		for (const item of node.items) {
			const itemNode = reader.node(item);
			const name = reader.text(itemNode, 'a key', itemNode ?? node);
			if (name !== undefined) written.push({name, node: itemNode ?? node});
		}
	} else {
		const text = reader.text(node, 'keys', entry.keyNode);
		if (text === undefined) return undefined;
		for (const name of text.trim().split(/\s+/).filter(Boolean)) written.push({name, node: node!});
	}

	if (written.length === 0) {
		reader.error(node ?? entry.keyNode, `${what}: keys is empty: name the keys to press, e.g. keys: j j enter`);
		return undefined;
	}

	let valid = true;
	for (const key of written) {
		// A single printable character is a key too (typed into a dialog); named keys are the keymap's names.
		const printable = [...key.name].length === 1 && !/\p{Cc}/u.test(key.name);
		if (printable || vocabulary.keyNames.has(key.name)) continue;
		valid = false;
		const suggestion = closest(key.name, [...vocabulary.keyNames]);
		reader.error(
			key.node,
			`${what}: unknown key "${key.name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: name keys as the help (?) does — a character such as r, or ${[...vocabulary.keyNames].filter((name) => name.length > 1).join(', ')}; separate keys with spaces; use type: for text`,
		);
	}

	return valid ? {kind: 'keys', keys: written.map((key) => key.name)} : undefined;
}
