/**
 * Reads a runbook's YAML into a Runbook, or says what is wrong with it: every error names its line and column, what
 * is wrong and how to fix it. Names only the console knows while running (models, versions) are not checked here;
 * every other name is (step kinds, keys, commands, flags, verdicts, figures, bounds, durations). Pure: never throws.
 */
import {isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar, type YAMLMap} from 'yaml';
import {parseBound, parseDuration} from './quantities.ts';
import {
	type Action,
	type Condition,
	DEFAULT_WAIT_MS,
	DIALOGS,
	FIGURE_NAMES,
	type FigureName,
	FLAG_KINDS,
	MAX_WAIT_MS,
	type Runbook,
	type RunbookError,
	type RunbookVocabulary,
	SCREENS,
	SEVERITIES,
	type Step,
	type Subject,
	VERDICTS,
} from './types.ts';

export const STEP_KINDS = ['say', 'keys', 'type', 'command', 'open', 'select', 'wait', 'check'] as const;
const ACTION_KINDS = STEP_KINDS.filter((kind) => kind !== 'say');
const TOP_KEYS = ['title', 'description', 'demo', 'steps'];
const DEMO_KEYS = ['scenario', 'at', 'seed'];
const SUBJECT_KEYS = ['flag', 'verdict', 'weight', ...FIGURE_NAMES, 'exists', 'screen', 'dialog', 'toast'] as const;
const CONDITION_KEYS = ['model', 'version', 'not', 'severity', ...SUBJECT_KEYS];

export interface ParsedRunbook {
	/** Present only when there are no errors. */
	runbook?: Runbook;
	errors: RunbookError[];
}

type Entry = {key: string; keyNode: Node; value: Node | null};

class Reader {
	readonly errors: RunbookError[] = [];
	readonly #lines: LineCounter;
	readonly #lineCount: number;
	readonly #text: string;
	readonly #resolve: (node: Node) => Node;

	constructor(text: string, lines: LineCounter, resolve: (node: Node) => Node) {
		this.#text = text;
		this.#lines = lines;
		this.#lineCount = Math.max(1, text.split(/\r\n|\r|\n/).length);
		this.#resolve = resolve;
	}

	error(at: Node | number | null | undefined, message: string): void {
		const offset = typeof at === 'number' ? at : (at?.range?.[0] ?? 0);
		const position = this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length)));
		const line = Math.min(Math.max(1, position.line), this.#lineCount);
		this.errors.push({line, column: Math.max(1, position.col), message});
	}

	line(node: Node | null | undefined): number {
		const offset = node?.range?.[0] ?? 0;
		return Math.min(Math.max(1, this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length))).line), this.#lineCount);
	}

	node(node: unknown): Node | null {
		if (node === null || node === undefined) return null;
		return this.#resolve(node as Node);
	}

	/** The entries of a mapping, or an error saying a mapping was expected. */
	entries(node: Node | null, what: string, at: Node | null): Entry[] | undefined {
		if (!isMap(node)) {
			this.error(node ?? at, `${what} must be a mapping of keys to values (key: value, one per line)`);
			return undefined;
		}

		const entries: Entry[] = [];
		for (const item of (node as YAMLMap).items) {
			if (!isPair(item)) continue;
			const keyNode = this.node(item.key);
			if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
				this.error(keyNode ?? node, `${what} has a key that is not a plain name: write name: value`);
				continue;
			}

			entries.push({key: String(keyNode.value), keyNode, value: this.node(item.value)});
		}

		return entries;
	}

	/** A scalar as text: names keep the characters written (`1.10` stays `1.10`, not the number 1.1). */
	text(node: Node | null, what: string, at: Node): string | undefined {
		if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
			this.error(node ?? at, `${what} must be text, e.g. ${what}: fraud-detector`);
			return undefined;
		}

		if (typeof node.value === 'string') return node.value;
		const [start, end] = node.range ?? [0, 0];
		const written = this.#text.slice(start, end).trim();
		return written || String(node.value);
	}

	unknownKey(entry: Entry, where: string, known: readonly string[]): void {
		const suggestion = closest(entry.key, known);
		this.error(
			entry.keyNode,
			`unknown key "${entry.key}" in ${where}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: known keys are ${known.join(', ')}`,
		);
	}
}

/** The known name nearest to a misspelt one, when it is near enough to be what was meant. */
function closest(word: string, known: readonly string[]): string | undefined {
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of known) {
		const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}

	return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edits (insert, delete, change, swap two neighbours) from one word to another: `wiat` is one from `wait`. */
function editDistance(a: string, b: string): number {
	if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
	const rows: number[][] = Array.from({length: a.length + 1}, (_, i) =>
		Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
	);
	for (let i = 1; i <= a.length; i++) {
		for (let j = 1; j <= b.length; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
			rows[i]![j] = best;
		}
	}

	return rows[a.length]![b.length]!;
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

function readCondition(reader: Reader, entries: Entry[], at: Entry, what: string, isWait: boolean): Condition | undefined {
	const verb = isWait ? 'wait' : 'check';
	const before = reader.errors.length;
	let model: string | undefined;
	let version: string | undefined;
	let not = false;
	let absent = false;
	let severity: (typeof SEVERITIES)[number] | undefined;
	const subjects: Array<{entry: Entry; subject: Subject}> = [];
	for (const entry of entries) {
		const {key, value} = entry;
		if (!CONDITION_KEYS.includes(key)) {
			reader.unknownKey(entry, `${what}'s ${verb}`, [...CONDITION_KEYS, ...(isWait ? ['timeout'] : [])]);
			continue;
		}

		if (key === 'model') model = reader.text(value, 'model', entry.keyNode);
		else if (key === 'version') version = reader.text(value, 'version', entry.keyNode);
		else if (key === 'not' || key === 'exists') {
			const flag = isScalar(value) ? (value as Scalar).value : undefined;
			if (typeof flag !== 'boolean') {
				reader.error(value ?? entry.keyNode, `${what}: ${key} must be true or false`);
				continue;
			}

			if (key === 'not') not = flag;
			else {
				subjects.push({entry, subject: {kind: 'exists'}});
				absent = !flag;
			}
		} else if (key === 'severity') {
			const written = reader.text(value, 'severity', entry.keyNode);
			if (written !== undefined && !(SEVERITIES as readonly string[]).includes(written)) {
				reader.error(
					value,
					`${what}: unknown severity "${written}": severities are ${SEVERITIES.join(', ')} (a flag at least this severe counts)`,
				);
			} else if (written !== undefined) severity = written as (typeof SEVERITIES)[number];
		} else {
			const subject = readSubject(reader, entry, what);
			if (subject) subjects.push({entry, subject});
		}
	}

	const subjectKeys = entries.filter((entry) => (SUBJECT_KEYS as readonly string[]).includes(entry.key));
	if (subjectKeys.length === 0) {
		reader.error(
			at.value ?? at.keyNode,
			`${what}: ${verb} says what to look at: one of ${SUBJECT_KEYS.join(', ')}, e.g. ${verb}: {model: fraud-detector, version: v13, flag: latency}`,
		);
		return undefined;
	}

	if (subjectKeys.length > 1) {
		reader.error(
			subjectKeys[1]!.keyNode,
			`${what}: ${verb} looks at one thing at a time, not ${subjectKeys.map((entry) => entry.key).join(' and ')}: give each its own step`,
		);
		return undefined;
	}

	if (reader.errors.length > before || subjects.length !== 1) return undefined;
	let subject = subjects[0]!.subject;
	if (severity !== undefined) {
		if (subject.kind !== 'flag') {
			reader.error(
				entries.find((entry) => entry.key === 'severity')!.keyNode,
				`${what}: severity goes with flag only: remove it or add flag: KIND`,
			);
			return undefined;
		}

		subject = {...subject, severity};
	}

	const global = subject.kind === 'screen' || subject.kind === 'dialog' || subject.kind === 'toast';
	if (!global && model === undefined) {
		reader.error(at.value ?? at.keyNode, `${what}: ${verb} on ${subjects[0]!.entry.key} needs model: NAME (or namespace/name)`);
		return undefined;
	}

	if (global && (model !== undefined || version !== undefined)) {
		reader.error(at.value ?? at.keyNode, `${what}: ${subjects[0]!.entry.key} is about the whole console: remove model and version`);
		return undefined;
	}

	if (subject.kind === 'verdict' && version !== undefined) {
		reader.error(at.value ?? at.keyNode, `${what}: the verdict is the model's (canary judged against stable): remove version`);
		return undefined;
	}

	// `exists: false` is `not` of `exists: true`; `not: true` turns either round.
	return {...(model === undefined ? {} : {model}), ...(version === undefined ? {} : {version}), subject, negated: not !== absent};
}

function readSubject(reader: Reader, entry: Entry, what: string): Subject | undefined {
	const {key, value} = entry;
	if (key === 'flag') {
		const flag = reader.text(value, 'flag', entry.keyNode);
		if (flag === undefined) return undefined;
		if (flag !== 'any' && !(FLAG_KINDS as readonly string[]).includes(flag)) {
			const suggestion = closest(flag, FLAG_KINDS);
			reader.error(
				value,
				`${what}: unknown flag "${flag}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: flags are ${FLAG_KINDS.join(', ')}, or any`,
			);
			return undefined;
		}

		return {kind: 'flag', flag: flag as (typeof FLAG_KINDS)[number] | 'any'};
	}

	if (key === 'verdict') {
		const verdict = reader.text(value, 'verdict', entry.keyNode);
		if (verdict === undefined) return undefined;
		if (!(VERDICTS as readonly string[]).includes(verdict)) {
			reader.error(value, `${what}: unknown verdict "${verdict}": verdicts are ${VERDICTS.join(', ')}`);
			return undefined;
		}

		return {kind: 'verdict', verdict: verdict as (typeof VERDICTS)[number]};
	}

	if (key === 'screen') {
		const screen = reader.text(value, 'screen', entry.keyNode);
		if (screen === undefined) return undefined;
		if (!(SCREENS as readonly string[]).includes(screen)) {
			reader.error(value, `${what}: unknown screen "${screen}": screens are ${SCREENS.join(', ')}`);
			return undefined;
		}

		return {kind: 'screen', screen: screen as (typeof SCREENS)[number]};
	}

	if (key === 'dialog') {
		const dialog = reader.text(value, 'dialog', entry.keyNode);
		if (dialog === undefined) return undefined;
		if (!(DIALOGS as readonly string[]).includes(dialog)) {
			reader.error(value, `${what}: unknown dialog "${dialog}": dialogs are ${DIALOGS.join(', ')}`);
			return undefined;
		}

		return {kind: 'dialog', dialog: dialog as (typeof DIALOGS)[number]};
	}

	if (key === 'toast') {
		const text = reader.text(value, 'toast', entry.keyNode);
		if (text === undefined) return undefined;
		return {kind: 'toast', text};
	}

	// weight and the figures: a bound.
	const scalar = isScalar(value) ? (value as Scalar).value : undefined;
	if (typeof scalar !== 'string' && typeof scalar !== 'number') {
		reader.error(value ?? entry.keyNode, `${what}: ${key} needs a bound, e.g. ${key}: ${key === 'weight' ? '0' : '"above 500ms"'}`);
		return undefined;
	}

	const figure = key as FigureName | 'weight';
	const parsed = parseBound(figure, scalar);
	if ('error' in parsed) {
		reader.error(value, `${what}: ${parsed.error}`);
		return undefined;
	}

	return figure === 'weight' ? {kind: 'weight', bound: parsed.bound} : {kind: 'figure', figure, bound: parsed.bound};
}
