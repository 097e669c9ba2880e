/**
 * An AgentPort that finds the agent in the cluster first (after the first frame), then talks to it through the API
 * server's service proxy with the operator's own credentials. Without an agent it says so once, as `absent`.
 */
import type {AgentEvent, AgentPort, AuditEntry, PredictionFilter} from '../domain/ports.ts';
import type {Action, ActionProgress, Prediction, Unsubscribe} from '../domain/types.ts';

export class LazyAgentPort implements AgentPort {
	readonly label: string;
	readonly #ready: Promise<AgentPort | undefined>;
	#absentReason = 'no modeldeck agent found in the cluster (a Service labelled app.kubernetes.io/name=modeldeck-agent)';

	constructor(find: () => Promise<AgentPort | undefined>, label = 'agent') {
		this.label = label;
		this.#ready = find().catch((error: unknown) => {
			this.#absentReason = `could not look for the agent: ${error instanceof Error ? error.message : String(error)}`;
			return undefined;
		});
	}

	predictions(filter: PredictionFilter, fromSeq: number | undefined, onEvent: (event: AgentEvent) => void): Unsubscribe {
		let unsubscribe: Unsubscribe | undefined;
		let cancelled = false;
		void this.#ready.then((agent) => {
			if (cancelled) return;
			if (!agent) {
				onEvent({type: 'connection', connected: false, absent: true, reason: this.#absentReason});
				return;
			}

			unsubscribe = agent.predictions(filter, fromSeq, onEvent);
		});
		return () => {
			cancelled = true;
			unsubscribe?.();
		};
	}

	async *act(action: Action): AsyncIterable<ActionProgress> {
		const agent = await this.#ready;
		if (!agent) {
			yield {kind: 'failed', message: this.#absentReason};
			return;
		}

		yield* agent.act(action);
	}

	async lookup(requestId: string): Promise<Prediction[]> {
		const agent = await this.#ready;
		if (!agent) throw new Error(this.#absentReason);
		return agent.lookup(requestId);
	}

	async audit(limit: number): Promise<AuditEntry[]> {
		const agent = await this.#ready;
		if (!agent) return [];
		return agent.audit(limit);
	}
}
