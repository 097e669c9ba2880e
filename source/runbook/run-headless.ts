/** `runbook run`: every step in order on a console nobody sees, stopping at the first that fails. */
import type {Runbook, Step} from '../domain/runbook/types.ts';
import {type ConsoleDriver, type PerformOptions, performStep, type StepOutcome} from './perform-step.ts';

export interface StepResult {
	/** 1-based. */
	number: number;
	step: Step;
	status: 'passed' | 'failed' | 'not-run';
	ms: number;
	outcome?: StepOutcome;
}

/** The console is ready when it has its models and the first figures (or the metrics source said why not). */
export async function consoleReady(driver: ConsoleDriver, timeoutMs: number): Promise<boolean> {
	const ready = () => {
		const state = driver.store.getState();
		return state.models.length > 0 && (Object.keys(state.samples).length > 0 || state.health.metrics.status !== 'connecting');
	};

	const deadline = performance.now() + timeoutMs;
	while (!ready()) {
		if (performance.now() > deadline) return false;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}

	return true;
}

export async function runHeadless(
	runbook: Runbook,
	driver: ConsoleDriver,
	options: PerformOptions & {onStep?: (result: StepResult) => void} = {},
): Promise<StepResult[]> {
	const results: StepResult[] = [];
	let failed = false;
	// Toasts fade after a few seconds: each is noted with the step it came in, for the report of a failure.
	const said: Array<{step: number; text: string}> = [];
	const seen = new Set(driver.store.getState().toasts.map((toast) => toast.id));
	let current = 0;
	const unsubscribe = driver.store.subscribe(() => {
		for (const toast of driver.store.getState().toasts) {
			if (seen.has(toast.id)) continue;
			seen.add(toast.id);
			said.push({step: current, text: `${toast.severity}: ${toast.message}`});
		}
	});
	try {
		for (const [index, step] of runbook.steps.entries()) {
			current = index;
			if (failed) {
				const result: StepResult = {number: index + 1, step, status: 'not-run', ms: 0};
				results.push(result);
				options.onStep?.(result);
				continue;
			}

			const started = performance.now();
			let outcome = await performStep(step, driver, options);
			if (outcome.status !== 'passed') {
				const recent = said.filter((entry) => entry.step >= index - 1).map((entry) => entry.text);
				if (recent.length > 0) outcome = {...outcome, said: recent};
			}

			const result: StepResult = {
				number: index + 1,
				step,
				status: outcome.status === 'passed' ? 'passed' : 'failed',
				ms: performance.now() - started,
				outcome,
			};
			failed = result.status === 'failed';
			results.push(result);
			options.onStep?.(result);
		}
	} finally {
		unsubscribe();
	}

	return results;
}
