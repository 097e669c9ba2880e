/**
 * `modeldeck status --json --demo --scenario NAME --at DURATION`: the demo fast-forwarded to DURATION into its
 * scenario, so that a script (or a test) reads the verdict the scenario leads to without waiting for it. Without
 * --at, status looks at the fleet at launch, before any incident.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {MAX_DEMO_AT_SECONDS, parseDemoAt, validateConsoleFlags} from '../../../source/cli-flags/console-options.ts';
import {createDemoSources} from '../../../source/demo/index.ts';
import {scenarioNames} from '../../../source/demo/scenarios.ts';
import {runCommandCaptured} from '../../support/run-command-captured.ts';

interface StatusDocument {
	models: Array<{name: string; verdict: {result: string; summary: string} | null}>;
}

async function run(argv: string[]): Promise<{code: number; stdout: string; stderr: string}> {
	return runCommandCaptured('status', argv);
}

async function verdictOf(scenario: string, model: string, at: string): Promise<{result: string; summary: string} | null> {
	const {code, stdout, stderr} = await run(['--json', '-A', '--demo', '--scenario', scenario, '--at', at]);
	expect(code, stderr).toBe(0);
	const document = JSON.parse(stdout) as StatusDocument;
	return document.models.find((entry) => entry.name === model)!.verdict;
}

describe('status --json --demo --scenario NAME --at DURATION', () => {
	it.each([
		['latency-regression', 'fraud-detector', 'fail'],
		['error-burst', 'recommender', 'fail'],
		['memory-leak', 'image-classifier', 'fail'],
		['healthy-canary', 'search-ranker', 'pass'],
	])('%s at 5m: %s reads %s', async (scenario, model, expected) => {
		const verdict = await verdictOf(scenario, model, '5m');
		expect(verdict?.result, verdict?.summary).toBe(expected);
	});

	it('without --at the demo is at launch: latency-regression has not begun and fraud-detector does not fail yet', async () => {
		const {stdout} = await run(['--json', '-A', '--demo', '--scenario', 'latency-regression']);
		const verdict = (JSON.parse(stdout) as StatusDocument).models.find((entry) => entry.name === 'fraud-detector')!.verdict;
		expect(verdict?.result).not.toBe('fail');
	});

	// The demo showed an OOM kill for 30 s of the ~80 s between kills, so the verdict of a canary killed again and again
	// read "marginal" most of the time; a real pod's last state stays OOMKilled until it ends otherwise.
	it('memory-leak: image-classifier fails at every moment once its pods have been OOMKilled, not only for 30 s after each kill', async () => {
		for (const at of ['2m', '150s', '3m', '200s', '4m', '5m', '330s']) {
			const verdict = await verdictOf('memory-leak', 'image-classifier', at);
			expect(verdict?.result, `--at ${at}: ${verdict?.summary}`).toBe('fail');
		}
	}, 60_000);

	it.each([
		[['--json', '--at', '5m'], '--at only applies to the demo: add --demo'],
		[['--json', '--demo', '--at', 'soon'], '--at takes a duration from 0 to 60m'],
		[['--json', '--demo', '--at', '2h'], '--at takes a duration from 0 to 60m'],
		[['--json', '--demo', '--at', '-5m'], '--at'],
		[['--json', '--demo', '--at'], '--at needs a value'],
	])('%j exits 2 and says %s', async (argv, message) => {
		const {code, stderr} = await run(argv);
		expect(code).toBe(2);
		expect(stderr).toContain(message);
	});
});

describe('--at', () => {
	it('the console takes it with --demo and refuses it without', () => {
		const ok = validateConsoleFlags({demo: true, at: '90s'}, scenarioNames);
		expect('options' in ok && ok.options.atSeconds).toBe(90);
		const refused = validateConsoleFlags({at: '90s'}, scenarioNames);
		expect('errors' in refused && refused.errors.join('\n')).toContain('--at only applies to the demo: add --demo');
	});

	it('parses any text into seconds from 0 to an hour, or a message naming what was given', () => {
		fc.assert(
			fc.property(fc.oneof(fc.string({maxLength: 10}), fc.stringMatching(/^-?\d{1,4}(\.\d{1,3})?(ms|s|m|h|)$/)), (text) => {
				const parsed = parseDemoAt(text, true);
				if ('seconds' in parsed) {
					expect(parsed.seconds).toBeGreaterThanOrEqual(0);
					expect(parsed.seconds).toBeLessThanOrEqual(MAX_DEMO_AT_SECONDS);
				} else {
					expect(parsed.error).toContain(`(got "${text}")`);
				}
			}),
		);
		fc.assert(
			fc.property(fc.integer({min: 0, max: 60}), fc.integer({min: 0, max: 3600}), (minutes, seconds) => {
				expect(parseDemoAt(`${minutes}m`, true)).toEqual({seconds: minutes * 60});
				expect(parseDemoAt(`${seconds}s`, true)).toEqual({seconds});
				expect(parseDemoAt(String(seconds), true)).toEqual({seconds});
			}),
		);
	});

	it('is the simulation run on its own clock: the same clock and seed give the same fleet, with the incident under way', () => {
		const clock = () => 1_800_000_000_000;
		const figures = () => {
			const demo = createDemoSources({scenario: 'latency-regression', clock, atMs: 180_000, predictionsPerSecond: 0});
			try {
				return demo.metrics.sample([{namespace: 'payments', name: 'fraud-detector', version: 'v13'}], 60);
			} finally {
				demo.stop();
			}
		};
		return Promise.all([figures(), figures()]).then(([first, second]) => {
			expect([...first.values()]).toEqual([...second.values()]);
			const v13 = [...first.values()][0]!;
			// Three minutes in, the regression is at full strength: far above a healthy p99 of tens of ms.
			expect(v13.p99Ms).toBeGreaterThan(300);
		});
	});
});
