/**
 * Posts each inference request and response to a prediction-log URL the way KServe's logger does (pkg/logger in
 * kserve/kserve): CloudEvents 1.0 in binary mode, one event for the request and one for the response, both with the
 * same `ce-id` (the caller's `Ce-Id` header when it sent one, else a fresh UUID), the body being the raw JSON, and the
 * response logged only when the model answered 200.
 *
 * Fire-and-forget: events go to a bounded queue drained by a few workers. When the log URL is slow or down the
 * oldest events are dropped (and counted); inference never waits for the logger.
 */
import {randomUUID} from 'node:crypto';

export const CE_INFERENCE_REQUEST = 'org.kubeflow.serving.inference.request';
export const CE_INFERENCE_RESPONSE = 'org.kubeflow.serving.inference.response';

export interface PredictionLoggerOptions {
	/** Where events are POSTed. */
	url: string;
	/** `ce-source`: KServe uses the agent's own URL, e.g. `http://localhost:9081/`. */
	source: string;
	/** `ce-inferenceservicename`. */
	inferenceService: string;
	/** `ce-namespace`. */
	namespace: string;
	/** `ce-endpoint`: KServe's endpoint name (`default`/`canary`); this server uses the model version by default. */
	endpoint: string;
	/** `ce-component`. Default `predictor`. */
	component?: string;
	/** Events held while the log URL is slow; past this the oldest are dropped. Default 1000. */
	queueCapacity?: number;
	/** Concurrent POSTs. Default 4 (KServe's agent defaults to 5 workers). */
	workers?: number;
	/** Per-POST timeout. Default 5000 ms. */
	timeoutMs?: number;
	/** Told about each dropped or failed event, for metrics. */
	onDrop?: (reason: 'queue-full' | 'send-failed') => void;
}

interface LogEvent {
	id: string;
	type: string;
	contentType: string;
	body: string;
	time: string;
}

export class PredictionLogger {
	readonly #options: Required<Omit<PredictionLoggerOptions, 'onDrop'>> & Pick<PredictionLoggerOptions, 'onDrop'>;
	readonly #queue: LogEvent[] = [];
	readonly #abort = new AbortController();
	#busyWorkers = 0;
	#closed = false;
	dropped = 0;
	sent = 0;

	constructor(options: PredictionLoggerOptions) {
		this.#options = {component: 'predictor', queueCapacity: 1000, workers: 4, timeoutMs: 5000, ...options};
	}

	/** The id shared by the request and response events: the caller's `Ce-Id` header, else a new UUID. */
	static eventId(ceIdHeader: string | string[] | undefined): string {
		const value = Array.isArray(ceIdHeader) ? ceIdHeader[0] : ceIdHeader;
		return value && value.length > 0 ? value : randomUUID();
	}

	logRequest(id: string, contentType: string, body: string): void {
		this.#enqueue({id, type: CE_INFERENCE_REQUEST, contentType, body, time: new Date().toISOString()});
	}

	logResponse(id: string, contentType: string, body: string): void {
		this.#enqueue({id, type: CE_INFERENCE_RESPONSE, contentType, body, time: new Date().toISOString()});
	}

	/** Events waiting or in flight. */
	get pending(): number {
		return this.#queue.length + this.#busyWorkers;
	}

	/** Stops sending; events still queued are dropped, POSTs in flight are aborted. */
	close(): void {
		this.#closed = true;
		this.#queue.length = 0;
		this.#abort.abort();
	}

	#enqueue(event: LogEvent): void {
		if (this.#closed) return;
		if (this.#queue.length >= this.#options.queueCapacity) {
			this.#queue.shift();
			this.dropped++;
			this.#options.onDrop?.('queue-full');
		}
		this.#queue.push(event);
		if (this.#busyWorkers < this.#options.workers) {
			this.#busyWorkers++;
			void this.#drain();
		}
	}

	async #drain(): Promise<void> {
		try {
			for (let event = this.#queue.shift(); event && !this.#closed; event = this.#queue.shift()) {
				await this.#send(event);
			}
		} finally {
			this.#busyWorkers--;
		}
	}

	async #send(event: LogEvent): Promise<void> {
		const options = this.#options;
		try {
			const response = await fetch(options.url, {
				method: 'POST',
				headers: {
					'ce-specversion': '1.0',
					'ce-id': event.id,
					'ce-type': event.type,
					'ce-source': options.source,
					'ce-time': event.time,
					'ce-inferenceservicename': options.inferenceService,
					'ce-namespace': options.namespace,
					'ce-component': options.component,
					'ce-endpoint': options.endpoint,
					// KServe sends the (empty unless configured) forwarded-header metadata as JSON.
					'ce-metadata': '{}',
					'content-type': event.contentType,
				},
				body: event.body,
				signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(options.timeoutMs)]),
			});
			// Drain the body so the connection can be reused.
			await response.arrayBuffer();
			if (response.ok) {
				this.sent++;
			} else {
				this.dropped++;
				options.onDrop?.('send-failed');
			}
		} catch {
			if (this.#closed) return;
			this.dropped++;
			options.onDrop?.('send-failed');
		}
	}
}
