/**
 * `runbook run` on the demo, without a terminal: keys through the console's dispatch, waits on its state; a check that
 * the console does not bear out fails the run (exit 1) with what was expected and what was shown, and stops it.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {expect, it} from 'vitest';
import {runRunbookCommand} from '../../../source/runbook/main.ts';

function captured() {
	const out: string[] = [];
	const err: string[] = [];
	return {
		io: {stdout: {write: (chunk: string) => out.push(chunk)}, stderr: {write: (chunk: string) => err.push(chunk)}},
		out: () => out.join(''),
		err: () => err.join(''),
	};
}

const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-runbook-'));

function runbookFile(name: string, text: string): string {
	const file = path.join(directory, name);
	writeFileSync(file, text);
	return file;
}

it('keys and checks on the calm demo: every step passes, exit 0, JUnit with one test case per step', async () => {
	const file = runbookFile(
		'calm.yaml',
		`title: Calm
demo: {scenario: calm}
steps:
  - say: The fleet.
    check: {screen: fleet}
  - select: fraud-detector v13
  - keys: enter
  - check: {screen: model}
  - keys: esc
  - wait: {model: fraud-detector, version: v13, rps: above 0, timeout: 20s}
`,
	);
	const junit = path.join(directory, 'calm.xml');
	const output = captured();
	expect(await runRunbookCommand(['run', file, '--junit', junit], output.io)).toBe(0);
	expect(output.out()).toContain('✓  1  check that the fleet screen is on show');
	expect(output.out()).toMatch(/✓ {2}4 {2}check that the model screen is on show/);
	expect(output.out()).toMatch(/passed: 6 passed, 0 failed in/);
	const xml = readFileSync(junit, 'utf8');
	expect(xml.match(/<testcase /g)).toHaveLength(6);
	expect(xml).toContain('failures="0"');
}, 30_000);

it('a wrong check: exit 1, what was expected and what the console showed, later steps not run', async () => {
	const file = runbookFile(
		'wrong.yaml',
		`title: Wrong
demo: {scenario: calm}
steps:
  - check: {model: fraud-detector, version: v13, weight: 50}
  - keys: enter
`,
	);
	const junit = path.join(directory, 'wrong.xml');
	const output = captured();
	expect(await runRunbookCommand(['run', file, '--junit', junit], output.io)).toBe(1);
	const report = output.out();
	expect(report).toContain('✗  1  check that the weight of fraud-detector v13 is 50%');
	expect(report).toContain('expected: the weight of fraud-detector v13 is 50%');
	expect(report).toContain('shown:    the weight of payments/fraud-detector v13 is 10%');
	expect(report).toContain('-  2  keys enter  (not run, line 5)');
	expect(report).toContain('FAILED: 0 passed, 1 failed, 1 not run');
	const xml = readFileSync(junit, 'utf8');
	expect(xml).toContain('<failure message="check failed: expected the weight of fraud-detector v13 is 50%">');
	expect(xml).toContain('<skipped message="an earlier step failed"/>');
}, 30_000);

it('a wait that times out says so', async () => {
	const file = runbookFile(
		'timeout.yaml',
		'title: T\ndemo: {scenario: calm}\nsteps:\n  - wait: {model: fraud-detector, verdict: fail, timeout: 1s}\n',
	);
	const output = captured();
	expect(await runRunbookCommand(['run', file], output.io)).toBe(1);
	expect(output.out()).toContain('timed out after 1 s waiting until the verdict on fraud-detector is fail');
	expect(output.out()).toContain('shown:    the verdict on payments/fraud-detector is pass');
}, 30_000);

it('bad input is exit 2: a missing file, a malformed step (with its line), a bad flag', async () => {
	const missing = captured();
	expect(await runRunbookCommand(['run', path.join(directory, 'nope.yaml')], missing.io)).toBe(2);
	expect(missing.err()).toContain('no such file');
	const file = runbookFile('bad.yaml', 'title: Bad\nsteps:\n  - say: fine\n  - push: r\n');
	const bad = captured();
	expect(await runRunbookCommand(['check', file], bad.io)).toBe(2);
	expect(bad.err()).toContain(`${file}:4:5: step 2: unknown step kind "push"`);
	const flag = captured();
	expect(await runRunbookCommand(['run', file, '--speed', '2'], flag.io)).toBe(2);
	expect(flag.err()).toContain('Unknown flag --speed.');
});
