/** Deleting old predictions a chunk at a time, letting ingest and the stream run between chunks. */
import type {RetentionPolicy} from './retention-policy.ts';
import type {AgentStore} from './sqlite-store.ts';

export interface RetentionParts {
	store: AgentStore;
	policy: RetentionPolicy;
	now: () => number;
	log: (line: string) => void;
	/** True once the agent is closing: a pass stops between chunks. */
	closed: () => boolean;
	/** Asks a failed store to try a write again (pages were freed). */
	storeHealth: () => void;
}

export class Retention {
	readonly #parts: RetentionParts;
	#retaining = false;

	constructor(parts: RetentionParts) {
		this.#parts = parts;
	}

	/** One pass; a pass already under way makes this one nothing. */
	async run(): Promise<void> {
		const {store, policy, now, log, closed} = this.#parts;
		if (this.#retaining || closed()) return;
		this.#retaining = true;
		let deleted = 0;
		try {
			for (const count of store.retainInChunks(policy, now())) {
				deleted += count;
				await new Promise<void>((resolve) => setImmediate(resolve));
				if (closed()) break;
			}
		} catch (error) {
			log(`retention failed: ${(error as Error).message}`);
		} finally {
			this.#retaining = false;
		}

		if (deleted > 0) log(`retention: deleted ${deleted} old predictions`);
		// A store that was full may take writes again now that pages were freed.
		if (store.failure) this.#parts.storeHealth();
	}
}
