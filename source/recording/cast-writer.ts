/**
 * asciinema's cast format, version 2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then one
 * JSON array per event, `[seconds, "o", text]` for output and `[seconds, "r", "COLSxROWS"]` for a resize. This file
 * only turns writes into lines; where the lines go (a file, a test's array) is the caller's.
 */

export interface CastHeader {
	width: number;
	height: number;
	/** Unix time, in seconds, the recording started. */
	timestamp: number;
	title?: string;
	env?: {TERM?: string; SHELL?: string};
}

export interface CastWriterOptions {
	/** Receives each line, newline included, in order. */
	writeLine: (line: string) => void;
	/** Seconds since any fixed origin; the writer takes the first reading as time 0. */
	clock: () => number;
}

/** The terminal size a cast header needs: a pty reports 0x0 when it has no size, which players cannot draw. */
export function castSize(columns: number | undefined, rows: number | undefined): {width: number; height: number} {
	const whole = (value: number | undefined, fallback: number) =>
		value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
	return {width: whole(columns, 80), height: whole(rows, 24)};
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export class CastWriter {
	readonly #writeLine: (line: string) => void;
	readonly #clock: () => number;
	readonly #origin: number;
	#last = 0;
	#closed = false;

	constructor(header: CastHeader, options: CastWriterOptions) {
		this.#writeLine = options.writeLine;
		this.#clock = options.clock;
		this.#origin = options.clock();
		const size = castSize(header.width, header.height);
		const env = Object.fromEntries(Object.entries(header.env ?? {}).filter(([, value]) => typeof value === 'string'));
		this.#writeLine(
			`${JSON.stringify({
				version: 2,
				width: size.width,
				height: size.height,
				timestamp: Math.floor(header.timestamp),
				...(Object.keys(env).length > 0 ? {env} : {}),
				...(header.title === undefined ? {} : {title: header.title}),
			})}\n`,
		);
	}

	/** What was written to the terminal. Empty writes are not events. */
	output(text: string): void {
		if (text.length === 0) return;
		// A lone surrogate (half of a character split across two writes) reaches the terminal as U+FFFD; record that.
		this.#event('o', text.replace(loneSurrogate, '\uFFFD'));
	}

	/** The terminal is now COLUMNS wide and ROWS high. */
	resize(columns: number, rows: number): void {
		const size = castSize(columns, rows);
		this.#event('r', `${size.width}x${size.height}`);
	}

	/** No more events; later calls are ignored (a write racing the exit must not throw). */
	close(): void {
		this.#closed = true;
	}

	get closed(): boolean {
		return this.#closed;
	}

	#event(code: 'o' | 'r', data: string): void {
		if (this.#closed) return;
		// Times never go back, whatever the clock does, and stay finite (players reject NaN and Infinity).
		const reading = this.#clock() - this.#origin;
		if (Number.isFinite(reading) && reading > this.#last) this.#last = reading;
		this.#writeLine(`${JSON.stringify([Math.round(this.#last * 1e6) / 1e6, code, data])}\n`);
	}
}
