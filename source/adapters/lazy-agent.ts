/**
 * An AgentPort that finds the agent in the cluster first (after the first frame), then talks to it through the API
 * server's service proxy with the operator's own credentials. Without an agent it says so once, as `absent`.
 * Each cluster context has its own agent: switching context looks for the new context's one.
 */
import type {AgentEvent, AgentPort, AuditEntry, PredictionFilter} from '../domain/ports.ts';
import type {Action, ActionProgress, Prediction, Unsubscribe} from '../domain/types.ts';

function notFound(context: string | undefined): string {
	return `no modeldeck agent found in ${context ? `context ${context}` : 'the cluster'} (a Service labelled app.kubernetes.io/name=modeldeck-agent)`;
}

/** What looking for the agent gives: the agent, nothing, or why there is none. */
export type AgentLookup = AgentPort | undefined | {absent: string};

export class LazyAgentPort implements AgentPort {
	readonly label: string;
	readonly #find: (context: string | undefined) => Promise<AgentLookup>;
	#ready: Promise<{agent: AgentPort | undefined; absentReason: string}>;

	constructor(find: (context: string | undefined) => Promise<AgentLookup>, label = 'agent', context?: string) {
		this.label = label;
		this.#find = find;
		this.#ready = this.#look(context);
	}

	#look(context: string | undefined): Promise<{agent: AgentPort | undefined; absentReason: string}> {
		return this.#find(context).then(
			(found) =>
				found === undefined
					? {agent: undefined, absentReason: notFound(context)}
					: 'absent' in found
						? {agent: undefined, absentReason: found.absent}
						: {agent: found, absentReason: ''},
			(error: unknown) => ({
				agent: undefined,
				absentReason: `could not look for the agent: ${error instanceof Error ? error.message : String(error)}`,
			}),
		);
	}

	switchContext(context: string): void {
		this.#ready = this.#look(context);
	}

	predictions(filter: PredictionFilter, fromSeq: number | undefined, onEvent: (event: AgentEvent) => void): Unsubscribe {
		let unsubscribe: Unsubscribe | undefined;
		let cancelled = false;
		void this.#ready.then(({agent, absentReason}) => {
			if (cancelled) return;
			if (!agent) {
				onEvent({type: 'connection', connected: false, absent: true, reason: absentReason});
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
		const {agent, absentReason} = await this.#ready;
		if (!agent) {
			yield {kind: 'failed', message: absentReason};
			return;
		}

		yield* agent.act(action);
	}

	async lookup(requestId: string): Promise<Prediction[]> {
		const {agent, absentReason} = await this.#ready;
		if (!agent) throw new Error(absentReason);
		return agent.lookup(requestId);
	}

	async audit(limit: number): Promise<AuditEntry[]> {
		const {agent} = await this.#ready;
		if (!agent) return [];
		return agent.audit(limit);
	}
}
