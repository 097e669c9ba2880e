/** The condition of a `wait` or a `check`: what to look at, on which model and version. Pure. */
import {isScalar, type Scalar} from 'yaml';
import {parseBound} from './quantities.ts';
import {type Condition, DIALOGS, FIGURE_NAMES, type FigureName, FLAG_KINDS, SCREENS, SEVERITIES, type Subject, VERDICTS} from './types.ts';
import {closest, type Entry, type Reader} from './yaml-reader.ts';

export const SUBJECT_KEYS = ['flag', 'verdict', 'weight', ...FIGURE_NAMES, 'exists', 'screen', 'dialog', 'toast'] as const;
export const CONDITION_KEYS = ['model', 'version', 'not', 'severity', ...SUBJECT_KEYS];

export function readCondition(reader: Reader, entries: Entry[], at: Entry, what: string, isWait: boolean): Condition | undefined {
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
