/**
 * `runbook play`'s walk through the steps, driven by the operator: entering a step carries it out on the live console
 * (keys pressed, a wait watched); a step with narration then waits for "next", a step without goes on by itself once
 * done. "back" shows the step before again without doing it twice. What the panel shows is `view()`.
 */
import type {Runbook} from '../domain/runbook/types.ts';
import type {NarrationView} from '../ui/NarrationPanel.tsx';
import {type ConsoleDriver, describeAction, performStep, type StepOutcome} from './perform-step.ts';
import {consoleReady} from './run-headless.ts';

export interface PlaySessionOptions {
	/** Pause after each key, ms, so the audience sees what each key does. Default 400. */
	keyPauseMs?: number;
}

export class PlaySession {
	readonly #runbook: Runbook;
	readonly #driver: ConsoleDriver;
	readonly #options: PlaySessionOptions;
	readonly #outcomes: Array<StepOutcome | 'running' | undefined>;
	readonly #listeners = new Set<() => void>();
	#index = -1;
	#finished = false;
	#abort: AbortController | undefined;
	#view: NarrationView;
	#stopped = false;

	constructor(runbook: Runbook, driver: ConsoleDriver, options: PlaySessionOptions = {}) {
		this.#runbook = runbook;
		this.#driver = driver;
		this.#options = options;
		this.#outcomes = runbook.steps.map(() => undefined);
		this.#view = this.#makeView();
	}

	/** Wait for the console's first models and figures, then carry out the first step. */
	async start(): Promise<void> {
		await consoleReady(this.#driver, 15_000);
		if (!this.#stopped && this.#index < 0) this.#enter(0);
	}

	stop(): void {
		this.#stopped = true;
		this.#abort?.abort();
	}

	next(): void {
		if (this.#index < 0) return;
		this.#abort?.abort();
		if (this.#index >= this.#runbook.steps.length - 1) this.#finished = true;
		else this.#enter(this.#index + 1);
		this.#changed();
	}

	back(): void {
		this.#abort?.abort();
		if (this.#finished) this.#finished = false;
		else if (this.#index > 0) this.#index--;
		this.#changed();
	}

	subscribe = (listener: () => void): (() => void) => {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	};

	view = (): NarrationView => this.#view;

	#enter(index: number): void {
		this.#index = index;
		this.#changed();
		if (this.#outcomes[index] !== undefined) return;
		const step = this.#runbook.steps[index]!;
		const abort = new AbortController();
		this.#abort = abort;
		this.#outcomes[index] = 'running';
		this.#changed();
		void performStep(step, this.#driver, {signal: abort.signal, keyPauseMs: this.#options.keyPauseMs ?? 400}).then((outcome) => {
			this.#outcomes[index] = outcome;
			if (this.#abort === abort) this.#abort = undefined;
			this.#changed();
			// A step without narration goes on by itself once done; one that failed stays for the operator to see.
			if (!this.#stopped && outcome.status === 'passed' && !step.say && this.#index === index && !this.#finished) this.next();
		});
	}

	#makeView(): NarrationView {
		const step = this.#runbook.steps[Math.max(0, this.#index)];
		const outcome = this.#index < 0 ? undefined : this.#outcomes[this.#index];
		const status: NarrationView['status'] =
			outcome === undefined ? 'pending' : outcome === 'running' ? 'running' : outcome.status === 'cancelled' ? 'cancelled' : outcome.status;
		const detail =
			typeof outcome === 'object' && outcome.status === 'failed'
				? [outcome.message, outcome.shown ? `shown: ${outcome.shown}` : ''].filter(Boolean).join('; ')
				: undefined;
		return {
			title: this.#runbook.title,
			number: Math.max(1, this.#index + 1),
			total: this.#runbook.steps.length,
			...(step?.say ? {say: step.say} : {}),
			...(step?.action ? {doing: describeAction(step.action)} : {}),
			status,
			...(detail ? {detail} : {}),
			finished: this.#finished,
		};
	}

	#changed(): void {
		this.#view = this.#makeView();
		for (const listener of this.#listeners) listener();
	}
}
