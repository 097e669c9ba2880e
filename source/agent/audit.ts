/**
 * The audit trail: every action and every refusal, with who, what, before → after, result and time. Kept in the
 * store, streamed to consoles as `audit` events, and recorded as a Kubernetes Event on the object (best effort: a
 * failure there is logged, never fatal).
 */
import type {AuditEntry} from '../domain/ports.ts';
import type {InvolvedObject} from './kube-objects.ts';
import type {AgentStore} from './store/sqlite-store.ts';
import type {StreamHub} from './stream/hub.ts';

export interface EventRecorder {
	recordEvent(object: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export class Auditor {
	readonly #store: AgentStore;
	readonly #hub: StreamHub;
	readonly #events: EventRecorder | undefined;
	readonly #log: (line: string) => void;

	constructor(store: AgentStore, hub: StreamHub, events: EventRecorder | undefined, log: (line: string) => void) {
		this.#store = store;
		this.#hub = hub;
		this.#events = events;
		this.#log = log;
	}

	/** Records an entry; resolves once the Kubernetes Event was written or failed (never rejects). */
	async record(entry: AuditEntry, namespace: string, object: InvolvedObject | undefined, reason: string): Promise<void> {
		const event = this.#hub.publish({type: 'audit', entry}, namespace);
		this.#store.addAudit(event.seq, namespace, entry);
		this.#log(`audit: ${entry.user} ${entry.action} ${entry.target}: ${entry.result}${entry.message ? ` (${entry.message})` : ''}`);
		if (!this.#events || !object) return;
		const message = `${entry.user}: ${entry.action} on ${entry.target}: ${entry.result}${entry.before || entry.after ? ` (${entry.before} → ${entry.after})` : ''}${entry.message ? `: ${entry.message}` : ''}`;
		try {
			await this.#events.recordEvent(object, entry.result === 'ok' ? 'Normal' : 'Warning', reason, message);
		} catch (error) {
			this.#log(
				`audit: could not record a Kubernetes Event on ${object.kind}/${object.name} in ${object.namespace}: ${(error as Error).message}`,
			);
		}
	}
}
