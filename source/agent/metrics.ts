/** The agent's own Prometheus metrics, in a registry of its own so that several agents can live in one process (tests). */
import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from 'prom-client';

export interface AgentMetrics {
	registry: Registry;
	ingested: Counter<'format'>;
	ingestRejected: Counter<'reason'>;
	dropped: Counter;
	clients: Gauge;
	pendingHalves: Gauge;
	duplicateHalves: Counter;
	storeWritable: Gauge;
	actionDuration: Histogram<'kind' | 'result'>;
	guardRollbacks: Counter<'namespace' | 'model' | 'dry_run'>;
	guardEvaluations: Counter<'result'>;
	authFailures: Counter<'reason'>;
}

export function createAgentMetrics(options: {defaultMetrics?: boolean} = {}): AgentMetrics {
	const registry = new Registry();
	if (options.defaultMetrics ?? true) collectDefaultMetrics({register: registry, prefix: 'modeldeck_agent_'});
	const registers = [registry];
	const metrics: AgentMetrics = {
		registry,
		ingested: new Counter({
			name: 'modeldeck_agent_ingested_total',
			help: 'Log records ingested, by format (kserve, seldon, cloudevents-structured, json).',
			labelNames: ['format'],
			registers,
		}),
		ingestRejected: new Counter({
			name: 'modeldeck_agent_ingest_rejected_total',
			help: 'Ingest requests refused, by reason (invalid, too-large, media-type: a content-type it cannot read, unreadable, store: the store could not write, internal).',
			labelNames: ['reason'],
			registers,
		}),
		dropped: new Counter({
			name: 'modeldeck_agent_stream_dropped_total',
			help: 'Events dropped from slow clients’ queues or not replayable on resume.',
			registers,
		}),
		clients: new Gauge({name: 'modeldeck_agent_stream_clients', help: 'Connected stream clients.', registers}),
		pendingHalves: new Gauge({
			name: 'modeldeck_agent_unjoined_halves',
			help: 'Request or response halves waiting for their partner.',
			registers,
		}),
		duplicateHalves: new Counter({
			name: 'modeldeck_agent_duplicate_halves_total',
			help: 'Request or response halves ignored as a logger’s repeat (already waiting, or already joined).',
			registers,
		}),
		storeWritable: new Gauge({
			name: 'modeldeck_agent_store_writable',
			help: '1 while the prediction store accepts writes; 0 after a write failed (disk full, read-only), until one works.',
			registers,
		}),
		actionDuration: new Histogram({
			name: 'modeldeck_agent_action_duration_seconds',
			help: 'How long actions took, by kind and result.',
			labelNames: ['kind', 'result'],
			buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
			registers,
		}),
		guardRollbacks: new Counter({
			name: 'modeldeck_agent_guard_rollbacks_total',
			help: 'Canaries the guard rolled back (dry_run="true": would have).',
			labelNames: ['namespace', 'model', 'dry_run'],
			registers,
		}),
		guardEvaluations: new Counter({
			name: 'modeldeck_agent_guard_evaluations_total',
			help: 'Guard judgements, by verdict.',
			labelNames: ['result'],
			registers,
		}),
		authFailures: new Counter({
			name: 'modeldeck_agent_auth_refusals_total',
			help: 'Requests refused: unauthenticated, forbidden, review-failed, ingest-token, ip-not-allowed.',
			labelNames: ['reason'],
			registers,
		}),
	};
	metrics.storeWritable.set(1);
	return metrics;
}
