/** The step-by-step report of `runbook run`, as text for people and as JUnit XML for CI. Pure. */
import type {Runbook} from '../domain/runbook/types.ts';
import {describeAction, formatDuration} from './perform-step.ts';
import type {StepResult} from './run-headless.ts';

const marks = {passed: '✓', failed: '✗', 'not-run': '-'} as const;

/** One step's lines: its mark, number, what it does and how long it took; on failure, expected against shown. */
export function stepLines(result: StepResult): string[] {
	const {step, status} = result;
	const what = describeAction(step.action);
	const timing = status === 'not-run' ? 'not run' : formatDuration(result.ms);
	const lines = [`${marks[status]} ${String(result.number).padStart(2)}  ${what}  (${timing}, line ${step.line})`];
	if (step.say && !step.action) lines[0] = `${marks[status]} ${String(result.number).padStart(2)}  say: ${step.say}  (line ${step.line})`;
	const outcome = result.outcome;
	if (status === 'failed' && outcome) {
		if (outcome.message) lines.push(`       ${outcome.message}`);
		if (outcome.expected) lines.push(`       expected: ${outcome.expected}`);
		if (outcome.shown) lines.push(`       shown:    ${outcome.shown}`);
		for (const message of outcome.said ?? []) lines.push(`       console said: ${message}`);
	}

	return lines;
}

export function summaryLine(results: readonly StepResult[], totalMs: number): string {
	const count = (status: StepResult['status']) => results.filter((result) => result.status === status).length;
	const failed = count('failed');
	const notRun = count('not-run');
	return `${failed === 0 ? 'passed' : 'FAILED'}: ${count('passed')} passed, ${failed} failed${notRun ? `, ${notRun} not run` : ''} in ${formatDuration(totalMs)}`;
}

function escapeXml(text: string): string {
	return text.replace(/[<>&"']/g, (character) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'})[character]!);
}

/** JUnit XML: the runbook is a test suite, each step a test case (failed, skipped when not run). */
export function junitXml(runbook: Runbook, file: string, results: readonly StepResult[], totalMs: number): string {
	const failures = results.filter((result) => result.status === 'failed').length;
	const skipped = results.filter((result) => result.status === 'not-run').length;
	const seconds = (ms: number) => (ms / 1000).toFixed(3);
	const cases = results.map((result) => {
		const name = `step ${result.number} (line ${result.step.line}): ${result.step.action ? describeAction(result.step.action) : `say: ${result.step.say ?? ''}`}`;
		const head = `    <testcase classname="${escapeXml(file)}" name="${escapeXml(name)}" time="${seconds(result.ms)}"`;
		if (result.status === 'passed') return `${head}/>`;
		if (result.status === 'not-run') return `${head}>\n      <skipped message="an earlier step failed"/>\n    </testcase>`;
		const outcome = result.outcome;
		const detail = [outcome?.expected ? `expected: ${outcome.expected}` : '', outcome?.shown ? `shown: ${outcome.shown}` : '']
			.filter(Boolean)
			.join('\n');
		return `${head}>\n      <failure message="${escapeXml(outcome?.message ?? 'failed')}">${escapeXml(detail)}</failure>\n    </testcase>`;
	});
	return [
		'<?xml version="1.0" encoding="UTF-8"?>',
		`<testsuites tests="${results.length}" failures="${failures}" skipped="${skipped}" time="${seconds(totalMs)}">`,
		`  <testsuite name="${escapeXml(runbook.title)}" tests="${results.length}" failures="${failures}" skipped="${skipped}" time="${seconds(totalMs)}">`,
		...cases,
		'  </testsuite>',
		'</testsuites>',
		'',
	].join('\n');
}
