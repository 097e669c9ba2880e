/**
 * Records what a program writes to its terminal as an asciinema v2 file (`--record FILE.cast`, and `runbook play
 * --record`). The stream the console renders to is teed where it is written, so everything that reaches the terminal
 * is recorded — Ink's frames, its clears and cursor moves, the alternate-screen switch, what cli-cursor and Ink's
 * console patch write — not what a component thinks it drew.
 *
 * Each event is appended to the file with a synchronous write as it happens, so a crash keeps everything recorded
 * up to it; stop() (or the process exiting) closes the file.
 *
 * Usage:
 *   const recording = startRecording(process.stdout, 'demo.cast', {width: 100, height: 30});
 *   render(<App />, {stdout: recording.stream});
 *   …
 *   recording.stop();
 */
import {closeSync, openSync, writeSync} from 'node:fs';
import {StringDecoder} from 'node:string_decoder';
import {CastWriter, castSize} from './cast-writer.ts';

/** The part of a terminal stream a recording needs (process.stdout is one). */
export interface RecordableStream {
	write: NodeJS.WritableStream['write'];
	columns?: number;
	rows?: number;
	isTTY?: boolean;
	on(event: 'resize', listener: () => void): unknown;
	off(event: 'resize', listener: () => void): unknown;
}

export interface RecordingOptions {
	/** The terminal's size when the recording starts (default: the stream's columns and rows). */
	width?: number;
	height?: number;
	title?: string;
	/** Environment for the header's TERM and SHELL (default: process.env). */
	env?: NodeJS.ProcessEnv;
	/**
	 * The terminal turns "\n" into "\r\n" (a tty's ONLCR, on by default), and players replay bytes as a terminal got
	 * them, so the recording does too. Default: when the stream is a TTY.
	 */
	newlineToCrlf?: boolean;
}

export interface Recording<S extends RecordableStream> {
	/** The stream to render to: the same object, its writes now also recorded. */
	readonly stream: S;
	/** The file being written. */
	readonly file: string;
	/** Record what is written to another stream that shows on the same terminal (stderr). */
	tee(other: RecordableStream): void;
	/** Stop recording, give the streams their own write back and close the file. Safe to call twice. */
	stop(): void;
}

/** The file could not be opened: the message says which file, why, and how to fix it. */
export class RecordingError extends Error {
	override name = 'RecordingError';
}

/**
 * Start recording STREAM into FILE (created, or emptied if it exists). Throws RecordingError when FILE cannot be
 * written; nothing is changed then.
 */
export function startRecording<S extends RecordableStream>(stream: S, file: string, options: RecordingOptions = {}): Recording<S> {
	let descriptor: number;
	try {
		descriptor = openSync(file, 'w');
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		const why =
			code === 'ENOENT'
				? 'its folder does not exist'
				: code === 'EACCES' || code === 'EPERM'
					? 'permission denied'
					: code === 'EISDIR'
						? 'it is a folder'
						: ((error as Error).message ?? String(error));
		throw new RecordingError(
			`Cannot record to ${file}: ${why}. Give --record a file in a folder you can write to, e.g. --record ./session.cast.`,
		);
	}

	let writable = true;
	let fileOpen = true;
	const writeLine = (line: string) => {
		if (!writable) return;
		try {
			writeSync(descriptor, line);
		} catch {
			// A full disk must not take the console down: the recording ends where it could still be written.
			writable = false;
		}
	};

	const env = options.env ?? process.env;
	const size = castSize(options.width ?? stream.columns, options.height ?? stream.rows);
	const writer = new CastWriter(
		{
			...size,
			timestamp: Date.now() / 1000,
			env: {
				...(env['TERM'] === undefined ? {} : {TERM: env['TERM']}),
				...(env['SHELL'] === undefined ? {} : {SHELL: env['SHELL']}),
			},
			...(options.title === undefined ? {} : {title: options.title}),
		},
		{writeLine, clock: () => performance.now() / 1000},
	);

	const restores: Array<() => void> = [];
	const teeWrites = (target: RecordableStream) => {
		if (writer.closed) return;
		const crlf = options.newlineToCrlf ?? Boolean(target.isTTY);
		// Bytes may split a character between two writes; the decoder holds the first half until the rest comes.
		const decoder = new StringDecoder('utf8');
		const original = target.write;
		const recordingWrite = function (this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
			const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? decoder.write(chunk) : '';
			writer.output(crlf ? text.replaceAll('\n', '\r\n') : text);
			return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
		};
		target.write = recordingWrite as typeof target.write;
		restores.push(() => {
			if (target.write === recordingWrite) target.write = original;
		});
	};

	teeWrites(stream);
	const onResize = () => writer.resize(stream.columns ?? size.width, stream.rows ?? size.height);
	stream.on('resize', onResize);
	restores.push(() => stream.off('resize', onResize));

	const stop = () => {
		if (writer.closed) return;
		writer.close();
		for (const restore of restores.splice(0)) restore();
		process.off('exit', stop);
		writable = false;
		if (fileOpen) {
			fileOpen = false;
			closeSync(descriptor);
		}
	};

	process.on('exit', stop);
	return {stream, file, tee: teeWrites, stop};
}
