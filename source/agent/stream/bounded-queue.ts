/** A fixed-capacity FIFO on a circular array: pushing into a full queue evicts (and returns) the oldest item. */
export class BoundedQueue<T> {
	readonly capacity: number;
	readonly #items: (T | undefined)[];
	#head = 0;
	#length = 0;

	constructor(capacity: number) {
		if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
		this.capacity = capacity;
		this.#items = new Array<T | undefined>(capacity);
	}

	get length(): number {
		return this.#length;
	}

	/** Adds at the end; when full, the oldest item is removed and returned. */
	push(item: T): T | undefined {
		if (this.#length === this.capacity) {
			const evicted = this.#items[this.#head];
			this.#items[this.#head] = item;
			this.#head = (this.#head + 1) % this.capacity;
			return evicted;
		}

		this.#items[(this.#head + this.#length) % this.capacity] = item;
		this.#length++;
		return undefined;
	}

	shift(): T | undefined {
		if (this.#length === 0) return undefined;
		const item = this.#items[this.#head];
		this.#items[this.#head] = undefined;
		this.#head = (this.#head + 1) % this.capacity;
		this.#length--;
		return item;
	}

	/** The item `index` places from the oldest (0 = oldest). */
	at(index: number): T | undefined {
		if (index < 0 || index >= this.#length) return undefined;
		return this.#items[(this.#head + index) % this.capacity];
	}

	clear(): void {
		this.#items.fill(undefined);
		this.#head = 0;
		this.#length = 0;
	}
}
