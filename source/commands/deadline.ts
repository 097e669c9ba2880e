/** The time limit of a command (--timeout): one deadline for everything it waits for. */

/** The deadline passed: said for people, the command exits 1. */
export class DeadlineError extends Error {
	override name = 'DeadlineError';
}

/** --timeout covers the whole command (connecting, listing, metrics, the change), not each request on its own. */
export class Deadline {
	readonly seconds: number;
	#end: number;
	constructor(seconds: number) {
		this.seconds = seconds;
		this.#end = Date.now() + seconds * 1000;
	}

	/** Time spent waiting for a person does not count: what follows an answer gets the whole timeout again. */
	restart(): void {
		this.#end = Date.now() + this.seconds * 1000;
	}

	get remainingMs(): number {
		return Math.max(0, this.#end - Date.now());
	}

	/** PROMISE, or a DeadlineError saying MESSAGE once the deadline has passed. */
	race<T>(promise: Promise<T>, message: string): Promise<T> {
		let timer: NodeJS.Timeout | undefined;
		const expired = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new DeadlineError(message)), this.remainingMs);
		});
		return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
	}
}
