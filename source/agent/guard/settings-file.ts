/**
 * The guard settings file, re-read when it changes. A ConfigMap mounted as a volume changes without the agent
 * restarting: the kubelet writes the new data into a fresh timestamped directory and atomically swaps the `..data`
 * symlink the file's own symlink goes through. So the file is read through its path at every guard pass and its
 * content compared with the last one read (cheap: a few hundred bytes every few seconds), which sees every swap
 * whatever the timestamps say. A bad new file is reported once and the last good settings stay in force.
 */
import {readFileSync} from 'node:fs';
import {parseGuardSettingsFile} from './settings.ts';
import type {GuardSettingsFile} from './settings.ts';

export interface GuardSettingsSourceOptions {
	/** Told when the file changed and was loaded, or could not be read or parsed (each bad content once). */
	log?: (line: string) => void;
	/** Reads the file; defaults to readFileSync(path, 'utf8'). */
	read?: (path: string) => string;
}

export class GuardSettingsSource {
	readonly path: string;
	readonly #log: (line: string) => void;
	readonly #read: (path: string) => string;
	#settings: GuardSettingsFile;
	#text: string;
	/** The last problem told, so that a bad file is reported once rather than at every pass. */
	#problem: string | undefined;

	/** Reads the file now; throws (with the path) when it is missing or bad, so a bad start is seen at once. */
	constructor(path: string, options: GuardSettingsSourceOptions = {}) {
		this.path = path;
		this.#log = options.log ?? (() => undefined);
		this.#read = options.read ?? ((file) => readFileSync(file, 'utf8'));
		this.#text = this.#read(path);
		this.#settings = parseGuardSettingsFile(this.#text);
	}

	/** The newest good settings: re-reads the file and, when its content changed, parses it. */
	current(): GuardSettingsFile {
		let text: string;
		try {
			text = this.#read(this.path);
		} catch (error) {
			this.#tell(`guard settings ${this.path} cannot be read (${(error as Error).message}); keeping the last good settings`);
			return this.#settings;
		}

		if (text === this.#text) {
			this.#problem = undefined;
			return this.#settings;
		}

		try {
			this.#settings = parseGuardSettingsFile(text);
			this.#text = text;
			this.#problem = undefined;
			this.#log(`guard settings ${this.path} changed: loaded`);
		} catch (error) {
			this.#tell(
				`guard settings ${this.path} changed but are not valid: ${(error as Error).message}; keeping the last good settings until the file is fixed`,
			);
		}

		return this.#settings;
	}

	/** Whether the newest content of the file is in force (false while a bad file is being ignored). */
	get healthy(): boolean {
		return this.#problem === undefined;
	}

	#tell(problem: string): void {
		if (problem === this.#problem) return;
		this.#problem = problem;
		this.#log(problem);
	}
}
