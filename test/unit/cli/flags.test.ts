/** The one flag table: parsing, values that are required, and the help made from it. */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {consoleFlagValues, validateConsoleFlags} from '../../../source/cli-flags/console-options.ts';
import {consoleHelp} from '../../../source/cli-flags/help.ts';
import {parseFlags} from '../../../source/flags/parse.ts';
import {consoleFlags, flagTable} from '../../../source/cli-flags/table.ts';
import {commandNames, parseCommandArgs, usage} from '../../../source/commands/command-args.ts';
import {parseWeight} from '../../../source/domain/weights.ts';

describe('parseFlags', () => {
	it.each([
		[['--context'], '--context needs a value: --context NAME'],
		[['--context', '--demo'], '--context needs a value'],
		[['--context='], '--context needs a value'],
		[['-n'], '-n needs a value: -n NAME.'],
		[['--kubeconfig', '-A'], '--kubeconfig needs a value'],
		[['--demo=yes'], '--demo takes no value'],
		[['--contxt', 'x'], 'Unknown flag --contxt. Did you mean --context?'],
		[['-q'], 'Unknown flag -q.'],
	])('%j is refused: %s', (argv, message) => {
		const parsed = parseFlags(argv, consoleFlags);
		expect('errors' in parsed && parsed.errors.join('\n')).toContain(message);
	});

	it('takes values in every spelling, switches grouped, -5 as an argument, and stops at --', () => {
		const parsed = parseFlags(['--context=a', '-nteam', '-A', '--demo', 'x', '-5', '--', '--read-only'], consoleFlags);
		if ('errors' in parsed) throw new Error(parsed.errors.join('\n'));
		expect(Object.fromEntries(parsed.values)).toEqual({context: 'a', namespace: 'team', 'all-namespaces': true, demo: true});
		expect(parsed.positionals).toEqual(['x', '-5', '--read-only']);
		const grouped = parseFlags(['-yA', '-n', 'b'], flagTable);
		expect('values' in grouped && Object.fromEntries(grouped.values)).toEqual({yes: true, 'all-namespaces': true, namespace: 'b'});
	});

	it('says a value written as empty quotes is missing, as an empty one (meow takes the quotes off)', () => {
		for (const argv of [['--record', '""'], ['--record=""'], ['--kubeconfig', "''"], ['-n', '" "']]) {
			const parsed = parseFlags(argv, flagTable);
			expect('errors' in parsed && parsed.errors.join('\n'), argv.join(' ')).toMatch(/needs a value/);
		}
	});

	it('never throws, whatever the arguments', () => {
		const names = flagTable.flatMap((flag) => [`--${flag.name}`, ...(flag.short ? [`-${flag.short}`] : [])]);
		const argument = fc.oneof(fc.constantFrom(...names, '--', '-', '-5', '='), fc.string({maxLength: 8}));
		fc.assert(
			fc.property(fc.array(argument, {maxLength: 8}), (argv) => {
				const parsed = parseFlags(argv, flagTable);
				if ('errors' in parsed) expect(parsed.errors.length).toBeGreaterThan(0);
				else for (const value of parsed.values.values()) expect(value === true || value.trim() !== '').toBe(true);
			}),
			{numRuns: 1000},
		);
	});
});

describe('whole command lines', () => {
	const names = flagTable.flatMap((flag) => [`--${flag.name}`, ...(flag.short ? [`-${flag.short}`] : [])]);
	const argument = fc.oneof(
		fc.constantFrom(...names, '--', '-5', 'fraud', 'team-a/fraud', '20', 'demo-staging', 'calm', '2'),
		fc.string({maxLength: 8}),
	);

	it('the console and every command answer any arguments with options or a message, never an exception', () => {
		fc.assert(
			fc.property(fc.array(argument, {maxLength: 8}), (argv) => {
				const parsed = parseFlags(argv, consoleFlags);
				if (!('errors' in parsed)) {
					const validated = validateConsoleFlags(consoleFlagValues(parsed.values), ['tour', 'calm']);
					if ('errors' in validated) expect(validated.errors.every((error) => error.length > 0)).toBe(true);
				}

				for (const command of commandNames) {
					const result = parseCommandArgs(command, argv);
					if ('usageError' in result) expect(result.usageError.length).toBeGreaterThan(0);
				}
			}),
			{numRuns: 1000},
		);
	});
});

describe('modeldeck weight MODEL PERCENT', () => {
	it('a negative weight gets the weight rule, not an argument-parser error', () => {
		const parsed = parseCommandArgs('weight', ['fraud', '-5']);
		expect(parsed).toEqual({usageError: '"-5" is not a weight: type a whole number from 0 to 100'});
	});

	it('accepts exactly what parseWeight accepts, with the same value', () => {
		const percent = fc.oneof(
			fc.integer({min: -200, max: 300}).map(String),
			fc
				.tuple(fc.constantFrom('', ' ', '-', '+', '0'), fc.nat(150), fc.constantFrom('', '%', ' %', '.5', 'e1', ' '))
				.map((parts) => parts.join('')),
			fc.string({maxLength: 6}),
		);
		fc.assert(
			fc.property(percent, (text) => {
				const parsed = parseCommandArgs('weight', ['fraud', text]);
				const expected = parseWeight(text);
				const accepted = 'args' in parsed && parsed.args.weight !== undefined;
				if ('weight' in expected) {
					// A text that is also a flag (-h) is read as the flag; no weight text is.
					expect(accepted).toBe(true);
					if ('args' in parsed) expect(parsed.args.weight).toBe(expected.weight);
				} else {
					expect(accepted).toBe(false);
				}
			}),
			{numRuns: 2000},
		);
	});
});

describe('help', () => {
	it('modeldeck --help lists every flag of the table, --yes and --json included', () => {
		const help = consoleHelp();
		for (const flag of flagTable) expect(help).toContain(`--${flag.name}`);
		expect(help).toMatch(/-y, --yes +Apply without asking/);
		expect(help).toMatch(/--json +status: print the modeldeck.status\/v1 JSON document/);
	});

	it("each command's usage lists the flags it takes", () => {
		expect(usage('weight')).toMatch(/-y, --yes/);
		expect(usage('weight')).not.toContain('--json');
		expect(usage('status')).toContain('--json');
		expect(usage('status')).toContain('--scenario NAME');
		expect(usage('status')).not.toContain('--yes');
	});
});
