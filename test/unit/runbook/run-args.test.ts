/** The runbook commands' arguments are outside input: fuzzed, never a throw, always a file or a message. */
import fc from 'fast-check';
import {expect, it} from 'vitest';
import {parseRunArgs} from '../../../source/runbook/main.ts';
import {namesCluster, playConsoleArgv} from '../../../source/runbook/play.tsx';

const word = fc.oneof(
	fc.constantFrom(
		'--junit',
		'--junit=out.xml',
		'--demo',
		'--kubeconfig',
		'--context=prod',
		'-n',
		'--speed',
		'runbooks/tour.yaml',
		'x.yaml',
		'',
	),
	fc.string({maxLength: 10}),
);

it('run: a runbook file and perhaps a JUnit file, or a message saying how to fix the arguments', () => {
	fc.assert(
		fc.property(fc.array(word, {maxLength: 6}), (argv) => {
			const parsed = parseRunArgs(argv);
			if ('error' in parsed) expect(parsed.error.length).toBeGreaterThan(10);
			else {
				expect(parsed.file.startsWith('-')).toBe(false);
				expect(argv).toContain(parsed.file);
				if (parsed.junit !== undefined) expect(parsed.junit.length).toBeGreaterThan(0);
			}
		}),
	);
	expect(parseRunArgs(['a.yaml', '--junit'])).toEqual({error: '--junit needs a file name, e.g. --junit report.xml'});
	expect(parseRunArgs(['a.yaml', '--junit', 'r.xml'])).toEqual({file: 'a.yaml', junit: 'r.xml'});
});

it("play: the runbook's demo unless the flags name a cluster; flags given are kept", () => {
	const runbook = {title: 't', demo: {scenario: 'error-burst', atMs: 90_000}, steps: [{line: 3, say: 'x'}]};
	expect(playConsoleArgv(runbook, [])).toEqual(['--demo', '--scenario', 'error-burst', '--at', '90s']);
	expect(playConsoleArgv(runbook, ['--kubeconfig', 'k'])).toEqual(['--kubeconfig', 'k']);
	expect(playConsoleArgv(runbook, ['--demo', '--scenario', 'calm'])).toEqual(['--demo', '--scenario', 'calm', '--at', '90s']);
	fc.assert(
		fc.property(fc.array(word, {maxLength: 6}), (flags) => {
			const argv = playConsoleArgv(runbook, flags);
			expect(argv.slice(0, flags.length)).toEqual(flags);
			expect(argv.includes('--demo')).toBe(!namesCluster(flags) || flags.includes('--demo'));
		}),
	);
});
