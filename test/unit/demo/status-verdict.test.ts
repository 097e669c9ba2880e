/**
 * `modeldeck status --json` over the demo's sources: its verdicts come from the console's analysis, so a script that
 * trusts them does not promote a canary the console shows flagged critical.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {INCIDENT_START_MS} from '../../../source/demo/scenarios.ts';
import {runCommandCaptured} from '../../support/run-command-captured.ts';
import {startDemo, stopDemo, type Harness} from './demo-harness.ts';

let harness: Harness | undefined;
afterEach(() => {
	stopDemo(harness);
	harness = undefined;
});

interface StatusVersion {
	name: string;
	flags: Array<{kind: string; severity: string; message: string}>;
}

async function status(
	demo: Harness,
): Promise<{models: Array<{name: string; verdict: {result: string; summary: string} | null; versions: StatusVersion[]}>}> {
	const {code, stdout, stderr} = await runCommandCaptured('status', ['--json', '-A'], {
		cluster: demo.demo.cluster,
		metrics: demo.demo.metrics,
		now: () => Date.now(),
	});
	expect(code, stderr).toBe(0);
	return JSON.parse(stdout);
}

describe('status --json over the demo', () => {
	it("latency-regression: fraud-detector's verdict is fail while v13 is flagged critical (it said pass)", async () => {
		harness = startDemo({scenario: 'latency-regression'});
		harness.run(INCIDENT_START_MS + 60_000);
		const document = await status(harness);
		const fraud = document.models.find((model) => model.name === 'fraud-detector')!;
		const v13 = fraud.versions.find((version) => version.name === 'v13')!;
		expect(v13.flags.some((flag) => flag.kind === 'canary' && flag.severity === 'critical')).toBe(true);
		expect(fraud.verdict?.result, fraud.verdict?.summary).toBe('fail');
	});

	it('healthy-canary: search-ranker passes', async () => {
		harness = startDemo({scenario: 'healthy-canary'});
		harness.run(3 * 60_000);
		const document = await status(harness);
		const ranker = document.models.find((model) => model.name === 'search-ranker')!;
		expect(ranker.verdict?.result, ranker.verdict?.summary).toBe('pass');
	});
});
