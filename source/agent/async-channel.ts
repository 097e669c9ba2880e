/** Bridges callbacks to an async iterator: push() from anywhere, for-await on the other side. Unbounded: producers here are bounded (progress once a second). */
export class AsyncChannel<T> implements AsyncIterable<T> {
	readonly #items: T[] = [];
	#waiting: ((result: IteratorResult<T>) => void) | undefined;
	#closed = false;
	#error: unknown;

	push(item: T): void {
		if (this.#closed) return;
		if (this.#waiting) {
			const resolve = this.#waiting;
			this.#waiting = undefined;
			resolve({value: item, done: false});
		} else {
			this.#items.push(item);
		}
	}

	close(error?: unknown): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#error = error;
		if (this.#waiting) {
			const resolve = this.#waiting;
			this.#waiting = undefined;
			resolve({value: undefined, done: true});
		}
	}

	async *[Symbol.asyncIterator](): AsyncIterator<T> {
		while (true) {
			if (this.#items.length > 0) {
				yield this.#items.shift()!;
				continue;
			}

			if (this.#closed) {
				if (this.#error !== undefined) throw this.#error;
				return;
			}

			const result = await new Promise<IteratorResult<T>>((resolve) => {
				this.#waiting = resolve;
			});
			if (result.done) {
				if (this.#error !== undefined) throw this.#error;
				return;
			}

			yield result.value;
		}
	}
}
