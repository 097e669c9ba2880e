/** The demo agent's audit trail: every action tried, by `demo-operator`, newest kept, bounded. */
import type {AuditEntry} from '../domain/ports.ts';
import type {Unsubscribe} from '../domain/types.ts';

export const DEMO_USER = 'demo-operator';
const AUDIT_LIMIT = 1000;

export class AuditLog {
	private readonly entries: AuditEntry[] = [];
	private readonly listeners = new Set<(entry: AuditEntry) => void>();

	record(entry: Omit<AuditEntry, 'user'>): void {
		const full: AuditEntry = {...entry, user: DEMO_USER};
		this.entries.push(full);
		if (this.entries.length > AUDIT_LIMIT) this.entries.splice(0, this.entries.length - AUDIT_LIMIT);
		for (const listener of this.listeners) listener(full);
	}

	/** Newest first. */
	latest(limit: number): AuditEntry[] {
		const count = Math.max(0, Math.min(this.entries.length, Number.isFinite(limit) ? Math.floor(limit) : this.entries.length));
		return this.entries.slice(this.entries.length - count).reverse();
	}

	onEntry(listener: (entry: AuditEntry) => void): Unsubscribe {
		this.listeners.add(listener);
		return () => {
			this.listeners.delete(listener);
		};
	}
}
