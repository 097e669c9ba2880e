/**
 * A real pseudo-terminal (node-pty) read back through a headless xterm: the e2e tests, the screenshot script and
 * the benchmarks drive the built program with this. Keys are named, screens are text.
 */
import {createRequire} from 'node:module';
import type {IPty} from 'node-pty';
import {Keys} from './keys.ts';

const require = createRequire(import.meta.url);
const pty = require('node-pty') as typeof import('node-pty');
const {Terminal: XTerm} = require('@xterm/headless') as typeof import('@xterm/headless');

export interface SpawnOptions {
	cols?: number;
	rows?: number;
	env?: Record<string, string | undefined>;
	cwd?: string;
}

export class PtyTerminal {
	readonly xterm: InstanceType<typeof XTerm>;
	readonly process: IPty;
	readonly exited: Promise<number>;
	bytesReceived = 0;
	/** Epoch ms of the latest output chunk. */
	lastOutputAt = 0;
	readonly #listeners = new Set<() => void>();
	#pendingWrites = 0;

	private constructor(command: string, args: string[], options: SpawnOptions) {
		const cols = options.cols ?? 100;
		const rows = options.rows ?? 30;
		this.xterm = new XTerm({cols, rows, allowProposedApi: true});
		const env = {...process.env, TERM: 'xterm-256color', COLORTERM: 'truecolor', ...options.env} as Record<string, string>;
		for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
		this.process = pty.spawn(command, args, {name: 'xterm-256color', cols, rows, cwd: options.cwd ?? process.cwd(), env});
		this.process.onData((data) => {
			this.bytesReceived += Buffer.byteLength(data);
			this.lastOutputAt = Date.now();
			this.#pendingWrites++;
			this.xterm.write(data, () => {
				this.#pendingWrites--;
				for (const listener of this.#listeners) listener();
			});
		});
		this.exited = new Promise((resolve) => this.process.onExit(({exitCode}) => resolve(exitCode)));
	}

	static spawn(command: string, args: string[], options: SpawnOptions = {}): PtyTerminal {
		return new PtyTerminal(command, args, options);
	}

	/** The visible screen as text, one line per row, trailing spaces trimmed. */
	screen(): string {
		const buffer = this.xterm.buffer.active;
		const lines: string[] = [];
		for (let row = 0; row < this.xterm.rows; row++) {
			lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true) ?? '');
		}

		return lines.join('\n');
	}

	write(data: string): void {
		this.process.write(data);
	}

	/** Press a key by its keymap name (`j`, `enter`, `esc`, `+`). */
	press(name: string): void {
		this.write((Keys as Record<string, string>)[name] ?? name);
	}

	/**
	 * Resolves with the screen once it matches and the frame has finished drawing (no output for a moment), or
	 * rejects with the screen it saw.
	 */
	async waitFor(match: string | RegExp | ((screen: string) => boolean), timeoutMs = 10_000): Promise<string> {
		const test = (screen: string) =>
			typeof match === 'string' ? screen.includes(match) : typeof match === 'function' ? match(screen) : match.test(screen);
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			await this.waitForFirst(test, Math.max(1, deadline - Date.now()), match);
			await this.settle(40, 1000);
			const screen = this.screen();
			if (test(screen)) return screen;
			if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${String(match)}. Screen:\n${screen}`);
		}
	}

	/** Resolves as soon as the screen matches, even mid-frame (for timing: the benchmarks use it). */
	async waitForFirst(test: (screen: string) => boolean, timeoutMs: number, match: unknown = test): Promise<string> {
		const initial = this.screen();
		if (test(initial) && this.#pendingWrites === 0) return initial;
		return new Promise((resolve, reject) => {
			const check = () => {
				const screen = this.screen();
				if (test(screen)) {
					cleanup();
					resolve(screen);
				}
			};

			const timer = setTimeout(() => {
				cleanup();
				reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${String(match)}. Screen:\n${this.screen()}`));
			}, timeoutMs);
			const cleanup = () => {
				clearTimeout(timer);
				this.#listeners.delete(check);
			};

			this.#listeners.add(check);
		});
	}

	/** Wait until no output arrived for `quietMs`. */
	async settle(quietMs = 150, timeoutMs = 5000): Promise<void> {
		const started = Date.now();
		while (Date.now() - started < timeoutMs) {
			await new Promise((resolve) => setTimeout(resolve, quietMs / 3));
			if (Date.now() - this.lastOutputAt >= quietMs && this.#pendingWrites === 0) return;
		}
	}

	kill(): void {
		try {
			this.process.kill();
		} catch {
			// Already gone.
		}
	}
}
