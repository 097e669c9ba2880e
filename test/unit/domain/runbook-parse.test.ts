/**
 * The runbook format: valid files read into steps; every malformed one is refused with errors that name a line of the
 * file, what is wrong and how to fix it. Fuzzed: any text, any YAML, never a throw, never a line outside the file.
 */
import {readdirSync, readFileSync} from 'node:fs';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {stringify} from 'yaml';
import {parseRunbook, STEP_KINDS} from '../../../source/domain/runbook/parse-runbook.ts';
import {parseBound, parseDuration} from '../../../source/domain/runbook/quantities.ts';
import {runbookVocabulary} from '../../../source/runbook/vocabulary.ts';

const vocabulary = runbookVocabulary();
const parse = (text: string) => parseRunbook(text, vocabulary);

function lineCount(text: string): number {
	return Math.max(1, text.split(/\r\n|\r|\n/).length);
}

function expectErrorsInFile(text: string) {
	const result = parse(text);
	for (const error of result.errors) {
		expect(error.line).toBeGreaterThanOrEqual(1);
		expect(error.line).toBeLessThanOrEqual(lineCount(text));
		expect(error.column).toBeGreaterThanOrEqual(1);
		expect(error.message.length).toBeGreaterThan(10);
	}

	expect(result.runbook === undefined).toBe(result.errors.length > 0);
	return result;
}

const valid = `title: A canary slows down
demo:
  scenario: latency-regression
  at: 20s
steps:
  - say: Here is the fleet.
  - check: {model: fraud-detector, version: v13, weight: 10}
  - wait: {model: fraud-detector, verdict: fail, timeout: 90s}
  - wait:
      model: payments/fraud-detector
      version: canary
      p99: above 500ms
      timeout: 1m30s
  - select: fraud-detector v13
  - say: Roll it back.
    keys: r y
  - keys: [esc, enter]
  - type: fraud
  - command: canary.rollback
  - open: fraud-detector
  - check: {model: fraud-detector, version: v13, exists: false}
  - check: {model: fraud-detector, version: v13, flag: any, severity: warning, not: true}
  - check: {screen: fleet}
  - wait: {dialog: confirm, timeout: 5s}
  - check: {toast: "rolled back"}
  - check: {model: image-classifier, version: effnet-v4, memory: "< 2Gi"}
  - check: {model: recommender, version: 2.5.0, errors: "at most 1%"}
`;

describe('a valid runbook', () => {
	it('reads into its steps, each with its line', () => {
		const {runbook, errors} = parse(valid);
		expect(errors).toEqual([]);
		expect(runbook?.title).toBe('A canary slows down');
		expect(runbook?.demo).toEqual({scenario: 'latency-regression', atMs: 20_000});
		const steps = runbook!.steps;
		expect(steps).toHaveLength(17);
		expect(steps[0]).toEqual({line: 6, say: 'Here is the fleet.'});
		expect(steps[1]!.action).toEqual({
			kind: 'check',
			condition: {
				model: 'fraud-detector',
				version: 'v13',
				subject: {kind: 'weight', bound: {operator: '=', value: 10, text: '10'}},
				negated: false,
			},
		});
		expect(steps[3]!.line).toBe(9);
		expect(steps[3]!.action).toMatchObject({
			kind: 'wait',
			timeoutMs: 90_000,
			condition: {
				model: 'payments/fraud-detector',
				version: 'canary',
				subject: {kind: 'figure', figure: 'p99', bound: {operator: '>', value: 500}},
			},
		});
		expect(steps[5]).toMatchObject({say: 'Roll it back.', action: {kind: 'keys', keys: ['r', 'y']}});
		expect(steps[6]!.action).toEqual({kind: 'keys', keys: ['esc', 'enter']});
		expect(steps[10]!.action).toMatchObject({condition: {subject: {kind: 'exists'}, negated: true}});
		expect(steps[11]!.action).toMatchObject({condition: {subject: {kind: 'flag', flag: 'any', severity: 'warning'}, negated: true}});
		expect(steps[13]!.action).toEqual({
			kind: 'wait',
			timeoutMs: 5000,
			condition: {subject: {kind: 'dialog', dialog: 'confirm'}, negated: false},
		});
		expect(steps[15]!.action).toMatchObject({
			condition: {subject: {kind: 'figure', figure: 'memory', bound: {operator: '<', value: 2 * 1024 ** 3}}},
		});
		// 2.5.0 is a version's name, kept as written.
		expect(steps[16]!.action).toMatchObject({condition: {version: '2.5.0', subject: {bound: {operator: '<=', value: 1}}}});
	});

	it('every shipped runbook is valid', () => {
		const files = readdirSync('runbooks').filter((file) => file.endsWith('.yaml'));
		expect(files.length).toBeGreaterThanOrEqual(6);
		for (const file of files) expect(parse(readFileSync(`runbooks/${file}`, 'utf8')).errors, file).toEqual([]);
	});
});

describe('a malformed runbook', () => {
	/** The single error of a runbook whose steps are `steps`, at the line it names. */
	function errorOf(steps: string) {
		const text = `title: t\nsteps:\n${steps}`;
		const {errors} = expectErrorsInFile(text);
		expect(errors.length).toBeGreaterThan(0);
		return {...errors[0]!, text: text.split('\n')[errors[0]!.line - 1]};
	}

	it('an unknown step kind: its line, and the kinds there are', () => {
		const error = errorOf('  - say: hello\n  - press: r\n');
		expect(error.line).toBe(4);
		expect(error.text).toContain('press: r');
		expect(error.message).toContain('unknown step kind "press"');
		for (const kind of STEP_KINDS) expect(error.message).toContain(kind);
	});

	it('a misspelt kind is suggested', () => {
		expect(errorOf('  - wiat: {screen: fleet}\n').message).toContain('did you mean "wait"');
	});

	it('an unknown flag, verdict, figure unit, severity and screen', () => {
		expect(errorOf('  - check: {model: m, flag: latncy}\n')).toMatchObject({
			line: 3,
			message: expect.stringContaining('did you mean "latency"'),
		});
		expect(errorOf('  - check: {model: m, verdict: failed}\n').message).toContain('verdicts are pass, marginal, fail, insufficient-data');
		expect(errorOf('  - check: {model: m, p99: above five}\n').message).toContain('not a bound for p99');
		expect(errorOf('  - check: {model: m, p99: above 5kg}\n').message).toContain('"kg" is not a unit of p99');
		expect(errorOf('  - check: {model: m, flag: latency, severity: bad}\n').message).toContain('severities are info, warning, critical');
		expect(errorOf('  - check: {screen: settings}\n').message).toContain('screens are fleet, model, log, audit');
		expect(errorOf('  - wait: {dialog: confirmation}\n').message).toContain('dialogs are confirm, weight-input');
		expect(errorOf('  - wait: {model: m, dialog: confirm}\n').message).toContain('remove model and version');
	});

	it('a figure without a comparison, a weight over 100, a bad duration', () => {
		expect(errorOf('  - check: {model: m, p99: 500}\n').message).toContain('needs a comparison');
		expect(errorOf('  - check: {model: m, weight: 150}\n').message).toContain('outside 0–100%');
		expect(errorOf('  - wait: {model: m, weight: 0, timeout: soon}\n').message).toContain('not a duration');
		expect(errorOf('  - wait: {model: m, weight: 0, timeout: 2h}\n').message).toContain('at most 1h');
	});

	it('a check with a timeout, a step with two actions, two subjects, a condition without a model', () => {
		expect(errorOf('  - check: {model: m, weight: 0, timeout: 5s}\n').message).toContain('check does not wait');
		expect(errorOf('  - keys: r\n    type: abc\n')).toMatchObject({line: 4, message: expect.stringContaining('does two things')});
		expect(errorOf('  - check: {model: m, weight: 0, p99: above 1}\n').message).toContain('one thing at a time');
		expect(errorOf('  - check: {weight: 0}\n').message).toContain('needs model');
		expect(errorOf('  - check: {model: m, version: v1, verdict: pass}\n').message).toContain('remove version');
	});

	it('unknown keys, commands and scenarios', () => {
		expect(errorOf('  - keys: r enterr\n').message).toContain('unknown key "enterr" (did you mean "enter"?)');
		expect(errorOf('  - command: canary.rollbak\n').message).toContain('did you mean "canary.rollback"');
		const {errors} = expectErrorsInFile('title: t\ndemo: {scenario: nope}\nsteps:\n  - say: x\n');
		expect(errors[0]).toMatchObject({line: 2, message: expect.stringContaining('scenarios are tour')});
	});

	it('a bound that starts with > unquoted: where, and how to write it', () => {
		const {errors} = expectErrorsInFile('title: t\nsteps:\n  - check: {model: m, p99: > 500ms}\n');
		expect(errors[0]!.line).toBe(3);
		expect(errors[0]!.message).toContain('not valid YAML');
	});

	it('no title, no steps, an empty file, a list at the top', () => {
		expect(expectErrorsInFile('steps:\n  - say: x\n').errors[0]!.message).toContain('no title');
		expect(expectErrorsInFile('title: t\n').errors[0]!.message).toContain('no steps');
		expect(expectErrorsInFile('').errors[0]).toMatchObject({line: 1, message: expect.stringContaining('empty')});
		expect(expectErrorsInFile('- a\n- b\n').errors[0]!.message).toContain('mapping');
		expect(expectErrorsInFile('title: t\nsteps: []\n').errors[0]!.message).toContain('steps is empty');
	});
});

describe('quantities', () => {
	it('durations', () => {
		expect(parseDuration('1m30s')).toEqual({ms: 90_000});
		expect(parseDuration('500ms')).toEqual({ms: 500});
		expect(parseDuration('30')).toHaveProperty('error');
	});

	it('bounds in each unit', () => {
		expect(parseBound('cpu', 'above 250m')).toEqual({bound: {operator: '>', value: 0.25, text: 'above 250m'}});
		expect(parseBound('p95', '<= 1.5s')).toEqual({bound: {operator: '<=', value: 1500, text: '<= 1.5s'}});
		expect(parseBound('weight', 0)).toEqual({bound: {operator: '=', value: 0, text: '0'}});
		expect(parseBound('errors', 'below 101%')).toHaveProperty('error');
	});
});

describe('fuzzed', () => {
	it('any text: never throws, every error inside the file', () => {
		fc.assert(
			fc.property(fc.string({unit: 'binary', maxLength: 300}), (text) => {
				expectErrorsInFile(text);
			}),
			{numRuns: 400},
		);
	});

	const scalar = fc.oneof(fc.string({maxLength: 12}), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
	const conditionKey = fc.constantFrom(
		'model',
		'version',
		'not',
		'severity',
		'flag',
		'verdict',
		'weight',
		'p99',
		'errors',
		'memory',
		'cpu',
		'rps',
		'exists',
		'screen',
		'toast',
		'timeout',
		'bogus',
	);
	const value = fc.oneof(
		scalar,
		fc.constantFrom(
			'fraud-detector',
			'v13',
			'latency',
			'fail',
			'above 5ms',
			'< 2Gi',
			'30s',
			'fleet',
			'warning',
			'any',
			'r y',
			'canary.rollback',
		),
	);
	const condition = fc.dictionary(conditionKey, value, {maxKeys: 5});
	const step = fc.dictionary(
		fc.constantFrom(...STEP_KINDS, 'press', 'timeout'),
		fc.oneof(value, condition, fc.array(value, {maxLength: 3})),
		{maxKeys: 3},
	);
	const document = fc.record(
		{
			title: scalar,
			description: scalar,
			demo: fc.oneof(fc.dictionary(fc.constantFrom('scenario', 'at', 'seed', 'x'), value, {maxKeys: 3}), scalar),
			steps: fc.oneof(fc.array(step, {maxLength: 6}), scalar),
			extra: scalar,
		},
		{requiredKeys: []},
	);

	it('any runbook-shaped YAML: never throws, every error inside the file, valid only without errors', () => {
		fc.assert(
			fc.property(document, fc.constantFrom<'block' | 'flow'>('block', 'flow'), (shape, style) => {
				const text = stringify(shape, {collectionStyle: style});
				expectErrorsInFile(text);
			}),
			{numRuns: 400},
		);
	});

	it('a valid runbook with a line cut or duplicated: never throws, every error inside the file', () => {
		const lines = valid.split('\n');
		fc.assert(
			fc.property(fc.nat(lines.length - 1), fc.boolean(), fc.string({maxLength: 8}), (index, cut, junk) => {
				const changed = [...lines];
				if (cut) changed.splice(index, 1);
				else changed.splice(index, 0, `${changed[index]}${junk}`);
				expectErrorsInFile(changed.join('\n'));
			}),
			{numRuns: 300},
		);
	});
});
